"""Worst-subgroup discovery: the intersections of columns with the largest significant gap.

The statistics of the finest intersection of all the columns are computed once (one
``bincount``); every candidate subgroup — each combination of values of up to ``max_depth``
columns — is a roll-up of them (:meth:`GroupStats.rollup`), and its complement is the total minus
the subgroup, because the statistics are additive. No row is read twice.

Each candidate's gap to its complement (or to the overall rate) gets a Newcombe interval at the
Bonferroni-corrected level ``1 - alpha / m`` over the ``m`` candidates tested, so the chance that
any reported subgroup is a false discovery stays under ``alpha``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from fairwatch._typing import ArrayLike, FloatArray
from fairwatch.exceptions import FairwatchWarning, InvalidInputError
from fairwatch.explain._result import ExplanationResult
from fairwatch.frames._columns import Column, resolve_sensitive, to_float
from fairwatch.metrics import GroupStats, Metric, get_metric, group_stats, list_metrics, newcombe_interval

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SubgroupReport", "find_subgroups"]

Reference = Literal["complement", "overall"]
Direction = Literal["both", "higher", "lower"]


@dataclass(repr=False)
class SubgroupReport(ExplanationResult):
    """Subgroups ranked by their significant gap (returned by :func:`find_subgroups`).

    Attributes
    ----------
    metric : str
        The proportion metric compared (e.g. ``"selection_rate"``).
    overall_value : float
        Its value over every row.
    rows : list of dict
        The reported subgroups, worst first: ``conditions`` (``{column: value}``), ``n``,
        ``support``, ``value``, ``reference_value``, ``gap``, ``gap_lo``, ``gap_hi``,
        ``significant``.
    n_tested : int
        Number of subgroups tested (the ``m`` of the Bonferroni correction).
    level : float
        Confidence level of the intervals, ``1 - alpha / n_tested``.
    bins : dict
        Quantile bin edges of the numeric columns that were binned.
    """

    metric: str
    columns: list[str]
    rows: list[dict[str, Any]]
    overall_value: float
    n_rows: int
    n_tested: int
    alpha: float
    level: float
    reference: str
    direction: str
    max_depth: int
    min_support_rows: int
    bins: dict[str, list[float]]
    title: str = field(init=False)
    description: str = field(init=False)

    def __post_init__(self) -> None:
        self.title = f"Subgroups with the largest {self.metric.replace('_', ' ')} gap"
        against = "its complement (all other rows)" if self.reference == "complement" else "the overall value"
        binned = f"; numeric columns binned into quantiles ({', '.join(self.bins)})" if self.bins else ""
        found = sum(1 for r in self.rows if r["significant"])
        if self.n_tested == 0:
            outcome = (
                f"No subgroup has at least {self.min_support_rows} rows and a defined {self.metric} on both "
                f"sides, so nothing was tested; lower min_support or max_depth"
            )
        else:
            outcome = (
                f"{found} of the {len(self.rows)} subgroups shown are significant: their Newcombe interval at "
                f"level {self.level:.6g} (Bonferroni: 1 - {self.alpha:g}/{self.n_tested} tested subgroups, "
                f"family-wise error rate {self.alpha:g}) excludes 0"
            )
        self.description = (
            f"Intersections of up to {self.max_depth} of {', '.join(self.columns)} with at least "
            f"{self.min_support_rows} rows{binned}, each compared with {against} on {self.metric} "
            f"(overall {self.overall_value:.4g}, {self.n_rows} rows). {outcome}. Ranked by how far the interval "
            f"of the gap lies from 0; a refinement of a subgroup already shown is listed only when it differs "
            f"significantly from the rest of that subgroup."
        )

    @property
    def significant(self) -> list[dict[str, Any]]:
        """The significant subgroups, worst first."""
        return [r for r in self.rows if r["significant"]]

    def _table(self) -> pd.DataFrame:
        """One row per subgroup, worst first; one column per searched column with its condition."""
        names = ["subgroup", "depth", "n", "support", "value", "reference_value", "gap", "gap_lo", "gap_hi"]
        data: dict[str, list[Any]] = {name: [] for name in [*names, "significant", *self.columns]}
        for row in self.rows:
            for name in names:
                data[name].append(row[name])
            data["significant"].append(bool(row["significant"]))
            for column in self.columns:
                data[column].append(row["conditions"].get(column))
        import pandas as pd

        return pd.DataFrame(data)

    def _payload(self) -> dict[str, Any]:
        return {
            "kind": "find_subgroups",
            "metric": self.metric,
            "overall_value": self.overall_value,
            "n_rows": self.n_rows,
            "n_tested": self.n_tested,
            "alpha": self.alpha,
            "level": self.level,
            "correction": "bonferroni",
            "reference": self.reference,
            "direction": self.direction,
            "max_depth": self.max_depth,
            "min_support_rows": self.min_support_rows,
            "bins": self.bins,
        }


# -- input checks ---------------------------------------------------------------------------------
def _proportion_metric(metric: Any) -> Metric:
    spec = get_metric(metric)
    if spec.cells is None:
        proportions = [name for name in list_metrics() if get_metric(name).cells is not None]
        raise InvalidInputError(
            f"find_subgroups compares proportions (Wilson/Newcombe intervals), but {spec.name!r} is not one; "
            f"use one of: {', '.join(proportions)}"
        )
    return spec


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidInputError(f"{name} must be an integer of at least {minimum}; got {value!r}")
    return int(value)


def _support_rows(min_support: Any, n_rows: int) -> int:
    if isinstance(min_support, bool) or not isinstance(min_support, (int, float, np.integer, np.floating)):
        raise InvalidInputError(
            f"min_support must be a share of rows in (0, 1) or a number of rows; got {min_support!r}"
        )
    if isinstance(min_support, (float, np.floating)):
        if not 0.0 < float(min_support) <= 1.0:
            raise InvalidInputError(
                f"min_support={min_support!r}: a share of rows must be in (0, 1] (e.g. 0.02 for 2 %), or pass a "
                f"whole number of rows"
            )
        return max(1, math.ceil(float(min_support) * n_rows))
    if min_support < 1:
        raise InvalidInputError(f"min_support must be at least 1 row; got {min_support!r}")
    if min_support > n_rows:
        raise InvalidInputError(
            f"min_support={min_support} rows is more than the {n_rows} rows of the data; no subgroup can reach it. "
            f"Pass a smaller number of rows or a share such as 0.02"
        )
    return int(min_support)


def _bin_numeric(column: Column, n_bins: int) -> tuple[Column, list[float] | None]:
    """Quantile bins of a numeric column with many distinct values (labels ``[low, high)``)."""
    if not column.is_numeric() or column.to_numpy().dtype.kind == "b":
        return column, None
    values = to_float(column, f"features[{column.name!r}]", hint="drop those rows or fill them first")
    if np.unique(values).size <= n_bins:
        return column, None
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_bins + 1)))
    index = np.searchsorted(edges[1:-1], values, side="right")
    labels = [
        f"[{edges[i]:.6g}, {edges[i + 1]:.6g}{']' if i == edges.size - 2 else ')'}" for i in range(edges.size - 1)
    ]
    return Column(column.name, np.asarray(labels, dtype=object)[index]), [float(e) for e in edges]


# -- the search -----------------------------------------------------------------------------------
@dataclass
class _Candidates:
    """Arrays over every candidate subgroup (one entry per subgroup of every column combination)."""

    conditions: list[dict[str, Any]]
    n: FloatArray  # rows
    num: FloatArray  # weighted numerator of the metric
    den: FloatArray  # weighted denominator
    den_n: FloatArray  # rows in the denominator

    @cached_property
    def p(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.den > 0, self.num / np.where(self.den > 0, self.den, 1.0), np.nan)


def _candidates(finest: GroupStats, spec: Metric, max_depth: int) -> _Candidates:
    """Every subgroup of up to ``max_depth`` columns, each a roll-up of the finest statistics."""
    conditions: list[dict[str, Any]] = []
    parts: list[tuple[FloatArray, ...]] = []
    names = finest.sensitive_names
    rolled: dict[tuple[str, ...], GroupStats] = {}
    # deepest combinations first, each shallower one rolled up from its smallest rolled-up superset
    # (far fewer groups than the finest statistics)
    for depth in range(max_depth, 0, -1):
        for combo in combinations(names, depth):
            supersets = [rolled[c] for c in combinations(names, depth + 1) if c in rolled and set(combo) <= set(c)]
            source = min(supersets, key=lambda st: st.n_groups) if supersets else finest
            rolled[combo] = source.rollup(list(combo))
    for depth in range(1, max_depth + 1):
        for combo in combinations(names, depth):
            stats = rolled[combo]
            num, den = spec.proportion(stats)
            _, den_n = spec.proportion(stats, weighted=False)
            parts.append((np.asarray(stats.n, dtype=np.float64), num, den, den_n))
            conditions.extend(dict(zip(combo, key)) for key in stats.groups)
    n, num, den, den_n = (np.concatenate([part[i] for part in parts]).astype(np.float64) for i in range(4))
    return _Candidates(conditions, n, num, den, den_n)


def _reference(
    finest: GroupStats, spec: Metric, c: _Candidates, reference: str
) -> tuple[FloatArray, FloatArray, float]:
    """Rate and denominator rows of each candidate's reference, and the overall rate.

    The complement's statistics are the total minus the subgroup's (they are sums over rows).
    """
    total = finest.overall()
    num, den = (float(a[0]) for a in spec.proportion(total))
    den_n = float(spec.proportion(total, weighted=False)[1][0])
    overall = num / den if den > 0 else float("nan")
    if reference == "overall":
        return np.full(c.n.size, overall), np.full(c.n.size, den_n), overall
    comp_num, comp_den = num - c.num, den - c.den
    with np.errstate(divide="ignore", invalid="ignore"):
        # a tolerance: the complement of a subgroup holding every row is empty up to rounding
        empty = comp_den <= 1e-9 * max(den, 1.0)
        comp_p = np.where(empty, np.nan, comp_num / np.where(empty, 1.0, comp_den))
    return comp_p, den_n - c.den_n, overall


def find_subgroups(
    y_true: ArrayLike | None,
    y_pred: ArrayLike,
    *,
    features: Any,
    metric: str = "selection_rate",
    max_depth: int = 3,
    min_support: float | int = 0.02,
    alpha: float = 0.05,
    top: int | None = 10,
    reference: Reference = "complement",
    direction: Direction = "both",
    n_bins: int = 4,
    prune: bool = True,
    sample_weight: ArrayLike | None = None,
    pos_label: Any = None,
) -> SubgroupReport:
    """Search intersections of columns for the subgroups with the largest significant gap.

    Every combination of values of up to ``max_depth`` of the ``features`` columns (sensitive
    attributes and any other columns worth checking, such as region or age) is a candidate
    subgroup. Its rate of ``metric`` is compared with the rate of all other rows (or the overall
    rate) with a Newcombe interval at the Bonferroni-corrected level ``1 - alpha / m``, ``m``
    being the number of candidates tested; a subgroup is significant when that interval excludes
    0, so the probability of reporting any false discovery is at most ``alpha``.

    Parameters
    ----------
    y_true : array-like or None
        True labels (``None`` is allowed for label-free metrics such as ``selection_rate``).
    y_pred : array-like
        Binary predictions.
    features : dataframe or dict of columns
        The columns to intersect. Numeric columns with more than ``n_bins`` distinct values are
        binned into quantiles.
    metric : str, default="selection_rate"
        A proportion metric: ``selection_rate``, ``false_positive_rate``, ``true_positive_rate``,
        ``false_negative_rate``, ``error_rate``, ``precision``, ...
    max_depth : int, default=3
        Largest number of columns in one subgroup.
    min_support : float or int, default=0.02
        Smallest subgroup: a share of the rows (float) or a number of rows (int).
    alpha : float, default=0.05
        Family-wise error rate.
    top : int or None, default=10
        Number of subgroups returned (None: all candidates tested).
    reference : {"complement", "overall"}
        Compare with the other rows (independent samples, the default), or with the overall
        rate (which contains the subgroup, so the interval is conservative).
    direction : {"both", "higher", "lower"}
        Which gaps count: either sign, or only subgroups above / below the reference.
    n_bins : int, default=4
        Quantile bins for numeric columns (4: quartiles).
    prune : bool, default=True
        List a refinement of a subgroup already listed (the same conditions and more) only when it
        differs significantly, in the direction of its gap, from the rest of that subgroup — so
        ``A & B & C`` is not shown next to ``A & B`` when ``C`` adds nothing.
    sample_weight : array-like, optional
        Row weights (rates are weighted; intervals use the row counts).
    pos_label : object, optional
        The positive label.

    Returns
    -------
    SubgroupReport

    Raises
    ------
    UnknownMetricError
        For an unknown metric name.
    InvalidInputError
        For a metric that is not a proportion, or bad parameters (e.g. ``min_support`` above
        the number of rows).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from fairwatch.explain import find_subgroups
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"sex": rng.choice(["F", "M"], 4000), "region": rng.choice(["N", "S", "E"], 4000)})
    >>> rate = np.where((df["sex"] == "F") & (df["region"] == "S"), 0.2, 0.5)
    >>> y_pred = (rng.random(4000) < rate).astype(int)
    >>> report = find_subgroups(None, y_pred, features=df, metric="selection_rate")
    >>> report.rows[0]["subgroup"]
    'sex=F & region=S'
    >>> report.rows[0]["significant"], round(report.rows[0]["gap"], 2)
    (True, -0.29)
    """
    spec = _proportion_metric(metric)
    depth_limit = _positive_int("max_depth", max_depth)
    bins = _positive_int("n_bins", n_bins, 2)
    if isinstance(alpha, bool) or not isinstance(alpha, (float, int)) or not 0.0 < float(alpha) < 1.0:
        raise InvalidInputError(f"alpha must be strictly between 0 and 1 (e.g. 0.05); got {alpha!r}")
    if top is not None:
        top = _positive_int("top", top)
    if reference not in ("complement", "overall"):
        raise InvalidInputError(f"reference must be 'complement' or 'overall'; got {reference!r}")
    if direction not in ("both", "higher", "lower"):
        raise InvalidInputError(f"direction must be 'both', 'higher' or 'lower'; got {direction!r}")
    if features is None:
        raise InvalidInputError("features is required: a dataframe (or dict) of the columns to intersect")
    columns = resolve_sensitive(features, None)
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"features must have unique column names; got {names}")
    edges: dict[str, list[float]] = {}
    binned: list[Column] = []
    for column in columns:
        new, column_edges = _bin_numeric(column, bins)
        binned.append(new)
        if column_edges is not None:
            edges[column.name] = column_edges
    if y_true is None:
        if not spec.label_free:
            raise InvalidInputError(f"{spec.name} needs y_true (only label-free metrics such as selection_rate do not)")
        y_true = np.zeros(len(binned[0]), dtype=np.int64)
    finest = group_stats(
        y_true,
        y_pred,
        sensitive_features={c.name: c.values for c in binned},
        metrics=[spec.name],
        sample_weight=sample_weight,
        pos_label=pos_label,
    )
    n_rows = finest.n_rows
    support = _support_rows(min_support, n_rows)
    depth = min(depth_limit, len(names))
    c = _candidates(finest, spec, depth)
    ref_p, ref_n, overall_p = _reference(finest, spec, c, reference)
    tested = (c.n >= support) & (c.den_n > 0) & (ref_n > 0) & ~np.isnan(c.p) & ~np.isnan(ref_p)
    m = int(tested.sum())
    level = 1.0 - float(alpha) / max(m, 1)
    rows: list[dict[str, Any]] = []
    if m == 0:
        warnings.warn(
            f"find_subgroups tested nothing: no subgroup has at least {support} rows (min_support={min_support!r}) "
            f"and a defined {spec.name} on both sides; lower min_support",
            FairwatchWarning,
            stacklevel=2,
        )
    else:
        rows = _ranked_rows(c, tested, ref_p, ref_n, level, direction, n_rows, top, prune)
    report = SubgroupReport(
        metric=spec.name,
        columns=names,
        rows=rows,
        overall_value=overall_p,
        n_rows=n_rows,
        n_tested=m,
        alpha=float(alpha),
        level=level,
        reference=reference,
        direction=direction,
        max_depth=depth,
        min_support_rows=support,
        bins=edges,
    )
    return report.in_library_of(None, columns)


def _stands_out(c: _Candidates, i: int, ancestors: list[int], gap: float, level: float) -> bool:
    """Whether subgroup ``i`` differs significantly, in the direction of its ``gap``, from the rest
    of each listed subgroup it refines (otherwise the extra conditions add nothing)."""
    for a in ancestors:
        rest_den, rest_n = c.den[a] - c.den[i], c.den_n[a] - c.den_n[i]
        if rest_den <= 0 or rest_n <= 0:
            return False
        rest_p = (c.num[a] - c.num[i]) / rest_den
        lo, hi = newcombe_interval(
            np.asarray(c.p[i]), np.asarray(c.den_n[i]), np.asarray(rest_p), np.asarray(rest_n), level
        )
        if not (float(lo) > 0 if gap >= 0 else float(hi) < 0):
            return False
    return True


def _ranked_rows(
    c: _Candidates,
    tested: np.ndarray,
    ref_p: FloatArray,
    ref_n: FloatArray,
    level: float,
    direction: str,
    n_rows: int,
    top: int | None,
    prune: bool,
) -> list[dict[str, Any]]:
    idx = np.flatnonzero(tested)
    p, n1, p2, n2 = c.p[idx], c.den_n[idx], ref_p[idx], ref_n[idx]
    lo, hi = newcombe_interval(p, n1, p2, n2, level)
    gap = p - p2
    if direction == "higher":
        significant, strength = lo > 0, lo
    elif direction == "lower":
        significant, strength = hi < 0, -hi
    else:
        significant, strength = (lo > 0) | (hi < 0), np.where(gap >= 0, lo, -hi)
    if direction != "both":  # the other side is not of interest: rank it last
        strength = np.where((gap >= 0) == (direction == "higher"), strength, -np.inf)
    # significant first, then by how far the interval is from 0, then by gap size and support
    order = np.lexsort((-c.n[idx], -np.abs(gap), -strength, ~significant))
    rows: list[dict[str, Any]] = []
    shown: list[tuple[set[tuple[str, Any]], int]] = []
    for k in order.tolist():
        i = int(idx[k])
        items = set(c.conditions[i].items())
        ancestors = [a for conds, a in shown if conds <= items]
        if prune and ancestors and not _stands_out(c, i, ancestors, gap[k], level):
            continue
        shown.append((items, i))
        rows.append(
            {
                "subgroup": " & ".join(f"{name}={value}" for name, value in c.conditions[i].items()),
                "conditions": dict(c.conditions[i]),
                "depth": len(c.conditions[i]),
                "n": int(c.n[i]),
                "support": float(c.n[i] / n_rows),
                "value": float(p[k]),
                "reference_value": float(p2[k]),
                "gap": float(gap[k]),
                "gap_lo": float(lo[k]),
                "gap_hi": float(hi[k]),
                "significant": bool(significant[k]),
            }
        )
        if top is not None and len(rows) >= top:
            break
    return rows
