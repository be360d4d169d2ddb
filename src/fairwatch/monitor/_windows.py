"""Windowed fairness: each window's GroupStats come from one SQL aggregate in the store.

Label-free metrics (selection rate) use every prediction in the window; label-dependent metrics use
the predictions that have an outcome, are withheld for groups with fewer labelled rows than
``min_group_size``, and every window reports its ``label_coverage``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import numpy as np

from fairwatch._typing import GroupKey
from fairwatch.exceptions import InvalidInputError, UnknownModelError
from fairwatch.metrics import GroupStats, ScoreHistogram, get_metric
from fairwatch.metrics._registry import Metric
from fairwatch.metrics._summary import Summary, _check_min_group_size, _dedupe
from fairwatch.monitor._cells import (
    Grid,
    GroupMap,
    _codes_of,
    cells_from_rows,
    check_size,
    confusion_cells,
    group_map,
    make_grid,
    nanos,
    score_rows,
)
from fairwatch.monitor._durations import parse_duration
from fairwatch.monitor._events import EARLIEST, LATEST
from fairwatch.monitor._rollup import LEVEL_SECONDS, SCORE_BINS, dictionary_id
from fairwatch.monitor._stack import WindowStack, labelled_view
from fairwatch.monitor._store import Store

__all__ = ["DEFAULT_WINDOW_METRICS", "WindowRead", "WindowResult", "read_windows", "window_metrics"]

#: Windows one query may span: each becomes a row of the answer (Prometheus caps a range query alike).
MAX_WINDOWS = 10_000
DEFAULT_WINDOW_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy")


class WindowResult:
    """Metrics of one window (``start`` inclusive, ``end`` exclusive).

    ``stats``, ``label_free`` and ``labelled_summary`` (the window's GroupStats and summaries) are
    built when first read; :meth:`to_dict` comes straight from the read's arrays.
    """

    def __init__(
        self,
        start: datetime,
        end: datetime,
        n: int = 0,
        labelled: int = 0,
        stats: GroupStats | None = None,
        label_free: Summary | None = None,
        labelled_summary: Summary | None = None,
        metric_names: tuple[str, ...] = (),
        sensitive: tuple[str, ...] = (),
        *,
        stack: WindowStack | None = None,
        index: int = 0,
    ) -> None:
        self.start = start
        self.end = end
        self.n = n
        self.labelled = labelled
        self.metric_names = metric_names
        self.sensitive = sensitive
        self._stats = stats
        self._summaries: tuple[Summary | None, Summary | None] | None = (
            None if stack is not None else (label_free, labelled_summary)
        )
        self._stack = stack
        self._index = index

    def __repr__(self) -> str:
        return f"WindowResult(start={self.start.isoformat()}, end={self.end.isoformat()}, n={self.n})"

    @property
    def stats(self) -> GroupStats | None:
        if self._stats is None and self._stack is not None:
            self._stats = self._stack.stats(self._index)
        return self._stats

    def _pair(self) -> tuple[Summary | None, Summary | None]:
        if self._summaries is None:
            assert self._stack is not None
            self._summaries = self._stack.summaries(self._index)
        return self._summaries

    @property
    def label_free(self) -> Summary | None:
        """Metrics computed on every prediction of the window (selection rate...)."""
        return self._pair()[0]

    @property
    def labelled_summary(self) -> Summary | None:
        """Metrics computed on the window's labelled predictions (TPR, precision...)."""
        return self._pair()[1]

    @property
    def label_coverage(self) -> float | None:
        return None if self.n == 0 else self.labelled / self.n

    def summary_for(self, metric: str) -> Summary | None:
        spec = get_metric(metric)
        return self.label_free if (spec.label_free or spec.block == "any") else self.labelled_summary

    def to_dict(self) -> dict[str, Any]:
        if self._stack is not None:
            return self._stack.payload(self, self._index)
        groups: list[dict[str, Any]] = []
        disparities: dict[str, Any] = {}
        if self.stats is not None:
            labelled_n = _labelled_counts(self.stats)
            for g, key in enumerate(self.stats.groups):
                metrics: dict[str, Any] = {}
                withheld: list[str] = []
                for name in self.metric_names:
                    summary = self.summary_for(name)
                    if summary is None:
                        continue
                    hidden = bool(summary.suppressed[g])
                    if hidden:
                        withheld.append(name)
                    metrics[name] = {
                        "value": None if hidden else _num(summary.values[name][g]),
                        "lo": None if hidden else _num(summary.lo[name][g]),
                        "hi": None if hidden else _num(summary.hi[name][g]),
                    }
                groups.append(
                    {
                        "group": dict(zip(self.sensitive, key)),
                        "n": int(self.stats.n[g]),
                        "n_labelled": int(labelled_n[g]),
                        "metrics": metrics,
                        "withheld": withheld,
                    }
                )
            for summary in (self.label_free, self.labelled_summary):
                if summary is not None:
                    for name, d in summary.disparities.items():
                        disparities[name] = d.to_dict(self.sensitive)
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "n": self.n,
            "n_labelled": self.labelled,
            "label_coverage": self.label_coverage,
            "groups": groups,
            "disparities": disparities,
        }


def _num(x: float) -> float | None:
    return None if not math.isfinite(float(x)) else float(x)


def _labelled_counts(stats: GroupStats) -> np.ndarray:
    assert stats.confusion_n is not None
    return np.asarray(stats.confusion_n.sum(axis=(-2, -1)))


def _check_sensitive(store: Store, model: str, sensitive: Sequence[str], *, allow_empty: bool = False) -> None:
    """At least one sensitive attribute (unless ``allow_empty``), each one the model has (case-insensitive).

    The message lists only this model's attributes: a key granted one model learns nothing of others.
    """
    if not sensitive and not allow_empty:
        raise InvalidInputError("sensitive must name at least one sensitive attribute")
    known = store.sensitive_attributes(model)
    for attribute in sensitive:
        if attribute.lower() not in known:
            raise InvalidInputError(
                f"unknown sensitive attribute {attribute!r} for model {model!r}; "
                f"known: {', '.join(known) or 'none yet'}"
            )


def _check_period(start: datetime, end: datetime) -> None:
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise InvalidInputError(f"{name} must include a timezone (e.g. 2024-05-01T00:00:00Z); got {value}")
        if not EARLIEST <= value <= LATEST:
            raise InvalidInputError(
                f"{name} ({value.isoformat()}) is outside the supported range {EARLIEST.date()} to {LATEST.date()}"
            )
    if end <= start:
        raise InvalidInputError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")


def window_grid(
    store: Store,
    model: str,
    start: datetime | None,
    end: datetime | None,
    width: timedelta,
    *,
    finest: int = 0,
    what: str = "window",
    span: tuple[datetime, datetime] | Literal["unread"] | None = "unread",
) -> Grid:
    """The windows of a read: ``start`` defaults to the model's first prediction floored to the window,
    ``end`` to just after its last one (rounded up to the bucket). Both must fall on bucket boundaries.

    Raises :class:`~fairwatch.exceptions.UnknownModelError` for a model without predictions.
    """
    bucket = LEVEL_SECONDS[finest]
    seconds = int(width.total_seconds())
    if start is None or end is None:
        seen = store.time_range(model) if span == "unread" else span
        if seen is None:
            raise UnknownModelError(f"unknown model {model!r}: no predictions stored for it")
        first, last = seen
        if start is None:
            start = _floor(first, seconds if seconds % bucket == 0 else bucket)
        if end is None:
            end = _floor(last, bucket) + timedelta(seconds=bucket)
    elif not store.series_ids(model):  # the dictionary knows every model with predictions
        raise UnknownModelError(f"unknown model {model!r}: no predictions stored for it")
    _check_period(start, end)
    count = math.ceil((end - start) / width)
    if count > MAX_WINDOWS:
        raise InvalidInputError(
            f"{start.isoformat()} to {end.isoformat()} holds {count:,} windows of {width.total_seconds():g} s; at most "
            f"{MAX_WINDOWS:,} per query: use a longer window or a shorter range"
        )
    return make_grid(start, end, width, finest=finest, what=what)


def _floor(value: datetime, seconds: int) -> datetime:
    return datetime.fromtimestamp(int(value.timestamp()) // seconds * seconds, tz=timezone.utc)


def _aligned_range(
    store: Store, model: str, start: datetime | None, end: datetime | None, width: timedelta
) -> tuple[datetime, datetime]:
    grid = window_grid(store, model, start, end, width)
    return grid.start, grid.end


def _check_labels(store: Store, model: str, pos_label: str, labels: list[str] | None = None) -> None:
    """Binary labels, ``pos_label`` one of them (``labels``: the model's first three, when read already)."""
    if labels is None:
        labels = store.labels(model, limit=3)
    if len(labels) > 2:
        raise InvalidInputError(
            f"model {model!r} has more than two labels ({', '.join(map(repr, labels))}, ...); binary fairness "
            f"metrics need two classes"
        )
    if len(labels) == 2 and pos_label not in labels:
        raise InvalidInputError(
            f"pos_label={pos_label!r} is not one of model {model!r}'s labels {labels}; pass pos_label="
            f"{labels[-1]!r} or {labels[0]!r} (the label that counts as the positive outcome)"
        )


def window_metrics(
    store: Store,
    model: str,
    *,
    sensitive: Sequence[str],
    window: str = "1h",
    start: datetime | None = None,
    end: datetime | None = None,
    metrics: Sequence[str] | None = None,
    ci: float | None = None,
    min_group_size: int | None = None,
    model_version: str | None = None,
    pos_label: str = "1",
    score_bins: int = 100,
    n_boot: int = 1000,
    random_state: int | None = 0,
    source: Literal["rollups", "raw"] = "rollups",
) -> list[WindowResult]:
    """Fairness metrics per tumbling window of ``model``'s predictions.

    Windows are aligned to ``start`` (default: the first prediction, floored to the window) and the
    last one is cut at ``end`` (default: the end of the 5-minute bucket of the last prediction).
    Windows are whole multiples of 5 minutes, and ``start``/``end`` fall on 5-minute boundaries: the
    store keeps its statistics per 5-minute, hourly and daily bucket (the roll-ups), and a window is
    the sum of the fewest of them. ``source="raw"`` recomputes the same numbers from the raw events
    instead (slow; for checks).

    Raises
    ------
    fairwatch.exceptions.UnknownModelError
        When the model has no predictions.
    fairwatch.exceptions.InvalidInputError
        For an unknown sensitive attribute, a bad window, labels that are not binary, or more
        windows x groups than :data:`~fairwatch.monitor._cells.MAX_WINDOW_GROUPS`.
    """
    plan = read_windows(
        store,
        model,
        sensitive=sensitive,
        window=window,
        start=start,
        end=end,
        metrics=metrics,
        ci=ci,
        min_group_size=min_group_size,
        model_version=model_version,
        pos_label=pos_label,
        score_bins=score_bins,
        n_boot=n_boot,
        random_state=random_state,
        source=source,
    )
    return plan.results()


class WindowRead:
    """A windowed read whose cells are fetched and whose answers are not computed yet.

    A window's answer depends on nothing but its own cells, the groups of the read and the read's
    options, so :meth:`fingerprint` tells whether an answer computed earlier still holds and
    :meth:`results` computes only the windows asked for (the service reuses the answers of windows
    whose cells did not change).
    """

    def __init__(
        self,
        grid: Grid,
        cells: _WindowCells,
        specs: Sequence[Metric],
        *,
        sensitive: tuple[str, ...],
        ci: float | None,
        min_size: int,
        pos_label: str,
        options: dict[str, Any],
    ) -> None:
        self.grid = grid
        self.cells = cells
        self.specs = list(specs)
        self.metric_names = tuple(s.name for s in specs)
        self.sensitive = sensitive
        self.ci = ci
        self.min_size = min_size
        self.pos_label = pos_label
        self.options = options

    @property
    def count(self) -> int:
        """How many windows the read has."""
        return self.grid.count

    def window(self, index: int) -> tuple[datetime, datetime]:
        return self.grid.window(index)

    def fingerprints(self) -> list[bytes]:
        """Per window, the bytes of every cell it is computed from: with the same :attr:`groups` and
        options, equal bytes give an equal answer."""
        c = self.cells
        parts = [c.confusion, c.predictions, *(c.scores or ())]
        flat = np.concatenate([np.asarray(a, dtype=np.float64).reshape(self.count, -1) for a in parts], axis=1)
        return [row.tobytes() for row in flat]

    @property
    def groups(self) -> tuple[GroupKey, ...]:
        """The groups of the read, in the order of the cells' group axis."""
        return self.cells.keys

    def results(self, indices: Sequence[int] | None = None) -> list[WindowResult]:
        """The results of the windows at ``indices`` (default: every window), in that order."""
        chosen = list(range(self.count)) if indices is None else list(indices)
        cells = self.cells if indices is None else self.cells.take(chosen)
        stack = WindowStack(
            cells,
            _dedupe(self.specs),
            ci=self.ci,
            min_size=self.min_size,
            sensitive=self.sensitive,
            pos_label=self.pos_label,
            options=self.options,
        )
        n = cells.n.sum(axis=-1).tolist()
        labelled = stack.labelled_n.sum(axis=-1).tolist()
        results = []
        for position, index in enumerate(chosen):
            w_start, w_end = self.grid.window(index)
            results.append(
                WindowResult(
                    w_start,
                    w_end,
                    int(n[position]),
                    int(labelled[position]),
                    metric_names=self.metric_names,
                    sensitive=self.sensitive,
                    stack=stack,
                    index=position,
                )
            )
        return results


def read_windows(
    store: Store,
    model: str,
    *,
    sensitive: Sequence[str],
    window: str = "1h",
    start: datetime | None = None,
    end: datetime | None = None,
    metrics: Sequence[str] | None = None,
    ci: float | None = None,
    min_group_size: int | None = None,
    model_version: str | None = None,
    pos_label: str = "1",
    score_bins: int = 100,
    n_boot: int = 1000,
    random_state: int | None = 0,
    source: Literal["rollups", "raw"] = "rollups",
) -> WindowRead:
    """The checks and the store reads of :func:`window_metrics`, its computation left to
    :meth:`WindowRead.results`."""
    width = parse_duration(window)
    names = tuple(metrics) if metrics else DEFAULT_WINDOW_METRICS
    specs = [get_metric(m) for m in names]
    if not sensitive:
        raise InvalidInputError("sensitive must name at least one sensitive attribute")
    if not isinstance(score_bins, int) or score_bins < 1 or SCORE_BINS % score_bins:
        raise InvalidInputError(
            f"score_bins must divide the store's {SCORE_BINS} score bins (e.g. 10, 20, 50, 100); got {score_bins!r}"
        )
    scored = any(s.block == "scores" for s in specs)
    needing = ", ".join(s.name for s in specs if s.block == "scores")
    # score histograms are kept per hour: with score metrics, windows are whole hours
    what = f"a window with score metrics ({needing})" if scored else "window"
    span, labels = store.overview(model, labels=3)  # one round trip for both
    grid = window_grid(store, model, start, end, width, finest=int(scored), what=what, span=span)  # unknown first
    _check_sensitive(store, model, sensitive)
    _check_labels(store, model, pos_label, labels)
    mapping = group_map(store, model, sensitive)
    check_size(grid.count, len(mapping.keys))
    if scored and not store.has_scores(model):
        raise InvalidInputError(
            f"{needing} need scores, and no prediction of model {model!r} has one; send each prediction's "
            f"probability of the positive label as score"
        )
    pos_id = dictionary_id("l", model, "", pos_label)
    if source == "raw":
        from fairwatch.monitor._raw import raw_window_rows

        rows, score_rows_ = raw_window_rows(store, model, model_version, grid, scored)
        confusion = cells_from_rows(rows, mapping, pos_id)
    else:
        series = store.series_ids(model, model_version)
        confusion = confusion_cells(store, series, grid, mapping, pos_id)
        score_rows_ = score_rows(store, series, grid, labelled_only=True) if scored else []
    cells = _WindowCells.from_rollups(confusion, score_rows_, mapping, pos_id, grid.count, score_bins, scored)
    options = {"ci": ci, "min_group_size": min_group_size, "n_boot": n_boot, "random_state": random_state}
    return WindowRead(
        grid,
        cells,
        specs,
        sensitive=tuple(sensitive),
        ci=ci,
        min_size=_check_min_group_size(min_group_size),
        pos_label=pos_label,
        options=options,
    )


# -- the cells of every window, as arrays ---------------------------------------------------------
@dataclass
class _WindowCells:
    """Counts of every window × group, from the aggregate's rows (no per-row Python).

    ``keys`` are the groups seen in any window (sorted); arrays have a leading window axis:
    ``n (W, G)``, ``confusion (W, G, 2, 2)`` over labelled predictions, ``predictions (W, G, 2)``
    over all of them, and labelled score histograms ``(W, G, 2, bins)`` when scores were asked for.
    """

    keys: tuple[GroupKey, ...]
    n: np.ndarray
    confusion: np.ndarray
    predictions: np.ndarray
    scores: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    score_bins: int

    @classmethod
    def from_rollups(
        cls,
        cells: np.ndarray,
        score_rows: Sequence[tuple[Any, ...]],
        mapping: GroupMap,
        pos_id: int,
        n_windows: int,
        score_bins: int,
        scored: bool = False,
    ) -> _WindowCells:
        """``cells`` are ``(window, group, u0, u1, tn, fp, fn, tp)`` rows
        (:func:`~fairwatch.monitor._cells.confusion_cells`); ``score_rows`` are labelled
        ``(window, group id, prediction id, label id, bin, n, s1, s2)`` with the store's bins and sums in
        nanos."""
        g = len(mapping.keys)
        size = n_windows * g
        at = cells[:, 0] * g + cells[:, 1]
        counts = np.zeros((size, 6))
        counts[at] = cells[:, 2:]
        u0, u1, tn, fp, fn, tp = counts.T
        predictions = np.stack([u0 + tn + fn, u1 + fp + tp], axis=-1).reshape(n_windows, g, 2)
        confusion = np.stack([tn, fp, fn, tp], axis=-1).reshape(n_windows, g, 2, 2)
        scores = None
        if scored:
            columns = [np.asarray(c) for c in zip(*score_rows)] or [np.zeros(0, np.int64)] * 8
            s_window, s_group, _s_pred, s_label, s_bin, s_n, s1, s2 = columns
            s_codes = _codes_of(mapping, s_group.astype(np.int64))
            coarse = s_bin.astype(np.int64) // (SCORE_BINS // score_bins)
            s_y = (s_label.astype(np.int64) == pos_id).astype(np.int64)
            index = ((s_window.astype(np.int64) * g + s_codes) * 2 + s_y) * score_bins + coarse
            shape = (n_windows, g, 2, score_bins)
            w, ws, wss = (
                np.bincount(index, weights=v, minlength=size * 2 * score_bins).reshape(shape)
                for v in (s_n.astype(np.float64), nanos(s1), nanos(s2))
            )
            scores = (w, ws, wss)
        return cls(
            keys=mapping.keys,
            n=predictions.sum(axis=-1),
            confusion=confusion,
            predictions=predictions,
            scores=scores,
            score_bins=score_bins,
        )

    def take(self, windows: Sequence[int]) -> _WindowCells:
        """The cells of the windows at these indices, in that order (the groups stay the same)."""
        at = np.asarray(windows, dtype=np.intp)
        return _WindowCells(
            keys=self.keys,
            n=self.n[at],
            confusion=self.confusion[at],
            predictions=self.predictions[at],
            scores=None if self.scores is None else (self.scores[0][at], self.scores[1][at], self.scores[2][at]),
            score_bins=self.score_bins,
        )

    def present(self, window: int) -> np.ndarray:
        """Indices of the groups with predictions in ``window``."""
        return np.flatnonzero(self.n[window] > 0)

    def stats(self, window: int, sensitive: tuple[str, ...], pos_label: str) -> GroupStats | None:
        idx = self.present(window)
        if idx.size == 0:
            return None
        confusion = self.confusion[window, idx]
        predictions = self.predictions[window, idx]
        hist = None
        if self.scores is not None:
            w, ws, wss = (a[window, idx] for a in self.scores)
            edges = np.linspace(0.0, 1.0, self.score_bins + 1)
            hist = ScoreHistogram(edges=edges, binning="uniform", w=w, n=w, ws=ws, wss=wss)
        n = predictions.sum(axis=1)
        return GroupStats(
            sensitive_names=sensitive,
            groups=tuple(self.keys[i] for i in idx.tolist()),
            n=n,
            weight=n.copy(),
            confusion=confusion,
            confusion_n=confusion,
            predictions=predictions,
            predictions_n=predictions,
            scores=hist,
            pos_label=pos_label,
        )


#: The labelled view of a window's statistics (``n`` counts labelled predictions only).
_labelled_view = labelled_view
