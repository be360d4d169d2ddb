"""Windowed fairness: each window's GroupStats come from one SQL aggregate in the store.

Label-free metrics (selection rate) use every prediction in the window; label-dependent metrics use
the predictions that have an outcome, are withheld for groups with fewer labelled rows than
``min_group_size``, and every window reports its ``label_coverage``.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from fairwatch._typing import GroupKey
from fairwatch.exceptions import InvalidInputError, UndefinedMetricWarning
from fairwatch.metrics import GroupStats, ScoreHistogram, get_metric, summarize
from fairwatch.metrics._group_stats import _sort_key
from fairwatch.metrics._summary import Summary
from fairwatch.monitor._durations import parse_duration
from fairwatch.monitor._store import CellQuery, Store

__all__ = ["DEFAULT_WINDOW_METRICS", "WindowResult", "window_metrics"]

DEFAULT_WINDOW_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy")


@dataclass
class WindowResult:
    """Metrics of one window (``start`` inclusive, ``end`` exclusive)."""

    start: datetime
    end: datetime
    n: int
    labelled: int
    stats: GroupStats | None
    label_free: Summary | None = None
    labelled_summary: Summary | None = None
    metric_names: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label_coverage(self) -> float | None:
        return None if self.n == 0 else self.labelled / self.n

    def summary_for(self, metric: str) -> Summary | None:
        spec = get_metric(metric)
        return self.label_free if (spec.label_free or spec.block == "any") else self.labelled_summary

    def to_dict(self) -> dict[str, Any]:
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


def _aligned_range(
    store: Store, model: str, start: datetime | None, end: datetime | None, width: timedelta
) -> tuple[datetime, datetime]:
    info = {m.model: m for m in store.models()}.get(model)
    if info is None:
        raise KeyError(model)
    if start is None:
        first = info.first or datetime.now(timezone.utc)
        seconds = int(width.total_seconds())
        start = datetime.fromtimestamp(first.timestamp() // seconds * seconds, tz=timezone.utc)
    if end is None:
        last = info.last or start
        end = last + timedelta(microseconds=1)
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise InvalidInputError(f"{name} must include a timezone (e.g. 2024-05-01T00:00:00Z); got {value}")
    if end <= start:
        raise InvalidInputError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    return start, end


def _check_labels(store: Store, model: str, pos_label: str) -> None:
    labels = store.labels(model, limit=3)
    if len(labels) > 2:
        raise InvalidInputError(
            f"model {model!r} has more than two labels ({', '.join(map(repr, labels))}, ...); binary fairness "
            f"metrics need two classes"
        )
    if len(labels) == 2 and pos_label not in labels:
        raise InvalidInputError(
            f"pos_label={pos_label!r} is not one of model {model!r}'s labels {labels}; pass pos_label="
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
) -> list[WindowResult]:
    """Fairness metrics per tumbling window of ``model``'s predictions.

    Windows are aligned to ``start`` (default: the first prediction, floored to the window) and the
    last one is cut at ``end`` (default: just after the last prediction).

    Raises
    ------
    KeyError
        When the model has no predictions.
    fairwatch.exceptions.InvalidInputError
        For an unknown sensitive attribute, a bad window, labels that are not binary.
    """
    width = parse_duration(window)
    names = tuple(metrics) if metrics else DEFAULT_WINDOW_METRICS
    specs = [get_metric(m) for m in names]
    if not sensitive:
        raise InvalidInputError("sensitive must name at least one sensitive attribute")
    known = store.sensitive_attributes()
    for attribute in sensitive:
        if attribute.lower() not in known:
            raise InvalidInputError(
                f"unknown sensitive attribute {attribute!r}; known: {', '.join(known) or 'none yet'}"
            )
    start, end = _aligned_range(store, model, start, end, width)
    _check_labels(store, model, pos_label)
    query = CellQuery(
        model=model,
        start=start,
        end=end,
        width=int(width.total_seconds()),
        sensitive=tuple(sensitive),
        pos_label=pos_label,
        model_version=model_version,
        score_bins=score_bins,
    )
    rows = store.confusion_cells(query)
    score_rows = store.score_cells(query) if any(s.block == "scores" for s in specs) else []
    per_window = _stats_by_window(rows, score_rows, tuple(sensitive), score_bins, pos_label)
    results = []
    n_windows = math.ceil((end - start) / width)
    for index in range(n_windows):
        w_start = start + index * width
        w_end = min(start + (index + 1) * width, end)
        stats = per_window.get(index)
        result = WindowResult(
            start=w_start,
            end=w_end,
            n=0,
            labelled=0,
            stats=stats,
            metric_names=tuple(s.name for s in specs),
            sensitive=tuple(sensitive),
        )
        if stats is not None:
            result.n = int(stats.n.sum())
            result.labelled = int(_labelled_counts(stats).sum())
            _summarize_window(result, specs, ci, min_group_size, n_boot, random_state)
        results.append(result)
    return results


def _summarize_window(
    result: WindowResult,
    specs: Sequence[Any],
    ci: float | None,
    min_group_size: int | None,
    n_boot: int,
    random_state: int | None,
) -> None:
    stats = result.stats
    assert stats is not None
    free = [s for s in specs if s.label_free or s.block == "any"]
    needs_labels = [s for s in specs if s not in free]
    options: dict[str, Any] = {
        "ci": ci,
        "min_group_size": min_group_size,
        "n_boot": n_boot,
        "random_state": random_state,
    }
    with warnings.catch_warnings():
        # a window with few labels is normal while outcomes are pending; values show as null
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", UserWarning)
        if free:
            result.label_free = summarize(stats, free, **options)
        if needs_labels:
            labelled_stats = GroupStats(
                sensitive_names=stats.sensitive_names,
                groups=stats.groups,
                n=_labelled_counts(stats).astype(np.float64),
                weight=_labelled_counts(stats).astype(np.float64),
                confusion=stats.confusion,
                confusion_n=stats.confusion_n,
                scores=stats.scores,
                pos_label=stats.pos_label,
            )
            result.labelled_summary = summarize(labelled_stats, needs_labels, **options)


def _stats_by_window(
    rows: Sequence[tuple[Any, ...]],
    score_rows: Sequence[tuple[Any, ...]],
    sensitive: tuple[str, ...],
    score_bins: int,
    pos_label: str,
) -> dict[int, GroupStats]:
    k = len(sensitive)
    cells: dict[int, dict[GroupKey, np.ndarray]] = defaultdict(dict)
    for row in rows:
        w, key, (labelled, y, y_pred, n) = int(row[0]), tuple(row[1 : 1 + k]), row[1 + k :]
        block = cells[w].setdefault(key, np.zeros(6))  # 4 labelled cells + 2 prediction counts
        if labelled:
            block[int(y) * 2 + int(y_pred)] += n
        block[4 + int(y_pred)] += n
    scores: dict[int, dict[GroupKey, np.ndarray]] = defaultdict(dict)
    for row in score_rows:
        w, key, (labelled, y, b, n, s1, s2) = int(row[0]), tuple(row[1 : 1 + k]), row[1 + k :]
        if not labelled:
            continue
        block = scores[w].setdefault(key, np.zeros((3, 2, score_bins)))
        block[:, int(y), int(b)] += (n, s1, s2)
    out: dict[int, GroupStats] = {}
    edges = np.linspace(0.0, 1.0, score_bins + 1)
    for w, groups in cells.items():
        keys = sorted(groups, key=_sort_key)
        table = np.stack([groups[key] for key in keys])
        confusion = table[:, :4].reshape(-1, 2, 2)
        predictions = table[:, 4:]
        hist = None
        if score_rows:
            h = np.stack([scores[w].get(key, np.zeros((3, 2, score_bins))) for key in keys])
            hist = ScoreHistogram(edges=edges, binning="uniform", w=h[:, 0], n=h[:, 0], ws=h[:, 1], wss=h[:, 2])
        n = predictions.sum(axis=1)
        out[w] = GroupStats(
            sensitive_names=sensitive,
            groups=tuple(keys),
            n=n,
            weight=n.copy(),
            confusion=confusion,
            confusion_n=confusion,
            predictions=predictions,
            predictions_n=predictions,
            scores=hist,
            pos_label=pos_label,
        )
    return out
