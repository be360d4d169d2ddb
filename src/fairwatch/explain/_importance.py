"""Which features drive a gap: permutation importance for a disparity metric."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fairwatch._typing import ArrayLike, FloatArray, GroupKey, IntArray, SensitiveLike
from fairwatch.exceptions import InvalidInputError, LengthMismatchError
from fairwatch.explain._disparity import (
    DisparitySpec,
    Method,
    check_blocks,
    disparity_of,
    parse_disparity,
    performance_metric,
    replicated_stats,
)
from fairwatch.explain._model import FeatureFrame, ModelCaller, resolve_groups, stacked_calls
from fairwatch.explain._result import ExplanationResult
from fairwatch.frames._columns import Column, resolve_column, to_float
from fairwatch.frames._encode import encode_groups
from fairwatch.metrics import metric_values
from fairwatch.metrics._inputs import binary_labels

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DisparityImportance", "disparity_importance"]


@dataclass(repr=False)
class DisparityImportance(ExplanationResult):
    """Permutation importance of each feature for a disparity (returned by :func:`disparity_importance`).

    Attributes
    ----------
    metric : str
        The disparity, e.g. ``"demographic_parity_difference"``.
    baseline : float
        The disparity of the model's predictions on the unchanged data.
    features : list of str
        The features, most important first.
    importances : ndarray of shape (n_features, n_repeats)
        How much fairer the predictions became when the feature was permuted, per repeat: the drop
        of a difference (or the rise of a ratio). Positive: the feature drives the gap.
    disparities : ndarray of shape (n_features, n_repeats)
        The disparity with the feature permuted.
    performance_metric : str or None
        ``"accuracy"`` (``"roc_auc"`` for score disparities, ``"mean_absolute_error"`` for
        regression) when labels were given.
    baseline_performance : float
        Its value on the unchanged data.
    performance_changes : ndarray of shape (n_features, n_repeats) or None
        Change of the performance metric when the feature is permuted (permuted - baseline).
    """

    metric: str
    method: str
    baseline: float
    features: list[str]
    importances: FloatArray
    disparities: FloatArray
    performance_metric: str | None
    baseline_performance: float
    performance_changes: FloatArray | None
    n_rows: int
    groups: list[GroupKey]
    sensitive_names: list[str]
    kind: str = "difference"
    title: str = field(init=False)
    description: str = field(init=False)

    def __post_init__(self) -> None:
        self.title = f"Features driving {self.metric}"
        direction = "drop of the difference" if self.kind == "difference" else "rise of the ratio"
        perf = (
            f"; performance_change is the change of overall {self.performance_metric} "
            f"(baseline {self.baseline_performance:.4g})"
            if self.performance_metric
            else ""
        )
        self.description = (
            f"Permutation importance for {self.metric} (baseline {self.baseline:.4g} over "
            f"{len(self.groups)} groups of {', '.join(self.sensitive_names)}, {self.n_rows} rows): each "
            f"feature was shuffled {self.importances.shape[1]} times and the model re-scored; importance "
            f"is the mean {direction} (± std over repeats). Positive values mean the model's use of "
            f"the feature creates part of the gap (often a proxy of a sensitive feature); it is an "
            f"association through the model, not a causal effect{perf}."
        )

    @property
    def ranking(self) -> list[str]:
        """Feature names, the most gap-driving first."""
        return list(self._table()["feature"])

    def _table(self) -> pd.DataFrame:
        """One row per feature, sorted by importance (largest first)."""
        columns: dict[str, Any] = {
            "feature": self.features,
            "importance": self.importances.mean(axis=1),
            "importance_std": self.importances.std(axis=1),
            "disparity_permuted": self.disparities.mean(axis=1),
        }
        if self.performance_changes is not None:
            columns["performance_change"] = self.performance_changes.mean(axis=1)
            columns["performance_change_std"] = self.performance_changes.std(axis=1)
        import pandas as pd

        frame = pd.DataFrame(columns)
        order = np.argsort(-np.nan_to_num(frame["importance"].to_numpy(), nan=-np.inf), kind="stable")
        return frame.iloc[order].reset_index(drop=True)

    def _payload(self) -> dict[str, Any]:
        return {
            "kind": "disparity_importance",
            "metric": self.metric,
            "method": self.method,
            "baseline": self.baseline,
            "performance_metric": self.performance_metric,
            "baseline_performance": self.baseline_performance,
            "n_repeats": int(self.importances.shape[1]),
            "n_rows": self.n_rows,
            "sensitive_features": self.sensitive_names,
        }


def _seeds(random_state: int | np.random.Generator | None, count: int) -> list[np.random.SeedSequence]:
    if isinstance(random_state, np.random.Generator):
        root = np.random.SeedSequence(int(random_state.integers(2**63)))
    elif random_state is None or (isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)):
        root = np.random.SeedSequence(None if random_state is None else int(random_state))
    else:
        raise InvalidInputError(f"random_state must be None, an int or a numpy Generator; got {random_state!r}")
    return root.spawn(count)


def _workers(n_jobs: int | None, tasks: int) -> int:
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise InvalidInputError(f"n_jobs must be None, a positive integer or -1 (all cores); got {n_jobs!r}")
    cores = os.cpu_count() or 1
    wanted = cores + 1 + int(n_jobs) if n_jobs < 0 else int(n_jobs)
    return max(1, min(wanted, tasks))


def _check_repeats(n_repeats: Any) -> int:
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)) or n_repeats < 1:
        raise InvalidInputError(f"n_repeats must be a positive integer (e.g. 5); got {n_repeats!r}")
    return int(n_repeats)


def _feature_list(frame: FeatureFrame, features: Sequence[Any] | None) -> list[str]:
    if features is None:
        return list(frame.names)
    if isinstance(features, (str, int)):
        features = [features]
    names = [frame.resolve(f) for f in features]
    if not names:
        raise InvalidInputError("features is empty; pass at least one column of X (or None for all of them)")
    if len(set(names)) != len(names):
        raise InvalidInputError(f"features must be unique; got {names}")
    return names


class _Scorer:
    """Everything needed to turn a batch of model outputs into disparities."""

    def __init__(
        self,
        spec: DisparitySpec,
        caller: ModelCaller,
        frame: FeatureFrame,
        y: ArrayLike | None,
        pos_label: Any,
        codes: IntArray,
        keys: list[GroupKey],
        names: list[str],
        method: Method,
        keep: IntArray,
    ) -> None:
        self.spec, self.caller, self.frame = spec, caller, frame
        self.codes, self.keys, self.names, self.method, self.keep = codes, keys, names, method, keep
        self.regression = "regression" in spec.blocks
        self.use_labels = "confusion" in spec.blocks or self.regression
        self.use_scores = "scores" in spec.blocks
        self.score_method = "auto"
        if self.use_scores:
            self.score_method = caller.response_name("auto")
            if self.score_method == "predict":
                raise InvalidInputError(
                    f"{spec.name} is a score disparity, but {type(caller.model).__name__} has neither "
                    f"predict_proba nor decision_function"
                )
        if isinstance(y, str):
            raise InvalidInputError(f"y must hold the true labels (one per row of X), not a column name; got {y!r}")
        y_column = resolve_column(y, "y", None)
        if y_column is not None and len(y_column) != frame.n_rows:
            raise LengthMismatchError(f"y has {len(y_column)} values but X has {frame.n_rows} rows")
        self.perf = performance_metric(spec, y_column is not None)
        self.pos_label = pos_label
        self.y_true: IntArray | FloatArray | None = None
        base_labels = caller.labels(frame.native) if self.use_labels else None
        if self.regression:
            assert y_column is not None and base_labels is not None
            self.y_true = to_float(y_column, "y", hint="drop rows without a label")
        elif self.use_labels:
            assert base_labels is not None
            columns = [("predictions", Column("predictions", base_labels))]
            if y_column is not None:
                columns.insert(0, ("y", y_column))
            codes01, self.pos_label = binary_labels(columns, pos_label)
            self.y_true = codes01[0] if y_column is not None else np.zeros(frame.n_rows, dtype=np.int64)
        elif y_column is not None:
            (y01,), self.pos_label = binary_labels([("y", y_column)], pos_label)
            self.y_true = y01
        self.base_labels = base_labels
        self.base_scores = caller.response(self.score_method, frame.native) if self.use_scores else None

    def _encode(self, labels: np.ndarray) -> np.ndarray:
        if self.regression:
            return np.asarray(labels, dtype=np.float64)
        return np.asarray(labels == self.pos_label, dtype=np.int64)

    def score(self, labels: np.ndarray | None, scores: FloatArray | None) -> tuple[FloatArray, FloatArray | None]:
        """Disparity and performance per row of ``labels`` / ``scores`` (shape ``(R, n)``)."""
        stats = replicated_stats(
            self.codes,
            self.keys,
            self.names,
            y_true=self.y_true,
            y_pred=None if labels is None else self._encode(labels),
            scores=scores,
            regression=self.regression,
        )
        disparity = disparity_of(stats, self.spec, self.method, self.keep)
        performance = None
        if self.perf is not None:
            performance = metric_values(stats.overall(), self.perf, warn=False)[..., 0]
        return disparity, performance

    def permuted(self, feature: str, n_repeats: int, seed: np.random.SeedSequence) -> tuple[FloatArray, Any]:
        rng = np.random.default_rng(seed)
        n = self.frame.n_rows
        index = np.concatenate([rng.permutation(n) for _ in range(n_repeats)])
        tiles: dict[int, FeatureFrame] = {}

        def outputs(kind: str) -> np.ndarray:
            def predict(start: int, stop: int) -> np.ndarray:
                copies = stop - start
                if copies not in tiles:
                    tiles[copies] = self.frame.tiled(copies)
                X = tiles[copies].with_gathered(feature, self.frame, index[start * n : stop * n])
                rows = np.tile(np.arange(n), copies)
                if kind == "labels":
                    return self.caller.labels(X, rows)
                return self.caller.response(self.score_method, X, rows)

            return stacked_calls(n, n_repeats, predict)

        labels = outputs("labels") if self.use_labels else None
        scores = outputs("scores") if self.use_scores else None
        return self.score(labels, scores)


def disparity_importance(
    model: Any,
    X: Any,
    y: ArrayLike | None = None,
    *,
    sensitive_features: SensitiveLike,
    metric: str = "demographic_parity_difference",
    n_repeats: int = 5,
    random_state: int | np.random.Generator | None = None,
    features: Sequence[Any] | None = None,
    n_jobs: int | None = None,
    method: Method = "between_groups",
    min_group_size: int | None = None,
    pos_label: Any = None,
) -> DisparityImportance:
    """Permutation importance of each feature for a disparity metric (model-agnostic).

    Each feature is shuffled ``n_repeats`` times (breaking its link to the rows while keeping its
    distribution), the model predicts again, and the disparity is recomputed from the
    :class:`~fairwatch.metrics.GroupStats` of the new predictions. A feature whose shuffling
    shrinks the gap is one the model uses to treat the groups differently — often a proxy of a
    sensitive feature. The sensitive groups stay those of the original rows.

    Parameters
    ----------
    model : fitted model
        Anything with ``predict`` (and ``predict_proba`` / ``decision_function`` for score
        disparities such as ``"roc_auc_difference"``).
    X : dataframe or 2-D array
        The features, as the model takes them (pandas, Polars, pyarrow or numpy).
    y : array-like, optional
        True labels; needed for label-dependent disparities (equalized odds, ...) and to report
        the accompanying change in accuracy.
    sensitive_features : array-like, dataframe or column name(s) of X
        The groups; several columns form intersectional groups.
    metric : str, default="demographic_parity_difference"
        ``"<disparity>_difference"`` or ``"<disparity>_ratio"``: a named disparity
        (``demographic_parity``, ``equalized_odds``, ``equal_opportunity``, ``predictive_parity``,
        ``error_rate_parity``) or any metric of :func:`fairwatch.metrics.list_metrics`.
    n_repeats : int, default=5
        Shuffles per feature.
    random_state : int, numpy Generator or None
        Seed of the shuffles (results do not depend on ``n_jobs``).
    features : list, optional
        Columns of X to assess (default: all).
    n_jobs : int, optional
        Features assessed in parallel threads (``-1``: one per core).
    method : {"between_groups", "to_overall"}
        As in :func:`fairwatch.metrics.demographic_parity_difference`.
    min_group_size : int, optional
        Groups with fewer rows are left out of the disparity.
    pos_label : object, optional
        The positive label (inferred for 0/1, -1/1 and boolean labels).

    Returns
    -------
    DisparityImportance
        ``to_frame()`` has one row per feature: importance (mean ± std), the permuted disparity
        and the change in performance.

    Raises
    ------
    UnknownMetricError
        For an unknown disparity name.
    UnknownColumnError
        When a feature or sensitive column is not in X.
    InvalidInputError
        For a model without ``predict``, a label-dependent disparity without ``y``, or bad
        parameters.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from fairwatch.explain import disparity_importance
    >>> class Model:
    ...     def predict(self, X):
    ...         return (X["zip_risk"] > 0.5).astype(int)
    >>> rng = np.random.default_rng(0)
    >>> group = rng.choice(["a", "b"], 400)
    >>> X = pd.DataFrame({"zip_risk": rng.random(400) + 0.4 * (group == "a"), "noise": rng.random(400)})
    >>> result = disparity_importance(Model(), X, sensitive_features=group, random_state=0)
    >>> result.ranking
    ['zip_risk', 'noise']
    >>> round(result.baseline, 2)
    0.33
    """
    spec = parse_disparity(metric)
    if method not in ("between_groups", "to_overall"):
        raise InvalidInputError(f"method must be 'between_groups' or 'to_overall'; got {method!r}")
    repeats = _check_repeats(n_repeats)
    frame = FeatureFrame(X)
    names = _feature_list(frame, features)
    sensitive = resolve_groups(sensitive_features, frame)
    check_blocks(spec, y is not None)
    workers = _workers(n_jobs, len(names))
    caller = ModelCaller(model, sensitive)
    codes, keys = encode_groups(sensitive)
    sizes = np.bincount(codes, minlength=len(keys))
    keep = np.flatnonzero(sizes >= (min_group_size or 0))
    if keep.size < 2:
        raise InvalidInputError(
            f"a disparity needs at least two groups, but {keep.size} of {len(keys)} group(s) have at least "
            f"min_group_size={min_group_size} rows; lower min_group_size or use a sensitive feature with more groups"
        )
    scorer = _Scorer(spec, caller, frame, y, pos_label, codes, keys, [c.name for c in sensitive], method, keep)
    base_disparity, base_perf = scorer.score(
        None if scorer.base_labels is None else scorer.base_labels[None, :],
        None if scorer.base_scores is None else scorer.base_scores[None, :],
    )
    seeds = _seeds(random_state, len(names))
    if workers == 1:
        results = [scorer.permuted(f, repeats, s) for f, s in zip(names, seeds)]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda fs: scorer.permuted(fs[0], repeats, fs[1]), zip(names, seeds)))
    disparities = np.stack([r[0] for r in results])
    baseline = float(base_disparity[0])
    changes = None
    if base_perf is not None:
        changes = np.stack([r[1] for r in results]) - float(base_perf[0])
    result = DisparityImportance(
        metric=spec.name,
        method=method,
        baseline=baseline,
        features=names,
        importances=spec.fairer(np.asarray(baseline), disparities),
        disparities=disparities,
        performance_metric=None if scorer.perf is None else scorer.perf.name,
        baseline_performance=float("nan") if base_perf is None else float(base_perf[0]),
        performance_changes=changes,
        n_rows=frame.n_rows,
        groups=[keys[i] for i in keep.tolist()],
        sensitive_names=[c.name for c in sensitive],
        kind=spec.kind,
    )
    return result.in_library_of(frame.frame, sensitive)
