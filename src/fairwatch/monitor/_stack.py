"""Every window's metrics, intervals and disparities at once, as arrays with a leading window axis.

The windows' cells are stacked (as bootstrap replicates are), so each metric, interval, overall value
and disparity is one array operation over all windows; nothing is built per window until a window's
answer is asked for. Proportions (selection rate, TPR, FPR, precision, accuracy...) get analytic
intervals here: Wilson for each group, Newcombe's hybrid score interval for the difference between
the highest and lowest group, and MOVER-R (Donner & Zou 2012) for their ratio, the methods the rule
engine decides with. Other metrics (scores, F1...) are summarised window by window with
:func:`~fairwatch.metrics.summarize` (bootstrap on statistics when an interval is asked for).
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from fairwatch._typing import FloatArray, IntArray
from fairwatch.exceptions import UndefinedMetricWarning
from fairwatch.metrics import GroupStats, summarize
from fairwatch.metrics._intervals import metric_interval, mover_ratio_interval, newcombe_interval
from fairwatch.metrics._registry import Metric, metric_values
from fairwatch.metrics._summary import COMPOSITES, Disparity, Summary, disparity_values

if TYPE_CHECKING:
    from fairwatch.monitor._windows import WindowResult, _WindowCells

__all__ = ["WindowStack"]


def is_stackable(spec: Metric, ci: float | None) -> bool:
    """Whether every window's values (and intervals) of ``spec`` can be computed at once."""
    return spec.block == "confusion" and (ci is None or spec.interval == "wilson")


def split_specs(specs: Sequence[Metric]) -> tuple[list[Metric], list[Metric]]:
    """Metrics computed on every prediction, and those needing labels."""
    free = [s for s in specs if s.label_free or s.block == "any"]
    return free, [s for s in specs if s not in free]


def labelled_view(stats: GroupStats) -> GroupStats:
    """The same cells with ``n`` counting only labelled predictions."""
    assert stats.confusion_n is not None
    labelled = np.asarray(stats.confusion_n.sum(axis=(-2, -1)), dtype=np.float64)
    return GroupStats(
        sensitive_names=stats.sensitive_names,
        groups=stats.groups,
        n=labelled,
        weight=labelled.copy(),
        confusion=stats.confusion,
        confusion_n=stats.confusion_n,
        scores=stats.scores,
        pos_label=stats.pos_label,
    )


class _Disparities:
    """One disparity of every window: point values, extremes and intervals, shape ``(W,)``."""

    def __init__(self, name: str, metrics: tuple[str, ...], agg: str | None, **arrays: Any) -> None:
        self.name = name
        self.metrics = metrics
        self.agg = agg
        self.diff: FloatArray = arrays["diff"]
        self.ratio: FloatArray = arrays["ratio"]
        self.high: IntArray = arrays["high"]
        self.low: IntArray = arrays["low"]
        self.compared: IntArray = arrays["compared"]
        self.d_lo: FloatArray = arrays["d_lo"]
        self.d_hi: FloatArray = arrays["d_hi"]
        self.r_lo: FloatArray = arrays["r_lo"]
        self.r_hi: FloatArray = arrays["r_hi"]
        self.values: FloatArray = arrays["values"]  # (W, G) of the metric the extremes come from
        # whether the extremes exist: some group has a value (of the worst part, for a combination)
        self.found: np.ndarray = arrays.get("found", self.compared > 0)


class _StackedPart:
    """The numbers of one summary (label-free metrics over every prediction, or label-dependent ones
    over the labelled predictions) for every window, with the semantics of :func:`summarize`
    (``method="between_groups"``, ``agg="worst_case"``)."""

    def __init__(self, stacked: GroupStats, specs: Sequence[Metric], ci: float | None, min_size: int) -> None:
        self.specs = tuple(specs)
        self.ci = ci
        self.min_size = min_size
        self.suppressed = np.asarray(stacked.n) < min_size
        overall = stacked.overall()
        self.values = {s.name: metric_values(stacked, s, warn=False) for s in specs}
        self.overall = {s.name: metric_values(overall, s, warn=False)[..., 0] for s in specs}
        self.lo: dict[str, FloatArray] = {}
        self.hi: dict[str, FloatArray] = {}
        for spec in specs:
            if ci is None:
                self.lo[spec.name] = self.hi[spec.name] = np.full(self.values[spec.name].shape, np.nan)
            else:
                self.lo[spec.name], self.hi[spec.name] = metric_interval(
                    stacked, spec, self.values[spec.name], ci, None
                )
        self.disparities: dict[str, _Disparities] = {}
        for spec in specs:
            if spec.name != "count":
                self.disparities[spec.name] = self._single(stacked, spec)
        for name, parts in COMPOSITES.items():
            if all(p in self.disparities for p in parts):
                self.disparities[name] = self._composite(name, parts)

    def _single(self, stacked: GroupStats, spec: Metric) -> _Disparities:
        values = self.values[spec.name]
        kept = np.where(self.suppressed, np.nan, values)
        diff, ratio = disparity_values(kept, "between_groups")
        missing = np.isnan(kept)
        high = np.argmax(np.where(missing, -np.inf, kept), axis=-1)  # first of equals, as nanargmax
        low = np.argmin(np.where(missing, np.inf, kept), axis=-1)
        compared = (~missing).sum(axis=-1)
        nan = np.full(diff.shape, np.nan)
        d_lo, d_hi, r_lo, r_hi = nan, nan.copy(), nan.copy(), nan.copy()
        if self.ci is not None and spec.interval == "wilson":
            num, den = spec.proportion(stacked)
            _, den_n = spec.proportion(stacked, weighted=False)
            with np.errstate(divide="ignore", invalid="ignore"):
                p = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

            def at(a: FloatArray, index: IntArray) -> FloatArray:
                return np.take_along_axis(a, index[..., None], axis=-1)[..., 0]

            p_high, n_high, p_low, n_low = at(p, high), at(den_n, high), at(p, low), at(den_n, low)
            two = compared >= 2
            d_lo, d_hi = (np.where(two, v, np.nan) for v in newcombe_interval(p_high, n_high, p_low, n_low, self.ci))
            with np.errstate(divide="ignore", invalid="ignore"):
                r_lo, r_hi = mover_ratio_interval(p_low, n_low, p_high, n_high, self.ci, continuity=False)
            defined = two & np.isfinite(ratio)
            r_lo = np.where(defined, np.clip(r_lo, 0.0, 1.0), np.nan)
            r_hi = np.where(defined, np.minimum(r_hi, 1.0), np.nan)
        return _Disparities(
            spec.name,
            (spec.name,),
            None,
            diff=diff,
            ratio=ratio,
            high=high,
            low=low,
            compared=compared,
            d_lo=d_lo,
            d_hi=d_hi,
            r_lo=r_lo,
            r_hi=r_hi,
            values=values,
        )

    def _composite(self, name: str, parts: tuple[str, ...]) -> _Disparities:
        singles = [self.disparities[p] for p in parts]
        if len(singles) == 1:
            only = singles[0]
            return _Disparities(name, only.metrics, None, **{k: getattr(only, k) for k in _ARRAYS})
        diffs = np.stack([d.diff for d in singles])
        ratios = np.stack([d.ratio for d in singles])
        # the extremes (and the interval) of the part with the largest difference, as summarize names them
        worst = np.argmax(np.where(np.isnan(diffs), -np.inf, diffs), axis=0)
        lowest = np.argmin(np.where(np.isnan(ratios), np.inf, ratios), axis=0)
        columns = np.arange(diffs.shape[1])

        def pick(field: str, which: IntArray) -> np.ndarray:
            return np.stack([getattr(d, field) for d in singles])[which, columns]

        return _Disparities(
            name,
            parts,
            "worst_case",
            diff=diffs.max(axis=0),  # nan when any part is nan
            ratio=ratios.min(axis=0),
            high=pick("high", worst),
            low=pick("low", worst),
            compared=np.stack([d.compared for d in singles]).min(axis=0),
            d_lo=pick("d_lo", worst),
            d_hi=pick("d_hi", worst),
            r_lo=pick("r_lo", lowest),
            r_hi=pick("r_hi", lowest),
            values=np.stack([d.values for d in singles])[worst, columns],
            found=pick("found", worst),
        )

    # -- one window --------------------------------------------------------------------------------------
    def summary(self, w: int, stats: GroupStats, idx: IntArray) -> Summary:
        keys = stats.groups
        summary = Summary(
            stats=stats,
            metrics=self.specs,
            values={name: v[w, idx] for name, v in self.values.items()},
            lo={name: v[w, idx] for name, v in self.lo.items()},
            hi={name: v[w, idx] for name, v in self.hi.items()},
            suppressed=self.suppressed[w, idx],
            disparities={},
            ci=self.ci,
            min_group_size=self.min_size,
            method="between_groups",
            reference=None,
            overall={name: float(v[w]) for name, v in self.overall.items()},
        )
        position = {int(g): j for j, g in enumerate(idx.tolist())}
        for name, d in self.disparities.items():
            found = bool(d.found[w])
            high, low = position.get(int(d.high[w])), position.get(int(d.low[w]))
            summary.disparities[name] = Disparity(
                name=name,
                metrics=d.metrics,
                method="between_groups",
                difference=float(d.diff[w]),
                ratio=float(d.ratio[w]),
                difference_lo=float(d.d_lo[w]),
                difference_hi=float(d.d_hi[w]),
                ratio_lo=float(d.r_lo[w]),
                ratio_hi=float(d.r_hi[w]),
                max_group=keys[high] if found and high is not None else None,
                max_value=float(d.values[w, d.high[w]]) if found else float("nan"),
                min_group=keys[low] if found and low is not None else None,
                min_value=float(d.values[w, d.low[w]]) if found else float("nan"),
                groups_compared=int(d.compared[w]),
                agg=d.agg,
            )
        return summary


def _none_where_nan(values: FloatArray) -> list[Any]:
    """The values as a list, ``None`` where they are not finite (JSON has no nan)."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if finite.all():
        return list(values.tolist())
    out = values.astype(object)
    out[~finite] = None
    return list(out.tolist())


_ARRAYS = ("diff", "ratio", "high", "low", "compared", "d_lo", "d_hi", "r_lo", "r_hi", "values", "found")


class WindowStack:
    """The answers of every window of one read: stacked arrays for the metrics that allow it, window by
    window summaries for the others; per-window objects are built only when asked for."""

    def __init__(
        self,
        cells: _WindowCells,
        specs: Sequence[Metric],
        *,
        ci: float | None,
        min_size: int,
        sensitive: tuple[str, ...],
        pos_label: str,
        options: dict[str, Any],
    ) -> None:
        self.cells = cells
        self.metric_names = tuple(s.name for s in specs)
        self.sensitive = sensitive
        self.pos_label = pos_label
        self.ci = ci
        self.min_size = min_size
        self.options = options
        stacked = [s for s in specs if is_stackable(s, ci)]
        self.by_window = [s for s in specs if s not in stacked]
        every_row = GroupStats(
            sensitive_names=(),
            groups=cells.keys,
            n=cells.n,
            weight=cells.n,
            confusion=cells.confusion,
            confusion_n=cells.confusion,
            predictions=cells.predictions,
            predictions_n=cells.predictions,
        )
        labelled_n = cells.confusion.sum(axis=(-2, -1))
        labelled_rows = replace(every_row, n=labelled_n, weight=labelled_n, predictions=None, predictions_n=None)
        free, needs_labels = split_specs(stacked)
        self.free = _StackedPart(every_row, free, ci, min_size) if free else None
        self.labelled = _StackedPart(labelled_rows, needs_labels, ci, min_size) if needs_labels else None
        self.labelled_n = labelled_n
        self._stats: dict[int, GroupStats | None] = {}
        self._payload_lists: _PayloadLists | None = None
        self._window_summaries: dict[int, tuple[Summary | None, Summary | None]] = {}

    def stats(self, w: int) -> GroupStats | None:
        if w not in self._stats:
            self._stats[w] = self.cells.stats(w, self.sensitive, self.pos_label)
        return self._stats[w]

    def _by_window(self, w: int) -> tuple[Summary | None, Summary | None]:
        """Summaries of the metrics that are not stacked, for window ``w``."""
        if not self.by_window:
            return None, None
        if w not in self._window_summaries:
            stats = self.stats(w)
            free, needs_labels = split_specs(self.by_window)
            out: tuple[Summary | None, Summary | None] = (None, None)
            if stats is not None and self.by_window:
                with warnings.catch_warnings():
                    # a window with few labels is normal while outcomes are pending; values show as null
                    warnings.simplefilter("ignore", UndefinedMetricWarning)
                    warnings.simplefilter("ignore", UserWarning)
                    out = (
                        summarize(stats, free, **self.options) if free else None,
                        summarize(labelled_view(stats), needs_labels, **self.options) if needs_labels else None,
                    )
            self._window_summaries[w] = out
        return self._window_summaries[w]

    def summaries(self, w: int) -> tuple[Summary | None, Summary | None]:
        """The label-free and the labelled :class:`~fairwatch.metrics._summary.Summary` of window ``w``."""
        stats = self.stats(w)
        if stats is None:
            return None, None
        idx = self.cells.present(w)
        slow = self._by_window(w)
        merged: list[Summary | None] = []
        for part, other, view in ((self.free, slow[0], stats), (self.labelled, slow[1], labelled_view(stats))):
            fast = part.summary(w, view, idx) if part is not None else None
            merged.append(_merge(fast, other))
        return merged[0], merged[1]

    def _lists(self) -> _PayloadLists:
        if self._payload_lists is None:
            with _collector_paused():
                self._payload_lists = _PayloadLists(self, self.metric_names)
        return self._payload_lists

    def payload(self, result: WindowResult, w: int) -> dict[str, Any]:
        """``result.to_dict()``: the stacked metrics' parts are built for every window at once (the
        first window asked for pays), the window-by-window ones for this window."""
        lists = self._lists()
        slow = [summary for summary in self._by_window(w) if summary is not None]
        # the stacked parts are shared by the answers of a window (built once); a window with metrics
        # summarised on their own gets copies to add them to
        groups = [dict(group) for group in lists.groups[w]] if slow else lists.groups[w]
        disparities = dict(lists.disparities[w])
        for summary in slow:
            hidden = summary.suppressed.tolist()
            for name in summary.values:
                columns = zip(
                    _none_where_nan(summary.values[name]),
                    _none_where_nan(summary.lo[name]),
                    _none_where_nan(summary.hi[name]),
                    hidden,
                )
                for group, (value, lo, hi, hide) in zip(groups, columns):
                    group["metrics"] = {**group["metrics"], name: _metric(value, lo, hi, hide)}
                    if hide:
                        group["withheld"] = [*group["withheld"], name]
            for name, d in summary.disparities.items():
                disparities[name] = d.to_dict(self.sensitive)
        if slow:  # the requested order of metrics
            order = [m for m in result.metric_names]
            for group in groups:
                group["metrics"] = {m: group["metrics"][m] for m in order if m in group["metrics"]}
                group["withheld"] = [m for m in order if m in group["withheld"]]
        return {
            "start": result.start.isoformat(),
            "end": result.end.isoformat(),
            "n": result.n,
            "n_labelled": result.labelled,
            "label_coverage": result.label_coverage,
            "groups": groups,
            "disparities": disparities,
        }


_HIDDEN = {"value": None, "lo": None, "hi": None}


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cycle collector while tens of thousands of small dicts and lists are built: they hold
    no cycles, and the collections their allocation would trigger walk every live object again and
    again (measured: a third of the time for a year of hourly windows)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _metric(value: Any, lo: Any, hi: Any, hidden: bool) -> dict[str, Any]:
    return dict(_HIDDEN) if hidden else {"value": value, "lo": lo, "hi": hi}


def _nested(values: FloatArray) -> list[list[Any]]:
    flat = _none_where_nan(values.reshape(-1))
    width = values.shape[-1]
    return [flat[i : i + width] for i in range(0, len(flat), width)]


class _PayloadLists:
    """The stacked metrics' answers of every window: per window, its groups' entries and its
    disparities, built in one pass each from arrays converted to Python lists once."""

    def __init__(self, stack: WindowStack, metric_names: Sequence[str]) -> None:
        cells = stack.cells
        n_windows = cells.n.shape[0]
        present = [np.flatnonzero(row).tolist() for row in cells.n > 0]
        n, labelled = cells.n.astype(np.int64).tolist(), stack.labelled_n.astype(np.int64).tolist()
        named = [dict(zip(stack.sensitive, key)) for key in cells.keys]
        parts = [part for part in (stack.free, stack.labelled) if part is not None]
        columns: dict[str, tuple[list[list[Any]], list[list[Any]], list[list[Any]], list[list[bool]]]] = {}
        for part in parts:
            hidden = part.suppressed.tolist()
            for name in part.values:
                columns[name] = (_nested(part.values[name]), _nested(part.lo[name]), _nested(part.hi[name]), hidden)
        names = [m for m in metric_names if m in columns]
        self.groups: list[list[dict[str, Any]]] = []
        for w in range(n_windows):
            row = []
            for g in present[w]:
                metrics: dict[str, Any] = {}
                withheld: list[str] = []
                for name in names:
                    values, lo, hi, hidden = columns[name]
                    if hidden[w][g]:
                        withheld.append(name)
                        metrics[name] = {"value": None, "lo": None, "hi": None}
                    else:
                        metrics[name] = {"value": values[w][g], "lo": lo[w][g], "hi": hi[w][g]}
                row.append(
                    {
                        "group": named[g],
                        "n": n[w][g],
                        "n_labelled": labelled[w][g],
                        "metrics": metrics,
                        "withheld": withheld,
                    }
                )
            self.groups.append(row)
        self.disparities: list[dict[str, Any]] = [{} for _ in range(n_windows)]
        for part in parts:
            for name, d in part.disparities.items():
                if d.agg is None and d.metrics != (name,) and d.metrics[0] in part.disparities:
                    # a named disparity of one metric (demographic parity: selection rate) is that metric's answer
                    for w in range(n_windows):
                        self.disparities[w][name] = self.disparities[w][d.metrics[0]]
                    continue
                for w, payload in enumerate(_disparity_payloads(d, named)):
                    self.disparities[w][name] = payload


def _disparity_payloads(d: _Disparities, named: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A disparity's ``to_dict()`` for every window."""
    rows = np.arange(d.diff.shape[0])
    metrics = list(d.metrics)
    columns = zip(
        _none_where_nan(d.diff),
        _none_where_nan(d.d_lo),
        _none_where_nan(d.d_hi),
        _none_where_nan(d.ratio),
        _none_where_nan(d.r_lo),
        _none_where_nan(d.r_hi),
        d.high.tolist(),
        _none_where_nan(d.values[rows, d.high]),
        d.low.tolist(),
        _none_where_nan(d.values[rows, d.low]),
        d.found.tolist(),
        d.compared.tolist(),
    )
    out = [
        {
            "metrics": metrics,
            "method": "between_groups",
            "difference": diff,
            "difference_lo": d_lo,
            "difference_hi": d_hi,
            "ratio": ratio,
            "ratio_lo": r_lo,
            "ratio_hi": r_hi,
            "max_group": named[high] if found else None,
            "max_value": high_value if found else None,
            "min_group": named[low] if found else None,
            "min_value": low_value if found else None,
            "reference": None,
            "ratio_group": None,
            "groups_compared": compared,
        }
        for diff, d_lo, d_hi, ratio, r_lo, r_hi, high, high_value, low, low_value, found, compared in columns
    ]
    if d.agg:
        for payload in out:
            payload["agg"] = d.agg
    return out


def _merge(fast: Summary | None, slow: Summary | None) -> Summary | None:
    if fast is None or slow is None:
        return fast or slow
    return replace(
        fast,
        metrics=fast.metrics + slow.metrics,
        values={**fast.values, **slow.values},
        lo={**fast.lo, **slow.lo},
        hi={**fast.hi, **slow.hi},
        disparities={**fast.disparities, **slow.disparities},
        overall={**fast.overall, **slow.overall},
        ci=slow.ci,
    )
