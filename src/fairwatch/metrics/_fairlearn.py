"""fairlearn-compatible disparity functions: same names, signatures and semantics.

Migrating code changes one import (``from fairlearn.metrics import ...`` to
``from fairwatch.metrics import ...``); the numbers agree with fairlearn's to floating-point
precision (tested), and are computed from GroupStats in one pass. Like fairlearn, these functions
compare groups of any size (no ``min_group_size``) and the demographic-parity functions ignore the
content of ``y_true``. One difference is kept on purpose: a group whose true positive (or false
positive) rate is undefined — no positive (negative) labels — gets ``nan`` and an
``UndefinedMetricWarning`` and is left out of that rate's gap, where fairlearn counts the rate as 0
(see the README's "Differences from fairlearn").
"""

from __future__ import annotations

from typing import Any, Literal

from fairwatch._typing import ArrayLike, SensitiveLike
from fairwatch.exceptions import LengthMismatchError
from fairwatch.frames._columns import resolve_column
from fairwatch.metrics._calls import group_stats
from fairwatch.metrics._summary import Disparity, summarize

__all__ = [
    "calibration_gap",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "predictive_parity_difference",
    "predictive_parity_ratio",
]

Method = Literal["between_groups", "to_overall"]
Agg = Literal["worst_case", "mean"]


def _disparity(
    name: str,
    metrics: tuple[str, ...],
    y_true: ArrayLike,
    y_pred: ArrayLike | None,
    *,
    sensitive_features: SensitiveLike,
    method: str,
    sample_weight: ArrayLike | None,
    pos_label: Any = None,
    agg: str = "worst_case",
    scores: ArrayLike | None = None,
) -> Disparity:
    stats = group_stats(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        sample_weight=sample_weight,
        scores=scores,
        metrics=metrics,
        pos_label=pos_label,
    )
    summary = summarize(stats, metrics, method=method, agg=agg)  # type: ignore[arg-type]
    return summary.disparities[name]


def _selections(
    y_true: ArrayLike | None,
    y_pred: ArrayLike,
    *,
    sensitive_features: SensitiveLike,
    method: str,
    sample_weight: ArrayLike | None,
    pos_label: Any,
) -> Disparity:
    """The demographic-parity disparity, from ``y_pred`` alone: as in fairlearn, the content of
    ``y_true`` (text labels, NaN, several classes) is ignored; only its length is checked."""
    truth, predictions = resolve_column(y_true, "y_true", None), resolve_column(y_pred, "y_pred", None)
    if truth is not None and predictions is not None and len(truth) != len(predictions):
        raise LengthMismatchError(
            f"y_true has {len(truth)} values but y_pred has {len(predictions)}; pass one label per prediction (or "
            f"None: the demographic-parity functions do not read y_true)"
        )
    return _disparity(
        "demographic_parity",
        ("selection_rate",),
        y_pred,
        y_pred,
        sensitive_features=sensitive_features,
        method=method,
        sample_weight=sample_weight,
        pos_label=pos_label,
    )


def demographic_parity_difference(
    y_true: ArrayLike | None,
    y_pred: ArrayLike,
    *,
    sensitive_features: SensitiveLike,
    method: Method = "between_groups",
    sample_weight: ArrayLike | None = None,
    pos_label: Any = None,
) -> float:
    """Largest difference in selection rate between groups.

    Parameters
    ----------
    y_true : array-like or None
        True labels: not read (as in fairlearn, whatever they hold: text, NaN, several classes);
        only their length is checked.
    y_pred : array-like
        Binary predictions.
    sensitive_features : array-like or dataframe
        Sensitive feature(s); several columns form intersectional groups.
    method : {"between_groups", "to_overall"}
        ``max - min`` over groups, or the largest absolute gap to the overall rate.
    sample_weight : array-like, optional
        Row weights.
    pos_label : object, optional
        Positive label, inferred for 0/1 and boolean predictions.

    Returns
    -------
    float

    Examples
    --------
    >>> from fairwatch.metrics import demographic_parity_difference
    >>> demographic_parity_difference([1, 0, 1, 0], [1, 1, 0, 0], sensitive_features=["a", "a", "b", "b"])
    1.0
    """
    return _selections(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        method=method,
        sample_weight=sample_weight,
        pos_label=pos_label,
    ).difference


def demographic_parity_ratio(
    y_true: ArrayLike | None,
    y_pred: ArrayLike,
    *,
    sensitive_features: SensitiveLike,
    method: Method = "between_groups",
    sample_weight: ArrayLike | None = None,
    pos_label: Any = None,
) -> float:
    """Smallest ratio of selection rates between groups (``min / max``; 1 means parity).

    ``y_true`` is not read (only its length is checked), as in fairlearn.

    Examples
    --------
    >>> from fairwatch.metrics import demographic_parity_ratio
    >>> demographic_parity_ratio([1, 0, 1, 0], [1, 1, 1, 0], sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    return _selections(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        method=method,
        sample_weight=sample_weight,
        pos_label=pos_label,
    ).ratio


def equalized_odds_difference(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sensitive_features: SensitiveLike,
    method: Method = "between_groups",
    sample_weight: ArrayLike | None = None,
    agg: Agg = "worst_case",
    pos_label: Any = None,
) -> float:
    """The larger (``agg="worst_case"``) or the mean (``agg="mean"``) of the true-positive-rate
    and false-positive-rate differences between groups.

    A group with no positive labels has no true positive rate: fairwatch reports ``nan`` with an
    ``UndefinedMetricWarning`` naming the group and leaves it out of the TPR gap, where fairlearn
    counts its rate as 0 (so the two differ in that case only; see the README).

    Examples
    --------
    >>> from fairwatch.metrics import equalized_odds_difference
    >>> equalized_odds_difference([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"])
    1.0
    """
    return _disparity(
        "equalized_odds",
        ("true_positive_rate", "false_positive_rate"),
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        method=method,
        sample_weight=sample_weight,
        agg=agg,
        pos_label=pos_label,
    ).difference


def equalized_odds_ratio(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sensitive_features: SensitiveLike,
    method: Method = "between_groups",
    sample_weight: ArrayLike | None = None,
    agg: Agg = "worst_case",
    pos_label: Any = None,
) -> float:
    """The smaller (``agg="worst_case"``) or the mean (``agg="mean"``) of the true-positive-rate
    and false-positive-rate ratios between groups.

    Examples
    --------
    >>> from fairwatch.metrics import equalized_odds_ratio
    >>> equalized_odds_ratio([1, 0, 1, 0, 1, 0], [1, 1, 0, 0, 1, 1], sensitive_features=list("aaaabb"))
    0.5
    """
    return _disparity(
        "equalized_odds",
        ("true_positive_rate", "false_positive_rate"),
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        method=method,
        sample_weight=sample_weight,
        agg=agg,
        pos_label=pos_label,
    ).ratio


def equal_opportunity_difference(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sensitive_features: SensitiveLike,
    method: Method = "between_groups",
    sample_weight: ArrayLike | None = None,
    pos_label: Any = None,
) -> float:
    """Largest difference in true positive rate between groups.

    A group with no positive labels has no true positive rate: it is reported as ``nan`` (with an
    ``UndefinedMetricWarning``) and left out, where fairlearn counts it as 0.

    Examples
    --------
    >>> from fairwatch.metrics import equal_opportunity_difference
    >>> equal_opportunity_difference([1, 1, 1, 1], [1, 1, 1, 0], sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    return _disparity(
        "equal_opportunity",
        ("true_positive_rate",),
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        method=method,
        sample_weight=sample_weight,
        pos_label=pos_label,
    ).difference


def equal_opportunity_ratio(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sensitive_features: SensitiveLike,
    method: Method = "between_groups",
    sample_weight: ArrayLike | None = None,
    pos_label: Any = None,
) -> float:
    """Smallest ratio of true positive rates between groups.

    Examples
    --------
    >>> from fairwatch.metrics import equal_opportunity_ratio
    >>> equal_opportunity_ratio([1, 1, 1, 1], [1, 1, 1, 0], sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    return _disparity(
        "equal_opportunity",
        ("true_positive_rate",),
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        method=method,
        sample_weight=sample_weight,
        pos_label=pos_label,
    ).ratio


def predictive_parity_difference(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sensitive_features: SensitiveLike,
    method: Method = "between_groups",
    sample_weight: ArrayLike | None = None,
    pos_label: Any = None,
) -> float:
    """Largest difference in precision (positive predictive value) between groups.

    Examples
    --------
    >>> from fairwatch.metrics import predictive_parity_difference
    >>> predictive_parity_difference([1, 0, 1, 1], [1, 1, 1, 1], sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    return _disparity(
        "predictive_parity",
        ("precision",),
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        method=method,
        sample_weight=sample_weight,
        pos_label=pos_label,
    ).difference


def predictive_parity_ratio(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sensitive_features: SensitiveLike,
    method: Method = "between_groups",
    sample_weight: ArrayLike | None = None,
    pos_label: Any = None,
) -> float:
    """Smallest ratio of precision (positive predictive value) between groups.

    Examples
    --------
    >>> from fairwatch.metrics import predictive_parity_ratio
    >>> predictive_parity_ratio([1, 0, 1, 1], [1, 1, 1, 1], sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    return _disparity(
        "predictive_parity",
        ("precision",),
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        method=method,
        sample_weight=sample_weight,
        pos_label=pos_label,
    ).ratio


def calibration_gap(
    y_true: ArrayLike,
    scores: ArrayLike,
    *,
    sensitive_features: SensitiveLike,
    method: Method = "between_groups",
    sample_weight: ArrayLike | None = None,
    pos_label: Any = None,
) -> float:
    """Largest difference in expected calibration error (10 uniform bins) between groups.

    A gap of 0.05 means one group's scores are on average 5 points further from the observed
    outcome rates than another group's.

    Examples
    --------
    >>> from fairwatch.metrics import calibration_gap
    >>> round(calibration_gap([1, 0, 1, 0], [0.9, 0.1, 0.6, 0.6], sensitive_features=["a", "a", "b", "b"]), 6)
    0.0
    """
    return _disparity(
        "calibration_gap",
        ("expected_calibration_error",),
        y_true,
        None,
        sensitive_features=sensitive_features,
        method=method,
        sample_weight=sample_weight,
        pos_label=pos_label,
        scores=scores,
    ).difference
