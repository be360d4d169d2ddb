"""Disparity metrics by name, computed from GroupStats for many prediction vectors at once.

``"demographic_parity_difference"``, ``"equalized_odds_ratio"``, ``"false_positive_rate_difference"``
... name a disparity (a named combination of metrics, or one metric) and whether it is the
difference (``max - min``, lower is fairer) or the ratio (``min / max``, higher is fairer).

Predictions of ``R`` copies of the rows are aggregated in one ``bincount`` over ``R × G`` cells and
reshaped into GroupStats with a leading replicate axis — the same layout as bootstrap replicates,
which every metric function already handles — so a disparity for every copy costs one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from fairwatch._typing import FloatArray, GroupKey, IntArray
from fairwatch.exceptions import InvalidInputError, UnknownMetricError
from fairwatch.metrics import COMPOSITES, GroupStats, Metric, get_metric, list_metrics, metric_values
from fairwatch.metrics._group_stats import ScoreHistogram, compute_group_stats
from fairwatch.metrics._summary import disparity_values, resolve_disparity_name

__all__ = ["DisparitySpec", "disparity_of", "parse_disparity", "replicated_stats"]

Kind = Literal["difference", "ratio"]

#: Score histogram bins of the replicated statistics (uniform over the scores' range, or [0, 1]).
SCORE_BINS = 1000
Method = Literal["between_groups", "to_overall"]


@dataclass(frozen=True)
class DisparitySpec:
    """A parsed disparity name."""

    name: str
    target: str
    kind: Kind
    metrics: tuple[Metric, ...]

    @property
    def blocks(self) -> set[str]:
        return {m.block for m in self.metrics}

    @property
    def label_free(self) -> bool:
        return all(m.label_free for m in self.metrics)

    def fairer(self, before: FloatArray, after: FloatArray) -> FloatArray:
        """How much fairer ``after`` is than ``before`` (positive: the gap shrank)."""
        return np.asarray(before - after if self.kind == "difference" else after - before)


def parse_disparity(name: Any) -> DisparitySpec:
    """Parse ``"<disparity>_difference"`` or ``"<disparity>_ratio"``."""
    examples = (
        "e.g. 'demographic_parity_difference', 'equalized_odds_difference', 'equal_opportunity_ratio' or "
        "'<metric>_difference' / '<metric>_ratio' for any metric in fairwatch.metrics.list_metrics()"
    )
    if not isinstance(name, str):
        raise UnknownMetricError(f"metric must be a disparity name ({examples}); got {name!r}")
    key = name.strip().lower()
    for suffix, kind in (("_difference", "difference"), ("_ratio", "ratio")):
        if key.endswith(suffix):
            base = key[: -len(suffix)]
            try:
                target = resolve_disparity_name(base)
            except UnknownMetricError as exc:
                raise UnknownMetricError(
                    f"unknown disparity metric {name!r}: {base!r} is neither a named disparity "
                    f"({', '.join(COMPOSITES)}) nor a metric. {exc}"
                ) from None
            parts = COMPOSITES.get(
                target, ("expected_calibration_error",) if target == "calibration_gap" else (target,)
            )
            specs = tuple(get_metric(p) for p in parts)
            if any(m.name == "count" for m in specs):
                raise InvalidInputError(f"{name!r} is not a fairness disparity; use a rate such as selection_rate")
            return DisparitySpec(key, target, kind, specs)  # type: ignore[arg-type]
    raise UnknownMetricError(f"unknown disparity metric {name!r}: name a difference or a ratio, {examples}")


def disparity_of(
    stats: GroupStats, spec: DisparitySpec, method: Method = "between_groups", keep: IntArray | None = None
) -> FloatArray:
    """The disparity of ``stats`` (shape ``(...)``: one value per replicate when replicated).

    Like :func:`fairwatch.metrics.summarize`: only the groups in ``keep`` (default: all) are
    compared, groups with no value are skipped, the overall value is over every row, and a named
    combination of metrics takes the worst case (largest difference, smallest ratio).
    """
    parts = []
    overall = stats.overall() if method == "to_overall" else None
    for metric in spec.metrics:
        values = metric_values(stats, metric, warn=False)
        if keep is not None:
            values = values[..., keep]
        target = None if overall is None else metric_values(overall, metric, warn=False)[..., 0]
        difference, ratio = disparity_values(values, method, overall=target)
        parts.append(difference if spec.kind == "difference" else ratio)
    stacked = np.stack(parts)
    return np.asarray(stacked.max(axis=0) if spec.kind == "difference" else stacked.min(axis=0))


def performance_metric(spec: DisparitySpec, has_labels: bool) -> Metric | None:
    """The overall metric whose change is reported next to the disparity's."""
    if not has_labels:
        return None
    if "regression" in spec.blocks:
        return get_metric("mean_absolute_error")
    if "confusion" in spec.blocks:
        return get_metric("accuracy")
    return get_metric("roc_auc")


def check_blocks(spec: DisparitySpec, has_labels: bool) -> None:
    """Label-dependent disparities need ``y``."""
    if not has_labels and not spec.label_free:
        label_free = [m for m, _ in list_metrics("confusion").items() if get_metric(m).label_free]
        raise InvalidInputError(
            f"{spec.name} needs the true labels: pass y=. Without labels only label-free disparities "
            f"can be explained ({', '.join(label_free)}, e.g. 'demographic_parity_difference')"
        )


def replicated_stats(
    codes: IntArray,
    keys: Sequence[GroupKey],
    names: Sequence[str],
    *,
    y_true: IntArray | FloatArray | None,
    y_pred: np.ndarray | None,
    scores: FloatArray | None,
    regression: bool,
) -> GroupStats:
    """GroupStats of ``R`` prediction vectors over the same rows, with a leading replicate axis.

    ``codes`` are the group codes of the rows (groups ``keys`` over sensitive features ``names``);
    ``y_pred`` / ``scores`` have shape ``(R, n)``; ``y_true`` has shape ``(n,)`` (0/1 codes, or
    floats for regression).
    """
    n_groups = len(keys)
    outputs = y_pred if y_pred is not None else scores
    assert outputs is not None
    r = outputs.shape[0]
    cell = (codes[None, :] + n_groups * np.arange(r, dtype=np.int64)[:, None]).ravel()
    cells = [(i,) for i in range(r * n_groups)]
    tiled = None if y_true is None else np.tile(y_true, r)
    flat = compute_group_stats(
        cell,
        cells,
        ("cell",),
        y_true=None if regression or tiled is None else tiled.astype(np.int64, copy=False),
        y_pred=None if regression or y_pred is None else y_pred.ravel().astype(np.int64, copy=False),
        scores=None if scores is None else scores.ravel(),
        # the same uniform bins for the baseline and every shuffle: their AUCs are comparable
        score_bins=SCORE_BINS,
        y_true_values=tiled.astype(np.float64, copy=False) if regression and tiled is not None else None,
        y_pred_values=y_pred.ravel().astype(np.float64) if regression and y_pred is not None else None,
    )

    def split(a: FloatArray | None) -> FloatArray | None:
        return None if a is None else a.reshape((r, n_groups) + a.shape[1:])

    hist = None
    if flat.scores is not None:
        s = flat.scores
        hist = ScoreHistogram(
            edges=s.edges,
            binning=s.binning,
            w=split(s.w),  # type: ignore[arg-type]
            n=split(s.n),  # type: ignore[arg-type]
            ws=split(s.ws),  # type: ignore[arg-type]
            wss=split(s.wss),  # type: ignore[arg-type]
        )
    return GroupStats(
        sensitive_names=tuple(names),
        groups=tuple(keys),
        n=split(flat.n),  # type: ignore[arg-type]
        weight=split(flat.weight),  # type: ignore[arg-type]
        confusion=split(flat.confusion),
        confusion_n=split(flat.confusion_n),
        scores=hist,
        regression=split(flat.regression),
    )
