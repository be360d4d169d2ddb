"""SHAP values summarised per group (optional dependency: ``pip install 'fairwatch[explain]'``)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from fairwatch._typing import FloatArray, GroupKey, IntArray, SensitiveLike
from fairwatch.exceptions import InvalidInputError, MissingDependencyError
from fairwatch.explain._dependence import group_label, stratified_rows
from fairwatch.explain._model import FeatureFrame, ModelCaller, resolve_groups
from fairwatch.explain._result import ExplanationResult
from fairwatch.frames._encode import encode_groups
from fairwatch.metrics._intervals import percentile_interval, z_value

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GroupShap", "shap_by_group"]


#: A progress callback: ``progress(rows_explained, rows_to_explain)``.
Progress = Callable[[int, int], None]
#: Calls to SHAP per run: progress is reported after each (the rows are explained in this many chunks).
PROGRESS_STEPS = 20


@dataclass(repr=False)
class GroupShap(ExplanationResult):
    """SHAP values per feature and group (returned by :func:`shap_by_group`).

    Attributes
    ----------
    features : list of str
        Feature names (rows of the arrays).
    groups : list of tuple
        Group keys (columns of the arrays).
    mean_abs : ndarray of shape (n_features, n_groups)
        Mean absolute SHAP value: how much the model relies on the feature within the group.
    mean : ndarray of shape (n_features, n_groups)
        Mean (signed) SHAP value per group.
    mean_output : ndarray of shape (n_groups,)
        Mean model output of the explained rows of each group.
    n : ndarray of shape (n_groups,)
        Rows explained per group (the sample); ``n_population`` holds each group's rows in ``X``.
    sample_size : int
        Rows explained in all (``n.sum()``), out of ``n_rows``.
    high_group, low_group : tuple
        The groups with the highest and lowest mean output.
    gap : float
        ``mean_output[high] - mean_output[low]``; ``gap_lo``/``gap_hi`` bound it.
    contributions : ndarray of shape (n_features,)
        ``mean[:, high] - mean[:, low]``: each feature's share of the gap in mean output between
        those groups. SHAP values add up to the output minus a common base value, so the
        contributions add up to the gap. ``contributions_lo``/``contributions_hi`` bound them.
    ci : float or None
        Level of the intervals: a bootstrap over the explained rows (resampled within each group,
        the high and low groups held fixed). They cover the sampling of the explained rows, not
        Kernel SHAP's own coalition sampling or the choice of background rows. ``nan`` when
        ``ci`` is None.
    """

    features: list[str]
    groups: list[GroupKey]
    sensitive_names: list[str]
    mean_abs: FloatArray
    mean: FloatArray
    mean_output: FloatArray
    base_value: float
    n: IntArray
    n_population: IntArray
    n_rows: int
    response: str
    ci: float | None = None
    gap_lo: float = float("nan")
    gap_hi: float = float("nan")
    contributions_lo: FloatArray = field(default_factory=lambda: np.zeros(0))
    contributions_hi: FloatArray = field(default_factory=lambda: np.zeros(0))
    title: str = field(init=False)
    description: str = field(init=False)

    def __post_init__(self) -> None:
        self.title = "SHAP values by group"
        names = self.sensitive_names
        high, low = (group_label(names, k) for k in (self.high_group, self.low_group))
        per_group = "; ".join(
            f"{group_label(names, key)} {int(n):,} of {int(of):,}"
            for key, n, of in zip(self.groups, self.n, self.n_population)
        )
        gap = f"{self.gap:.4g}"
        if self.ci is not None and np.isfinite(self.gap_lo):
            gap += (
                f", {self.ci:.0%} CI {self.gap_lo:.4g} to {self.gap_hi:.4g} from a bootstrap over the explained rows "
                f"(Kernel SHAP's own sampling is not included)"
            )
        self.description = (
            f"Kernel SHAP values of the {self.response} output for a stratified sample of {self.sample_size:,} of "
            f"the {self.n_rows:,} rows ({per_group}). '|shap| <group>' is the mean absolute SHAP value (how much the "
            f"model relies on the feature in that group); 'contribution_to_gap' is the feature's share of the gap in "
            f"mean output between {high} and {low}: {gap}. The contributions add up to that gap."
        )

    @property
    def sample_size(self) -> int:
        return int(self.n.sum())

    @property
    def _high(self) -> int:
        return int(np.nanargmax(self.mean_output))

    @property
    def _low(self) -> int:
        return int(np.nanargmin(self.mean_output))

    @property
    def high_group(self) -> GroupKey:
        return self.groups[self._high]

    @property
    def low_group(self) -> GroupKey:
        return self.groups[self._low]

    @property
    def gap(self) -> float:
        return float(self.mean_output[self._high] - self.mean_output[self._low])

    @property
    def contributions(self) -> FloatArray:
        return np.asarray(self.mean[:, self._high] - self.mean[:, self._low])

    def _table(self) -> pd.DataFrame:
        """One row per feature, the largest contribution to the gap (in absolute value) first."""
        data: dict[str, Any] = {"feature": self.features}
        for j, key in enumerate(self.groups):
            data[f"|shap| {group_label(self.sensitive_names, key)}"] = self.mean_abs[:, j]
        data["|shap| gap"] = self.mean_abs.max(axis=1) - self.mean_abs.min(axis=1)
        data["contribution_to_gap"] = self.contributions
        if self.ci is not None:
            data["contribution_lo"] = self.contributions_lo
            data["contribution_hi"] = self.contributions_hi
        import pandas as pd

        frame = pd.DataFrame(data)
        order = np.argsort(-np.abs(self.contributions), kind="stable")
        return frame.iloc[order].reset_index(drop=True)

    def _payload(self) -> dict[str, Any]:
        return {
            "kind": "shap_by_group",
            "response": self.response,
            "groups": [dict(zip(self.sensitive_names, key)) for key in self.groups],
            "mean_output": self.mean_output,
            "base_value": self.base_value,
            "high_group": dict(zip(self.sensitive_names, self.high_group)),
            "low_group": dict(zip(self.sensitive_names, self.low_group)),
            "gap": self.gap,
            "gap_lo": self.gap_lo,
            "gap_hi": self.gap_hi,
            "ci": self.ci,
            "n": self.n,
            "n_population": self.n_population,
            "sample_size": self.sample_size,
            "n_rows": self.n_rows,
        }


def _import_shap() -> Any:
    try:
        with warnings.catch_warnings():  # shap's import warns about matplotlib deprecations
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            import shap
    except ImportError as exc:
        raise MissingDependencyError("shap_by_group needs the shap package: pip install 'fairwatch[explain]'") from exc
    return shap


def shap_by_group(
    model: Any,
    X: Any,
    *,
    sensitive_features: SensitiveLike,
    response: str = "auto",
    max_samples: int = 200,
    background_size: int = 50,
    nsamples: int | str = "auto",
    ci: float | None = 0.95,
    n_boot: int = 1000,
    progress: bool | Literal["auto"] | Progress = "auto",
    random_state: int | None = None,
) -> GroupShap:
    """Mean SHAP values per feature within each group, and each feature's share of the gap.

    Uses SHAP's model-agnostic Kernel explainer on a stratified sample of rows against a small
    background sample, so the cost is about ``max_samples × nsamples × background_size``
    predictions (tens of seconds for a slow model: progress is shown). SHAP values add up to the
    output minus the background's mean output, so the per-feature differences between two
    groups' mean SHAP values split the gap in their mean output exactly.

    Parameters
    ----------
    model : fitted model
        With ``predict_proba``, ``decision_function`` or ``predict``.
    X : dataframe or 2-D array
        The features, as the model takes them.
    sensitive_features : array-like, dataframe or column name(s) of X
        The groups.
    response : {"auto", "predict_proba", "decision_function", "predict"}
        The model output explained (``"auto"``: the first available in that order).
    max_samples : int, default=200
        Rows explained in all, split evenly over the groups: ``ceil(max_samples / n_groups)`` rows
        of each group (all rows of a smaller group), so 100 per group for two groups. The result
        states the sample: ``n`` (per group), ``n_population`` and ``sample_size``.
    background_size : int, default=50
        Rows of the background (reference) sample.
    nsamples : int or "auto"
        Feature coalitions evaluated per explained row; ``"auto"`` is every coalition when there
        are few features (exact Shapley values), else ``2 * n_features + 256``.
    ci : float or None, default=0.95
        Level of the intervals of the gap and of each contribution: a bootstrap over the
        explained rows, resampled within each group (``n_boot`` replicates). They cover which
        rows were sampled, not Kernel SHAP's coalition sampling or the background. None: none.
    n_boot : int, default=1000
        Bootstrap replicates.
    progress : "auto", bool or callable, default="auto"
        Report progress while rows are explained: ``True`` draws a progress bar on stderr,
        ``"auto"`` does so when stderr is a terminal, a callable is called as
        ``progress(rows_explained, rows_to_explain)`` after each of about 20 steps.
    random_state : int, optional
        Seed of the row samples, the coalitions drawn and the bootstrap.

    Returns
    -------
    GroupShap
        Its ``to_frame()`` is a table in the library ``X`` came in (pandas for arrays).

    Raises
    ------
    MissingDependencyError
        When shap is not installed.
    InvalidInputError
        On a bad ``max_samples``, ``background_size``, ``nsamples``, ``ci``, ``n_boot`` or
        ``progress``, or a model whose prediction takes ``sensitive_features``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from fairwatch.explain import shap_by_group
    >>> class Model:
    ...     def predict(self, X):
    ...         return np.asarray(X["a"] + 2 * X["b"], dtype=float)
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 0.0, 1.0], "b": [0.0, 0.0, 1.0, 1.0]})
    >>> result = shap_by_group(Model(), X, sensitive_features=["x", "x", "y", "y"], random_state=0)
    >>> result.to_frame()["feature"].tolist()
    ['b', 'a']
    >>> round(float(result.contributions.sum()), 6), result.n.tolist()
    (2.0, [2, 2])
    """
    shap = _import_shap()
    for name, value, low in (
        ("max_samples", max_samples, 1),
        ("background_size", background_size, 1),
        ("n_boot", n_boot, 2),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InvalidInputError(
                f"{name} must be a positive integer{' of at least 2' if low > 1 else ''}; got {value!r}"
            )
    if ci is not None:
        z_value(ci)  # validates ci
    report = _progress_reporter(progress)
    frame = FeatureFrame(X)
    sensitive = resolve_groups(sensitive_features, frame)
    caller = ModelCaller(model, sensitive)
    method = caller.response_name(response)
    if caller.takes_groups(method):
        raise InvalidInputError(
            f"{type(model).__name__}.{method} takes sensitive_features, which SHAP's masked rows cannot carry; "
            f"explain the underlying estimator instead"
        )
    evals = _coalitions(nsamples, len(frame.names))
    codes, keys = encode_groups(sensitive)
    rng = np.random.default_rng(random_state)
    rows = stratified_rows(codes, len(keys), int(max_samples), rng)
    background = np.sort(rng.choice(frame.n_rows, min(int(background_size), frame.n_rows), replace=False))
    matrix = frame.to_matrix()

    def output(values: np.ndarray) -> FloatArray:
        return caller.response(method, frame.from_matrix(values))

    # Kernel SHAP: model-agnostic, pure numpy (the permutation explainer's numba kernels take
    # tens of seconds to compile in every new process). It draws from numpy's global generator,
    # which is seeded for reproducibility and restored afterwards.
    explainer = shap.KernelExplainer(output, matrix[background], link="identity")
    state = np.random.get_state()  # noqa: NPY002 - shap's Kernel explainer draws from the global generator
    np.random.seed(int(rng.integers(2**31)))  # noqa: NPY002
    try:
        values = _explain(explainer, matrix[rows], evals, len(frame.names), report)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    base = float(np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)[0])
    g = len(keys)
    sample_codes = codes[rows]
    counts = np.bincount(sample_codes, minlength=g).astype(np.float64)
    onehot = np.zeros((rows.size, g))
    onehot[np.arange(rows.size), sample_codes] = 1.0 / counts[sample_codes]
    outputs = base + values.sum(axis=1)
    result = GroupShap(
        features=list(frame.names),
        groups=keys,
        sensitive_names=[c.name for c in sensitive],
        mean_abs=np.abs(values).T @ onehot,
        mean=values.T @ onehot,
        mean_output=outputs @ onehot,
        base_value=base,
        n=counts.astype(np.int64),
        n_population=np.bincount(codes, minlength=g).astype(np.int64),
        n_rows=frame.n_rows,
        response=method,
        ci=ci,
        **_bootstrap(values, outputs, sample_codes, counts, ci, int(n_boot), rng),
    )
    return result.in_library_of(frame.frame, sensitive)


def _coalitions(nsamples: int | str, n_features: int) -> int:
    """Feature coalitions Kernel SHAP evaluates per explained row."""
    if nsamples == "auto":
        return min(2**n_features - 2, 2 * n_features + 256) if n_features < 30 else 2 * n_features + 256
    if isinstance(nsamples, (int, np.integer)) and not isinstance(nsamples, bool) and nsamples >= 2 * n_features + 2:
        return int(nsamples)
    raise InvalidInputError(
        f"nsamples must be 'auto' or an integer of at least 2 * n_features + 2 = {2 * n_features + 2}; got {nsamples!r}"
    )


def _explain(explainer: Any, rows: np.ndarray, evals: int, n_features: int, report: Progress | None) -> FloatArray:
    """SHAP values of ``rows`` (shape ``(rows, features)``), in about :data:`PROGRESS_STEPS` calls
    when progress is reported (the explainer handles one row at a time either way)."""
    steps = 1 if report is None else min(PROGRESS_STEPS, len(rows))
    parts = []
    done = 0
    for chunk in np.array_split(np.arange(len(rows)), steps):
        raw = explainer.shap_values(rows[chunk], nsamples=evals, l1_reg=False, silent=True)
        parts.append(np.asarray(raw, dtype=np.float64).reshape(chunk.size, n_features))
        done += chunk.size
        if report is not None:
            report(done, len(rows))
    return np.concatenate(parts)


def _bootstrap(
    values: FloatArray,
    outputs: FloatArray,
    codes: IntArray,
    counts: FloatArray,
    ci: float | None,
    n_boot: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Percentile intervals of the gap and the contributions: the explained rows resampled within
    each group (multinomial weights), the high and low groups of the point estimate held fixed."""
    n_features = values.shape[1]
    if ci is None:
        nan = np.full(n_features, np.nan)
        return {"contributions_lo": nan, "contributions_hi": nan.copy()}
    means = np.zeros((n_boot, counts.size))
    shap_means = np.zeros((n_boot, n_features, counts.size))
    for g in range(counts.size):
        members = np.flatnonzero(codes == g)
        draws = rng.multinomial(members.size, np.full(members.size, 1.0 / members.size), size=n_boot)
        weights = draws / members.size  # (n_boot, members): each replicate's weight of each row
        means[:, g] = weights @ outputs[members]
        shap_means[:, :, g] = weights @ values[members]
    point = np.bincount(codes, weights=outputs, minlength=counts.size) / counts
    high, low = int(np.nanargmax(point)), int(np.nanargmin(point))
    gap_lo, gap_hi = percentile_interval((means[:, high] - means[:, low])[:, None], ci)
    contributions_lo, contributions_hi = percentile_interval(shap_means[:, :, high] - shap_means[:, :, low], ci)
    return {
        "gap_lo": float(gap_lo[0]),
        "gap_hi": float(gap_hi[0]),
        "contributions_lo": contributions_lo,
        "contributions_hi": contributions_hi,
    }


def _progress_reporter(progress: bool | str | Progress) -> Progress | None:
    """The callback that reports progress (a rich bar on stderr for True, or "auto" on a terminal)."""
    if callable(progress):
        return progress
    if progress not in (True, False, "auto"):
        raise InvalidInputError(
            f"progress must be 'auto', True, False or a function progress(done, total); got {progress!r}"
        )
    if progress is False or (progress == "auto" and not sys.stderr.isatty()):
        return None
    return _RichProgress()


class _RichProgress:
    """A transient progress bar on stderr: rows explained, elapsed and remaining time."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, done: int, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

        if self._bar is None:
            self._bar = Progress(
                "SHAP: explaining rows",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("shap", total=total)
        self._bar.update(self._task, completed=done)
        if done >= total:
            self._bar.stop()
