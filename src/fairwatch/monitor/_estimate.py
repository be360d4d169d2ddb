"""Fairness before the labels arrive: confusion matrices estimated from calibrated scores.

For each group, a calibrator (isotonic or Platt, chosen by cross-validated Brier score) is fitted on
a reference period whose outcomes are known. In a later window, a prediction with calibrated
probability ``p`` contributes ``p`` expected true positives (if predicted positive) or false
negatives (if predicted negative), and ``1 - p`` false positives or true negatives. Summing gives the
expected confusion matrix of the window, hence estimated TPR, FPR, precision, accuracy and their
disparities.

Everything stays aggregate: the reference period leaves the store as a per-group score histogram
(fold, bin, label -> count, sum of scores) and each window as a histogram split by prediction and
label state. Calibrators are evaluated at each cell's mean score.

Labels that have arrived are used as they are: a window's counts are the realised counts of its
labelled predictions plus the expected counts of its unlabelled ones. With no labels this is the
pure estimate; with every label it is the realised value (and ``estimated`` becomes false). This
assumes outcomes arrive independently of the label given group, score and prediction (missing at
random); a ``calibration_check`` on the labelled rows of each window compares observed positives with
the calibrated expectation so that a broken assumption or a concept shift shows as soon as some
labels arrive.

Uncertainty: the counts of the unlabelled predictions are Poisson-binomial (independent Bernoulli
draws with the calibrated probabilities), approximated by normals with variance ``sum p (1 - p)``;
the calibrators are refitted on Poisson-bootstrap replicates of the reference histogram. Each
Monte-Carlo draw combines one refitted calibrator with one normal draw of the counts, and intervals
are percentiles of the metrics and disparities over the draws.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np

from fairwatch._typing import FloatArray, GroupKey
from fairwatch.exceptions import InvalidInputError
from fairwatch.frames._encode import group_sort_key
from fairwatch.metrics._summary import disparity_values
from fairwatch.monitor._cells import Grid, _codes_of, check_size, count_rows, group_map, nanos, score_rows
from fairwatch.monitor._durations import parse_duration
from fairwatch.monitor._rollup import SCORE_BINS as STORE_SCORE_BINS
from fairwatch.monitor._rollup import dictionary_id
from fairwatch.monitor._store import Store
from fairwatch.monitor._windows import _check_labels, _check_sensitive, window_grid

__all__ = [
    "ESTIMATED_METRICS",
    "Calibrator",
    "EstimateWindow",
    "GroupCalibration",
    "ReferenceCalibration",
    "estimate_windows",
    "fit_calibrator",
    "fit_reference_calibration",
]

IntervalTarget = Literal["realised", "population"]
CalibrationMethod = Literal["auto", "identity", "isotonic", "platt"]
FittedMethod = Literal["identity", "isotonic", "platt"]
#: The label-dependent metrics estimated per group, in the registry's names.
ESTIMATED_METRICS = ("true_positive_rate", "false_positive_rate", "precision", "accuracy")
#: Disparities reported, each the worst case over the listed metrics.
ESTIMATED_DISPARITIES: dict[str, tuple[str, ...]] = {
    "true_positive_rate": ("true_positive_rate",),
    "false_positive_rate": ("false_positive_rate",),
    "precision": ("precision",),
    "accuracy": ("accuracy",),
    "equal_opportunity": ("true_positive_rate",),
    "predictive_parity": ("precision",),
    "equalized_odds": ("true_positive_rate", "false_positive_rate"),
}
#: Score histogram resolution of the aggregates (calibrators are evaluated at each cell's mean score).
SCORE_BINS = STORE_SCORE_BINS
N_FOLDS = 5
UNCERTAINTY_METHOD = (
    "normal approximation of the Poisson-binomial counts of unlabelled predictions, combined with a Poisson "
    "bootstrap of the reference calibration; percentile intervals over the draws"
)
_EPS = 1e-6


# -- calibrators ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibrator:
    """A fitted map from score to probability of the positive label.

    ``method="isotonic"``: a non-decreasing step function through ``knots`` (interpolated linearly
    between knots, constant beyond them). ``method="platt"``: ``sigmoid(a * logit(score) + b)`` with
    ``coef = (a, b)`` (on the logit, so an already calibrated score is the special case ``a=1, b=0``).
    ``method="identity"``: the score itself (chosen when validation finds the model already calibrated
    for the group: fitting would only add noise).
    """

    method: FittedMethod
    knots: tuple[FloatArray, FloatArray] | None = None
    coef: tuple[float, float] | None = None

    def predict(self, scores: Any) -> FloatArray:
        """Calibrated probabilities of ``scores`` (values in [0, 1])."""
        s = np.asarray(scores, dtype=np.float64)
        if self.method == "identity":
            return np.asarray(np.clip(s, 0.0, 1.0))
        if self.method == "platt":
            assert self.coef is not None
            return _sigmoid(self.coef[0] * _logit(s) + self.coef[1])
        assert self.knots is not None
        return np.interp(s, self.knots[0], self.knots[1])


def _logit(s: FloatArray) -> FloatArray:
    c = np.clip(s, _EPS, 1.0 - _EPS)
    return np.asarray(np.log(c) - np.log1p(-c))


def _sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64))))


def _fit_isotonic(x: FloatArray, pos: FloatArray, neg: FloatArray) -> Calibrator:
    """Pool-adjacent-violators on weighted points (scipy's C implementation)."""
    from scipy.optimize import isotonic_regression

    w = pos + neg
    keep = w > 0
    order = np.argsort(x[keep], kind="stable")
    xs, ws, ys = x[keep][order], w[keep][order], (pos[keep] / w[keep])[order]
    fitted = isotonic_regression(ys, weights=ws, increasing=True).x
    # one knot per pooled block edge keeps interpolation within the block constant
    return Calibrator("isotonic", knots=(xs, np.asarray(fitted, dtype=np.float64)))


def _fit_platt(x: FloatArray, pos: FloatArray, neg: FloatArray) -> Calibrator:
    a, b = _platt_newton(_logit(x), pos[None, :], neg[None, :])
    return Calibrator("platt", coef=(float(a[0]), float(b[0])))


def _platt_newton(
    z: FloatArray, pos: FloatArray, neg: FloatArray, iterations: int = 50
) -> tuple[FloatArray, FloatArray]:
    """Weighted logistic regression of the label on ``z`` for each row of weights (replicates)."""
    r = pos.shape[0]
    a, b = np.ones(r), np.zeros(r)
    ridge = 1e-6 * (pos + neg).sum(axis=1) + 1e-9
    for _ in range(iterations):
        p = _sigmoid(a[:, None] * z[None, :] + b[:, None])
        w = pos + neg
        resid = pos - w * p  # gradient of the log-likelihood per point
        h = w * p * (1.0 - p)
        g_a, g_b = (resid * z).sum(axis=1) - ridge * (a - 1.0), resid.sum(axis=1) - ridge * b
        h_aa, h_ab, h_bb = (h * z * z).sum(axis=1) + ridge, (h * z).sum(axis=1), h.sum(axis=1) + ridge
        det = h_aa * h_bb - h_ab * h_ab
        det = np.where(det > 0, det, np.inf)
        step_a, step_b = (h_bb * g_a - h_ab * g_b) / det, (h_aa * g_b - h_ab * g_a) / det
        a, b = a + np.clip(step_a, -5, 5), b + np.clip(step_b, -5, 5)
        if np.max(np.abs(step_a) + np.abs(step_b)) < 1e-10:
            break
    return a, b


def _fit_identity(x: FloatArray, pos: FloatArray, neg: FloatArray) -> Calibrator:
    return Calibrator("identity")


_FITTERS = {"identity": _fit_identity, "isotonic": _fit_isotonic, "platt": _fit_platt}


def _brier(p: FloatArray, pos: FloatArray, neg: FloatArray) -> float:
    return float((pos * (1.0 - p) ** 2 + neg * p**2).sum())


def _ece(p: FloatArray, pos: FloatArray, neg: FloatArray, bins: int = 10) -> float:
    """Expected calibration error over ``bins`` equal-width bins of the predicted probability."""
    w = pos + neg
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    expected = np.bincount(index, weights=w * p, minlength=bins)
    observed = np.bincount(index, weights=pos, minlength=bins)
    total = w.sum()
    return float(np.abs(observed - expected).sum() / total) if total > 0 else float("nan")


@dataclass(frozen=True)
class _CrossValidation:
    method: FittedMethod
    brier: dict[str, float]
    ece: float


def _cross_validate(
    x: FloatArray, pos: FloatArray, neg: FloatArray, folds: Any, method: CalibrationMethod
) -> _CrossValidation:
    """Out-of-fold Brier score of each candidate method, and the held-out ECE of the chosen one.

    Candidates in order of complexity: the raw score, Platt (2 parameters), isotonic (a step per
    block). The simplest candidate within one standard error of the best Brier score is chosen (the
    one-standard-error rule): a calibrator fitted on a small group only adds noise unless it clearly
    beats the simpler one.
    """
    candidates: tuple[FittedMethod, ...] = ("identity", "platt", "isotonic") if method == "auto" else (method,)
    oof = {m: np.zeros_like(x) for m in candidates}
    for k in np.unique(folds).tolist():
        held = folds == k
        for m in candidates:
            fitted = _FITTERS[m](x[~held], pos[~held], neg[~held])
            oof[m][held] = fitted.predict(x[held])
    brier: dict[str, float] = {m: _brier(oof[m], pos, neg) / float((pos + neg).sum()) for m in candidates}
    best = min(candidates, key=lambda m: brier[m])
    chosen = next(m for m in candidates if brier[m] <= brier[best] + _brier_difference_se(oof[m], oof[best], pos, neg))
    return _CrossValidation(chosen, brier, _ece(oof[chosen], pos, neg))


def _brier_difference_se(p1: FloatArray, p2: FloatArray, pos: FloatArray, neg: FloatArray) -> float:
    """Standard error of the mean per-row difference of Brier losses between two predictions."""
    n = float((pos + neg).sum())
    d_pos, d_neg = (1 - p1) ** 2 - (1 - p2) ** 2, p1**2 - p2**2
    mean = float((pos * d_pos + neg * d_neg).sum()) / n
    second = float((pos * d_pos**2 + neg * d_neg**2).sum()) / n
    return math.sqrt(max(second - mean * mean, 0.0) / n)


def fit_calibrator(
    scores: Any,
    labels: Any,
    *,
    sample_weight: Any = None,
    method: CalibrationMethod = "auto",
    n_folds: int = N_FOLDS,
    random_state: int | None = 0,
) -> tuple[Calibrator, dict[str, Any]]:
    """Fit a score calibrator, choosing isotonic or Platt by cross-validated Brier score.

    Parameters
    ----------
    scores : array-like of float in [0, 1]
        Model scores.
    labels : array-like of 0/1
        True labels.
    sample_weight : array-like, optional
        Row weights (counts, when rows are histogram cells).
    method : {"auto", "identity", "isotonic", "platt"}
        ``"auto"`` compares the raw score, Platt and isotonic by out-of-fold Brier score and keeps the
        simplest within one standard error of the best.
    n_folds : int
        Folds of the cross-validation (rows are assigned at random).
    random_state : int or None
        Seed of the fold assignment.

    Returns
    -------
    calibrator : Calibrator
        Fitted on every row.
    diagnostics : dict
        ``method``, out-of-fold ``brier`` per candidate and the held-out ``ece`` of the chosen method.

    Raises
    ------
    fairwatch.exceptions.InvalidInputError
        For scores outside [0, 1], labels that are not 0/1, lengths that differ or an unknown method.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> s = rng.uniform(size=4000)
    >>> y = (rng.uniform(size=4000) < s).astype(int)
    >>> cal, info = fit_calibrator(s, y)
    >>> round(float(cal.predict([0.2])[0]), 1), info["ece"] < 0.05
    (0.2, True)
    """
    if method not in ("auto", "identity", "isotonic", "platt"):
        raise InvalidInputError(f"method must be 'auto', 'identity', 'isotonic' or 'platt'; got {method!r}")
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    w = np.ones_like(s) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).ravel()
    if not (s.size == y.size == w.size):
        raise InvalidInputError(
            f"scores, labels and sample_weight need the same length; got {s.size}, {y.size}, {w.size}"
        )
    if s.size == 0 or np.isnan(s).any() or (s < 0).any() or (s > 1).any():
        raise InvalidInputError("scores must be non-empty probabilities in [0, 1] without NaN")
    if not np.isin(y, (0.0, 1.0)).all():
        raise InvalidInputError("labels must be 0 or 1")
    if n_folds < 2:
        raise InvalidInputError(f"n_folds must be at least 2; got {n_folds}")
    folds = np.random.default_rng(random_state).integers(0, n_folds, s.size)
    pos, neg = w * y, w * (1.0 - y)
    cv = _cross_validate(s, pos, neg, folds, method)
    calibrator = _FITTERS[cv.method](s, pos, neg)
    return calibrator, {"method": cv.method, "brier": cv.brier, "ece": cv.ece}


# -- the reference period ------------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupCalibration:
    """One group's calibration on the reference period, or the reason it was refused."""

    group: GroupKey
    n: int
    positives: int
    calibrator: Calibrator | None
    method: str | None
    brier: dict[str, float]
    ece: float | None
    refused: str | None
    # the reference histogram (cell mean score, positives, negatives) for the bootstrap
    cells: tuple[FloatArray, FloatArray, FloatArray] | None = field(default=None, repr=False)

    def to_dict(self, sensitive: Sequence[str]) -> dict[str, Any]:
        return {
            "group": dict(zip(sensitive, self.group)),
            "n_reference": self.n,
            "positives": self.positives,
            "method": self.method,
            "brier": self.brier,
            "ece": self.ece,
            "estimate_refused": self.refused,
        }


@dataclass(frozen=True)
class ReferenceCalibration:
    """Per-group calibrators fitted on a labelled reference period."""

    model: str
    sensitive: tuple[str, ...]
    start: datetime
    end: datetime
    groups: dict[GroupKey, GroupCalibration]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "groups": [g.to_dict(self.sensitive) for g in self.groups.values()],
        }


#: Seed of the fold assignment of the reference histogram (fixed: a calibration is reproducible).
_FOLD_SEED = 20240501


def reference_rows(
    store: Store, model: str, model_version: str | None, sensitive: Sequence[str], grid: Grid, pos_label: str
) -> list[tuple[Any, ...]]:
    """Labelled, scored predictions of the reference period from the roll-ups:
    ``(0, *group, 1, y, fold, bin, n, s1)``.

    The folds of the cross-validation split each histogram cell's rows at random (a multinomial draw of
    its count, the sum of scores shared in proportion), which is what assigning each row to a random
    fold gives, without the rows.
    """
    mapping = group_map(store, model, sensitive)
    series = store.series_ids(model, model_version)
    rows = score_rows(store, series, grid, labelled_only=True)
    if not rows:
        return []
    pos_id = dictionary_id("l", model, "", pos_label)
    rng = np.random.default_rng(_FOLD_SEED)
    out: list[tuple[Any, ...]] = []
    _, group_ids, _, labels, bins, counts, s1, _ = (np.asarray(c) for c in zip(*rows))
    codes = _codes_of(mapping, group_ids.astype(np.int64))
    folds = rng.multinomial(counts.astype(np.int64), np.full(N_FOLDS, 1.0 / N_FOLDS))
    mean = nanos(s1) / counts
    for i in range(len(rows)):
        key = mapping.keys[int(codes[i])]
        y = int(labels[i] == pos_id)
        for fold in np.flatnonzero(folds[i]).tolist():
            n = int(folds[i, fold])
            out.append((0, *key, 1, y, fold, int(bins[i]), n, float(mean[i] * n)))
    return out


def window_rows(
    store: Store, model: str, model_version: str | None, sensitive: Sequence[str], grid: Grid, pos_label: str
) -> list[tuple[Any, ...]]:
    """Every prediction of each window from the roll-ups: ``(w, *group, labelled, y, y_pred, bin, n, s1)``;
    bin -1 holds the predictions without a score."""
    mapping = group_map(store, model, sensitive)
    series = store.series_ids(model, model_version)
    pos_id = dictionary_id("l", model, "", pos_label)
    scores = [r for r in score_rows(store, series, grid, labelled_only=False) if r[5]]
    counts = count_rows(store, series, grid)
    scored: dict[tuple[int, int, int, int], int] = {}
    for w, group_id, predicted, label, _bin, n, _s1, _s2 in scores:
        cell = (int(w), int(group_id), int(predicted), int(label))
        scored[cell] = scored.get(cell, 0) + int(n)
    unscored = [
        (w, g, p, y, -1, int(n) - scored.get((int(w), int(g), int(p), int(y)), 0), 0, 0) for w, g, p, y, n in counts
    ]
    rows = scores + [r for r in unscored if r[5] > 0]
    if not rows:
        return []
    w, group_id, predicted, label, bins, n, s1, _ = (np.asarray(c) for c in zip(*rows))
    codes = _codes_of(mapping, group_id.astype(np.int64)).tolist()
    labelled = (label != 0).astype(int).tolist()
    y = (label == pos_id).astype(int).tolist()
    y_pred = (predicted == pos_id).astype(int).tolist()
    means = nanos(s1).tolist()
    return [
        (int(w[i]), *mapping.keys[codes[i]], labelled[i], y[i], y_pred[i], int(bins[i]), int(n[i]), means[i])
        for i in range(len(rows))
    ]


def _group_rows(rows: Sequence[tuple[Any, ...]], k: int) -> dict[GroupKey, np.ndarray]:
    """Rows split by group key (the ``k`` columns after the window), as float arrays of the rest."""
    grouped: dict[GroupKey, list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault(tuple(row[1 : 1 + k]), []).append((row[0], *row[1 + k :]))
    return {key: np.asarray(grouped[key], dtype=np.float64) for key in sorted(grouped, key=group_sort_key)}


def fit_reference_calibration(
    store: Store,
    model: str,
    *,
    sensitive: Sequence[str],
    reference_start: datetime,
    reference_end: datetime,
    method: CalibrationMethod = "auto",
    min_reference_rows: int = 200,
    max_ece: float = 0.05,
    model_version: str | None = None,
    pos_label: str = "1",
) -> ReferenceCalibration:
    """Fit one calibrator per group on the labelled, scored predictions of a reference period.

    Folds for the choice of method come from a hash of ``prediction_id`` (stable across calls).
    A group is refused (``refused`` says why) when it has fewer than ``min_reference_rows`` labelled
    rows or fewer than 10 of either label, or when the held-out expected calibration error of the
    chosen calibrator exceeds ``max_ece``.

    Raises
    ------
    fairwatch.exceptions.UnknownModelError
        When the model has no predictions.
    fairwatch.exceptions.InvalidInputError
        When the reference period has no labelled, scored predictions, or for bad arguments.

    Examples
    --------
    >>> cal = fit_reference_calibration(store, "credit", sensitive=["sex"],  # doctest: +SKIP
    ...                                 reference_start=t0, reference_end=t1)
    """
    if method not in ("auto", "identity", "isotonic", "platt"):
        raise InvalidInputError(f"method must be 'auto', 'identity', 'isotonic' or 'platt'; got {method!r}")
    if not (isinstance(max_ece, (int, float)) and 0 < max_ece <= 1):
        raise InvalidInputError(f"max_ece must be in (0, 1]; got {max_ece!r}")
    if not isinstance(min_reference_rows, int) or min_reference_rows < 20:
        raise InvalidInputError(f"min_reference_rows must be an integer of at least 20; got {min_reference_rows!r}")
    span = max(reference_end - reference_start, timedelta(seconds=1))  # one window: the whole period
    grid = window_grid(store, model, reference_start, reference_end, span, finest=1, what="the reference period")
    _check_sensitive(store, model, sensitive)
    _check_labels(store, model, pos_label)
    rows = reference_rows(store, model, model_version, sensitive, grid, pos_label)
    if not rows:
        raise InvalidInputError(
            f"the reference period {reference_start.isoformat()} to {reference_end.isoformat()} has no predictions of "
            f"model {model!r} with both a score and an outcome; choose a period whose outcomes have arrived"
        )
    k = len(sensitive)
    groups = {
        key: _calibrate_group(key, cells, method, min_reference_rows, max_ece)
        for key, cells in _group_rows(rows, k).items()
    }
    return ReferenceCalibration(model, tuple(sensitive), reference_start, reference_end, groups)


def _calibrate_group(
    key: GroupKey, cells: np.ndarray, method: CalibrationMethod, min_rows: int, max_ece: float
) -> GroupCalibration:
    # columns after the window: labelled, y, fold, bin, n, s1
    y, fold, n, s1 = cells[:, 2], cells[:, 3], cells[:, 5], cells[:, 6]
    # one point per (fold, bin): mean score, positives, negatives
    cell_id = fold * SCORE_BINS + cells[:, 4]
    ids, inverse = np.unique(cell_id, return_inverse=True)
    total = np.asarray(np.bincount(inverse, weights=n), dtype=np.float64)
    pos = np.asarray(np.bincount(inverse, weights=n * y), dtype=np.float64)
    x = np.bincount(inverse, weights=s1) / total
    point_fold = (ids // SCORE_BINS).astype(np.int64)
    n_rows, positives = int(total.sum()), int(pos.sum())
    negatives = n_rows - positives

    def refuse(reason: str, **kw: Any) -> GroupCalibration:
        return GroupCalibration(
            key, n_rows, positives, None, kw.get("method"), kw.get("brier", {}), kw.get("ece"), reason
        )

    if n_rows < min_rows:
        return refuse(f"too few labelled reference rows for this group: {n_rows} < min_reference_rows={min_rows}")
    if min(positives, negatives) < 10:
        return refuse(
            f"the reference period has only {positives} positive and {negatives} negative labels for this group"
        )
    cv = _cross_validate(x, pos, total - pos, point_fold, method)
    if not cv.ece <= max_ece:
        return refuse(
            f"calibration is poor: held-out expected calibration error {cv.ece:.3f} > max_ece={max_ece} "
            f"(scores do not predict this group's outcomes reliably enough to estimate without labels)",
            method=cv.method,
            brier=cv.brier,
            ece=cv.ece,
        )
    # the final fit pools the folds: one point per score bin, whatever the fold assignment
    _, back = np.unique(ids % SCORE_BINS, return_inverse=True)
    b_total = np.asarray(np.bincount(back, weights=total), dtype=np.float64)
    b_pos = np.asarray(np.bincount(back, weights=pos), dtype=np.float64)
    b_x = np.asarray(np.bincount(back, weights=x * total), dtype=np.float64) / b_total
    calibrator = _FITTERS[cv.method](b_x, b_pos, b_total - b_pos)
    return GroupCalibration(
        key, n_rows, positives, calibrator, cv.method, cv.brier, cv.ece, None, cells=(b_x, b_pos, b_total - b_pos)
    )


def _bootstrap_calibrators(group: GroupCalibration, n_boot: int, rng: np.random.Generator) -> list[Calibrator]:
    """Calibrators refitted on Poisson-bootstrap replicates of the reference histogram."""
    assert group.cells is not None and group.method is not None
    if group.method == "identity":  # nothing fitted: the counts' own noise is the uncertainty
        return [Calibrator("identity")] * n_boot
    x, pos, neg = group.cells
    pos_r, neg_r = (
        rng.poisson(pos, (n_boot, pos.size)).astype(float),
        rng.poisson(neg, (n_boot, neg.size)).astype(float),
    )
    if group.method == "platt":
        a, b = _platt_newton(_logit(x), pos_r, neg_r)
        return [Calibrator("platt", coef=(float(ai), float(bi))) for ai, bi in zip(a, b)]
    return [_fit_isotonic(x, pos_r[r], neg_r[r]) for r in range(n_boot)]


# -- window estimates ------------------------------------------------------------------------------------
@dataclass
class EstimateWindow:
    """Estimated (and, where labels exist, realised) metrics of one window."""

    start: datetime
    end: datetime
    n: int
    labelled: int
    sensitive: tuple[str, ...]
    groups: list[dict[str, Any]]
    disparities: dict[str, dict[str, Any]]

    @property
    def label_coverage(self) -> float | None:
        return None if self.n == 0 else self.labelled / self.n

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "n": self.n,
            "n_labelled": self.labelled,
            "label_coverage": self.label_coverage,
            "estimated": any(g["estimated"] for g in self.groups),
            "groups": self.groups,
            "disparities": self.disparities,
        }


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(float(x)) else None


def _rates(tp: FloatArray, fp: FloatArray, tn: FloatArray, fn: FloatArray) -> dict[str, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "true_positive_rate": tp / (tp + fn),
            "false_positive_rate": fp / (fp + tn),
            "precision": tp / (tp + fp),
            "accuracy": (tp + tn) / (tp + fp + tn + fn),
        }


@dataclass
class _GroupWindow:
    """One group's cells in one window, reduced to what the estimate needs."""

    key: GroupKey
    n: int
    realised: FloatArray  # labelled tp, fp, tn, fn
    n_unlabelled: FloatArray  # unlabelled predicted (negative, positive)
    missing_scores: int
    x: FloatArray  # unlabelled scored cells: mean score, count, prediction
    count: FloatArray
    y_pred: FloatArray
    labelled_x: FloatArray  # labelled scored cells, for the calibration check
    labelled_count: FloatArray
    labelled_pos: FloatArray


def _group_window(key: GroupKey, cells: np.ndarray) -> _GroupWindow:
    # columns after the window: labelled, y, y_pred, bin, n, s1
    labelled, y, y_pred, bins, n, s1 = (cells[:, i] for i in range(1, 7))
    lab = labelled != 0
    realised = np.array(
        [
            n[lab & (y == 1) & (y_pred == 1)].sum(),
            n[lab & (y == 0) & (y_pred == 1)].sum(),
            n[lab & (y == 0) & (y_pred == 0)].sum(),
            n[lab & (y == 1) & (y_pred == 0)].sum(),
        ]
    )
    scored = bins >= 0
    unl = ~lab & scored
    ls = lab & scored
    return _GroupWindow(
        key=key,
        n=int(n.sum()),
        realised=realised,
        n_unlabelled=np.array([n[~lab & (y_pred == 0)].sum(), n[~lab & (y_pred == 1)].sum()]),
        missing_scores=int(n[~lab & ~scored].sum()),
        x=s1[unl] / n[unl],
        count=n[unl],
        y_pred=y_pred[unl],
        labelled_x=s1[ls] / n[ls],
        labelled_count=n[ls],
        labelled_pos=n[ls] * y[ls],
    )


def _expected_counts(
    gw: _GroupWindow, probabilities: FloatArray, counts: FloatArray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Expected positives among unlabelled predicted positives (A) and negatives (B), and their variances.

    ``probabilities`` (and ``counts``, default the window's) have shape ``(R, cells)``; results ``(R,)``.
    """
    w = gw.count if counts is None else counts
    pos = gw.y_pred == 1
    mean = probabilities * w
    var = probabilities * (1.0 - probabilities) * w
    return mean[:, pos].sum(axis=1), mean[:, ~pos].sum(axis=1), var[:, pos].sum(axis=1), var[:, ~pos].sum(axis=1)


def _counts(
    gw: _GroupWindow, a: FloatArray, b: FloatArray, sizes: tuple[Any, Any] | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Confusion counts: realised labelled counts plus the unlabelled ones implied by A and B."""
    tp0, fp0, tn0, fn0 = gw.realised
    neg_u, pos_u = gw.n_unlabelled if sizes is None else sizes
    return tp0 + a, fp0 + (pos_u - a), tn0 + (neg_u - b), fn0 + b


def estimate_windows(
    store: Store,
    model: str,
    *,
    sensitive: Sequence[str],
    reference_start: datetime,
    reference_end: datetime,
    window: str = "1d",
    start: datetime | None = None,
    end: datetime | None = None,
    ci: float = 0.95,
    method: CalibrationMethod = "auto",
    min_group_size: int = 30,
    min_reference_rows: int = 200,
    max_ece: float = 0.05,
    n_draws: int = 400,
    model_version: str | None = None,
    pos_label: str = "1",
    random_state: int | None = 0,
    calibration: ReferenceCalibration | None = None,
    use_labels: bool = True,
    target: IntervalTarget = "realised",
) -> tuple[ReferenceCalibration, list[EstimateWindow]]:
    """Label-free estimates of TPR, FPR, precision, accuracy and their disparities per window and group.

    Parameters
    ----------
    store, model, sensitive, window, start, end, model_version, pos_label
        As in :func:`~fairwatch.monitor.window_metrics`.
    reference_start, reference_end : datetime
        A period whose outcomes have arrived: per-group calibrators are fitted on it.
    ci : float
        Confidence level of the intervals.
    method : {"auto", "identity", "isotonic", "platt"}
        Calibrator; ``"auto"`` picks per group by cross-validated Brier score among the raw score
        (``"identity"``), Platt and isotonic (the simplest within one standard error of the best).
    min_group_size : int
        Groups with fewer predictions in a window are left out of that window's disparities.
    min_reference_rows, max_ece : int, float
        Refusal thresholds (see :func:`fit_reference_calibration`).
    n_draws : int
        Monte-Carlo draws for the intervals (each with its own bootstrap calibrator).
    calibration : ReferenceCalibration, optional
        A calibration fitted earlier (skips the reference query).
    target : {"realised", "population"}
        What the intervals cover: ``"realised"`` (default), the value the window will show once its
        labels arrive; ``"population"``, the value of the population the window was drawn from (wider:
        it adds the window's own sampling variability) — use it to test whether a gap has moved.
    use_labels : bool
        False ignores outcomes that have arrived in the windows (back-testing: what the estimate
        said before the labels came; or the expected values of a labelled period, for comparison).

    Returns
    -------
    calibration : ReferenceCalibration
    windows : list of EstimateWindow
        Each group carries ``estimated`` (true while some of its predictions lack a label),
        ``label_coverage``, ``metrics`` (the blend of realised labelled counts and expected unlabelled
        counts, with ``lo``/``hi``), ``realised`` (labelled rows only), ``calibration_check`` and
        ``estimate_refused`` (a reason, or null).

    Examples
    --------
    >>> cal, windows = estimate_windows(store, "credit", sensitive=["sex"],  # doctest: +SKIP
    ...     reference_start=t0, reference_end=t1, start=t1, window="1d")
    >>> windows[0].to_dict()["disparities"]["equalized_odds"]["difference"]  # doctest: +SKIP
    {'value': 0.041, 'lo': 0.012, 'hi': 0.077, 'estimated': True}
    """
    from fairwatch.metrics._intervals import z_value

    z_value(ci)  # validates ci
    if target not in ("realised", "population"):
        raise InvalidInputError(f"target must be 'realised' or 'population'; got {target!r}")
    if not isinstance(n_draws, int) or n_draws < 50:
        raise InvalidInputError(f"n_draws must be an integer of at least 50; got {n_draws!r}")
    if calibration is None:
        calibration = fit_reference_calibration(
            store,
            model,
            sensitive=sensitive,
            reference_start=reference_start,
            reference_end=reference_end,
            method=method,
            min_reference_rows=min_reference_rows,
            max_ece=max_ece,
            model_version=model_version,
            pos_label=pos_label,
        )
    elif tuple(sensitive) != calibration.sensitive:
        raise InvalidInputError(
            f"the calibration was fitted for sensitive={list(calibration.sensitive)}; got {list(sensitive)}"
        )
    width = parse_duration(window)
    grid = window_grid(store, model, start, end, width, finest=1, what="an estimate window")
    start, end = grid.start, grid.end
    check_size(grid.count, len(group_map(store, model, sensitive).keys))
    rows = window_rows(store, model, model_version, sensitive, grid, pos_label)
    by_window: dict[int, list[tuple[Any, ...]]] = {}
    k = len(sensitive)
    if not use_labels:  # every prediction counts as unlabelled
        rows = [(*row[: 1 + k], False, *row[2 + k :]) for row in rows]
    for row in rows:
        by_window.setdefault(int(row[0]), []).append(row)
    rng = np.random.default_rng(random_state)
    boot = {key: _bootstrap_calibrators(g, n_draws, rng) for key, g in calibration.groups.items() if g.refused is None}
    n_windows = math.ceil((end - start) / width)
    results = []
    for index in range(n_windows):
        w_start = start + index * width
        groups = _group_rows(by_window.get(index, []), len(sensitive))
        results.append(
            _estimate_window(
                w_start, min(w_start + width, end), groups, calibration, boot, ci, min_group_size, n_draws, rng, target
            )
        )
    return calibration, results


def _estimate_window(
    w_start: datetime,
    w_end: datetime,
    groups: dict[GroupKey, np.ndarray],
    calibration: ReferenceCalibration,
    boot: dict[GroupKey, list[Calibrator]],
    ci: float,
    min_group_size: int,
    n_draws: int,
    rng: np.random.Generator,
    target: IntervalTarget,
) -> EstimateWindow:
    sensitive = calibration.sensitive
    alpha = (1.0 - ci) / 2.0
    outputs: list[dict[str, Any]] = []
    draws: dict[str, list[FloatArray]] = {m: [] for m in ESTIMATED_METRICS}
    points: dict[str, list[float]] = {m: [] for m in ESTIMATED_METRICS}
    any_estimated = False
    n_total = labelled_total = 0
    for key, cells in groups.items():
        gw = _group_window(key, cells)
        n_total += gw.n
        n_lab = int(gw.realised.sum())
        labelled_total += n_lab
        out, point, sample = _estimate_group(
            gw, calibration.groups.get(key), boot.get(key), alpha, n_draws, rng, target
        )
        out["group"] = dict(zip(sensitive, key))
        outputs.append(out)
        any_estimated |= bool(out["estimated"])
        if point is not None and sample is not None and gw.n >= min_group_size:
            for m in ESTIMATED_METRICS:
                points[m].append(float(point[m]))
                draws[m].append(sample[m])
    disparities: dict[str, dict[str, Any]] = {}
    if all(points.values()):
        point_values = {m: np.asarray(points[m])[None, :] for m in ESTIMATED_METRICS}
        draw_values = {m: np.stack(draws[m], axis=-1) for m in ESTIMATED_METRICS}
        for name, parts in ESTIMATED_DISPARITIES.items():
            disparities[name] = _disparity(name, parts, point_values, draw_values, alpha, any_estimated)
    return EstimateWindow(w_start, w_end, n_total, labelled_total, sensitive, outputs, disparities)


def _estimate_group(
    gw: _GroupWindow,
    cal: GroupCalibration | None,
    boot: list[Calibrator] | None,
    alpha: float,
    n_draws: int,
    rng: np.random.Generator,
    target: IntervalTarget,
) -> tuple[dict[str, Any], dict[str, float] | None, dict[str, FloatArray] | None]:
    """The group's output entry, its point metrics and its Monte-Carlo draws (None when refused)."""
    n_lab = int(gw.realised.sum())
    realised = _rates(*(np.array([c]) for c in gw.realised))
    out: dict[str, Any] = {
        "n": gw.n,
        "n_labelled": n_lab,
        "label_coverage": n_lab / gw.n if gw.n else None,
        "estimated": n_lab < gw.n,
        "estimate_refused": None,
        "realised": {m: _num(v[0]) for m, v in realised.items()},
        "calibration_check": None,
    }
    if n_lab == gw.n:  # every label is in: the realised values, exactly
        out["metrics"] = {m: {"value": _num(v[0]), "lo": None, "hi": None} for m, v in realised.items()}
        return (
            out,
            {m: float(v[0]) for m, v in realised.items()},
            {m: np.full(n_draws, v[0]) for m, v in realised.items()},
        )
    reason = None
    if cal is None:
        reason = "the reference period has no labelled, scored predictions of this group"
    elif cal.refused is not None:
        reason = cal.refused
    elif gw.missing_scores:
        reason = (
            f"{gw.missing_scores} of {gw.n - n_lab} unlabelled predictions of this group have no score; "
            f"estimates need the score field on every prediction"
        )
    if reason is not None:
        out["estimate_refused"] = reason
        out["metrics"] = {m: {"value": None, "lo": None, "hi": None} for m in ESTIMATED_METRICS}
        return out, None, None
    assert cal is not None and cal.calibrator is not None and boot is not None
    out["calibration_check"] = _calibration_check(gw, cal.calibrator)
    a, b, _, _ = _expected_counts(gw, cal.calibrator.predict(gw.x)[None, :])
    point = {m: float(v[0]) for m, v in _rates(*_counts(gw, a, b)).items()}
    probabilities = np.stack([c.predict(gw.x) for c in boot]) if gw.x.size else np.zeros((len(boot), 0))
    counts = None
    neg_u, pos_u = gw.n_unlabelled
    if target == "population":  # the window is a sample of its population: Poisson-resample its cells
        counts = rng.poisson(gw.count, (n_draws, gw.count.size)).astype(np.float64)
        pos_cells = gw.y_pred == 1
        neg_u, pos_u = counts[:, ~pos_cells].sum(axis=1), counts[:, pos_cells].sum(axis=1)
    a_r, b_r, va_r, vb_r = _expected_counts(gw, probabilities, counts)
    a_d = np.clip(a_r + np.sqrt(va_r) * rng.standard_normal(n_draws), 0.0, pos_u)
    b_d = np.clip(b_r + np.sqrt(vb_r) * rng.standard_normal(n_draws), 0.0, neg_u)
    sample = _rates(*_counts(gw, a_d, b_d, (neg_u, pos_u)))
    out["metrics"] = {
        m: {"value": _num(point[m]), **_interval(sample[m], alpha), "estimated": True} for m in ESTIMATED_METRICS
    }
    return out, point, sample


def _interval(values: FloatArray, alpha: float) -> dict[str, float | None]:
    finite = values[np.isfinite(values)]
    if finite.size < values.size * 0.9:
        return {"lo": None, "hi": None}
    lo, hi = np.quantile(finite, [alpha, 1.0 - alpha])
    return {"lo": _num(lo), "hi": _num(hi)}


def _calibration_check(gw: _GroupWindow, calibrator: Calibrator) -> dict[str, Any] | None:
    """Observed positives of the labelled, scored rows against the calibrated expectation."""
    n = float(gw.labelled_count.sum())
    if n == 0:
        return None
    p = calibrator.predict(gw.labelled_x)
    expected = float((p * gw.labelled_count).sum())
    variance = float((p * (1 - p) * gw.labelled_count).sum())
    observed = float(gw.labelled_pos.sum())
    z = (observed - expected) / math.sqrt(variance) if variance > 0 else float("nan")
    return {"n": int(n), "observed_positives": int(observed), "expected_positives": expected, "z": _num(z)}


def _disparity(
    name: str,
    parts: tuple[str, ...],
    points: dict[str, FloatArray],
    draws: dict[str, FloatArray],
    alpha: float,
    estimated: bool,
) -> dict[str, Any]:
    """Worst-case difference and ratio between groups over ``parts``, with percentile intervals."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        diffs = [disparity_values(points[p], "between_groups") for p in parts]
        diff_draws = [disparity_values(draws[p], "between_groups") for p in parts]
    diff = np.max([d[0] for d in diffs], axis=0)[0]
    ratio = np.min([d[1] for d in diffs], axis=0)[0]
    diff_d = np.max([d[0] for d in diff_draws], axis=0)
    ratio_d = np.min([d[1] for d in diff_draws], axis=0)
    return {
        "metrics": list(parts),
        "estimated": estimated,
        "difference": {"value": _num(diff), **_interval(diff_d, alpha)},
        "ratio": {"value": _num(ratio), **_interval(ratio_d, alpha)},
    }
