"""Fairness constraints for the reductions (:class:`ExponentiatedGradient`, :class:`GridSearch`).

A constraint object only holds its parameters (bounds). :meth:`Constraint.bind` ties it to one
training set and returns a :class:`BoundConstraint` that the reductions query: the constraint
violations ``gamma`` of a predictor, the per-row signed weights that turn a vector of Lagrange
multipliers into a weighted classification (or regression) problem, and the basis of the
multiplier grid.

Nothing here touches rows in Python: a predictor's violations come from the :class:`GroupStats` of
its predictions (one ``numpy.bincount`` pass); the signed weights of all rows are one gather from a
small ``(groups, labels)`` table. The semantics are those of fairlearn's moments (Agarwal et al.
2018, "A Reductions Approach to Fair Classification"): for every event ``e`` (all rows, or the rows
with one label) and group ``g`` there are two constraints, ``+``: ``ρ·mean(e, g) - mean(e) <= ε`` and
``-``: ``ρ·mean(e) - mean(e, g) <= ε``, where ``mean`` is the (weighted) mean utility of the predictions
(the selection rate, or the error for error-rate parity) and ``ρ`` is 1 for difference bounds.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np

from fairwatch._typing import FloatArray, GroupKey, IntArray
from fairwatch.exceptions import InvalidInputError
from fairwatch.metrics._group_stats import REGRESSION_FIELDS, compute_group_stats

__all__ = [
    "CONSTRAINT_NAMES",
    "BoundConstraint",
    "BoundedGroupLoss",
    "Constraint",
    "DemographicParity",
    "EqualizedOdds",
    "ErrorRateParity",
    "FalsePositiveRateParity",
    "GridBasis",
    "TruePositiveRateParity",
    "resolve_constraints",
]

#: The default difference bound of the parity constraints (fairlearn's default).
DEFAULT_DIFFERENCE_BOUND = 0.01

Task = Literal["classification", "regression"]


class GridBasis:
    """The low-dimensional description of the multiplier space that :class:`GridSearch` spans.

    ``pos`` and ``neg`` have shape ``(n_constraints, n_dims)``: a grid point with coefficients
    ``c`` is the multiplier vector ``pos @ max(c, 0) + neg @ max(-c, 0)``. ``neg_allowed[i]`` says
    whether coefficient ``i`` may be negative. When ``objective_in_span`` is true, the objective is
    itself a combination of the constraints (bounded group loss), so grid points have a fixed L1
    norm and the objective's signed weights are not added.
    """

    def __init__(self, pos: FloatArray, neg: FloatArray, neg_allowed: np.ndarray, objective_in_span: bool) -> None:
        self.pos = pos
        self.neg = neg
        self.neg_allowed = neg_allowed
        self.objective_in_span = objective_in_span

    @property
    def n_dims(self) -> int:
        return int(self.pos.shape[1])


class BoundConstraint(ABC):
    """A constraint tied to one training set (created by :meth:`Constraint.bind`).

    Attributes
    ----------
    index : list of tuple
        One label per constraint, fairlearn's ``(sign, event, group)`` (or ``(group,)`` for
        bounded group loss).
    n_rows : int
        Number of training rows.
    total_weight : float
        Sum of the row weights (``n_rows`` without weights).
    """

    task: ClassVar[Task]

    def __init__(self, index: list[tuple[Any, ...]], n_rows: int, total_weight: float) -> None:
        self.index = index
        self.n_rows = n_rows
        self.total_weight = total_weight

    @property
    def n_constraints(self) -> int:
        return len(self.index)

    @abstractmethod
    def evaluate(self, predictions: np.ndarray) -> tuple[float, FloatArray]:
        """The objective (error or mean loss) and the constraint values ``gamma`` of predictions."""

    @abstractmethod
    def bound(self) -> FloatArray:
        """The bound of every constraint (``gamma <= bound``)."""

    @abstractmethod
    def signed_table(self, lambda_vec: FloatArray, *, with_objective: bool = True) -> FloatArray:
        """Signed weight of a row by its cell (group, and label for classification), before row weights.

        The reduced problem depends on ``lambda_vec`` only through this small table.
        """

    @abstractmethod
    def row_values(self, table: FloatArray) -> FloatArray:
        """Per-row values of a cell table (times the row weights)."""

    def signed_weights(self, lambda_vec: FloatArray, *, with_objective: bool = True) -> FloatArray:
        """Per-row signed weights of the Lagrangian for multipliers ``lambda_vec`` (plus the objective)."""
        return self.row_values(self.signed_table(lambda_vec, with_objective=with_objective))

    @abstractmethod
    def project_lambda(self, lambda_vec: FloatArray) -> FloatArray:
        """Multipliers that give the same or a higher Lagrangian for every predictor."""

    @abstractmethod
    def grid_basis(self) -> GridBasis:
        """The basis of the multiplier grid used by :class:`GridSearch`."""

    @abstractmethod
    def reduced_labels(self, signed: FloatArray, y: np.ndarray) -> np.ndarray:
        """The labels the estimator is fitted to for these signed weights."""


class Constraint(ABC):
    """Base class of the fairness constraints of the reductions.

    Subclasses only store their parameters; :meth:`bind` computes everything that depends on the
    data and leaves the object itself unchanged, so one constraint object can be shared by several
    estimators and fitted again.
    """

    task: ClassVar[Task] = "classification"
    #: The name of the constraint in string form (``constraints="demographic_parity"``).
    short_name: ClassVar[str] = ""

    @abstractmethod
    def bind(
        self,
        y: np.ndarray,
        group_codes: IntArray,
        groups: Sequence[GroupKey],
        sensitive_names: Sequence[str],
        sample_weight: FloatArray | None = None,
    ) -> BoundConstraint:
        """Tie the constraint to training labels ``y`` (0/1 for classification) and group codes."""

    def _params(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._params() == other._params()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self._params().items()))))


def _checked_weights(sample_weight: FloatArray | None, n_rows: int) -> tuple[FloatArray | None, float]:
    """The row weights (``None``: all 1) and their total.

    Weights are used as given, so a row of weight 2 counts exactly like two copies of the row, in
    the constraints and in the weights passed to the estimator.
    """
    if sample_weight is None:
        return None, float(n_rows)
    total = float(sample_weight.sum())
    if total <= 0:
        raise InvalidInputError("sample_weight is zero for every row (the weights sum to 0); give some rows a weight")
    return np.asarray(sample_weight, dtype=np.float64), total


def _group_label(key: GroupKey) -> Any:
    """fairlearn's name of a group: the value itself, or the values joined by commas."""
    return key[0] if len(key) == 1 else ",".join(str(v) for v in key)


def _first_appearance(codes: IntArray, n_codes: int) -> IntArray:
    """Codes ordered by the row where each first appears (fairlearn orders grid dimensions so)."""
    first = np.full(n_codes, codes.size, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(codes.size, dtype=np.int64))
    present = first < codes.size
    order = np.argsort(first, kind="stable")
    return np.asarray(order[: int(present.sum())], dtype=np.int64)


# -- parity constraints ---------------------------------------------------------------------------
class _UtilityParity(Constraint):
    """Parity of a utility of the predictions across groups, within events (fairlearn's UtilityParity)."""

    #: Event names, and for each label (0, 1) the index of its event (-1: the row is in no event).
    _events: ClassVar[tuple[str, ...]] = ("all",)
    _event_of_label: ClassVar[tuple[int, int]] = (0, 0)
    #: ``utility[y, p]``: the utility of predicting ``p`` for a row with label ``y``.
    _utility: ClassVar[tuple[tuple[float, float], tuple[float, float]]] = ((0.0, 1.0), (0.0, 1.0))

    def __init__(
        self,
        *,
        difference_bound: float | None = None,
        ratio_bound: float | None = None,
        ratio_bound_slack: float = 0.0,
    ) -> None:
        if difference_bound is not None and ratio_bound is not None:
            raise InvalidInputError(
                f"{type(self).__name__} takes difference_bound or ratio_bound, not both "
                f"(got difference_bound={difference_bound!r}, ratio_bound={ratio_bound!r})"
            )
        if difference_bound is not None and not (np.isfinite(difference_bound) and difference_bound >= 0):
            raise InvalidInputError(
                f"difference_bound must be a non-negative number (the largest allowed gap between a "
                f"group and the overall rate); got {difference_bound!r}"
            )
        if ratio_bound is not None and not (0.0 < ratio_bound <= 1.0):
            raise InvalidInputError(
                f"ratio_bound must be in (0, 1] (e.g. 0.8 for the four-fifths rule); got {ratio_bound!r}"
            )
        if not (np.isfinite(ratio_bound_slack) and ratio_bound_slack >= 0):
            raise InvalidInputError(f"ratio_bound_slack must be a non-negative number; got {ratio_bound_slack!r}")
        self.difference_bound = difference_bound
        self.ratio_bound = ratio_bound
        self.ratio_bound_slack = ratio_bound_slack

    def _params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.difference_bound is not None:
            out["difference_bound"] = self.difference_bound
        if self.ratio_bound is not None:
            out["ratio_bound"] = self.ratio_bound
            out["ratio_bound_slack"] = self.ratio_bound_slack
        return out

    @property
    def eps(self) -> float:
        """The additive slack of every constraint."""
        if self.ratio_bound is not None:
            return float(self.ratio_bound_slack)
        return DEFAULT_DIFFERENCE_BOUND if self.difference_bound is None else float(self.difference_bound)

    @property
    def ratio(self) -> float:
        """``ρ``: 1 for difference bounds, ``ratio_bound`` for ratio bounds."""
        return 1.0 if self.ratio_bound is None else float(self.ratio_bound)

    def bind(
        self,
        y: np.ndarray,
        group_codes: IntArray,
        groups: Sequence[GroupKey],
        sensitive_names: Sequence[str],
        sample_weight: FloatArray | None = None,
    ) -> BoundConstraint:
        return _BoundParity(self, np.asarray(y, dtype=np.int64), group_codes, groups, sensitive_names, sample_weight)


class _BoundParity(BoundConstraint):
    task = "classification"

    def __init__(
        self,
        spec: _UtilityParity,
        y: IntArray,
        group_codes: IntArray,
        groups: Sequence[GroupKey],
        sensitive_names: Sequence[str],
        sample_weight: FloatArray | None,
    ) -> None:
        n = int(y.size)
        self.spec = spec
        self.y = y
        self.codes = group_codes
        self.groups = tuple(groups)
        self.names = tuple(sensitive_names)
        self.weights, total_weight = _checked_weights(sample_weight, n)
        self.eps = spec.eps
        self.ratio = spec.ratio
        n_groups = len(self.groups)
        n_events = len(spec._events)
        # mask[e, y]: rows with label y belong to event e
        self.event_mask = np.zeros((n_events, 2), dtype=np.float64)
        for label, event in enumerate(spec._event_of_label):
            if event >= 0:
                self.event_mask[event, label] = 1.0
        self.utility = np.asarray(spec._utility, dtype=np.float64)
        label_counts = compute_group_stats(
            group_codes, self.groups, self.names, y_true=y, y_pred=np.zeros_like(y), sample_weight=self.weights
        ).confusion
        assert label_counts is not None
        by_label = label_counts.sum(axis=2)  # (G, 2) weighted rows per group and label
        self.cell_weight = self.event_mask @ by_label.T  # (E, G)
        total = float(by_label.sum())
        self.present = self.cell_weight > 0
        self.p_event = self.cell_weight.sum(axis=1) / total  # (E,)
        self.p_cell = self.cell_weight / total  # (E, G)
        cells = [(e, g) for e in range(n_events) for g in range(n_groups) if self.present[e, g]]
        self.cells = cells
        index = [("+", spec._events[e], _group_label(self.groups[g])) for e, g in cells]
        index += [("-", spec._events[e], _group_label(self.groups[g])) for e, g in cells]
        super().__init__(index, n, total_weight)
        self._cell_e = np.asarray([e for e, _ in cells], dtype=np.int64)
        self._cell_g = np.asarray([g for _, g in cells], dtype=np.int64)
        self._row_key = group_codes * 2 + y  # index into a (G, 2) table
        self._event_order = self._events_by_appearance()
        self._group_order = _first_appearance(group_codes, n_groups)

    def _events_by_appearance(self) -> list[int]:
        label_order = _first_appearance(self.y, 2)
        seen: list[int] = []
        for label in label_order.tolist():
            event = self.spec._event_of_label[label]
            if event >= 0 and event not in seen:
                seen.append(event)
        return seen

    # -- moments ---------------------------------------------------------------------------------
    def evaluate(self, predictions: np.ndarray) -> tuple[float, FloatArray]:
        pred = np.asarray(predictions, dtype=np.int64)
        stats = compute_group_stats(
            self.codes, self.groups, self.names, y_true=self.y, y_pred=pred, sample_weight=self.weights
        )
        confusion = stats.confusion
        assert confusion is not None
        total = float(confusion.sum())
        error = float(confusion[:, 0, 1].sum() + confusion[:, 1, 0].sum()) / total
        num = np.einsum("ey,gyp,yp->eg", self.event_mask, confusion, self.utility)
        num_e = num.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_cell = num / self.cell_weight
            mean_event = num_e / self.cell_weight.sum(axis=1)
        e, g = self._cell_e, self._cell_g
        plus = self.ratio * mean_cell[e, g] - mean_event[e]
        minus = self.ratio * mean_event[e] - mean_cell[e, g]
        return error, np.concatenate([plus, minus])

    def bound(self) -> FloatArray:
        return np.full(self.n_constraints, self.eps, dtype=np.float64)

    def _split(self, lambda_vec: FloatArray) -> tuple[FloatArray, FloatArray]:
        k = len(self.cells)
        shape = self.cell_weight.shape
        plus = np.zeros(shape, dtype=np.float64)
        minus = np.zeros(shape, dtype=np.float64)
        plus[self._cell_e, self._cell_g] = lambda_vec[:k]
        minus[self._cell_e, self._cell_g] = lambda_vec[k:]
        return plus, minus

    def signed_table(self, lambda_vec: FloatArray, *, with_objective: bool = True) -> FloatArray:
        """Signed weight of a row by its group and label, shape ``(G, 2)`` (before row weights)."""
        # U·λ for a row of cell (e, g): sum_g' (λ+[e,g'] - ρλ-[e,g']) / P(e) + (λ-[e,g] - ρλ+[e,g]) / P(e,g)
        plus, minus = self._split(np.asarray(lambda_vec, dtype=np.float64))
        rho = self.ratio
        with np.errstate(divide="ignore", invalid="ignore"):
            per_event = (plus - rho * minus).sum(axis=1) / self.p_event  # (E,)
            per_cell = np.where(self.present, (minus - rho * plus) / self.p_cell, 0.0)  # (E, G)
        value = np.where(self.present, per_event[:, None] + per_cell, 0.0)  # U·λ by cell
        diff = self.utility[:, 1] - self.utility[:, 0]  # (2,) by label
        table = np.einsum("ey,eg->gy", self.event_mask, value) * diff[None, :]
        if with_objective:
            table = table + np.array([-1.0, 1.0])[None, :]  # error rate: -c_fp for y=0, c_fn for y=1
        return np.asarray(table, dtype=np.float64)

    def row_values(self, table: FloatArray) -> FloatArray:
        out: FloatArray = np.asarray(table, dtype=np.float64).ravel()[self._row_key]
        return out if self.weights is None else out * self.weights

    def reduced_labels(self, signed: FloatArray, y: np.ndarray) -> np.ndarray:
        # int8: scikit-learn finds the classes of a small integer type several times faster
        return (signed > 0).astype(np.int8)

    def project_lambda(self, lambda_vec: FloatArray) -> FloatArray:
        if self.ratio != 1.0:
            return lambda_vec
        k = len(self.cells)
        signed = lambda_vec[:k] - lambda_vec[k:]
        # Within an event the violations satisfy sum_g P(g|e) gamma(+, e, g) = 0, so shifting the
        # signed multipliers by a multiple of P(g|e) keeps the Lagrangian; the weighted median
        # shift gives the smallest L1 norm.
        for event in range(self.cell_weight.shape[0]):
            members = np.flatnonzero(self._cell_e == event)
            if members.size == 0:
                continue
            prob = self.p_cell[event, self._cell_g[members]] / self.p_event[event]
            normalised = signed[members] / prob
            order = np.argsort(normalised, kind="stable")
            cumulative = np.cumsum(prob[order])
            median = int(np.searchsorted(cumulative, prob.sum() / 2))
            signed[members] = signed[members] - prob * normalised[order[median]]
        return np.concatenate([np.clip(signed, 0.0, None), np.clip(-signed, 0.0, None)])

    def grid_basis(self) -> GridBasis:
        k = len(self.cells)
        position = {cell: i for i, cell in enumerate(self.cells)}
        dims = [(e, int(g)) for e in self._event_order for g in self._group_order[:-1].tolist()]
        pos = np.zeros((2 * k, len(dims)), dtype=np.float64)
        neg = np.zeros((2 * k, len(dims)), dtype=np.float64)
        for i, cell in enumerate(dims):
            if cell in position:
                pos[position[cell], i] = 1.0
                neg[k + position[cell], i] = 1.0
        return GridBasis(pos, neg, np.ones(len(dims), dtype=bool), objective_in_span=False)


class DemographicParity(_UtilityParity):
    r"""Demographic parity: every group's selection rate close to the overall selection rate.

    ``P[h(X) = 1 | A = a] = P[h(X) = 1]`` for every group ``a``, up to ``difference_bound`` (or, with
    ``ratio_bound=r``, ``r·P[h=1 | A=a] <= P[h=1] + slack`` and ``r·P[h=1] <= P[h=1 | A=a] + slack``).

    Parameters
    ----------
    difference_bound : float, optional
        Largest allowed difference between a group's selection rate and the overall one
        (default 0.01 when no bound is given).
    ratio_bound : float in (0, 1], optional
        Bound the ratio instead of the difference (exclusive with ``difference_bound``).
    ratio_bound_slack : float, default 0.0
        Additive slack of the ratio constraints.

    Examples
    --------
    >>> from fairwatch.mitigation import DemographicParity
    >>> DemographicParity(difference_bound=0.05)
    DemographicParity(difference_bound=0.05)
    >>> DemographicParity().eps
    0.01
    """

    short_name = "demographic_parity"


class TruePositiveRateParity(_UtilityParity):
    r"""True-positive-rate parity (equal opportunity): ``P[h=1 | A=a, Y=1] = P[h=1 | Y=1]``.

    Parameters
    ----------
    difference_bound, ratio_bound, ratio_bound_slack
        As for :class:`DemographicParity`.

    Examples
    --------
    >>> from fairwatch.mitigation import TruePositiveRateParity
    >>> TruePositiveRateParity(ratio_bound=0.9)
    TruePositiveRateParity(ratio_bound=0.9, ratio_bound_slack=0.0)
    """

    short_name = "true_positive_rate_parity"
    _events = ("label=1",)
    _event_of_label = (-1, 0)


class FalsePositiveRateParity(_UtilityParity):
    r"""False-positive-rate parity: ``P[h=1 | A=a, Y=0] = P[h=1 | Y=0]``.

    Parameters
    ----------
    difference_bound, ratio_bound, ratio_bound_slack
        As for :class:`DemographicParity`.

    Examples
    --------
    >>> from fairwatch.mitigation import FalsePositiveRateParity
    >>> FalsePositiveRateParity(difference_bound=0.02).eps
    0.02
    """

    short_name = "false_positive_rate_parity"
    _events = ("label=0",)
    _event_of_label = (0, -1)


class EqualizedOdds(_UtilityParity):
    r"""Equalized odds: true- and false-positive rates equal across groups.

    ``P[h=1 | A=a, Y=y] = P[h=1 | Y=y]`` for every group ``a`` and label ``y``.

    Parameters
    ----------
    difference_bound, ratio_bound, ratio_bound_slack
        As for :class:`DemographicParity`.

    Examples
    --------
    >>> from fairwatch.mitigation import EqualizedOdds
    >>> EqualizedOdds(difference_bound=0.02)
    EqualizedOdds(difference_bound=0.02)
    """

    short_name = "equalized_odds"
    _events = ("label=0", "label=1")
    _event_of_label = (0, 1)


class ErrorRateParity(_UtilityParity):
    r"""Error-rate parity: ``P[h(X) != Y | A=a] = P[h(X) != Y]`` for every group ``a``.

    Parameters
    ----------
    difference_bound, ratio_bound, ratio_bound_slack
        As for :class:`DemographicParity`.

    Examples
    --------
    >>> from fairwatch.mitigation import ErrorRateParity
    >>> ErrorRateParity().ratio
    1.0
    """

    short_name = "error_rate_parity"
    _utility = ((0.0, 1.0), (1.0, 0.0))


# -- bounded group loss (regression) --------------------------------------------------------------
_LOSSES = ("square", "absolute", "zero_one")


class BoundedGroupLoss(Constraint):
    r"""Bounded group loss (regression): every group's mean loss at most ``upper_bound``.

    The objective is the overall mean loss; the estimator is a regressor.

    Parameters
    ----------
    loss : {"square", "absolute", "zero_one"}, default "square"
        The loss: ``(y - ŷ)²``, ``|y - ŷ|``, or ``|y - ŷ|`` with both clipped to ``[0, 1]``.
    upper_bound : float
        The largest mean loss allowed for any group (fairlearn's ζ). Required.
    clip : tuple of float, optional
        Clip labels and predictions to ``(low, high)`` before computing the loss (fairlearn's
        ``SquareLoss(min_val, max_val)``); keeps the loss bounded.

    Examples
    --------
    >>> from fairwatch.mitigation import BoundedGroupLoss
    >>> BoundedGroupLoss("absolute", upper_bound=0.1)
    BoundedGroupLoss(loss='absolute', upper_bound=0.1)
    """

    task = "regression"
    short_name = "bounded_group_loss"

    def __init__(
        self, loss: str = "square", *, upper_bound: float | None = None, clip: tuple[float, float] | None = None
    ) -> None:
        if loss not in _LOSSES:
            raise InvalidInputError(f"loss must be one of {', '.join(map(repr, _LOSSES))}; got {loss!r}")
        if upper_bound is not None and not (np.isfinite(upper_bound) and upper_bound >= 0):
            raise InvalidInputError(
                f"upper_bound must be a non-negative number (a mean loss); got {upper_bound!r}: a negative "
                f"bound on a loss can never be met"
            )
        if clip is not None and not (len(clip) == 2 and clip[0] < clip[1]):
            raise InvalidInputError(f"clip must be a (low, high) pair with low < high; got {clip!r}")
        self.loss = loss
        self.upper_bound = upper_bound
        self.clip = clip

    def _params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"loss": self.loss, "upper_bound": self.upper_bound}
        if self.clip is not None:
            out["clip"] = self.clip
        return out

    def bind(
        self,
        y: np.ndarray,
        group_codes: IntArray,
        groups: Sequence[GroupKey],
        sensitive_names: Sequence[str],
        sample_weight: FloatArray | None = None,
    ) -> BoundConstraint:
        if self.upper_bound is None:
            raise InvalidInputError(
                "BoundedGroupLoss needs upper_bound (the largest mean loss allowed for any group): pass "
                "constraints=BoundedGroupLoss('square', upper_bound=...) instead of 'bounded_group_loss'"
            )
        return _BoundGroupLoss(
            self, np.asarray(y, dtype=np.float64), group_codes, groups, sensitive_names, sample_weight
        )


class _BoundGroupLoss(BoundConstraint):
    task = "regression"

    def __init__(
        self,
        spec: BoundedGroupLoss,
        y: FloatArray,
        group_codes: IntArray,
        groups: Sequence[GroupKey],
        sensitive_names: Sequence[str],
        sample_weight: FloatArray | None,
    ) -> None:
        n = int(y.size)
        self.spec = spec
        self.clip = (0.0, 1.0) if spec.loss == "zero_one" else spec.clip
        self.column = REGRESSION_FIELDS.index("wee" if spec.loss == "square" else "wae")
        self.y = self._clipped(y)
        self.codes = group_codes
        self.groups = tuple(groups)
        self.names = tuple(sensitive_names)
        self.weights, total_weight = _checked_weights(sample_weight, n)
        group_weight = np.bincount(group_codes, weights=self.weights, minlength=len(self.groups))
        self.p_group = group_weight / group_weight.sum()
        assert spec.upper_bound is not None
        self.upper_bound = float(spec.upper_bound)
        super().__init__([(_group_label(g),) for g in self.groups], n, total_weight)
        self._group_order = _first_appearance(group_codes, len(self.groups))

    def _clipped(self, values: np.ndarray) -> FloatArray:
        values = np.asarray(values, dtype=np.float64)
        return values if self.clip is None else np.clip(values, self.clip[0], self.clip[1])

    def evaluate(self, predictions: np.ndarray) -> tuple[float, FloatArray]:
        stats = compute_group_stats(
            self.codes,
            self.groups,
            self.names,
            y_true_values=self.y,
            y_pred_values=self._clipped(np.asarray(predictions, dtype=np.float64).ravel()),
            sample_weight=self.weights,
        )
        moments = stats.regression
        assert moments is not None
        loss, weight = moments[:, self.column], moments[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            by_group = loss / weight
        return float(loss.sum() / weight.sum()), np.asarray(by_group, dtype=np.float64)

    def bound(self) -> FloatArray:
        return np.full(self.n_constraints, self.upper_bound, dtype=np.float64)

    def signed_table(self, lambda_vec: FloatArray, *, with_objective: bool = True) -> FloatArray:
        table: FloatArray = np.asarray(lambda_vec, dtype=np.float64) / self.p_group
        return table + 1.0 if with_objective else table

    def row_values(self, table: FloatArray) -> FloatArray:
        out: FloatArray = np.asarray(table, dtype=np.float64)[self.codes]
        return out if self.weights is None else out * self.weights

    def reduced_labels(self, signed: FloatArray, y: np.ndarray) -> np.ndarray:
        return y

    def project_lambda(self, lambda_vec: FloatArray) -> FloatArray:
        return lambda_vec

    def grid_basis(self) -> GridBasis:
        n_groups = len(self.groups)
        pos = np.zeros((n_groups, n_groups), dtype=np.float64)
        for i, g in enumerate(self._group_order.tolist()):
            pos[g, i] = 1.0
        return GridBasis(pos, np.zeros_like(pos), np.zeros(n_groups, dtype=bool), objective_in_span=True)


# -- names ----------------------------------------------------------------------------------------
_BY_NAME: dict[str, type[Constraint]] = {
    "demographic_parity": DemographicParity,
    "equalized_odds": EqualizedOdds,
    "true_positive_rate_parity": TruePositiveRateParity,
    "false_positive_rate_parity": FalsePositiveRateParity,
    "error_rate_parity": ErrorRateParity,
    "bounded_group_loss": BoundedGroupLoss,
}
_ALIASES = {
    "equal_opportunity": "true_positive_rate_parity",
    "statistical_parity": "demographic_parity",
    "tpr_parity": "true_positive_rate_parity",
    "fpr_parity": "false_positive_rate_parity",
}

#: The string shorthands accepted for ``constraints=``.
CONSTRAINT_NAMES: tuple[str, ...] = tuple(_BY_NAME)


def resolve_constraints(constraints: str | Constraint) -> Constraint:
    """The constraint object for ``constraints`` (an object, or one of :data:`CONSTRAINT_NAMES`).

    Examples
    --------
    >>> from fairwatch.mitigation._constraints import resolve_constraints
    >>> resolve_constraints("equalized_odds")
    EqualizedOdds()
    """
    if isinstance(constraints, Constraint):
        return constraints
    if isinstance(constraints, str):
        key = constraints.strip().lower().replace("-", "_").replace(" ", "_")
        key = _ALIASES.get(key, key)
        if key in _BY_NAME:
            return _BY_NAME[key]()
        close = difflib.get_close_matches(key, list(_BY_NAME) + list(_ALIASES), n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidInputError(
            f"constraints={constraints!r} is not a known constraint.{hint} Accepted names: "
            f"{', '.join(map(repr, CONSTRAINT_NAMES))}, or a constraint object such as "
            f"DemographicParity(difference_bound=0.05)"
        )
    raise InvalidInputError(
        f"constraints must be a constraint name such as 'demographic_parity' or a constraint object "
        f"from fairwatch.mitigation (e.g. EqualizedOdds()); got {type(constraints).__name__}"
    )
