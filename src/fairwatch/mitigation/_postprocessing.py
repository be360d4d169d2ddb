"""Post-processing: group-specific decisions on top of a trained classifier's scores.

Three algorithms, each a scikit-learn meta-estimator that fits its base classifier (or takes it
already fitted, with ``prefit=True``) and then learns, group by group, how to turn the classifier's
scores into decisions:

* :class:`ThresholdOptimizer` (Hardt, Price & Srebro, 2016) with fairlearn's semantics: randomised
  group-specific thresholds read off the convex hulls of per-group ROC (or trade-off) curves;
* :class:`RejectOptionClassifier` (Kamiran, Karim & Zhang, 2012) with AIF360's semantics: in a band
  around the decision threshold, decide in favour of the unprivileged groups and against the
  privileged group;
* :class:`CalibratedEqualizedOdds` (Pleiss et al., 2017) with AIF360's semantics: at random, replace
  a score by its group's base rate so that a generalised error rate is equal across groups while
  the scores stay calibrated.

Everything is learned from per-group sorted scores and cumulative sums of (weighted) label counts:
one sort per fit and no Python loop over rows, which is what makes these fast.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from fairwatch._typing import BoolArray, FloatArray, GroupKey, IntArray, SensitiveLike
from fairwatch.exceptions import (
    FairwatchWarning,
    InvalidInputError,
    LabelError,
    LengthMismatchError,
    MissingValueError,
)
from fairwatch.frames._encode import python_scalar
from fairwatch.mitigation._base import SensitiveCodes, check_fitted, check_sample_weight, encode_sensitive
from fairwatch.mitigation._preprocessing import FittedEstimatorFeatures, n_samples

__all__ = ["CalibratedEqualizedOdds", "RejectOptionClassifier", "ThresholdOptimizer"]

# ---------------------------------------------------------------------------------------------
# Confusion counts and the rates the algorithms optimise
# ---------------------------------------------------------------------------------------------


class _Counts(NamedTuple):
    """Weighted confusion counts (arrays of any one shape)."""

    tp: FloatArray
    fp: FloatArray
    tn: FloatArray
    fn: FloatArray

    @property
    def n(self) -> FloatArray:
        # Summed in this order so the numbers are bit-for-bit those of fairlearn.
        return self.tp + self.tn + self.fp + self.fn

    @property
    def positives(self) -> FloatArray:
        return self.tp + self.fn

    @property
    def negatives(self) -> FloatArray:
        return self.tn + self.fp


_RATES: dict[str, Callable[[_Counts], FloatArray]] = {
    "selection_rate": lambda c: (c.tp + c.fp) / c.n,
    "false_positive_rate": lambda c: c.fp / c.negatives,
    "false_negative_rate": lambda c: c.fn / c.positives,
    "true_positive_rate": lambda c: c.tp / c.positives,
    "true_negative_rate": lambda c: c.tn / c.negatives,
    "accuracy_score": lambda c: (c.tp + c.tn) / c.n,
    "balanced_accuracy_score": lambda c: 0.5 * c.tp / c.positives + 0.5 * c.tn / c.negatives,
}

#: Which labels a rate divides by: a group without them cannot be constrained by that rate.
_NEEDS_POSITIVES = {"false_negative_rate", "true_positive_rate", "balanced_accuracy_score"}
_NEEDS_NEGATIVES = {"false_positive_rate", "true_negative_rate", "balanced_accuracy_score"}

#: ThresholdOptimizer's "simple" constraints: equalise one rate across groups.
SIMPLE_CONSTRAINTS: dict[str, str] = {
    "demographic_parity": "selection_rate",
    "selection_rate_parity": "selection_rate",
    "false_positive_rate_parity": "false_positive_rate",
    "false_negative_rate_parity": "false_negative_rate",
    "true_positive_rate_parity": "true_positive_rate",
    "true_negative_rate_parity": "true_negative_rate",
}
CONSTRAINTS: tuple[str, ...] = (*SIMPLE_CONSTRAINTS, "equalized_odds")
OBJECTIVES_FOR_SIMPLE_CONSTRAINTS: tuple[str, ...] = (
    "accuracy_score",
    "balanced_accuracy_score",
    "selection_rate",
    "true_positive_rate",
    "true_negative_rate",
)
#: Equalised odds fixes both group rates, so only objectives that grow with true positives work.
OBJECTIVES_FOR_EQUALIZED_ODDS: tuple[str, ...] = ("accuracy_score", "balanced_accuracy_score")
PREDICT_METHODS: tuple[str, ...] = ("auto", "predict_proba", "decision_function", "predict")

# ---------------------------------------------------------------------------------------------
# Input validation shared by the three estimators
# ---------------------------------------------------------------------------------------------


def _check_choice(value: Any, argument: str, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInputError(f"{argument} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def _check_int(value: Any, argument: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidInputError(f"{argument} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _check_number(value: Any, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or np.isnan(value):
        raise InvalidInputError(f"{argument} must be a number; got {value!r}")
    return float(value)


def _binary_target(y: Any, owner: str) -> tuple[IntArray, np.ndarray]:
    """0/1 codes of a binary target (1 = the greater of the two labels) and the two labels."""
    if y is None:
        raise InvalidInputError(f"{owner} requires y to be passed, but the target y is None")
    values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise InvalidInputError(f"y must be one-dimensional (one label per row); got shape {values.shape}")
    if values.size == 0:
        raise InvalidInputError("y is empty (0 rows); fit needs training data")
    if values.dtype.kind == "c":
        raise InvalidInputError("Complex data not supported: y holds complex numbers; pass binary labels")
    if values.dtype.kind == "f":
        if np.isnan(values).any():
            raise MissingValueError(f"y has {int(np.isnan(values).sum())} missing value(s) (NaN); drop those rows")
        fractional = values[values != np.round(values)]
        if fractional.size:
            raise LabelError(
                f"y holds continuous values (e.g. {float(fractional[0])!r}); {owner} needs binary class "
                f"labels, not a regression target"
            )
    if values.dtype.kind == "O" and any(v is None for v in values):
        raise MissingValueError("y has missing values (None); drop those rows")
    try:
        classes, codes = np.unique(values, return_inverse=True)
    except TypeError as exc:
        raise InvalidInputError(f"y must hold labels of one comparable type: {exc}") from exc
    if classes.size == 1:
        raise LabelError(
            f"y holds one class only ({python_scalar(classes[0])!r}); {owner} needs both classes of a binary "
            f"problem in the training data"
        )
    if classes.size > 2:
        shown = ", ".join(repr(python_scalar(c)) for c in classes[:6])
        raise LabelError(
            f"Only binary classification is supported. {owner} got y with {classes.size} classes "
            f"[{shown}{', ...' if classes.size > 6 else ''}]"
        )
    return codes.reshape(-1).astype(np.int64), classes


def _check_scores(scores: Any, n_rows: int, source: str) -> FloatArray:
    values = np.asarray(scores)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise InvalidInputError(f"{source} must return one score per row; got an array of shape {values.shape}")
    if values.shape[0] != n_rows:
        raise LengthMismatchError(f"{source} returned {values.shape[0]} scores for {n_rows} rows")
    values = values.astype(np.float64, copy=False)
    if not np.all(np.isfinite(values)):
        raise InvalidInputError(f"{source} returned non-finite scores (NaN or inf); fix the base estimator")
    return values


def _uniform(random_state: Any, n_rows: int) -> FloatArray:
    """``n_rows`` uniform draws in [0, 1): the same stream as fairlearn for ints and RandomState."""
    if isinstance(random_state, np.random.Generator):
        return random_state.random(n_rows)
    draws: FloatArray = check_random_state(random_state).rand(n_rows)
    return draws


def _group_rates(codes: IntArray, n_groups: int, values: FloatArray, weights: FloatArray) -> FloatArray:
    """Weighted mean of ``values`` per group (NaN for a group without weight)."""
    totals = np.bincount(codes, weights=weights, minlength=n_groups)
    sums = np.bincount(codes, weights=weights * values, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates: FloatArray = sums / totals
    return rates


def _check_degenerate(
    y01: IntArray, weights: FloatArray, sens: SensitiveCodes, needs_positives: bool, needs_negatives: bool, why: str
) -> None:
    """Raise when a group has no (weighted) positive or negative label but ``why`` needs one."""
    g = sens.n_groups
    positives = np.bincount(sens.codes, weights=weights * y01, minlength=g)
    negatives = np.bincount(sens.codes, weights=weights * (1 - y01), minlength=g)
    for i in range(g):
        missing = []
        if needs_positives and positives[i] <= 0:
            missing.append("positive")
        if needs_negatives and negatives[i] <= 0:
            missing.append("negative")
        if missing:
            raise InvalidInputError(
                f"the constraint cannot be met: group {_group_name(sens, sens.groups[i])} has no "
                f"{' and no '.join(missing)} labels in y, but {why}. Merge this group with another, drop "
                f"its rows, or choose a constraint that does not need those labels"
            )


def _group_name(sens: SensitiveCodes, key: GroupKey) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in zip(sens.names, key))


# ---------------------------------------------------------------------------------------------
# The base estimator and its scores
# ---------------------------------------------------------------------------------------------


class _PostProcessor(FittedEstimatorFeatures, MetaEstimatorMixin, BaseEstimator):  # type: ignore[misc]
    """Fit (or take) the base estimator and read its scores; shared by the three estimators."""

    estimator: Any
    prefit: bool
    classes_: np.ndarray
    groups_: list[GroupKey]
    predict_method_: str

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, get_tags

        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_class=False)
        tags.target_tags.required = True
        if self.estimator is not None:
            tags.input_tags = get_tags(self.estimator).input_tags
        return tags

    def _fit_estimator(self, X: Any, y: Any, sample_weight: Any) -> Any:
        name = type(self).__name__
        if self.estimator is None:
            raise InvalidInputError(
                f"estimator is None; pass a scikit-learn classifier, e.g. {name}(LogisticRegression())"
            )
        if self.prefit:
            try:
                check_is_fitted(self.estimator)
            except SklearnNotFittedError:
                warnings.warn(
                    f"prefit=True but {type(self.estimator).__name__} does not look fitted; fit it "
                    f"before {name}.fit, or pass prefit=False to let {name} fit it",
                    FairwatchWarning,
                    stacklevel=3,
                )
            except TypeError:  # not a scikit-learn estimator; trust the caller
                pass
            return self.estimator
        estimator = clone(self.estimator)
        if sample_weight is None:
            estimator.fit(X, y)
        elif not has_fit_parameter(estimator, "sample_weight"):
            raise InvalidInputError(
                f"sample_weight was given but {type(estimator).__name__}.fit does not accept "
                f"sample_weight; drop sample_weight or use an estimator that supports it"
            )
        else:
            estimator.fit(X, y, sample_weight=sample_weight)
        return estimator

    def _resolve_predict_method(self, estimator: Any, method: str, *, require_proba: bool) -> str:
        name = type(self).__name__
        kind = type(estimator).__name__
        if require_proba:
            if not hasattr(estimator, "predict_proba"):
                raise InvalidInputError(
                    f"{name} needs probabilities, but {kind} has no predict_proba; wrap it in "
                    f"sklearn.calibration.CalibratedClassifierCV({kind}(...)) or choose a classifier "
                    f"with predict_proba (e.g. LogisticRegression)"
                )
            return "predict_proba"
        if method == "auto":
            for candidate in ("predict_proba", "decision_function", "predict"):
                if hasattr(estimator, candidate):
                    return candidate
            raise InvalidInputError(f"{kind} has none of predict_proba, decision_function or predict")
        if not hasattr(estimator, method):
            raise InvalidInputError(
                f"predict_method={method!r}, but {kind} has no {method} method; pass "
                f"predict_method='auto' or an estimator that has {method}"
            )
        return method

    def _scores(self, estimator: Any, X: Any, method: str, positive: Any, n_rows: int) -> FloatArray:
        kind = type(estimator).__name__
        if method == "predict_proba":
            proba = np.asarray(estimator.predict_proba(X))
            if proba.ndim != 2 or proba.shape[1] != 2:
                raise InvalidInputError(
                    f"{kind}.predict_proba must return two columns (binary classification); got shape {proba.shape}"
                )
            classes = getattr(estimator, "classes_", None)
            column = 1
            if classes is not None:
                matches = np.flatnonzero(np.asarray(classes) == positive)
                if matches.size != 1:
                    raise InvalidInputError(
                        f"the positive class {positive!r} is not one of {kind}.classes_ {list(classes)}"
                    )
                column = int(matches[0])
            return _check_scores(proba[:, column], n_rows, f"{kind}.predict_proba")
        output = np.asarray(getattr(estimator, method)(X))
        if method == "predict" and output.dtype.kind not in "biuf":
            output = (output == positive).astype(np.float64)
        return _check_scores(output, n_rows, f"{kind}.{method}")

    def _predict_codes(self, sensitive_features: SensitiveLike, n_rows: int) -> IntArray:
        sens = encode_sensitive(sensitive_features, n_rows, min_groups=1)
        return sens.codes_for(self.groups_)

    def _predict_scores(self, X: Any) -> FloatArray:
        return self._scores(self.estimator_, X, self.predict_method_, self.classes_[1], n_samples(X))

    def _fit_common(
        self,
        X: Any,
        y: Any,
        sensitive_features: SensitiveLike,
        sample_weight: Any,
        method: str,
        *,
        require_proba: bool,
    ) -> tuple[IntArray, np.ndarray, FloatArray, SensitiveCodes, Any, str, FloatArray]:
        """Validate the fit inputs, fit the base estimator and score the training rows."""
        name = type(self).__name__
        y01, classes = _binary_target(y, name)
        n_rows = y01.size
        if n_samples(X) != n_rows:
            raise LengthMismatchError(
                f"X and y must have the same number of rows: X has {n_samples(X)}, y has {n_rows}"
            )
        weights = check_sample_weight(sample_weight, n_rows)
        for label in (0, 1):
            if weights[y01 == label].sum() <= 0:
                raise LabelError(
                    f"y holds one class only ({python_scalar(classes[1 - label])!r}) among the rows with a positive "
                    f"sample_weight; {name} needs both classes"
                )
        sens = encode_sensitive(sensitive_features, n_rows)
        estimator = self._fit_estimator(X, y, sample_weight)
        resolved = self._resolve_predict_method(estimator, method, require_proba=require_proba)
        scores = self._scores(estimator, X, resolved, classes[1], n_rows)
        return y01, classes, weights, sens, estimator, resolved, scores


# ---------------------------------------------------------------------------------------------
# ThresholdOptimizer: per-group trade-off curves, their convex hulls and the best shared point
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _GroupCuts:
    """Every distinct way to threshold one group's scores, from "nobody" to "everybody".

    Cut ``k`` predicts positive for the ``k`` highest distinct scores, i.e. ``score > thresholds[k]``
    (``+inf`` for ``k = 0``, midpoints between consecutive distinct scores, ``-inf`` at the end);
    ``tp[k]`` and ``fp[k]`` are the weighted positives and negatives it selects.
    """

    thresholds: FloatArray
    tp: FloatArray
    fp: FloatArray
    n_pos: float
    n_neg: float


def _group_cuts(
    scores: FloatArray, y01: IntArray, weights: FloatArray, codes: IntArray, n_groups: int
) -> list[_GroupCuts]:
    """The cuts of every group, from one sort of all rows by (group, descending score)."""
    # Descending scores, then a stable (radix) sort by group: one lexsort, but faster.
    order = np.argsort(-scores)
    order = order[np.argsort(codes[order], kind="stable")]
    s = scores[order]
    w_pos = (weights * y01)[order]
    w_neg = (weights * (1 - y01))[order]
    bounds = np.concatenate(([0], np.cumsum(np.bincount(codes, minlength=n_groups))))
    cuts = []
    for i in range(n_groups):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        sg = s[lo:hi]
        starts = np.flatnonzero(np.concatenate(([True], sg[1:] != sg[:-1])))
        values = sg[starts]
        tp = np.concatenate(([0.0], np.cumsum(np.add.reduceat(w_pos[lo:hi], starts))))
        fp = np.concatenate(([0.0], np.cumsum(np.add.reduceat(w_neg[lo:hi], starts))))
        thresholds = np.concatenate(([np.inf], (values[:-1] + values[1:]) / 2, [-np.inf]))
        cuts.append(_GroupCuts(thresholds, tp, fp, float(tp[-1]), float(fp[-1])))
    return cuts


class _Curve(NamedTuple):
    """A group's trade-off points sorted by (x, y), with the threshold rule of each point."""

    x: FloatArray
    y: FloatArray
    thresholds: FloatArray
    flipped: BoolArray  # True: predict positive when score < threshold


def _tradeoff_points(cuts: _GroupCuts, x_metric: str, y_metric: str, flip: bool) -> _Curve:
    tp, fp = cuts.tp, cuts.fp
    counts = _Counts(tp=tp, fp=fp, tn=cuts.n_neg - fp, fn=cuts.n_pos - tp)
    thresholds = cuts.thresholds
    flipped = np.zeros(tp.size, dtype=bool)
    if flip:
        # Predicting positive *below* a threshold selects the complement of the cut.
        reverse = _Counts(tp=cuts.n_pos - tp, fp=cuts.n_neg - fp, tn=fp, fn=tp)
        counts = _Counts(*(np.column_stack((a, b)).ravel() for a, b in zip(counts, reverse)))
        thresholds = np.repeat(thresholds, 2)
        flipped = np.tile(np.array([False, True]), tp.size)
    x = _RATES[x_metric](counts)
    y = _RATES[y_metric](counts)
    order = np.lexsort((y, x))  # stable, as fairlearn's sort by ["x", "y"]
    return _Curve(x[order], y[order], thresholds[order], flipped[order])


#: Below this many points the exact monotone chain runs in Python; above it, vectorised pruning first.
_CHAIN_SIZE = 256


def _upper_hull(x: FloatArray, y: FloatArray) -> IntArray:
    """Indices of the upper convex hull of points sorted by (x, y) (Andrew's monotone chain).

    A point on or below the chord between its two neighbours is never a hull vertex, so whole
    passes of such points are dropped at once with numpy; the exact chain then runs on the few
    hundred points left. The result is the same as the plain chain on all points.
    """
    index = np.arange(x.size)
    if x.size > _CHAIN_SIZE:
        # Copies of one point would each lie "on the chord" of the other: keep only the copy the
        # chain keeps (the last of a run, but the first of the run the chain starts with).
        same_as_next = (x[1:] == x[:-1]) & (y[1:] == y[:-1])
        keep = np.concatenate((~same_as_next, [True]))
        if same_as_next[0]:
            run_end = int(np.argmin(same_as_next)) if not same_as_next.all() else x.size - 1
            keep[0], keep[run_end] = True, False
        index = index[keep]
    for _ in range(64):
        if index.size <= _CHAIN_SIZE:
            break
        xs, ys = x[index], y[index]
        x0, y0, x1, y1, x2, y2 = xs[:-2], ys[:-2], xs[1:-1], ys[1:-1], xs[2:], ys[2:]
        drop = (y1 - y0) * (x2 - x0) <= (y2 - y0) * (x1 - x0)
        if not drop.any():
            break
        index = index[np.concatenate(([True], ~drop, [True]))]
    hull: list[int] = []
    xl, yl = x[index].tolist(), y[index].tolist()
    for i2 in range(len(xl)):
        while len(hull) >= 2:
            i0, i1 = hull[-2], hull[-1]
            if (yl[i1] - yl[i0]) * (xl[i2] - xl[i0]) <= (yl[i2] - yl[i0]) * (xl[i1] - xl[i0]):
                hull.pop()
            else:
                break
        hull.append(i2)
    return index[np.asarray(hull, dtype=np.int64)]


class _Interpolation(NamedTuple):
    """A hull evaluated on the x grid: ``y = p0 * y[i0] + p1 * y[i0 + 1]`` at every grid point."""

    y: FloatArray
    p0: FloatArray
    p1: FloatArray
    segment: IntArray  # the hull segment [segment, segment + 1] each grid point lies on


def _interpolate(x: FloatArray, y: FloatArray, grid: FloatArray) -> _Interpolation:
    """Interpolate the concave hull ``(x, y)`` at ``grid`` (the segment left of each grid point)."""
    index = np.searchsorted(x, grid, side="right") - 1
    # A grid point equal to a hull x uses the segment ending there (fairlearn's convention).
    index[1:] = np.where(grid[1:] == x[index[1:]], index[1:] - 1, index[1:])
    np.clip(index, 0, x.size - 2, out=index)
    p0 = (x[index + 1] - grid) / (x[index + 1] - x[index])
    p1 = 1 - p0
    return _Interpolation(p0 * y[index] + p1 * y[index + 1], p0, p1, index)


class _Solution(NamedTuple):
    """Per-group randomised threshold rules (arrays with one row per group)."""

    probabilities: FloatArray  # (G, 2): p0, p1
    thresholds: FloatArray  # (G, 2)
    flipped: BoolArray  # (G, 2)
    p_ignore: FloatArray  # (G,)
    prediction_constant: float
    x_best: FloatArray  # (G,): the constraint metric each group is set to
    curves: FloatArray  # (G, K): each group's best objective (or TPR) along the grid


def _rules_at(
    hulls: list[_Curve], interps: list[_Interpolation], at: Sequence[int]
) -> tuple[FloatArray, FloatArray, BoolArray]:
    probabilities = np.empty((len(hulls), 2))
    thresholds = np.empty((len(hulls), 2))
    flipped = np.empty((len(hulls), 2), dtype=bool)
    for g, (hull, interp, i) in enumerate(zip(hulls, interps, at)):
        j = int(interp.segment[i])
        probabilities[g] = (interp.p0[i], interp.p1[i])
        thresholds[g] = (hull.thresholds[j], hull.thresholds[j + 1])
        flipped[g] = (hull.flipped[j], hull.flipped[j + 1])
    return probabilities, thresholds, flipped


def _hulls(curves: list[_Curve]) -> list[_Curve]:
    hulls = []
    for curve in curves:
        keep = _upper_hull(curve.x, curve.y)
        hulls.append(_Curve(curve.x[keep], curve.y[keep], curve.thresholds[keep], curve.flipped[keep]))
    return hulls


def _solve_equalized_odds(cuts: list[_GroupCuts], objective: str, flip: bool, grid: FloatArray) -> _Solution:
    """Hardt et al.: the best point under every group's ROC hull, reached by mixing with the diagonal."""
    hulls = _hulls([_tradeoff_points(c, "false_positive_rate", "true_positive_rate", flip) for c in cuts])
    interps = [_interpolate(h.x, h.y, grid) for h in hulls]
    tpr = np.vstack([it.y for it in interps])
    y_min = tpr.min(axis=0)
    n_pos = sum(c.n_pos for c in cuts)
    n_neg = sum(c.n_neg for c in cuts)
    counts = _Counts(tp=n_pos * y_min, fp=n_neg * grid, tn=n_neg * (1.0 - grid), fn=n_pos * (1.0 - y_min))
    values = np.around(_RATES[objective](counts), 15)
    best = int(np.argmax(values))
    x_best, y_best = float(grid[best]), float(y_min[best])
    probabilities, thresholds, flipped = _rules_at(hulls, interps, [best] * len(cuts))
    group_y = tpr[:, best]
    # Each group sits on its hull at (x_best, group_y); mixing in the constant prediction x_best
    # (a point on the diagonal) with probability p_ignore brings its TPR down to y_best.
    with np.errstate(invalid="ignore", divide="ignore"):
        p_ignore = np.where(group_y == x_best, 0.0, (group_y - y_best) / (group_y - x_best))
    return _Solution(probabilities, thresholds, flipped, p_ignore, x_best, np.full(len(cuts), x_best), tpr)


def _solve_simple(
    cuts: list[_GroupCuts],
    proportions: FloatArray,
    x_metric: str,
    objective: str,
    flip: bool,
    grid: FloatArray,
    tol: float | None,
) -> _Solution:
    """Maximise the group-weighted objective at one shared value of the constraint metric."""
    hulls = _hulls([_tradeoff_points(c, x_metric, objective, flip) for c in cuts])
    interps = [_interpolate(h.x, h.y, grid) for h in hulls]
    curves = np.vstack([it.y for it in interps])
    if tol is None or tol == 0:
        overall = np.zeros(grid.size)
        for p, curve in zip(proportions, curves):
            overall += p * curve
        at = [int(np.argmax(overall))] * len(cuts)
    else:
        at = _best_within_tolerance(curves, proportions, grid, tol)
    probabilities, thresholds, flipped = _rules_at(hulls, interps, at)
    return _Solution(probabilities, thresholds, flipped, np.zeros(len(cuts)), 0.0, grid[np.asarray(at)], curves)


def _best_within_tolerance(curves: FloatArray, proportions: FloatArray, grid: FloatArray, tol: float) -> list[int]:
    """Per-group grid indices within ``tol`` of each other that maximise the weighted objective.

    Every window of the grid no wider than ``tol`` is a candidate; in each, every group takes its
    best point. The best window wins; ties go to the smaller spread, then to the later window.
    """
    k = grid.size
    start = np.searchsorted(grid, grid - tol - 1e-12, side="left")
    width = int((np.arange(k) - start).max()) + 1
    padded = np.concatenate((np.full((curves.shape[0], width - 1), -np.inf), curves), axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=1)  # (G, K, width)
    offsets = np.arange(width) - (width - 1)
    inside = (np.arange(k)[:, None] + offsets[None, :]) >= start[:, None]  # (K, width)
    masked = np.where(inside[None, :, :], windows, -np.inf)
    # The latest index among equal maxima (as a deque-based sliding maximum would keep).
    last = width - 1 - np.argmax(masked[:, :, ::-1], axis=2)
    chosen = np.arange(k)[None, :] + offsets[last]  # (G, K)
    best_values = np.take_along_axis(curves, chosen, axis=1)
    objective = (proportions[:, None] * best_values).sum(axis=0)
    spread = grid[chosen].max(axis=0) - grid[chosen].min(axis=0)
    top = np.flatnonzero(objective == objective.max())
    window = int(top[np.flatnonzero(spread[top] == spread[top].min())[-1]])
    return [int(i) for i in chosen[:, window]]


class ThresholdOptimizer(_PostProcessor):
    """Group-specific randomised thresholds that satisfy a parity constraint (Hardt et al., 2016).

    The base estimator's scores are thresholded separately for each group. For each group, every
    threshold gives one point of a trade-off curve (for ``"equalized_odds"`` the ROC curve,
    otherwise (constraint metric, objective)); randomising between two thresholds reaches any
    point of the curve's upper convex hull. The constraint metric is discretised on a grid of
    ``grid_size + 1`` values in [0, 1]; at each value every group takes its best hull point, and
    the value that maximises the objective wins. Semantics follow fairlearn's
    ``ThresholdOptimizer``; the hulls are computed from one sort of the scores and cumulative
    counts, with no per-row Python work.

    Parameters
    ----------
    estimator : classifier
        The base classifier whose scores are post-processed (fitted in :meth:`fit` unless
        ``prefit=True``).
    constraints : str, default="demographic_parity"
        ``"demographic_parity"`` (or ``"selection_rate_parity"``), ``"true_positive_rate_parity"``,
        ``"false_positive_rate_parity"``, ``"true_negative_rate_parity"``,
        ``"false_negative_rate_parity"`` (equal value of that rate in every group) or
        ``"equalized_odds"`` (equal true and false positive rates).
    objective : str, default="accuracy_score"
        What to maximise: ``"accuracy_score"`` or ``"balanced_accuracy_score"`` (any constraint);
        ``"selection_rate"``, ``"true_positive_rate"``, ``"true_negative_rate"`` (all but
        ``"equalized_odds"``). For the simple constraints the objective is the group-size weighted
        mean of the per-group objective (as in fairlearn).
    grid_size : int, default=1000
        The constraint metric is searched on ``grid_size + 1`` equally spaced values in [0, 1].
    flip : bool, default=False
        Also consider "positive below the threshold" rules (useful when scores are anti-correlated
        with the label in some group).
    prefit : bool, default=False
        If True, ``estimator`` is already fitted and is used as is.
    predict_method : {"auto", "predict_proba", "decision_function", "predict"}, default="auto"
        Which method of the estimator gives the scores; ``"auto"`` takes the first available in
        that order.
    tol : float, optional
        Relax a simple constraint: the groups' constraint metric may differ by up to ``tol``. Not
        available for ``"equalized_odds"``.

    Attributes
    ----------
    estimator_ : classifier
        The fitted base estimator.
    classes_ : ndarray of shape (2,)
        The two labels; ``classes_[1]`` is the positive class.
    groups_ : list of tuple
        The groups seen in fit (intersections of the sensitive features), in sorted order.
    predict_method_ : str
        The estimator method used for scores.
    probabilities_, thresholds_ : ndarray of shape (n_groups, 2)
        Group ``g`` predicts with probability ``probabilities_[g, j]`` the rule "score >
        ``thresholds_[g, j]``" (or "<" where ``flipped_[g, j]``).
    flipped_ : ndarray of shape (n_groups, 2)
    p_ignore_ : ndarray of shape (n_groups,)
        Equalised odds only: the probability of replacing a group's decision by a coin flip with
        probability ``prediction_constant_`` of a positive.
    prediction_constant_ : float
    constraint_values_ : ndarray of shape (n_groups,)
        The value of the constraint metric each group is set to (the same for all groups unless
        ``tol`` is given; the false positive rate for equalised odds).
    x_grid_ : ndarray of shape (grid_size + 1,)
    tradeoff_curves_ : ndarray of shape (n_groups, grid_size + 1)
        Each group's best objective (true positive rate for equalised odds) along ``x_grid_``.

    See Also
    --------
    RejectOptionClassifier, CalibratedEqualizedOdds

    Notes
    -----
    As in fairlearn, the thresholds are learned on the data passed to :meth:`fit`; with
    ``prefit=True`` pass data the estimator was not trained on to avoid over-fitted thresholds.
    ``sample_weight`` is passed to the estimator's ``fit`` and weights the counts the thresholds
    are chosen from. A group seen at predict time but not in fit raises an error (fairlearn
    predicts 0 for it).

    References
    ----------
    M. Hardt, E. Price, N. Srebro. "Equality of Opportunity in Supervised Learning", NeurIPS 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairwatch.mitigation import ThresholdOptimizer
    >>> rng = np.random.default_rng(0)
    >>> group = rng.choice(["a", "b"], size=400)
    >>> X = rng.normal(size=(400, 2)) + (group == "a")[:, None]
    >>> y = (X[:, 0] + rng.normal(size=400) > 0.5).astype(int)
    >>> model = ThresholdOptimizer(LogisticRegression(), constraints="demographic_parity")
    >>> model.fit(X, y, sensitive_features=group).groups_
    [('a',), ('b',)]
    >>> y_pred = model.predict(X, sensitive_features=group, random_state=0)
    >>> model._pmf_predict(X, sensitive_features=group).shape
    (400, 2)
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        constraints: str = "demographic_parity",
        objective: str = "accuracy_score",
        grid_size: int = 1000,
        flip: bool = False,
        prefit: bool = False,
        predict_method: str = "auto",
        tol: float | None = None,
    ) -> None:
        self.estimator = estimator
        self.constraints = constraints
        self.objective = objective
        self.grid_size = grid_size
        self.flip = flip
        self.prefit = prefit
        self.predict_method = predict_method
        self.tol = tol

    def _check_params(self) -> tuple[str, str, int, float | None]:
        constraints = _check_choice(self.constraints, "constraints", CONSTRAINTS)
        if constraints == "equalized_odds":
            allowed = OBJECTIVES_FOR_EQUALIZED_ODDS
        else:
            allowed = OBJECTIVES_FOR_SIMPLE_CONSTRAINTS
        if not isinstance(self.objective, str) or self.objective not in allowed:
            raise InvalidInputError(
                f"objective={self.objective!r} is not supported with constraints={constraints!r}; "
                f"use one of {', '.join(map(repr, allowed))}"
            )
        grid_size = _check_int(self.grid_size, "grid_size", 1)
        _check_choice(self.predict_method, "predict_method", PREDICT_METHODS)
        tol = None
        if self.tol is not None:
            tol = _check_number(self.tol, "tol")
            if not 0.0 <= tol <= 1.0:
                raise InvalidInputError(f"tol must be in [0, 1] (a difference of rates); got {self.tol!r}")
            if constraints == "equalized_odds":
                raise InvalidInputError(
                    "tol (a relaxed constraint) is not supported with constraints='equalized_odds'; "
                    "pass tol=None, or use a single-rate constraint such as 'true_positive_rate_parity'"
                )
        return constraints, self.objective, grid_size, tol

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        sensitive_features: SensitiveLike = None,
        sample_weight: Any = None,
    ) -> ThresholdOptimizer:
        """Fit the base estimator (unless ``prefit``) and learn the group thresholds.

        Parameters
        ----------
        X : array-like or dataframe of shape (n_samples, n_features)
            Features, passed to the base estimator as they are.
        y : array-like of shape (n_samples,)
            Binary labels (any two values; the greater one is the positive class).
        sensitive_features : array-like, dataframe or dict
            One or several sensitive columns; groups are their intersections.
        sample_weight : array-like of shape (n_samples,), optional
            Passed to the estimator's ``fit`` and used to weight the counts.

        Returns
        -------
        self : ThresholdOptimizer

        Raises
        ------
        InvalidInputError
            For missing ``sensitive_features``, a single group, an unknown constraint or
            objective, or a group without the labels the constraint needs.
        LabelError
            If ``y`` is not binary.
        """
        constraints, objective, grid_size, tol = self._check_params()
        y01, classes, weights, sens, estimator, method, scores = self._fit_common(
            X, y, sensitive_features, sample_weight, self.predict_method, require_proba=False
        )
        if constraints == "equalized_odds":
            x_metric, y_metric = "false_positive_rate", "true_positive_rate"
        else:
            x_metric, y_metric = SIMPLE_CONSTRAINTS[constraints], objective
        _check_degenerate(
            y01,
            weights,
            sens,
            needs_positives=bool({x_metric, y_metric} & _NEEDS_POSITIVES),
            needs_negatives=bool({x_metric, y_metric} & _NEEDS_NEGATIVES),
            why=f"constraints={constraints!r} with objective={objective!r} divides by them",
        )
        cuts = _group_cuts(scores, y01, weights, sens.codes, sens.n_groups)
        grid = np.linspace(0.0, 1.0, grid_size + 1)
        if constraints == "equalized_odds":
            solution = _solve_equalized_odds(cuts, objective, self.flip, grid)
        else:
            weight_per_group = np.bincount(sens.codes, weights=weights, minlength=sens.n_groups)
            proportions = weight_per_group / weight_per_group.sum()
            solution = _solve_simple(cuts, proportions, x_metric, objective, self.flip, grid, tol)
        self.estimator_ = estimator
        self.classes_ = classes
        self.groups_ = list(sens.groups)
        self.sensitive_feature_names_ = list(sens.names)
        self.predict_method_ = method
        self.x_metric_, self.y_metric_ = x_metric, y_metric
        self.x_grid_ = grid
        self.tradeoff_curves_ = solution.curves
        self.constraint_values_ = solution.x_best
        self.probabilities_ = solution.probabilities
        self.thresholds_ = solution.thresholds
        self.flipped_ = solution.flipped
        self.p_ignore_ = solution.p_ignore
        self.prediction_constant_ = solution.prediction_constant
        return self

    def _pmf_predict(self, X: Any, *, sensitive_features: SensitiveLike = None) -> FloatArray:
        """Probabilities of predicting ``classes_[0]`` and ``classes_[1]``, shape (n_samples, 2).

        Parameters
        ----------
        X : array-like or dataframe of shape (n_samples, n_features)
        sensitive_features : array-like, dataframe or dict
            The same sensitive columns as in fit.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Each row sums to 1.
        """
        check_fitted(self, "thresholds_")
        scores = self._predict_scores(X)
        codes = self._predict_codes(sensitive_features, scores.size)
        s = scores[:, None]
        thresholds = self.thresholds_[codes]
        hits = np.where(self.flipped_[codes], s < thresholds, s > thresholds)
        p = self.probabilities_[codes]
        positive = p[:, 0] * hits[:, 0] + p[:, 1] * hits[:, 1]
        ignore = self.p_ignore_[codes]
        positive = ignore * self.prediction_constant_ + (1 - ignore) * positive
        return np.column_stack((1.0 - positive, positive))

    def predict(self, X: Any, *, sensitive_features: SensitiveLike = None, random_state: Any = None) -> np.ndarray:
        """Randomised group-aware predictions.

        Parameters
        ----------
        X : array-like or dataframe of shape (n_samples, n_features)
        sensitive_features : array-like, dataframe or dict
            The same sensitive columns as in fit.
        random_state : int, numpy RandomState or Generator, optional
            Seed of the randomisation; an int gives reproducible predictions (with an int or a
            RandomState the draws are those fairlearn makes).

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        positive = self._pmf_predict(X, sensitive_features=sensitive_features)[:, 1]
        chosen = positive >= _uniform(random_state, positive.size)
        labels: np.ndarray = self.classes_[chosen.astype(np.int64)]
        return labels


# ---------------------------------------------------------------------------------------------
# RejectOptionClassifier
# ---------------------------------------------------------------------------------------------

REJECT_OPTION_METRICS: tuple[str, ...] = ("demographic_parity", "average_odds", "equal_opportunity")


class _WeightedSorted:
    """Sorted scores of some rows with cumulative weights: weight above any cut in O(log n)."""

    def __init__(self, scores: FloatArray, weights: FloatArray) -> None:
        order = np.argsort(scores, kind="stable")
        self.scores = scores[order]
        self.cumulative = np.concatenate(([0.0], np.cumsum(weights[order])))
        self.total = float(self.cumulative[-1])

    def above(self, cut: FloatArray) -> FloatArray:
        """Weight of the rows with score > cut, for every cut."""
        at_or_below = self.cumulative[np.searchsorted(self.scores, cut, side="right")]
        result: FloatArray = self.total - at_or_below
        return result


def _resolve_privileged(value: Any, sens: SensitiveCodes, base_rates: FloatArray) -> int:
    if value is None:
        return int(np.nanargmax(base_rates))
    key = value if isinstance(value, tuple) else (value,)
    if key not in sens.groups:
        known = ", ".join(repr(g[0] if len(g) == 1 else g) for g in sens.groups[:10])
        raise InvalidInputError(f"privileged_group={value!r} is not one of the groups in sensitive_features: {known}")
    return sens.groups.index(key)


class RejectOptionClassifier(_PostProcessor):
    """Reject option classification (Kamiran, Karim & Zhang, 2012).

    Near the decision threshold the classifier is least sure; inside the band
    ``threshold - margin < score <= threshold + margin`` the privileged group gets the unfavourable
    and every other group the favourable label. :meth:`fit` searches thresholds and margins on a
    grid (AIF360's grid: ``n_thresholds`` thresholds in ``threshold_range``, ``n_margins`` margins
    from 0 to ``min(t, 1 - t)``) for the highest balanced accuracy whose fairness metric
    (unprivileged minus privileged) lies in ``[metric_lb, metric_ub]``. The whole grid is scored
    at once from sorted scores and cumulative counts.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``
        The base classifier (fitted in :meth:`fit` unless ``prefit=True``).
    constraints : {"demographic_parity", "average_odds", "equal_opportunity"}, default="demographic_parity"
        The fairness metric kept within bounds: the difference in selection rate, the mean of the
        differences in false and true positive rate, or the difference in true positive rate,
        always unprivileged minus privileged.
    metric_lb, metric_ub : float, default=-0.05, 0.05
        Bounds on that metric.
    privileged_group : object or tuple, optional
        The privileged group (a value of the sensitive feature, or a tuple of values for several
        features); every other group is unprivileged and they are pooled, as in AIF360. By
        default, the group with the highest rate of positive labels in ``y``.
    threshold_range : tuple of float, default=(0.01, 0.99)
        Smallest and largest classification threshold searched.
    n_thresholds : int, default=100
        Number of thresholds searched.
    n_margins : int, default=50
        Number of margins searched per threshold.
    prefit : bool, default=False
        If True, ``estimator`` is already fitted and is used as is.

    Attributes
    ----------
    estimator_ : classifier
    classes_ : ndarray of shape (2,)
        ``classes_[1]`` is the favourable (positive) class.
    groups_ : list of tuple
    privileged_group_ : tuple
        The key of the privileged group.
    threshold_ : float
        The chosen classification threshold.
    margin_ : float
        The chosen half-width of the critical band.
    metric_value_ : float
        The fairness metric on the training data with the chosen threshold and margin.
    balanced_accuracy_ : float
        The balanced accuracy on the training data with the chosen threshold and margin.

    Notes
    -----
    Unlike AIF360, when no grid point meets the bounds :meth:`fit` raises an error (AIF360 warns
    and returns the point with the lowest signed metric).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairwatch.mitigation import RejectOptionClassifier
    >>> rng = np.random.default_rng(0)
    >>> group = rng.choice(["a", "b"], size=400)
    >>> X = rng.normal(size=(400, 2)) + (group == "a")[:, None]
    >>> y = (X[:, 0] + rng.normal(size=400) > 0.5).astype(int)
    >>> model = RejectOptionClassifier(LogisticRegression(), metric_lb=-0.1, metric_ub=0.1)
    >>> model = model.fit(X, y, sensitive_features=group)
    >>> model.privileged_group_
    ('a',)
    >>> bool(-0.1 <= model.metric_value_ <= 0.1)
    True
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        constraints: str = "demographic_parity",
        metric_lb: float = -0.05,
        metric_ub: float = 0.05,
        privileged_group: Any = None,
        threshold_range: tuple[float, float] = (0.01, 0.99),
        n_thresholds: int = 100,
        n_margins: int = 50,
        prefit: bool = False,
    ) -> None:
        self.estimator = estimator
        self.constraints = constraints
        self.metric_lb = metric_lb
        self.metric_ub = metric_ub
        self.privileged_group = privileged_group
        self.threshold_range = threshold_range
        self.n_thresholds = n_thresholds
        self.n_margins = n_margins
        self.prefit = prefit

    def _check_params(self) -> tuple[float, float, float, float, int, int]:
        _check_choice(self.constraints, "constraints", REJECT_OPTION_METRICS)
        lb = _check_number(self.metric_lb, "metric_lb")
        ub = _check_number(self.metric_ub, "metric_ub")
        if lb > ub:
            raise InvalidInputError(f"metric_lb must not exceed metric_ub; got metric_lb={lb}, metric_ub={ub}")
        try:
            low, high = (float(v) for v in self.threshold_range)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"threshold_range must be a pair (low, high) of numbers; got {self.threshold_range!r}"
            ) from None
        if not 0.0 <= low < high <= 1.0:
            raise InvalidInputError(f"threshold_range must satisfy 0 <= low < high <= 1; got {self.threshold_range!r}")
        n_thresholds = _check_int(self.n_thresholds, "n_thresholds", 1)
        n_margins = _check_int(self.n_margins, "n_margins", 1)
        return lb, ub, low, high, n_thresholds, n_margins

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        sensitive_features: SensitiveLike = None,
        sample_weight: Any = None,
    ) -> RejectOptionClassifier:
        """Fit the base estimator (unless ``prefit``) and search the threshold and margin.

        Parameters
        ----------
        X : array-like or dataframe of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Binary labels; the greater one is the favourable class.
        sensitive_features : array-like, dataframe or dict
        sample_weight : array-like of shape (n_samples,), optional
            Passed to the estimator and used to weight the metrics of the search.

        Returns
        -------
        self : RejectOptionClassifier

        Raises
        ------
        InvalidInputError
            For bad parameters, missing ``sensitive_features``, a single group, an estimator
            without ``predict_proba``, or when no grid point meets the bounds.
        """
        lb, ub, low, high, n_thresholds, n_margins = self._check_params()
        y01, classes, weights, sens, estimator, method, scores = self._fit_common(
            X, y, sensitive_features, sample_weight, "predict_proba", require_proba=True
        )
        base_rates = _group_rates(sens.codes, sens.n_groups, y01.astype(np.float64), weights)
        privileged = _resolve_privileged(self.privileged_group, sens, base_rates)
        is_privileged = sens.codes == privileged
        if self.constraints != "demographic_parity":
            _check_pooled_labels(y01, weights, is_privileged, self.constraints)

        thresholds = np.linspace(low, high, n_thresholds)
        high_margin = np.where(thresholds <= 0.5, thresholds, 1.0 - thresholds)
        margins = np.linspace(np.zeros(n_thresholds), high_margin, n_margins, axis=1)  # (T, M)
        cut_privileged = thresholds[:, None] + margins  # privileged: positive above t + m
        cut_unprivileged = thresholds[:, None] - margins  # unprivileged: positive above t - m
        cells = {
            (priv, label): _WeightedSorted(
                scores[(is_privileged == priv) & (y01 == label)], weights[(is_privileged == priv) & (y01 == label)]
            )
            for priv in (True, False)
            for label in (0, 1)
        }

        def confusion(priv: bool) -> _Counts:
            cut = cut_privileged if priv else cut_unprivileged
            tp = cells[priv, 1].above(cut)
            fp = cells[priv, 0].above(cut)
            return _Counts(tp=tp, fp=fp, tn=cells[priv, 0].total - fp, fn=cells[priv, 1].total - tp)

        c_priv, c_unpriv = confusion(True), confusion(False)
        metric = _reject_option_metric(self.constraints, c_unpriv, c_priv)
        overall = _Counts(*(a + b for a, b in zip(c_unpriv, c_priv)))
        with np.errstate(invalid="ignore", divide="ignore"):
            balanced = 0.5 * (overall.tp / overall.positives + overall.tn / overall.negatives)
        feasible = (metric >= lb) & (metric <= ub)
        if not feasible.any():
            closest = np.unravel_index(int(np.nanargmin(np.abs(metric - np.clip(metric, lb, ub)))), metric.shape)
            raise InvalidInputError(
                f"no threshold and margin bring the {self.constraints} difference within "
                f"[metric_lb, metric_ub] = [{lb:g}, {ub:g}]; the closest is {float(metric[closest]):.4f} "
                f"(threshold {float(thresholds[closest[0]]):.3f}, margin {float(margins[closest]):.3f}). "
                f"Widen metric_lb/metric_ub, widen threshold_range, or raise n_thresholds/n_margins"
            )
        flat = int(np.argmax(np.where(feasible, balanced, -np.inf)))
        best = np.unravel_index(flat, metric.shape)
        self.estimator_ = estimator
        self.classes_ = classes
        self.groups_ = list(sens.groups)
        self.sensitive_feature_names_ = list(sens.names)
        self.predict_method_ = method
        self.privileged_group_ = sens.groups[privileged]
        self._privileged_index = privileged
        self.threshold_ = float(thresholds[best[0]])
        self.margin_ = float(margins[best])
        self.metric_value_ = float(metric[best])
        self.balanced_accuracy_ = float(balanced[best])
        return self

    def predict(self, X: Any, *, sensitive_features: SensitiveLike = None) -> np.ndarray:
        """Labels with the reject option applied.

        Parameters
        ----------
        X : array-like or dataframe of shape (n_samples, n_features)
        sensitive_features : array-like, dataframe or dict
            The same sensitive columns as in fit.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        positive = self._pmf_predict(X, sensitive_features=sensitive_features)[:, 1]
        labels: np.ndarray = self.classes_[positive.astype(np.int64)]
        return labels

    def _pmf_predict(self, X: Any, *, sensitive_features: SensitiveLike = None) -> FloatArray:
        """Probabilities of ``classes_[0]`` and ``classes_[1]`` (0 or 1: the rule is deterministic)."""
        check_fitted(self, "threshold_")
        scores = self._predict_scores(X)
        codes = self._predict_codes(sensitive_features, scores.size)
        privileged = codes == self._privileged_index
        cut = np.where(privileged, self.threshold_ + self.margin_, self.threshold_ - self.margin_)
        positive = (scores > cut).astype(np.float64)
        return np.column_stack((1.0 - positive, positive))


def _check_pooled_labels(y01: IntArray, weights: FloatArray, is_privileged: BoolArray, metric: str) -> None:
    for priv, side in ((True, "privileged group"), (False, "unprivileged groups")):
        rows = is_privileged == priv
        for label, kind in ((1, "positive"), (0, "negative")):
            if metric == "equal_opportunity" and label == 0:
                continue
            if weights[rows & (y01 == label)].sum() <= 0:
                raise InvalidInputError(
                    f"the {side} have no {kind} labels in y, so constraints={metric!r} is undefined; "
                    f"use constraints='demographic_parity' or data with both labels in every group"
                )


def _reject_option_metric(name: str, unpriv: _Counts, priv: _Counts) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        if name == "demographic_parity":
            result: FloatArray = (unpriv.tp + unpriv.fp) / unpriv.n - (priv.tp + priv.fp) / priv.n
        else:
            tpr = unpriv.tp / unpriv.positives - priv.tp / priv.positives
            if name == "equal_opportunity":
                result = tpr
            else:
                fpr = unpriv.fp / unpriv.negatives - priv.fp / priv.negatives
                result = 0.5 * (fpr + tpr)
    return result


# ---------------------------------------------------------------------------------------------
# CalibratedEqualizedOdds
# ---------------------------------------------------------------------------------------------

COST_CONSTRAINTS: tuple[str, ...] = ("weighted", "fpr", "fnr")


class CalibratedEqualizedOdds(_PostProcessor):
    """Calibrated equalised odds (Pleiss et al., 2017).

    Each group has a cost: its generalised false positive rate (mean score of its negatives),
    generalised false negative rate (mean of 1 - score over its positives), or their mix weighted
    by the group's base rate (``"weighted"``, Pleiss et al.'s default). Replacing a score by the
    group's base rate keeps the scores calibrated and moves the cost towards that of the trivial
    predictor; every group but the costliest does so with the probability (``mix_rates_``) that
    makes its expected cost equal to the highest one. With two groups this is exactly the
    algorithm of Pleiss et al. and AIF360; with more, every group is brought up to the costliest.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``
        The base classifier, ideally calibrated (fitted in :meth:`fit` unless ``prefit=True``).
    cost_constraint : {"weighted", "fpr", "fnr"}, default="weighted"
        Which generalised cost to equalise.
    threshold : float, default=0.5
        Scores at or above it (after mixing) predict the positive class.
    prefit : bool, default=False
        If True, ``estimator`` is already fitted and is used as is.

    Attributes
    ----------
    estimator_ : classifier
    classes_ : ndarray of shape (2,)
    groups_ : list of tuple
    base_rates_ : ndarray of shape (n_groups,)
        Weighted share of positive labels per group.
    costs_ : ndarray of shape (n_groups,)
        Each group's cost with the base estimator's scores.
    trivial_costs_ : ndarray of shape (n_groups,)
        Each group's cost when every score is the group's base rate.
    mix_rates_ : ndarray of shape (n_groups,)
        Probability of replacing a score by the group's base rate.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairwatch.mitigation import CalibratedEqualizedOdds
    >>> rng = np.random.default_rng(0)
    >>> group = rng.choice(["a", "b"], size=400)
    >>> X = rng.normal(size=(400, 2)) + (group == "a")[:, None]
    >>> y = (X[:, 0] + rng.normal(size=400) > 0.5).astype(int)
    >>> model = CalibratedEqualizedOdds(LogisticRegression(), cost_constraint="weighted")
    >>> model = model.fit(X, y, sensitive_features=group)
    >>> model.mix_rates_.round(3).tolist()
    [0.065, 0.0]
    >>> model.predict(X, sensitive_features=group, random_state=0).shape
    (400,)
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        cost_constraint: str = "weighted",
        threshold: float = 0.5,
        prefit: bool = False,
    ) -> None:
        self.estimator = estimator
        self.cost_constraint = cost_constraint
        self.threshold = threshold
        self.prefit = prefit

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        sensitive_features: SensitiveLike = None,
        sample_weight: Any = None,
    ) -> CalibratedEqualizedOdds:
        """Fit the base estimator (unless ``prefit``) and compute the mixing rates.

        Parameters
        ----------
        X : array-like or dataframe of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Binary labels; the greater one is the positive class.
        sensitive_features : array-like, dataframe or dict
        sample_weight : array-like of shape (n_samples,), optional
            Passed to the estimator and used to weight the rates and costs.

        Returns
        -------
        self : CalibratedEqualizedOdds

        Raises
        ------
        InvalidInputError
            For bad parameters, missing ``sensitive_features``, a single group, an estimator
            without ``predict_proba``, a group without the labels the cost needs, or costs that
            cannot be equalised.
        """
        cost = _check_choice(self.cost_constraint, "cost_constraint", COST_CONSTRAINTS)
        threshold = _check_number(self.threshold, "threshold")
        if not 0.0 <= threshold <= 1.0:
            raise InvalidInputError(f"threshold must be in [0, 1] (scores are probabilities); got {self.threshold!r}")
        y01, classes, weights, sens, estimator, method, scores = self._fit_common(
            X, y, sensitive_features, sample_weight, "predict_proba", require_proba=True
        )
        _check_degenerate(
            y01,
            weights,
            sens,
            needs_positives=cost != "fpr",
            needs_negatives=cost != "fnr",
            why=f"cost_constraint={cost!r} averages over them",
        )
        g = sens.n_groups
        positive = y01.astype(np.float64)
        base_rates = _group_rates(sens.codes, g, positive, weights)
        gfpr = _group_rates(sens.codes, g, scores, weights * (1.0 - positive))
        gfnr = _group_rates(sens.codes, g, 1.0 - scores, weights * positive)
        costs = _generalized_cost(cost, gfpr, gfnr, base_rates)
        trivial = _generalized_cost(cost, base_rates, 1.0 - base_rates, base_rates)
        target = float(costs.max())
        with np.errstate(invalid="ignore", divide="ignore"):
            mix = np.where(costs < target, (target - costs) / (trivial - costs), 0.0)
        bad = np.flatnonzero((costs < target) & ~((mix >= 0) & (mix <= 1 + 1e-12)))
        if bad.size:
            i, worst = int(bad[0]), int(np.argmax(costs))
            raise InvalidInputError(
                f"cost_constraint={cost!r} cannot be equalised: group "
                f"{_group_name(sens, sens.groups[i])} reaches at most a cost of {trivial[i]:.4f} (at its "
                f"base rate), below the {target:.4f} of group {_group_name(sens, sens.groups[worst])}. "
                f"Try another cost_constraint ('fpr', 'fnr' or 'weighted'), or a better calibrated estimator"
            )
        self.estimator_ = estimator
        self.classes_ = classes
        self.groups_ = list(sens.groups)
        self.sensitive_feature_names_ = list(sens.names)
        self.predict_method_ = method
        self.base_rates_ = base_rates
        self.costs_ = costs
        self.trivial_costs_ = trivial
        self.mix_rates_ = np.minimum(mix, 1.0)
        return self

    def predict_proba(
        self,
        X: Any,
        *,
        sensitive_features: SensitiveLike = None,
        random_state: Any = None,
    ) -> FloatArray:
        """Scores after the random mixing, as probabilities of ``classes_``, shape (n_samples, 2).

        Parameters
        ----------
        X : array-like or dataframe of shape (n_samples, n_features)
        sensitive_features : array-like, dataframe or dict
            The same sensitive columns as in fit.
        random_state : int, numpy RandomState or Generator, optional
            Seed of the mixing; an int gives reproducible output.

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        check_fitted(self, "mix_rates_")
        scores = self._predict_scores(X)
        codes = self._predict_codes(sensitive_features, scores.size)
        replace = _uniform(random_state, scores.size) < self.mix_rates_[codes]
        mixed = np.where(replace, self.base_rates_[codes], scores)
        return np.column_stack((1.0 - mixed, mixed))

    def predict(self, X: Any, *, sensitive_features: SensitiveLike = None, random_state: Any = None) -> np.ndarray:
        """Randomised labels: mixed scores at or above ``threshold`` are positive.

        Parameters
        ----------
        X : array-like or dataframe of shape (n_samples, n_features)
        sensitive_features : array-like, dataframe or dict
        random_state : int, numpy RandomState or Generator, optional

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        mixed = self.predict_proba(X, sensitive_features=sensitive_features, random_state=random_state)[:, 1]
        labels: np.ndarray = self.classes_[(mixed >= self.threshold).astype(np.int64)]
        return labels

    def _pmf_predict(self, X: Any, *, sensitive_features: SensitiveLike = None) -> FloatArray:
        """Expected probabilities of predicting ``classes_[0]`` and ``classes_[1]``, shape (n_samples, 2)."""
        check_fitted(self, "mix_rates_")
        scores = self._predict_scores(X)
        codes = self._predict_codes(sensitive_features, scores.size)
        mix = self.mix_rates_[codes]
        keep = (scores >= self.threshold).astype(np.float64)
        replaced = (self.base_rates_[codes] >= self.threshold).astype(np.float64)
        positive = (1.0 - mix) * keep + mix * replaced
        return np.column_stack((1.0 - positive, positive))


def _generalized_cost(name: str, fpr: FloatArray, fnr: FloatArray, base_rates: FloatArray) -> FloatArray:
    if name == "fpr":
        return fpr
    if name == "fnr":
        return fnr
    # Pleiss et al. (and AIF360): equal weights on both errors, normalised by their sum.
    result: FloatArray = 0.5 * fpr * (1.0 - base_rates) + 0.5 * fnr * base_rates
    return result
