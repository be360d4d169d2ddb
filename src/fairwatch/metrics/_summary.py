"""Per-group values, intervals, suppression and disparities computed from GroupStats.

:func:`summarize` is the one path from statistics to reported numbers: the audit, the monitor's
windows and the fairlearn-style functions all go through it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from fairwatch._typing import FloatArray, GroupKey
from fairwatch.exceptions import FairwatchWarning, InvalidInputError, UndefinedMetricWarning, UnknownMetricError
from fairwatch.metrics._group_stats import GroupStats
from fairwatch.metrics._intervals import (
    bootstrap_replicates,
    metric_interval,
    newcombe_interval,
    percentile_interval,
    z_value,
)
from fairwatch.metrics._registry import Metric, get_metric, metric_values

__all__ = [
    "COMPOSITES",
    "DEFAULT_MIN_GROUP_SIZE",
    "Disparity",
    "Summary",
    "disparity_values",
    "resolve_disparity_name",
    "summarize",
]

Method = Literal["between_groups", "to_overall", "reference"]

#: Groups with fewer rows are suppressed by default in fairwatch's own audits (``fairwatch.audit``,
#: ``fairwatch.audit_model``, ``compare_models``, ``pareto_front`` and the ``audit``,
#: ``audit-model`` and ``compare`` commands): 30 is the usual floor for treating a rate as roughly
#: normal, and below it a rate near 0.5 has a 95 % interval wider than ±0.17. It is a floor against
#: reporting noise as a disparity, not a promise of precision (pass ``ci=`` to see the intervals).
#: The fairlearn-named functions and :func:`summarize` keep fairlearn's behaviour (no suppression).
DEFAULT_MIN_GROUP_SIZE = 30

#: Named disparities that combine or rename per-group metrics (fairlearn's names).
COMPOSITES: dict[str, tuple[str, ...]] = {
    "demographic_parity": ("selection_rate",),
    "equal_opportunity": ("true_positive_rate",),
    "predictive_parity": ("precision",),
    "equalized_odds": ("true_positive_rate", "false_positive_rate"),
    "error_rate_parity": ("error_rate",),
}


@dataclass(frozen=True)
class Disparity:
    """How far apart the groups are on one metric (or a named combination of metrics).

    ``difference`` is ``max - min`` over the compared groups (``method="between_groups"``), the
    largest absolute gap to the overall value (``"to_overall"``) or to the reference group
    (``"reference"``).

    ``ratio`` is ``min / max`` between groups (in ``[0, 1]`` for non-negative metrics), the smallest
    of ``v / overall`` and ``overall / v`` to the overall value, and against a reference group it
    keeps its direction: the smallest ``group / reference`` over the other groups, which exceeds 1
    when every group's value is above the reference's (``nan`` when the reference's value is 0).
    ``demographic_parity_ratio >= 0.8`` against a reference is therefore the four-fifths rule: no
    group is selected at less than 80 % of the reference's rate. ``ratio_group`` names that group
    (``None`` for the other methods, where ``min_group`` and ``max_group`` give the ratio).
    ``*_lo``/``*_hi`` are confidence bounds when an interval was asked for.
    """

    name: str
    metrics: tuple[str, ...]
    method: Method
    difference: float
    ratio: float
    difference_lo: float = float("nan")
    difference_hi: float = float("nan")
    ratio_lo: float = float("nan")
    ratio_hi: float = float("nan")
    max_group: GroupKey | None = None
    max_value: float = float("nan")
    min_group: GroupKey | None = None
    min_value: float = float("nan")
    reference: GroupKey | None = None
    groups_compared: int = 0
    agg: str | None = None
    ratio_group: GroupKey | None = None

    def to_dict(self, sensitive_names: Sequence[str]) -> dict[str, Any]:
        def named(key: GroupKey | None) -> dict[str, Any] | None:
            return None if key is None else dict(zip(sensitive_names, key))

        return {
            "metrics": list(self.metrics),
            "method": self.method,
            "difference": _num(self.difference),
            "difference_lo": _num(self.difference_lo),
            "difference_hi": _num(self.difference_hi),
            "ratio": _num(self.ratio),
            "ratio_lo": _num(self.ratio_lo),
            "ratio_hi": _num(self.ratio_hi),
            "max_group": named(self.max_group),
            "max_value": _num(self.max_value),
            "min_group": named(self.min_group),
            "min_value": _num(self.min_value),
            "reference": named(self.reference),
            "ratio_group": named(self.ratio_group),
            "groups_compared": self.groups_compared,
            **({"agg": self.agg} if self.agg else {}),
        }


def _num(x: float) -> float | None:
    """JSON-friendly float: ``nan`` becomes ``None``."""
    return None if x is None or not np.isfinite(x) else float(x)


@dataclass
class Summary:
    """Numbers computed from one GroupStats: per-group values and intervals, and disparities."""

    stats: GroupStats
    metrics: tuple[Metric, ...]
    values: dict[str, FloatArray]
    lo: dict[str, FloatArray]
    hi: dict[str, FloatArray]
    suppressed: np.ndarray
    disparities: dict[str, Disparity]
    ci: float | None
    min_group_size: int
    method: Method
    reference: GroupKey | None
    overall: dict[str, float] = field(default_factory=dict)

    @property
    def suppressed_share(self) -> float:
        n = np.asarray(self.stats.n, dtype=np.float64)
        total = n.sum()
        return float(n[self.suppressed].sum() / total) if total > 0 else 0.0

    def disparity(self, name: str) -> Disparity:
        key = resolve_disparity_name(name)
        if key not in self.disparities:
            raise UnknownMetricError(
                f"no disparity {name!r} in this summary; available: {', '.join(sorted(self.disparities))}"
            )
        return self.disparities[key]


def resolve_disparity_name(name: str) -> str:
    """Canonical key of a disparity: a composite name or a metric's canonical name."""
    key = name.strip().lower()
    if key in COMPOSITES or key == "calibration_gap":
        return key
    return get_metric(key).name


# -- disparity arithmetic ---------------------------------------------------------------------------
def disparity_values(
    values: FloatArray, method: Method, *, overall: FloatArray | None = None, reference: int | None = None
) -> tuple[FloatArray, FloatArray]:
    """Difference and ratio over the last (group) axis of ``values``; ``nan`` groups are skipped.

    ``"between_groups"``: ``max - min`` and ``min / max``. ``"to_overall"``: the largest
    ``|v - overall|`` and the smallest of ``v / overall`` and ``overall / v``. ``"reference"``: the
    largest ``|v - ref|`` and the smallest ``v / ref`` over the other groups (directional: above 1
    when every group exceeds the reference; ``nan`` where the reference's value is 0).
    """
    if values.shape[-1] == 0 or (method == "reference" and values.shape[-1] < 2):
        nan = np.full(values.shape[:-1], np.nan)
        return nan, nan.copy()
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "between_groups":
            high = np.nanmax(values, axis=-1)
            low = np.nanmin(values, axis=-1)
            count = (~np.isnan(values)).sum(axis=-1)
            diff = np.where(count >= 2, high - low, np.nan)
            ratio = np.where((count >= 2) & (high > 0) & (low >= 0), low / high, np.nan)
            ratio = np.where((count >= 2) & (high == 0) & (low == 0), np.nan, ratio)
            return diff, ratio
        if method == "to_overall":
            if overall is None:
                raise InvalidInputError("method='to_overall' needs the overall value")
            target = overall[..., None]
        else:
            if reference is None:
                raise InvalidInputError("method='reference' needs a reference group")
            target = values[..., reference : reference + 1]
            values = np.delete(values, reference, axis=-1)
        gaps = np.abs(values - target)
        diff = np.nanmax(gaps, axis=-1)
        if method == "to_overall":
            ratios = np.minimum(values / target, target / values)
            ratios = np.where((values >= 0) & (target >= 0), ratios, np.nan)
        else:  # against a reference a ratio keeps its direction: group / reference
            ratios = np.where((values >= 0) & (target > 0), values / target, np.nan)
        ratio = np.nanmin(ratios, axis=-1)
        ratio = np.where(np.isnan(values).all(axis=-1), np.nan, ratio)
        return diff, ratio


def _aggregate(parts: list[FloatArray], agg: str, kind: str) -> FloatArray:
    stacked = np.stack(parts)
    if agg == "mean":
        return np.asarray(stacked.mean(axis=0))
    # worst case: the largest difference, the smallest ratio
    return np.asarray(stacked.max(axis=0) if kind == "difference" else stacked.min(axis=0))


# -- the summary ------------------------------------------------------------------------------------
def summarize(
    stats: GroupStats,
    metrics: Sequence[str | Metric],
    *,
    ci: float | None = None,
    min_group_size: int | None = None,
    method: Method = "between_groups",
    reference: GroupKey | Mapping[str, Any] | Any | None = None,
    agg: str = "worst_case",
    n_boot: int = 1000,
    random_state: int | np.random.Generator | None = None,
    warn: bool = True,
) -> Summary:
    """Compute per-group values (with intervals when ``ci`` is given) and disparities."""
    specs = _dedupe([get_metric(m) for m in metrics])
    if ci is not None:
        z_value(ci)
    if agg not in ("worst_case", "mean"):
        raise InvalidInputError(f"agg must be 'worst_case' or 'mean'; got {agg!r}")
    if method not in ("between_groups", "to_overall", "reference"):
        raise InvalidInputError(f"method must be 'between_groups', 'to_overall' or 'reference'; got {method!r}")
    if reference is not None:
        method = "reference"
    ref_index = stats.index_of(reference) if reference is not None else None
    if method == "reference" and ref_index is None:
        raise InvalidInputError("method='reference' needs reference=<group>")
    min_size = _check_min_group_size(min_group_size)
    n = np.asarray(stats.n, dtype=np.float64)
    suppressed = n < min_size
    if ref_index is not None and suppressed[ref_index]:
        raise InvalidInputError(
            f"the reference group {stats.group_label(ref_index)} has {int(n[ref_index])} rows, fewer than "
            f"min_group_size={min_size}; choose a larger reference group or lower min_group_size"
        )
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    needs_boot = ci is not None and any(m.block in ("confusion", "scores") for m in specs)
    replicates = bootstrap_replicates(stats, n_boot, rng) if needs_boot else None
    overall_stats = stats.overall()

    values: dict[str, FloatArray] = {}
    lo: dict[str, FloatArray] = {}
    hi: dict[str, FloatArray] = {}
    overall: dict[str, float] = {}
    for spec in specs:
        v = metric_values(stats, spec, warn=False)
        if warn:
            _warn_undefined(stats, spec, v, suppressed)
        values[spec.name] = v
        overall[spec.name] = float(metric_values(overall_stats, spec, warn=False)[0])
        if ci is not None:
            lo[spec.name], hi[spec.name] = metric_interval(stats, spec, v, ci, replicates)
        else:
            lo[spec.name] = hi[spec.name] = np.full(stats.n_groups, np.nan)

    summary = Summary(
        stats=stats,
        metrics=tuple(specs),
        values=values,
        lo=lo,
        hi=hi,
        suppressed=suppressed,
        disparities={},
        ci=ci,
        min_group_size=min_size,
        method=method,
        reference=stats.groups[ref_index] if ref_index is not None else None,
        overall=overall,
    )
    context = _DisparityContext(summary, replicates, ref_index, overall_stats, agg, warn)
    for spec in specs:
        if spec.name != "count":
            summary.disparities[spec.name] = context.single(spec)
    available = {m.name for m in specs}
    for name, parts in COMPOSITES.items():
        if all(p in available for p in parts):
            summary.disparities[name] = context.composite(name, parts)
    if "expected_calibration_error" in available:
        ece = summary.disparities["expected_calibration_error"]
        summary.disparities["calibration_gap"] = Disparity(**{**ece.__dict__, "name": "calibration_gap"})
    return summary


def _dedupe(specs: list[Metric]) -> list[Metric]:
    seen: dict[str, Metric] = {}
    for spec in specs:
        seen.setdefault(spec.name, spec)
    return list(seen.values())


def _check_min_group_size(value: int | None) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InvalidInputError(f"min_group_size must be a non-negative integer; got {value!r}")
    return int(value)


def _warn_undefined(stats: GroupStats, spec: Metric, values: FloatArray, suppressed: np.ndarray) -> None:
    for i in np.flatnonzero(np.isnan(values) & ~suppressed).tolist():
        warnings.warn(
            f"{spec.name} is undefined for group {stats.group_label(i)}: {spec.undefined}; reported as nan",
            UndefinedMetricWarning,
            stacklevel=4,
        )


class _DisparityContext:
    """What every disparity of one summary shares: compared groups, replicates, reference."""

    def __init__(
        self,
        summary: Summary,
        replicates: tuple[GroupStats, GroupStats] | None,
        ref_index: int | None,
        overall_stats: GroupStats,
        agg: str,
        warn: bool,
    ) -> None:
        self.summary = summary
        self.replicates = replicates
        self.ref_index = ref_index
        self.overall_stats = overall_stats
        self.agg = agg
        self.warn = warn
        self.keep = np.flatnonzero(~summary.suppressed)
        self.ref_pos = None if ref_index is None else int(np.flatnonzero(self.keep == ref_index)[0])
        self._rep_cache: dict[str, tuple[FloatArray, FloatArray | None]] = {}

    def _kept(self, values: FloatArray) -> FloatArray:
        return values[..., self.keep]

    def _point(self, name: str) -> tuple[FloatArray, FloatArray]:
        s = self.summary
        v = self._kept(s.values[name])
        diff, ratio = disparity_values(v, s.method, overall=np.asarray(s.overall[name]), reference=self.ref_pos)
        return diff, ratio

    def _replicated(self, spec: Metric) -> tuple[FloatArray, FloatArray] | None:
        if self.replicates is None or spec.block not in ("confusion", "scores"):
            return None
        reps, point = self.replicates
        rep_values = self._kept(metric_values(reps, spec, warn=False))
        rep_overall = None
        if self.summary.method == "to_overall":
            rep_overall = metric_values(reps.overall(), spec, warn=False)[..., 0]
        diff, ratio = disparity_values(rep_values, self.summary.method, overall=rep_overall, reference=self.ref_pos)
        if point is not self.summary.stats:  # coarsened histograms: recentre on the exact values
            p_values = self._kept(metric_values(point, spec, warn=False))
            p_overall = metric_values(point.overall(), spec, warn=False)[..., 0]
            p_diff, p_ratio = disparity_values(p_values, self.summary.method, overall=p_overall, reference=self.ref_pos)
            e_diff, e_ratio = self._point(spec.name)
            diff, ratio = diff + (e_diff - p_diff), ratio + (e_ratio - p_ratio)
        return diff, ratio

    def _extremes(self, name: str) -> tuple[int | None, int | None]:
        v = self._kept(self.summary.values[name])
        if np.isnan(v).all():
            return None, None
        if self.summary.method == "between_groups":
            return int(self.keep[np.nanargmax(v)]), int(self.keep[np.nanargmin(v)])
        target = self.summary.overall[name] if self.summary.method == "to_overall" else v[self.ref_pos]
        gaps = np.abs(v - target)
        if self.ref_pos is not None:
            gaps[self.ref_pos] = np.nan
        if np.isnan(gaps).all():
            return None, None
        far = int(self.keep[np.nanargmax(gaps)])
        high, low = (far, self.ref_index) if v[np.nanargmax(gaps)] >= target else (self.ref_index, far)
        return high, low

    def _newcombe(self, spec: Metric, high: int | None, low: int | None) -> tuple[float, float] | None:
        s = self.summary
        if s.ci is None or spec.interval != "wilson" or high is None or low is None:
            return None
        if s.method == "to_overall":
            return None
        num, den = spec.proportion(s.stats)
        _, den_n = spec.proportion(s.stats, weighted=False)
        p = num / np.where(den > 0, den, 1.0)
        d_lo, d_hi = newcombe_interval(p[high], den_n[high], p[low], den_n[low], s.ci)
        if s.method == "reference":  # an absolute gap: fold the interval of the signed gap
            return _abs_interval(float(d_lo), float(d_hi))
        return float(d_lo), float(d_hi)

    def _ratio_group(self, name: str) -> int | None:
        """Against a reference: the group with the smallest ``group / reference`` ratio."""
        if self.summary.method != "reference" or self.ref_pos is None:
            return None
        v = self._kept(self.summary.values[name])
        target = v[self.ref_pos]
        if not np.isfinite(target) or target <= 0:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(v >= 0, v / target, np.nan)
        ratios[self.ref_pos] = np.nan
        if np.isnan(ratios).all():
            return None
        return int(self.keep[np.nanargmin(ratios)])

    def _normal_pair(
        self, spec: Metric, high: int | None, low: int | None, ratio_group: int | None
    ) -> tuple[float, float, float, float] | None:
        s = self.summary
        if s.ci is None or spec.interval != "normal" or high is None or low is None or spec.name == "count":
            return None
        z = z_value(s.ci)
        se = (s.hi[spec.name] - s.lo[spec.name]) / (2 * z)
        v = s.values[spec.name]
        d = abs(v[high] - v[low])
        d_se = float(np.hypot(se[high], se[low]))
        # the ratio's pair: lowest over highest, or (against a reference) the ratio group over the reference
        top, bottom, cap = (high, low, 1.0) if s.method != "reference" else (self.ref_index, ratio_group, np.inf)
        ratio_lo = ratio_hi = float("nan")
        if top is not None and bottom is not None and v[top] > 0 and v[bottom] > 0:
            r = v[bottom] / v[top]
            log_se = float(np.hypot(se[top] / v[top], se[bottom] / v[bottom]))
            ratio_lo, ratio_hi = r * np.exp(-z * log_se), min(cap, r * np.exp(z * log_se))
        return max(0.0, d - z * d_se), d + z * d_se, float(ratio_lo), float(ratio_hi)

    def single(self, spec: Metric) -> Disparity:
        s = self.summary
        diff, ratio = self._point(spec.name)
        high, low = self._extremes(spec.name)
        ratio_group = self._ratio_group(spec.name)
        d_lo = d_hi = r_lo = r_hi = float("nan")
        if s.ci is not None:
            reps = self._replicated(spec)
            if reps is not None:
                d_lo, d_hi = _percentiles(reps[0], s.ci)
                r_lo, r_hi = _percentiles(reps[1], s.ci)
            newcombe = self._newcombe(spec, high, low)
            if newcombe is not None:
                d_lo, d_hi = newcombe
            pair = self._normal_pair(spec, high, low, ratio_group)
            if pair is not None:
                d_lo, d_hi, r_lo, r_hi = pair
        if self.warn and np.isnan(diff):
            warnings.warn(
                f"the {spec.name} disparity is undefined: fewer than two groups have a value "
                f"(after suppressing groups under min_group_size={s.min_group_size})",
                FairwatchWarning,
                stacklevel=5,
            )
        return Disparity(
            name=spec.name,
            metrics=(spec.name,),
            method=s.method,
            difference=float(diff),
            ratio=float(ratio),
            difference_lo=d_lo,
            difference_hi=d_hi,
            ratio_lo=r_lo,
            ratio_hi=r_hi,
            max_group=None if high is None else s.stats.groups[high],
            max_value=float("nan") if high is None else float(s.values[spec.name][high]),
            min_group=None if low is None else s.stats.groups[low],
            min_value=float("nan") if low is None else float(s.values[spec.name][low]),
            reference=s.reference,
            groups_compared=int((~np.isnan(self._kept(s.values[spec.name]))).sum()),
            ratio_group=None if ratio_group is None else s.stats.groups[ratio_group],
        )

    def composite(self, name: str, parts: tuple[str, ...]) -> Disparity:
        s = self.summary
        singles = [s.disparities[p] for p in parts]
        if len(parts) == 1:
            return Disparity(**{**singles[0].__dict__, "name": name})
        diff = float(_aggregate([np.asarray(d.difference) for d in singles], self.agg, "difference"))
        ratio = float(_aggregate([np.asarray(d.ratio) for d in singles], self.agg, "ratio"))
        d_lo = d_hi = r_lo = r_hi = float("nan")
        if s.ci is not None and self.replicates is not None:
            reps = [self._replicated(get_metric(p)) for p in parts]
            if all(r is not None for r in reps):
                rep_diff = _aggregate([r[0] for r in reps if r is not None], self.agg, "difference")
                rep_ratio = _aggregate([r[1] for r in reps if r is not None], self.agg, "ratio")
                d_lo, d_hi = _percentiles(rep_diff, s.ci)
                r_lo, r_hi = _percentiles(rep_ratio, s.ci)
        worst = max(singles, key=lambda d: -np.inf if np.isnan(d.difference) else d.difference)
        lowest = min(singles, key=lambda d: np.inf if np.isnan(d.ratio) else d.ratio)
        return Disparity(
            name=name,
            metrics=parts,
            method=s.method,
            difference=diff,
            ratio=ratio,
            difference_lo=d_lo,
            difference_hi=d_hi,
            ratio_lo=r_lo,
            ratio_hi=r_hi,
            max_group=worst.max_group,
            max_value=worst.max_value,
            min_group=worst.min_group,
            min_value=worst.min_value,
            reference=s.reference,
            groups_compared=min(d.groups_compared for d in singles),
            agg=self.agg,
            ratio_group=lowest.ratio_group if self.agg == "worst_case" else None,
        )


def _abs_interval(lo: float, hi: float) -> tuple[float, float]:
    if lo >= 0:
        return lo, hi
    if hi <= 0:
        return -hi, -lo
    return 0.0, max(-lo, hi)


def _percentiles(replicates: FloatArray, ci: float) -> tuple[float, float]:
    lo, hi = percentile_interval(np.asarray(replicates)[:, None], ci)
    return float(lo[0]), float(hi[0])
