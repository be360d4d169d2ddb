"""SHAP values summarised per group (optional dependency: ``pip install 'fairwatch[explain]'``)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fairwatch._encode import encode_groups
from fairwatch._typing import FloatArray, GroupKey, IntArray, SensitiveLike
from fairwatch.exceptions import InvalidInputError, MissingDependencyError
from fairwatch.explain._dependence import group_label, stratified_rows
from fairwatch.explain._model import FeatureFrame, ModelCaller, resolve_groups
from fairwatch.explain._result import ExplanationResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GroupShap", "shap_by_group"]


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
    high_group, low_group : tuple
        The groups with the highest and lowest mean output.
    contributions : ndarray of shape (n_features,)
        ``mean[:, high] - mean[:, low]``: each feature's share of the gap in mean output between
        those groups. SHAP values add up to the output minus a common base value, so the
        contributions add up to the gap.
    """

    features: list[str]
    groups: list[GroupKey]
    sensitive_names: list[str]
    mean_abs: FloatArray
    mean: FloatArray
    mean_output: FloatArray
    base_value: float
    n: IntArray
    n_rows: int
    response: str
    title: str = field(init=False)
    description: str = field(init=False)

    def __post_init__(self) -> None:
        self.title = "SHAP values by group"
        high, low = (group_label(self.sensitive_names, k) for k in (self.high_group, self.low_group))
        gap = float(self.mean_output[self._high] - self.mean_output[self._low])
        self.description = (
            f"Kernel SHAP values of the {self.response} output for {int(self.n.sum())} rows sampled per group "
            f"(of {self.n_rows}). '|shap| <group>' is the mean absolute SHAP value (how much the model relies on "
            f"the feature in that group); 'contribution_to_gap' is the feature's share of the gap in mean output "
            f"between {high} and {low} ({gap:.4g}); the contributions add up to that gap."
        )

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
    def contributions(self) -> FloatArray:
        return np.asarray(self.mean[:, self._high] - self.mean[:, self._low])

    def to_frame(self) -> pd.DataFrame:
        """One row per feature, the largest contribution to the gap (in absolute value) first."""
        data: dict[str, Any] = {"feature": self.features}
        for j, key in enumerate(self.groups):
            data[f"|shap| {group_label(self.sensitive_names, key)}"] = self.mean_abs[:, j]
        data["|shap| gap"] = self.mean_abs.max(axis=1) - self.mean_abs.min(axis=1)
        data["contribution_to_gap"] = self.contributions
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
            "n": self.n,
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
    random_state: int | None = None,
) -> GroupShap:
    """Mean SHAP values per feature within each group, and each feature's share of the gap.

    Uses SHAP's model-agnostic Kernel explainer on a stratified sample of rows (up to
    ``max_samples``, spread over the groups) against a small background sample, so the cost is
    about ``max_samples × nsamples × background_size`` predictions. SHAP values add up to the
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
        Rows explained (split evenly over the groups).
    background_size : int, default=50
        Rows of the background (reference) sample.
    nsamples : int or "auto"
        Feature coalitions evaluated per explained row; ``"auto"`` is every coalition when there
        are few features (exact Shapley values), else ``2 * n_features + 256``.
    random_state : int, optional
        Seed of the row samples and of the coalitions drawn.

    Returns
    -------
    GroupShap

    Raises
    ------
    MissingDependencyError
        When shap is not installed.

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
    >>> round(float(result.contributions.sum()), 6)
    2.0
    """
    shap = _import_shap()
    for name, value, low in (("max_samples", max_samples, 1), ("background_size", background_size, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InvalidInputError(f"{name} must be a positive integer; got {value!r}")
    frame = FeatureFrame(X)
    sensitive = resolve_groups(sensitive_features, frame)
    caller = ModelCaller(model, sensitive)
    method = caller.response_name(response)
    if caller.takes_groups(method):
        raise InvalidInputError(
            f"{type(model).__name__}.{method} takes sensitive_features, which SHAP's masked rows cannot carry; "
            f"explain the underlying estimator instead"
        )
    n_features = len(frame.names)
    if nsamples == "auto":
        evals = min(2**n_features - 2, 2 * n_features + 256) if n_features < 30 else 2 * n_features + 256
    elif isinstance(nsamples, (int, np.integer)) and not isinstance(nsamples, bool) and nsamples >= 2 * n_features + 2:
        evals = int(nsamples)
    else:
        raise InvalidInputError(
            f"nsamples must be 'auto' or an integer of at least 2 * n_features + 2 = {2 * n_features + 2}; "
            f"got {nsamples!r}"
        )
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
        raw = explainer.shap_values(matrix[rows], nsamples=evals, l1_reg=False, silent=True)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    values = np.asarray(raw, dtype=np.float64).reshape(rows.size, n_features)
    base = np.full(rows.size, float(np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)[0]))
    g = len(keys)
    sample_codes = codes[rows]
    counts = np.bincount(sample_codes, minlength=g).astype(np.float64)
    onehot = np.zeros((rows.size, g))
    onehot[np.arange(rows.size), sample_codes] = 1.0 / counts[sample_codes]
    mean = values.T @ onehot
    return GroupShap(
        features=list(frame.names),
        groups=keys,
        sensitive_names=[c.name for c in sensitive],
        mean_abs=np.abs(values).T @ onehot,
        mean=mean,
        mean_output=(base + values.sum(axis=1)) @ onehot,
        base_value=float(base.mean()),
        n=counts.astype(np.int64),
        n_rows=frame.n_rows,
        response=method,
    )
