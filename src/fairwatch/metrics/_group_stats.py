"""GroupStats: the small, additive per-group statistics every metric is computed from.

For ``G`` groups:

* ``confusion``: weighted confusion cells, shape ``(G, 2, 2)`` indexed ``[group, y_true, y_pred]``
  (``confusion_n`` holds the unweighted row counts of the same cells);
* ``predictions``: weighted counts of ``y_pred`` = 0/1 over *all* rows, shape ``(G, 2)``, for
  statistics where some rows have no label yet (monitoring); label-free metrics such as the
  selection rate use it, label-dependent metrics use the labelled rows in ``confusion``;
* score histograms, shape ``(G, 2, B)`` indexed ``[group, y_true, bin]``: weighted count, weighted
  sum of scores and weighted sum of squared scores per cell (plus unweighted counts);
* regression moments, shape ``(G, 9)``: weighted sums of 1, y, y², ŷ, ŷ², e, e², |e|, e⁴ with
  ``e = y_true - y_pred``.

Every array is a sum over rows, so the statistics of two disjoint sets of rows are the sum of their
statistics (:meth:`GroupStats.merge`). Bootstrap replicates carry a leading replicate axis; metric
functions index with ``...`` so they work on both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from fairwatch._typing import FloatArray, GroupKey, IntArray
from fairwatch.exceptions import IncompatibleStatsError, InvalidInputError
from fairwatch.frames._encode import group_sort_key

__all__ = [
    "REGRESSION_FIELDS",
    "GroupStats",
    "ScoreHistogram",
    "compute_group_stats",
    "score_bins_for",
]

#: Columns of the regression moment block (``e = y_true - y_pred``).
REGRESSION_FIELDS: tuple[str, ...] = ("w", "wy", "wyy", "wp", "wpp", "we", "wee", "wae", "we4")

Binning = Literal["uniform", "distinct"]

#: With ``score_bins="auto"`` scores are binned at their distinct values (which makes ROC-AUC exact)
#: as long as the histogram stays below this many cells; otherwise uniform bins are used.
AUTO_EXACT_CELL_LIMIT = 1 << 21
DEFAULT_UNIFORM_BINS = 1000


@dataclass(frozen=True, eq=False)
class ScoreHistogram:
    """Per-group, per-label score histograms.

    ``edges`` has ``B + 1`` entries. With ``binning="uniform"`` bin ``k`` holds scores in
    ``[edges[k], edges[k+1])`` (the last bin is closed); with ``binning="distinct"`` bin ``k`` holds
    exactly the score ``edges[k]`` (and ``edges[-1] == edges[-2]``), so rank metrics are exact.
    """

    edges: FloatArray
    binning: Binning
    w: FloatArray  # (..., G, 2, B) weighted counts
    n: FloatArray  # (..., G, 2, B) unweighted counts
    ws: FloatArray  # (..., G, 2, B) weighted sum of scores
    wss: FloatArray  # (..., G, 2, B) weighted sum of squared scores
    #: Calibration bin of each bin, when it cannot be derived from the edges (internal use).
    calibration_index: IntArray | None = None

    @property
    def n_bins(self) -> int:
        return int(self.edges.size - 1)

    def bin_lower(self) -> FloatArray:
        return self.edges[:-1]

    def same_bins(self, other: ScoreHistogram) -> bool:
        return (
            self.binning == other.binning
            and self.edges.shape == other.edges.shape
            and bool(np.array_equal(self.edges, other.edges))
        )

    def coarse_index(self, n_bins: int) -> IntArray:
        """For each bin, the index of the uniform ``[0, 1]`` calibration bin it falls in."""
        if self.calibration_index is not None:
            return self.calibration_index
        lower = self.bin_lower()
        if self.binning == "uniform" and self.edges[0] == 0.0 and self.edges[-1] == 1.0 and self.n_bins % n_bins == 0:
            return np.arange(self.n_bins, dtype=np.int64) // (self.n_bins // n_bins)
        return np.clip(np.floor(lower * n_bins), 0, n_bins - 1).astype(np.int64)

    def arrays(self) -> dict[str, FloatArray]:
        return {"w": self.w, "n": self.n, "ws": self.ws, "wss": self.wss}


def _edges_for(scores: FloatArray, score_bins: Any, n_groups: int) -> tuple[FloatArray, Binning]:
    if isinstance(score_bins, str):
        if score_bins != "auto":
            raise InvalidInputError(
                f"score_bins must be 'auto', a number of bins or an array of bin edges; got {score_bins!r}"
            )
        distinct = np.unique(scores)
        if distinct.size * 2 * n_groups <= AUTO_EXACT_CELL_LIMIT:
            return np.append(distinct, distinct[-1]), "distinct"
        score_bins = DEFAULT_UNIFORM_BINS
    if isinstance(score_bins, (int, np.integer)) and not isinstance(score_bins, bool):
        if score_bins < 1:
            raise InvalidInputError(f"score_bins must be at least 1; got {score_bins}")
        low, high = float(scores.min()), float(scores.max())
        if low >= 0.0 and high <= 1.0:
            low, high = 0.0, 1.0
        elif high == low:
            high = low + 1.0
        return np.linspace(low, high, int(score_bins) + 1), "uniform"
    edges = np.asarray(score_bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise InvalidInputError("score_bins given as edges must be a strictly increasing 1-D array of length >= 2")
    if scores.min() < edges[0] or scores.max() > edges[-1]:
        raise InvalidInputError(
            f"scores range [{scores.min():g}, {scores.max():g}] is outside the score_bins edges "
            f"[{edges[0]:g}, {edges[-1]:g}]; widen the edges"
        )
    return edges, "uniform"


def score_bins_for(scores: FloatArray, score_bins: Any, n_groups: int) -> tuple[FloatArray, Binning, IntArray]:
    """Bin edges, binning kind and the bin index of every score."""
    edges, binning = _edges_for(scores, score_bins, n_groups)
    if binning == "distinct":
        index = np.searchsorted(edges[:-1], scores)
    else:
        n_bins = edges.size - 1
        if np.allclose(np.diff(edges), edges[1] - edges[0]):
            index = np.floor((scores - edges[0]) / (edges[-1] - edges[0]) * n_bins).astype(np.int64)
        else:
            index = np.searchsorted(edges, scores, side="right") - 1
        np.clip(index, 0, n_bins - 1, out=index)
    return edges, binning, index.astype(np.int64, copy=False)


@dataclass(frozen=True, eq=False)
class GroupStats:
    """Sufficient statistics for group fairness metrics, one row per (intersectional) group.

    Build them with :func:`fairwatch.metrics.group_stats` (or ``fairwatch.audit(...).stats``);
    combine two with ``a + b`` or :meth:`merge`; persist them with :meth:`to_dict`.

    Attributes
    ----------
    sensitive_names : tuple of str
        Names of the sensitive features; each group key has one value per name.
    groups : tuple of tuple
        The group keys, in a stable sorted order.
    n : ndarray of shape (G,)
        Number of rows per group (unweighted).
    weight : ndarray of shape (G,)
        Sum of sample weights per group (equals ``n`` without weights).
    confusion, confusion_n : ndarray of shape (G, 2, 2) or None
        Weighted and unweighted confusion cells ``[group, y_true, y_pred]``.
    predictions, predictions_n : ndarray of shape (G, 2) or None
        Weighted and unweighted counts of negative/positive predictions over all rows, labelled
        or not (only when some rows lack a label; otherwise the confusion cells say it all).
    scores : ScoreHistogram or None
        Score histograms per group and label.
    regression : ndarray of shape (G, 9) or None
        Weighted regression moments, columns :data:`REGRESSION_FIELDS`.
    pos_label : object
        The label that was counted as positive.
    """

    sensitive_names: tuple[str, ...]
    groups: tuple[GroupKey, ...]
    n: FloatArray
    weight: FloatArray
    confusion: FloatArray | None = None
    confusion_n: FloatArray | None = None
    predictions: FloatArray | None = None
    predictions_n: FloatArray | None = None
    scores: ScoreHistogram | None = None
    regression: FloatArray | None = None
    pos_label: Any = 1
    weighted: bool = False
    _index: dict[GroupKey, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self._index:
            self._index.update({key: i for i, key in enumerate(self.groups)})

    # -- shape ---------------------------------------------------------------------------------
    @property
    def n_groups(self) -> int:
        return len(self.groups)

    @property
    def n_rows(self) -> int:
        return int(np.asarray(self.n).sum())

    @property
    def is_replicated(self) -> bool:
        """True for bootstrap replicates (arrays carry a leading replicate axis)."""
        return np.ndim(self.n) > 1

    def index_of(self, group: GroupKey | Mapping[str, Any] | Any) -> int:
        """Position of a group given as a key tuple, a ``{name: value}`` mapping or a lone value."""
        if isinstance(group, Mapping):
            key = tuple(group[name] for name in self.sensitive_names)
        elif isinstance(group, tuple):
            key = group
        else:
            key = (group,)
        try:
            return self._index[key]
        except KeyError:
            known = ", ".join(map(repr, self.groups[:10]))
            raise InvalidInputError(f"group {key!r} is not in these statistics; known groups: {known}") from None

    def group_label(self, i: int) -> str:
        """``"sex=Female, race=Black"`` for group ``i`` (used in warnings and tables)."""
        return ", ".join(f"{name}={value}" for name, value in zip(self.sensitive_names, self.groups[i]))

    # -- algebra -------------------------------------------------------------------------------
    def _blocks(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "weight": self.weight,
            "confusion": self.confusion,
            "confusion_n": self.confusion_n,
            "predictions": self.predictions,
            "predictions_n": self.predictions_n,
            "regression": self.regression,
        }

    def merge(self, other: GroupStats) -> GroupStats:
        """Statistics of the union of the rows of ``self`` and ``other`` (groups are aligned by key)."""
        if not isinstance(other, GroupStats):
            raise IncompatibleStatsError(f"can only merge GroupStats with GroupStats, not {type(other).__name__}")
        if self.sensitive_names != other.sensitive_names:
            raise IncompatibleStatsError(
                f"cannot merge statistics over sensitive features {list(self.sensitive_names)} with "
                f"statistics over {list(other.sensitive_names)}; roll both up to the same features "
                f"with .marginal(...) first"
            )
        for name in ("confusion", "predictions", "regression"):
            if (getattr(self, name) is None) != (getattr(other, name) is None):
                raise IncompatibleStatsError(f"cannot merge: only one of the two statistics has a {name} block")
        if (self.scores is None) != (other.scores is None):
            raise IncompatibleStatsError("cannot merge: only one of the two statistics has score histograms")
        if self.pos_label != other.pos_label:
            raise IncompatibleStatsError(
                f"cannot merge statistics with pos_label={self.pos_label!r} and pos_label={other.pos_label!r}"
            )
        keys = list(self.groups) + [g for g in other.groups if g not in self._index]
        keys.sort(key=group_sort_key)
        index = {k: i for i, k in enumerate(keys)}
        pos_a = np.asarray([index[g] for g in self.groups], dtype=np.int64)
        pos_b = np.asarray([index[g] for g in other.groups], dtype=np.int64)
        merged: dict[str, Any] = {}
        for name, a in self._blocks().items():
            b = other._blocks()[name]
            if a is None:
                merged[name] = None
                continue
            out = np.zeros((len(keys),) + a.shape[1:], dtype=np.float64)
            np.add.at(out, pos_a, a)
            np.add.at(out, pos_b, b)
            merged[name] = out
        scores = None
        if self.scores is not None and other.scores is not None:
            scores = _merge_scores(self.scores, other.scores, len(keys), pos_a, pos_b)
        return GroupStats(
            sensitive_names=self.sensitive_names,
            groups=tuple(keys),
            scores=scores,
            pos_label=self.pos_label,
            weighted=self.weighted or other.weighted,
            **merged,
        )

    def __add__(self, other: GroupStats) -> GroupStats:
        return self.merge(other)

    def take(self, indices: Sequence[int] | IntArray) -> GroupStats:
        """Statistics of a subset of the groups, in the given order."""
        idx = np.asarray(indices, dtype=np.int64)
        sel = (Ellipsis, idx)
        scores = None
        if self.scores is not None:
            s = self.scores
            scores = replace(
                s,
                w=s.w[..., idx, :, :],
                n=s.n[..., idx, :, :],
                ws=s.ws[..., idx, :, :],
                wss=s.wss[..., idx, :, :],
            )
        return GroupStats(
            sensitive_names=self.sensitive_names,
            groups=tuple(self.groups[i] for i in idx.tolist()),
            n=self.n[sel],
            weight=self.weight[sel],
            confusion=None if self.confusion is None else self.confusion[..., idx, :, :],
            confusion_n=None if self.confusion_n is None else self.confusion_n[..., idx, :, :],
            predictions=None if self.predictions is None else self.predictions[..., idx, :],
            predictions_n=None if self.predictions_n is None else self.predictions_n[..., idx, :],
            scores=scores,
            regression=None if self.regression is None else self.regression[..., idx, :],
            pos_label=self.pos_label,
            weighted=self.weighted,
        )

    def rollup(self, names: Sequence[str] | str | None = None) -> GroupStats:
        """Sum groups over the sensitive features not in ``names`` (a marginal view).

        ``rollup(["sex"])`` turns sex × race statistics into statistics by sex; ``rollup([])`` (or
        :meth:`overall`) gives one group holding every row.
        """
        if names is None:
            names = []
        if isinstance(names, str):
            names = [names]
        names = list(names)
        for name in names:
            if name not in self.sensitive_names:
                raise InvalidInputError(
                    f"{name!r} is not a sensitive feature of these statistics; available: {list(self.sensitive_names)}"
                )
        positions = [self.sensitive_names.index(name) for name in names]
        new_keys = sorted({tuple(g[p] for p in positions) for g in self.groups}, key=group_sort_key)
        index = {k: i for i, k in enumerate(new_keys)}
        target = np.asarray([index[tuple(g[p] for p in positions)] for g in self.groups], dtype=np.int64)
        return self._regroup(tuple(names), tuple(new_keys), target)

    def overall(self) -> GroupStats:
        """All rows as one group (key ``()``)."""
        return self.rollup([])

    def _regroup(self, names: tuple[str, ...], keys: tuple[GroupKey, ...], target: IntArray) -> GroupStats:
        g_axis = np.ndim(self.n) - 1

        def fold(a: FloatArray) -> FloatArray:
            moved = np.moveaxis(a, g_axis, 0)
            out = np.zeros((len(keys),) + moved.shape[1:], dtype=np.float64)
            np.add.at(out, target, moved)
            return np.moveaxis(out, 0, g_axis)

        def fold_opt(a: FloatArray | None) -> FloatArray | None:
            return None if a is None else fold(a)

        scores = None
        if self.scores is not None:
            s = self.scores
            scores = replace(s, w=fold(s.w), n=fold(s.n), ws=fold(s.ws), wss=fold(s.wss))
        return GroupStats(
            sensitive_names=names,
            groups=keys,
            n=fold(self.n),
            weight=fold(self.weight),
            confusion=fold_opt(self.confusion),
            confusion_n=fold_opt(self.confusion_n),
            predictions=fold_opt(self.predictions),
            predictions_n=fold_opt(self.predictions_n),
            scores=scores,
            regression=fold_opt(self.regression),
            pos_label=self.pos_label,
            weighted=self.weighted,
        )

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; :meth:`from_dict` restores an equal object."""
        out: dict[str, Any] = {
            "version": 1,
            "sensitive_names": list(self.sensitive_names),
            "groups": [list(g) for g in self.groups],
            "n": self.n.tolist(),
            "weight": self.weight.tolist(),
            "pos_label": self.pos_label,
            "weighted": self.weighted,
            "confusion": None if self.confusion is None else self.confusion.tolist(),
            "confusion_n": None if self.confusion_n is None else self.confusion_n.tolist(),
            "predictions": None if self.predictions is None else self.predictions.tolist(),
            "predictions_n": None if self.predictions_n is None else self.predictions_n.tolist(),
            "regression": None if self.regression is None else self.regression.tolist(),
            "scores": None,
        }
        if self.scores is not None:
            s = self.scores
            out["scores"] = {"edges": s.edges.tolist(), "binning": s.binning} | {
                k: v.tolist() for k, v in s.arrays().items()
            }
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupStats:
        """Rebuild statistics written by :meth:`to_dict`."""
        try:
            names = tuple(str(n) for n in data["sensitive_names"])
            groups = tuple(tuple(g) for g in data["groups"])
            n = np.asarray(data["n"], dtype=np.float64)
            scores = None
            if data.get("scores") is not None:
                s = data["scores"]
                if s["binning"] not in ("uniform", "distinct"):
                    raise ValueError(f"unknown score binning {s['binning']!r}")
                scores = ScoreHistogram(
                    edges=np.asarray(s["edges"], dtype=np.float64),
                    binning=s["binning"],
                    w=np.asarray(s["w"], dtype=np.float64),
                    n=np.asarray(s["n"], dtype=np.float64),
                    ws=np.asarray(s["ws"], dtype=np.float64),
                    wss=np.asarray(s["wss"], dtype=np.float64),
                )
            stats = cls(
                sensitive_names=names,
                groups=groups,
                n=n,
                weight=np.asarray(data["weight"], dtype=np.float64),
                confusion=_opt_array(data.get("confusion")),
                confusion_n=_opt_array(data.get("confusion_n")),
                predictions=_opt_array(data.get("predictions")),
                predictions_n=_opt_array(data.get("predictions_n")),
                regression=_opt_array(data.get("regression")),
                scores=scores,
                pos_label=data.get("pos_label", 1),
                weighted=bool(data.get("weighted", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"not a GroupStats dict (as written by GroupStats.to_dict): {exc}") from exc
        stats.validate()
        return stats

    def validate(self) -> None:
        """Check array shapes agree with the number of groups."""
        g = self.n_groups
        expected = {
            "n": (g,),
            "weight": (g,),
            "confusion": (g, 2, 2),
            "confusion_n": (g, 2, 2),
            "predictions": (g, 2),
            "predictions_n": (g, 2),
            "regression": (g, len(REGRESSION_FIELDS)),
        }
        for name, shape in expected.items():
            value = getattr(self, name)
            if value is not None and value.shape != shape:
                raise InvalidInputError(f"GroupStats.{name} has shape {value.shape}; expected {shape}")
        for key in self.groups:
            if len(key) != len(self.sensitive_names):
                raise InvalidInputError(
                    f"group key {key!r} has {len(key)} values but there are "
                    f"{len(self.sensitive_names)} sensitive features"
                )
        if self.scores is not None:
            shape = (g, 2, self.scores.n_bins)
            for name, value in self.scores.arrays().items():
                if value.shape != shape:
                    raise InvalidInputError(f"GroupStats.scores.{name} has shape {value.shape}; expected {shape}")

    def __repr__(self) -> str:
        blocks = [b for b in ("confusion", "predictions", "regression") if getattr(self, b) is not None]
        if self.scores is not None:
            blocks.append(f"scores[{self.scores.n_bins} {self.scores.binning} bins]")
        return (
            f"GroupStats(sensitive_names={list(self.sensitive_names)}, groups={self.n_groups}, "
            f"rows={self.n_rows}, blocks={blocks}, weighted={self.weighted})"
        )


def _opt_array(value: Any) -> FloatArray | None:
    return None if value is None else np.asarray(value, dtype=np.float64)


def _merge_scores(
    a: ScoreHistogram, b: ScoreHistogram, n_groups: int, pos_a: IntArray, pos_b: IntArray
) -> ScoreHistogram:
    if a.same_bins(b):
        edges, bin_a, bin_b = a.edges, np.arange(a.n_bins), np.arange(b.n_bins)
    elif a.binning == "distinct" and b.binning == "distinct":
        values = np.union1d(a.edges[:-1], b.edges[:-1])
        edges = np.append(values, values[-1])
        bin_a = np.searchsorted(values, a.edges[:-1])
        bin_b = np.searchsorted(values, b.edges[:-1])
    else:
        raise IncompatibleStatsError(
            "cannot merge score histograms with different bins; compute both with the same "
            "score_bins (an integer number of bins or the same edges) to make them mergeable"
        )
    n_bins = edges.size - 1
    labels = np.arange(2, dtype=np.int64)

    def combine(name: str) -> FloatArray:
        out = np.zeros((n_groups, 2, n_bins), dtype=np.float64)
        out[np.ix_(pos_a, labels, bin_a)] += getattr(a, name)
        out[np.ix_(pos_b, labels, bin_b)] += getattr(b, name)
        return out

    return ScoreHistogram(
        edges=edges, binning=a.binning, w=combine("w"), n=combine("n"), ws=combine("ws"), wss=combine("wss")
    )


def _weighted_bincount(key: IntArray, weights: FloatArray | None, size: int) -> FloatArray:
    return np.bincount(key, weights=weights, minlength=size).astype(np.float64, copy=False)


def compute_group_stats(
    group_codes: IntArray,
    groups: Sequence[GroupKey],
    sensitive_names: Sequence[str],
    *,
    y_true: IntArray | None = None,
    y_pred: IntArray | None = None,
    scores: FloatArray | None = None,
    score_bins: Any = "auto",
    y_true_values: FloatArray | None = None,
    y_pred_values: FloatArray | None = None,
    sample_weight: FloatArray | None = None,
    pos_label: Any = 1,
) -> GroupStats:
    """Compute GroupStats from already validated, encoded rows.

    ``y_true``/``y_pred`` are 0/1 integer arrays (binary classification); ``y_true_values`` /
    ``y_pred_values`` are floats (regression). Everything is a handful of ``numpy.bincount`` calls.
    """
    g = len(groups)
    w = sample_weight
    confusion = confusion_n = None
    if y_true is not None and y_pred is not None:
        key = group_codes * 4
        key += y_true * 2
        key += y_pred
        confusion_n = _weighted_bincount(key, None, 4 * g).reshape(g, 2, 2)
        confusion = confusion_n if w is None else _weighted_bincount(key, w, 4 * g).reshape(g, 2, 2)
        n = confusion_n.sum(axis=(1, 2))
        weight = n if w is None else confusion.sum(axis=(1, 2))
    else:
        n = _weighted_bincount(group_codes, None, g)
        weight = n if w is None else _weighted_bincount(group_codes, w, g)
    hist = None
    if scores is not None and y_true is not None:
        edges, binning, index = score_bins_for(scores, score_bins, g)
        b = edges.size - 1
        key = (group_codes * 2 + y_true) * b + index
        ws = scores if w is None else scores * w
        cells = 2 * g * b
        h_n = _weighted_bincount(key, None, cells).reshape(g, 2, b)
        hist = ScoreHistogram(
            edges=edges,
            binning=binning,
            n=h_n,
            w=h_n if w is None else _weighted_bincount(key, w, cells).reshape(g, 2, b),
            ws=_weighted_bincount(key, ws, cells).reshape(g, 2, b),
            wss=_weighted_bincount(key, ws * scores, cells).reshape(g, 2, b),
        )
    regression = None
    if y_true_values is not None and y_pred_values is not None:
        regression = _regression_moments(group_codes, g, y_true_values, y_pred_values, w)
    return GroupStats(
        sensitive_names=tuple(sensitive_names),
        groups=tuple(groups),
        n=n,
        weight=weight,
        confusion=confusion,
        confusion_n=confusion_n,
        scores=hist,
        regression=regression,
        pos_label=pos_label,
        weighted=w is not None,
    )


def _regression_moments(codes: IntArray, g: int, y: FloatArray, p: FloatArray, w: FloatArray | None) -> FloatArray:
    e = y - p
    ones = np.ones_like(y) if w is None else w
    columns: Iterable[FloatArray] = (
        ones,
        ones * y,
        ones * y * y,
        ones * p,
        ones * p * p,
        ones * e,
        ones * e * e,
        ones * np.abs(e),
        ones * e**4,
    )
    return np.stack([_weighted_bincount(codes, c, g) for c in columns], axis=1)
