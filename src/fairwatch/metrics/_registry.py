"""The metric registry: every metric is one small function of GroupStats.

A metric maps :class:`GroupStats` to an array of shape ``(..., G)`` (the leading axes are bootstrap
replicates when there are any). Proportion metrics are declared by the confusion cells of their
numerator and denominator, which also gives them Wilson intervals.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from fairwatch._typing import FloatArray
from fairwatch.exceptions import InvalidInputError, UndefinedMetricWarning, UnknownMetricError
from fairwatch.metrics._group_stats import REGRESSION_FIELDS, GroupStats

__all__ = [
    "CALIBRATION_BINS",
    "Metric",
    "calibration_table",
    "get_metric",
    "list_metrics",
    "metric_values",
    "register_metric",
    "register_proportion",
]

Block = Literal["confusion", "scores", "regression", "any"]
Interval = Literal["wilson", "bootstrap", "normal"]
Cell = tuple[int, int]

TN: Cell = (0, 0)
FP: Cell = (0, 1)
FN: Cell = (1, 0)
TP: Cell = (1, 1)
ALL: tuple[Cell, ...] = (TN, FP, FN, TP)

#: Number of uniform bins on [0, 1] used by the expected calibration error and calibration table.
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    Attributes
    ----------
    name : str
        Canonical long snake_case name.
    compute : callable
        ``GroupStats -> ndarray (..., G)``.
    block : {"confusion", "scores", "regression", "any"}
        Which statistics it needs (``"any"``: only the group sizes).
    interval : {"wilson", "bootstrap", "normal"}
        How its confidence interval is computed.
    undefined : str
        Why a group can have no value (shown in the warning).
    aliases : tuple of str
        Short names accepted in place of ``name``.
    cells : tuple or None
        For proportions, the ``(numerator, denominator)`` confusion cells ``(y_true, y_pred)``.
    description : str
        One line for tables and docs.
    label_free : bool
        True when the metric needs only predictions (it then uses all rows, labelled or not, of
        statistics that carry a ``predictions`` block).
    """

    name: str
    compute: Callable[[GroupStats], FloatArray]
    block: Block
    interval: Interval
    undefined: str
    aliases: tuple[str, ...] = ()
    cells: tuple[tuple[Cell, ...], tuple[Cell, ...]] | None = None
    description: str = ""
    label_free: bool = False

    def proportion(self, stats: GroupStats, *, weighted: bool = True) -> tuple[FloatArray, FloatArray]:
        """Numerator and denominator (weighted, or unweighted row counts) of a proportion metric."""
        if self.cells is None:
            raise InvalidInputError(f"{self.name} is not a proportion metric")
        return _proportion_parts(stats, self.name, self.cells, self.label_free, weighted)


_REGISTRY: dict[str, Metric] = {}
_ALIASES: dict[str, str] = {}


def _canonical(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def register_metric(metric: Metric) -> Metric:
    """Add a metric to the registry (its name and aliases must be new)."""
    for key in (metric.name, *metric.aliases):
        if key in _REGISTRY or key in _ALIASES:
            raise InvalidInputError(f"metric name {key!r} is already registered")
    _REGISTRY[metric.name] = metric
    for alias in metric.aliases:
        _ALIASES[alias] = metric.name
    return metric


def get_metric(name: str | Metric) -> Metric:
    """The metric registered under ``name`` (canonical name or alias)."""
    if isinstance(name, Metric):
        return name
    if not isinstance(name, str):
        raise UnknownMetricError(f"metric names are strings; got {name!r} of type {type(name).__name__}")
    key = _canonical(name)
    key = _ALIASES.get(key, key)
    if key in _REGISTRY:
        return _REGISTRY[key]
    known = sorted(_REGISTRY) + sorted(_ALIASES)
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise UnknownMetricError(
        f"unknown metric {name!r}{hint} Known metrics: {', '.join(sorted(_REGISTRY))} "
        f"(fairwatch.metrics.list_metrics() lists them with their aliases)"
    )


def list_metrics(block: Block | None = None) -> dict[str, tuple[str, ...]]:
    """Canonical metric names (optionally only those using ``block``) mapped to their aliases."""
    return {name: m.aliases for name, m in sorted(_REGISTRY.items()) if block is None or m.block == block}


def metric_values(stats: GroupStats, metric: str | Metric, *, warn: bool = True) -> FloatArray:
    """Per-group values of ``metric``; zero denominators give ``nan`` and a warning per group."""
    spec = get_metric(metric)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.asarray(spec.compute(stats), dtype=np.float64)
    if warn and not stats.is_replicated:
        for i in np.flatnonzero(np.isnan(values)).tolist():
            warnings.warn(
                f"{spec.name} is undefined for group {stats.group_label(i)}: {spec.undefined}; reported as nan",
                UndefinedMetricWarning,
                stacklevel=3,
            )
    return values


# -- helpers ------------------------------------------------------------------------------------
def _need(block: object, metric: str, what: str) -> None:
    if block is None:
        raise InvalidInputError(f"{metric} needs {what}")


def _confusion(stats: GroupStats, metric: str, *, weighted: bool = True) -> FloatArray:
    table = stats.confusion if weighted else stats.confusion_n
    _need(table, metric, "y_true and binary y_pred (confusion counts)")
    assert table is not None
    return table


def _cell_sum(table: FloatArray, cells: Sequence[Cell]) -> FloatArray:
    total = np.zeros(table.shape[:-2], dtype=np.float64)
    for i, j in cells:
        total = total + table[..., i, j]
    return total


def _div(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _proportion_parts(
    stats: GroupStats,
    name: str,
    cells: tuple[tuple[Cell, ...], tuple[Cell, ...]],
    label_free: bool,
    weighted: bool,
) -> tuple[FloatArray, FloatArray]:
    if label_free and stats.predictions is not None:
        table = stats.predictions if weighted else stats.predictions_n
        assert table is not None
        predicted = {j for _, j in cells[0]}
        num = sum((table[..., j] for j in sorted(predicted)), np.zeros(table.shape[:-1]))
        return num, table.sum(axis=-1)
    confusion = _confusion(stats, name, weighted=weighted)
    return _cell_sum(confusion, cells[0]), _cell_sum(confusion, cells[1])


def register_proportion(
    name: str,
    numerator: tuple[Cell, ...],
    denominator: tuple[Cell, ...],
    *,
    undefined: str,
    aliases: tuple[str, ...] = (),
    description: str = "",
    label_free: bool = False,
) -> Metric:
    """Register a metric that is a ratio of confusion cells (Wilson intervals come for free).

    ``label_free=True`` declares that the metric depends on predictions only (numerator cells
    cover both true labels and the denominator is every row), so it can use unlabelled rows.
    """
    if label_free and set(denominator) != set(ALL):
        raise InvalidInputError(f"label-free proportion {name!r} must have every cell as denominator")

    def compute(stats: GroupStats) -> FloatArray:
        return _div(*_proportion_parts(stats, name, (numerator, denominator), label_free, True))

    return register_metric(
        Metric(
            name=name,
            compute=compute,
            block="confusion",
            interval="wilson",
            undefined=undefined,
            aliases=aliases,
            cells=(numerator, denominator),
            description=description,
            label_free=label_free,
        )
    )


# -- confusion metrics ---------------------------------------------------------------------------
_NO_POS = "it has no rows with y_true equal to the positive label"
_NO_NEG = "it has no rows with y_true equal to the negative label"
_NO_PRED_POS = "it has no positive predictions"
_NO_PRED_NEG = "it has no negative predictions"
_EMPTY = "it has no rows (or zero total weight)"

register_proportion(
    "selection_rate",
    (FP, TP),
    ALL,
    undefined=_EMPTY,
    aliases=("sr", "positive_rate"),
    description="share of rows predicted positive",
    label_free=True,
)
register_proportion(
    "accuracy",
    (TN, TP),
    ALL,
    undefined=_EMPTY,
    aliases=("acc", "accuracy_score"),
    description="share of correct predictions",
)
register_proportion(
    "error_rate", (FP, FN), ALL, undefined=_EMPTY, aliases=("err",), description="share of wrong predictions"
)
register_proportion(
    "true_positive_rate",
    (TP,),
    (FN, TP),
    undefined=_NO_POS,
    aliases=("tpr", "recall", "sensitivity", "hit_rate", "recall_score"),
    description="share of actual positives predicted positive",
)
register_proportion(
    "false_negative_rate",
    (FN,),
    (FN, TP),
    undefined=_NO_POS,
    aliases=("fnr", "miss_rate"),
    description="share of actual positives predicted negative",
)
register_proportion(
    "false_positive_rate",
    (FP,),
    (TN, FP),
    undefined=_NO_NEG,
    aliases=("fpr", "fall_out"),
    description="share of actual negatives predicted positive",
)
register_proportion(
    "true_negative_rate",
    (TN,),
    (TN, FP),
    undefined=_NO_NEG,
    aliases=("tnr", "specificity", "selectivity"),
    description="share of actual negatives predicted negative",
)
register_proportion(
    "precision",
    (TP,),
    (FP, TP),
    undefined=_NO_PRED_POS,
    aliases=("ppv", "positive_predictive_value", "precision_score"),
    description="share of positive predictions that are right",
)
register_proportion(
    "false_discovery_rate",
    (FP,),
    (FP, TP),
    undefined=_NO_PRED_POS,
    aliases=("fdr",),
    description="share of positive predictions that are wrong",
)
register_proportion(
    "negative_predictive_value",
    (TN,),
    (TN, FN),
    undefined=_NO_PRED_NEG,
    aliases=("npv",),
    description="share of negative predictions that are right",
)
register_proportion(
    "false_omission_rate",
    (FN,),
    (TN, FN),
    undefined=_NO_PRED_NEG,
    aliases=("for",),
    description="share of negative predictions that are wrong",
)
register_proportion(
    "prevalence",
    (FN, TP),
    ALL,
    undefined=_EMPTY,
    aliases=("base_rate",),
    description="share of rows whose true label is positive",
)


def _balanced_accuracy(stats: GroupStats) -> FloatArray:
    # Like scikit-learn: the mean of the per-class recalls of the classes present in y_true.
    table = _confusion(stats, "balanced_accuracy")
    tpr = _div(table[..., 1, 1], table[..., 1, 0] + table[..., 1, 1])
    tnr = _div(table[..., 0, 0], table[..., 0, 0] + table[..., 0, 1])
    both = np.stack([tpr, tnr])
    present = ~np.isnan(both)
    total = np.where(present, both, 0.0).sum(axis=0)
    return _div(total, present.sum(axis=0).astype(np.float64))


def _f1(stats: GroupStats) -> FloatArray:
    table = _confusion(stats, "f1")
    tp = table[..., 1, 1]
    return _div(2 * tp, 2 * tp + table[..., 0, 1] + table[..., 1, 0])


def _count(stats: GroupStats) -> FloatArray:
    return np.asarray(stats.n, dtype=np.float64)


register_metric(
    Metric(
        "balanced_accuracy",
        _balanced_accuracy,
        "confusion",
        "bootstrap",
        _EMPTY,
        aliases=("bacc", "balanced_accuracy_score"),
        description="mean of true positive and true negative rates",
    )
)
register_metric(
    Metric(
        "f1",
        _f1,
        "confusion",
        "bootstrap",
        "it has no positive rows and no positive predictions",
        aliases=("f1_score", "f_score"),
        description="harmonic mean of precision and recall",
    )
)
register_metric(
    Metric("count", _count, "any", "normal", _EMPTY, aliases=("n",), description="number of rows (unweighted)")
)


# -- score metrics -------------------------------------------------------------------------------
def _hist(stats: GroupStats, metric: str) -> tuple[FloatArray, FloatArray]:
    _need(stats.scores, metric, "scores= together with y_true")
    assert stats.scores is not None
    return stats.scores.w[..., 0, :], stats.scores.w[..., 1, :]


def _auc_from_hist(neg: FloatArray, pos: FloatArray) -> FloatArray:
    """Mann-Whitney AUC from histograms; scores in one bin count as ties (half)."""
    below = np.cumsum(neg, axis=-1) - neg
    wins = (pos * (below + 0.5 * neg)).sum(axis=-1)
    return _div(wins, pos.sum(axis=-1) * neg.sum(axis=-1))


def _roc_auc(stats: GroupStats) -> FloatArray:
    neg, pos = _hist(stats, "roc_auc")
    return _auc_from_hist(neg, pos)


def _bpsn_auc(stats: GroupStats) -> FloatArray:
    # Background positives, subgroup negatives (Borkan et al. 2019).
    neg, pos = _hist(stats, "bpsn_auc")
    background_pos = pos.sum(axis=-2, keepdims=True) - pos
    return _auc_from_hist(neg, background_pos)


def _bnsp_auc(stats: GroupStats) -> FloatArray:
    # Background negatives, subgroup positives.
    neg, pos = _hist(stats, "bnsp_auc")
    background_neg = neg.sum(axis=-2, keepdims=True) - neg
    return _auc_from_hist(background_neg, pos)


def _brier(stats: GroupStats) -> FloatArray:
    _need(stats.scores, "brier_score", "scores= together with y_true")
    assert stats.scores is not None
    s = stats.scores
    # sum w (s - y)^2 = sum w s^2 - 2 sum_{y=1} w s + sum_{y=1} w
    loss = s.wss.sum(axis=(-2, -1)) - 2 * s.ws[..., 1, :].sum(axis=-1) + s.w[..., 1, :].sum(axis=-1)
    return _div(loss, s.w.sum(axis=(-2, -1)))


def _coarse(stats: GroupStats, values: FloatArray) -> FloatArray:
    """Sum the last (bin) axis of ``values`` into the calibration bins."""
    assert stats.scores is not None
    index = stats.scores.coarse_index(CALIBRATION_BINS)
    out = np.zeros(values.shape[:-1] + (CALIBRATION_BINS,), dtype=np.float64)
    for c in range(CALIBRATION_BINS):
        out[..., c] = values[..., index == c].sum(axis=-1)
    return out


def _ece(stats: GroupStats) -> FloatArray:
    _need(stats.scores, "expected_calibration_error", "scores= together with y_true")
    assert stats.scores is not None
    s = stats.scores
    score_sum = _coarse(stats, s.ws.sum(axis=-2))
    positives = _coarse(stats, s.w[..., 1, :])
    total = s.w.sum(axis=(-2, -1))
    return _div(np.abs(score_sum - positives).sum(axis=-1), total)


def _mean_score(stats: GroupStats) -> FloatArray:
    _need(stats.scores, "mean_score", "scores=")
    assert stats.scores is not None
    return _div(stats.scores.ws.sum(axis=(-2, -1)), stats.scores.w.sum(axis=(-2, -1)))


_NO_BOTH = "it needs rows of both classes in y_true"
register_metric(
    Metric(
        "roc_auc",
        _roc_auc,
        "scores",
        "bootstrap",
        _NO_BOTH,
        aliases=("auc", "roc_auc_score"),
        description="probability a positive scores above a negative",
    )
)
register_metric(
    Metric(
        "bpsn_auc",
        _bpsn_auc,
        "scores",
        "bootstrap",
        "it needs negatives in the group and positives outside it",
        description="AUC of the group's negatives against the other groups' positives",
    )
)
register_metric(
    Metric(
        "bnsp_auc",
        _bnsp_auc,
        "scores",
        "bootstrap",
        "it needs positives in the group and negatives outside it",
        description="AUC of the group's positives against the other groups' negatives",
    )
)
register_metric(
    Metric(
        "brier_score",
        _brier,
        "scores",
        "bootstrap",
        _EMPTY,
        aliases=("brier", "brier_score_loss"),
        description="mean squared difference between score and label",
    )
)
register_metric(
    Metric(
        "expected_calibration_error",
        _ece,
        "scores",
        "bootstrap",
        _EMPTY,
        aliases=("ece",),
        description=f"expected calibration error over {CALIBRATION_BINS} uniform bins",
    )
)
register_metric(Metric("mean_score", _mean_score, "scores", "bootstrap", _EMPTY, description="mean score"))


def calibration_table(stats: GroupStats) -> dict[str, FloatArray]:
    """Per group and calibration bin: weight, mean score and observed positive rate.

    Returns arrays of shape ``(G, CALIBRATION_BINS)`` under ``"weight"``, ``"mean_score"`` and
    ``"positive_rate"`` (``nan`` for empty bins), plus the ``"edges"`` of the bins.
    """
    _need(stats.scores, "calibration_table", "scores= together with y_true")
    assert stats.scores is not None
    s = stats.scores
    weight = _coarse(stats, s.w.sum(axis=-2))
    return {
        "edges": np.linspace(0.0, 1.0, CALIBRATION_BINS + 1),
        "weight": weight,
        "mean_score": _div(_coarse(stats, s.ws.sum(axis=-2)), weight),
        "positive_rate": _div(_coarse(stats, s.w[..., 1, :]), weight),
    }


# -- regression metrics --------------------------------------------------------------------------
_R = {name: i for i, name in enumerate(REGRESSION_FIELDS)}


def _moment(stats: GroupStats, field: str, metric: str) -> FloatArray:
    _need(stats.regression, metric, "numeric y_true and y_pred (regression)")
    assert stats.regression is not None
    return stats.regression[..., _R[field]]


def _ratio_metric(
    name: str, field: str, transform: Callable[[FloatArray], FloatArray] | None = None
) -> Callable[[GroupStats], FloatArray]:
    def compute(stats: GroupStats) -> FloatArray:
        value = _div(_moment(stats, field, name), _moment(stats, "w", name))
        return value if transform is None else transform(value)

    return compute


register_metric(
    Metric(
        "mean_absolute_error",
        _ratio_metric("mean_absolute_error", "wae"),
        "regression",
        "normal",
        _EMPTY,
        aliases=("mae",),
        description="mean |y_true - y_pred|",
    )
)
register_metric(
    Metric(
        "mean_squared_error",
        _ratio_metric("mean_squared_error", "wee"),
        "regression",
        "normal",
        _EMPTY,
        aliases=("mse",),
        description="mean (y_true - y_pred)^2",
    )
)
register_metric(
    Metric(
        "root_mean_squared_error",
        _ratio_metric("root_mean_squared_error", "wee", np.sqrt),
        "regression",
        "normal",
        _EMPTY,
        aliases=("rmse",),
        description="square root of the mean squared error",
    )
)
register_metric(
    Metric(
        "mean_prediction",
        _ratio_metric("mean_prediction", "wp"),
        "regression",
        "normal",
        _EMPTY,
        description="mean of y_pred",
    )
)
register_metric(
    Metric(
        "mean_label",
        _ratio_metric("mean_label", "wy"),
        "regression",
        "normal",
        _EMPTY,
        aliases=("mean_y_true",),
        description="mean of y_true",
    )
)
register_metric(
    Metric(
        "mean_error",
        _ratio_metric("mean_error", "we"),
        "regression",
        "normal",
        _EMPTY,
        aliases=("mean_residual",),
        description="mean of y_true - y_pred (positive: under-prediction)",
    )
)
