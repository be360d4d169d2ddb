"""Reading windows from the roll-ups: which buckets make each window, and the cells they add up to.

A window ``[a, b)`` (whole base buckets) is covered by the fewest buckets: whole days where it spans
them, whole hours around those, 5-minute buckets at the edges. Consecutive windows share the levels'
intervals, so a read is one aggregate per level over ``windows x groups`` roll-up rows, however many
events are behind them. Groups are mapped from the stored group ids to the requested attributes here
(a group of ``sex`` adds the ``sex x race`` groups it holds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from fairwatch._typing import GroupKey, IntArray
from fairwatch.exceptions import InvalidInputError
from fairwatch.frames._encode import group_sort_key
from fairwatch.monitor._rollup import LEVEL_SECONDS, NANO

if TYPE_CHECKING:
    from fairwatch.monitor._store import Store

__all__ = [
    "MAX_WINDOW_GROUPS",
    "Grid",
    "GroupMap",
    "cells_from_rows",
    "check_size",
    "confusion_cells",
    "count_rows",
    "feature_rows",
    "group_map",
    "hourly",
    "make_grid",
    "nanos",
    "score_rows",
]

#: Windows x groups one read may ask for (each becomes a row of the answer); beyond it: 422.
MAX_WINDOW_GROUPS = 100_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _seconds(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(seconds=1)


def _describe(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


@dataclass(frozen=True)
class Grid:
    """Windows of ``width`` seconds from ``start`` (the last one cut at ``end``), all whole base buckets."""

    start: datetime
    end: datetime
    width: int
    #: The finest level the windows may be read at (0: 5-minute buckets, 1: hours for drift).
    finest: int = 0

    @property
    def count(self) -> int:
        return math.ceil((self.end - self.start) / timedelta(seconds=self.width))

    def window(self, index: int) -> tuple[datetime, datetime]:
        w_start = self.start + timedelta(seconds=self.width * index)
        return w_start, min(w_start + timedelta(seconds=self.width), self.end)

    def intervals(self) -> dict[int, list[tuple[int, int]]]:
        """Per level, the merged bucket-index intervals ``[lo, hi)`` that cover every window exactly once."""
        out: dict[int, list[tuple[int, int]]] = {}
        s, e = _seconds(self.start), _seconds(self.end)
        for index in range(self.count):
            a = s + index * self.width
            self._cover(a, min(a + self.width, e), len(LEVEL_SECONDS) - 1, out)
        return {level: _merged(found) for level, found in out.items()}

    def _cover(self, a: int, b: int, level: int, out: dict[int, list[tuple[int, int]]]) -> None:
        if a >= b:
            return
        size = LEVEL_SECONDS[level]
        if level == self.finest:
            out.setdefault(level, []).append((a // size, b // size))
            return
        lo, hi = -(-a // size), b // size
        if lo >= hi:
            self._cover(a, b, level - 1, out)
            return
        out.setdefault(level, []).append((lo, hi))
        self._cover(a, lo * size, level - 1, out)
        self._cover(hi * size, b, level - 1, out)


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


_BUCKET_NAMES = {300: ("5 minutes", "5-minute"), 3600: ("hours", "whole-hour"), 86400: ("days", "whole-day")}


def make_grid(start: datetime, end: datetime, width: timedelta, *, finest: int = 0, what: str = "window") -> Grid:
    """The grid of windows, checking that everything falls on whole buckets of the finest level."""
    bucket = LEVEL_SECONDS[finest]
    plural, adjective = _BUCKET_NAMES.get(bucket, (f"{bucket} seconds", f"{bucket}-second"))
    seconds = int(width.total_seconds())
    if seconds % bucket:
        raise InvalidInputError(
            f"{what} must be a whole number of {plural} (the store keeps these statistics per {adjective} "
            f"bucket); got {_describe(seconds)}"
        )
    for name, value in (("start", start), ("end", end)):
        if _seconds(value) % bucket or value.microsecond:
            raise InvalidInputError(
                f"{name} must fall on a {adjective} boundary (the store keeps these statistics per {adjective} "
                f"bucket); got {value.isoformat()}"
            )
    return Grid(start, end, seconds, finest)


def hourly(grid: Grid, what: str) -> Grid:
    """The grid read at the hourly level and above (score histograms and drift are kept per hour)."""
    return make_grid(grid.start, grid.end, timedelta(seconds=grid.width), finest=1, what=what)


def check_size(windows: int, groups: int) -> None:
    if windows * groups > MAX_WINDOW_GROUPS:
        raise InvalidInputError(
            f"{windows:,} windows x {groups:,} groups is over the limit of {MAX_WINDOW_GROUPS:,} per request; use "
            f"longer windows, a shorter period or fewer sensitive attributes"
        )


# -- groups ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupMap:
    """Stored group ids mapped to the groups of the requested attributes."""

    keys: tuple[GroupKey, ...]
    ids: IntArray  # stored group ids
    codes: IntArray  # index into keys of each stored id


def group_map(store: Store, model: str, sensitive: Sequence[str]) -> GroupMap:
    names = [s.lower() for s in sensitive]
    groups = store.entries(model).groups
    ids = sorted(groups)
    keys = [tuple(groups[i].get(n) for n in names) for i in ids]
    distinct = sorted(set(keys), key=group_sort_key)
    position = {k: c for c, k in enumerate(distinct)}
    return GroupMap(
        keys=tuple(distinct),
        ids=np.asarray(ids, np.int64),
        codes=np.asarray([position[k] for k in keys], np.int64),
    )


def _codes_of(mapping: GroupMap, group_ids: np.ndarray) -> IntArray:
    index = np.searchsorted(mapping.ids, group_ids)
    index = np.clip(index, 0, max(mapping.ids.size - 1, 0))
    if mapping.ids.size == 0 or not np.array_equal(mapping.ids[index], group_ids):
        raise InvalidInputError("the store's groups changed during the read; read again")
    return mapping.codes[index]


# -- queries ------------------------------------------------------------------------------------------------------
def _level_sql(
    table: str,
    columns: str,
    level: int,
    grid: Grid,
    intervals: list[tuple[int, int]],
    series: Sequence[int],
    where: str = "",
) -> tuple[str, list[Any]]:
    size = LEVEL_SECONDS[level]
    window = f"CAST(floor((c.bucket * {size} - ?) / ?) AS BIGINT)"
    params: list[Any] = [_seconds(grid.start), float(grid.width)]
    ranges = " OR ".join("(c.bucket >= ? AND c.bucket < ?)" for _ in intervals)
    for lo, hi in intervals:
        params += [lo, hi]
    marks = ", ".join("?" * len(series))
    params += [*series, level, intervals[0][0], intervals[-1][1]]
    sql = (
        f"SELECT {window} AS w, {columns} FROM {table} c WHERE ({ranges}) AND c.series IN ({marks}) "
        f"AND c.level = ? AND c.bucket >= ? AND c.bucket < ? {where}"
    )
    return sql, params


def keys_alias(group_by: int) -> str:
    return ", ".join(["w", *(f"k{i}" for i in range(group_by - 1))])


def count_rows(store: Store, series: Sequence[int], grid: Grid) -> list[tuple[Any, ...]]:
    """``(window, group id, prediction id, label id, n)`` summed over the grid's buckets."""
    columns = "c.group_id AS k0, c.prediction AS k1, c.label AS k2, CAST(sum(c.n) AS BIGINT) AS v0"
    return _grouped(store, "rollup_counts", columns, 4, grid, series)


#: The six confusion cells of a window and group: (label state, prediction) summed in the database.
CELLS = (
    ("u0", "c.label = 0 AND c.prediction <> ?"),  # no outcome yet, predicted negative
    ("u1", "c.label = 0 AND c.prediction = ?"),
    ("tn", "c.label <> 0 AND c.label <> ? AND c.prediction <> ?"),
    ("fp", "c.label <> 0 AND c.label <> ? AND c.prediction = ?"),
    ("fn", "c.label = ? AND c.prediction <> ?"),
    ("tp", "c.label = ? AND c.prediction = ?"),
)


def confusion_cells(store: Store, series: Sequence[int], grid: Grid, mapping: GroupMap, pos_id: int) -> np.ndarray:
    """Rows ``(window, group, u0, u1, tn, fp, fn, tp)`` of the grid (groups as indices of ``mapping``'s
    keys): the rows the database sends are windows × groups, whatever the stored groups."""
    if not series or mapping.ids.size == 0:
        return np.zeros((0, 8), np.int64)
    if store.dialect == "postgres":
        groups = "unnest(?::bigint[], ?::bigint[]) AS g(gid, code)"
    else:
        groups = "(SELECT unnest(CAST(? AS BIGINT[])) AS gid, unnest(CAST(? AS BIGINT[])) AS code) g"
    sums = ", ".join(
        f"CAST(coalesce(sum(c.n) FILTER (WHERE {where}), 0) AS BIGINT) AS v{i}" for i, (_, where) in enumerate(CELLS)
    )
    parts, params = [], []
    for level, intervals in sorted(grid.intervals().items()):
        sql, p = _level_sql("rollup_counts", f"g.code AS k0, {sums}", level, grid, intervals, series)
        sql = sql.replace(
            "FROM rollup_counts c WHERE", f"FROM rollup_counts c JOIN {groups} ON g.gid = c.group_id WHERE"
        )
        cell_params = [pos_id] * sum(where.count("?") for _, where in CELLS)
        # parameters in the order they appear: window, the cells' sums, the groups, then the filters
        parts.append(f"{sql} GROUP BY 1, 2")
        params += p[:2] + cell_params + [mapping.ids.tolist(), mapping.codes.tolist()] + p[2:]
    if len(parts) == 1:
        return store.query_integers(parts[0], params, 8)
    outer = ", ".join(f"CAST(sum(v{i}) AS BIGINT)" for i in range(len(CELLS)))
    return store.query_integers(f"SELECT w, k0, {outer} FROM ({' UNION ALL '.join(parts)}) t GROUP BY 1, 2", params, 8)


def cells_from_rows(rows: Sequence[tuple[Any, ...]], mapping: GroupMap, pos_id: int) -> np.ndarray:
    """:func:`confusion_cells`' rows from ``(window, group id, prediction id, label id, n)`` rows."""
    if not rows:
        return np.zeros((0, 8), np.int64)
    window, group_id, predicted, label, n = (np.asarray(c, dtype=np.int64) for c in zip(*rows))
    code = _codes_of(mapping, group_id)
    cell = np.select(
        [
            (label == 0) & (predicted != pos_id),
            label == 0,
            (label != pos_id) & (predicted != pos_id),
            label != pos_id,
            predicted != pos_id,
        ],
        [0, 1, 2, 3, 4],
        5,
    )
    keys, inverse = np.unique(np.stack([window, code]), axis=1, return_inverse=True)
    out = np.zeros((keys.shape[1], 8), np.int64)
    out[:, :2] = keys.T
    np.add.at(out, (inverse.reshape(-1), 2 + cell), n)
    return out


def score_rows(store: Store, series: Sequence[int], grid: Grid, *, labelled_only: bool) -> list[tuple[Any, ...]]:
    """``(window, group id, prediction id, label id, bin, n, s1 nanos, s2 nanos)`` summed over the grid's buckets."""
    columns = (
        "c.group_id AS k0, c.prediction AS k1, c.label AS k2, c.bin AS k3, "
        "CAST(sum(c.n) AS BIGINT) AS v0, CAST(sum(c.s1) AS BIGINT) AS v1, CAST(sum(c.s2) AS BIGINT) AS v2"
    )
    return _grouped(store, "rollup_scores", columns, 5, grid, series, "AND c.label <> 0" if labelled_only else "")


def feature_rows(store: Store, series: Sequence[int], grid: Grid) -> list[tuple[Any, ...]]:
    """``(window, group id, feature id, code, n)`` summed over the grid's buckets (hourly and daily levels)."""
    columns = "c.group_id AS k0, c.feature AS k1, c.code AS k2, CAST(sum(c.n) AS BIGINT) AS v0"
    return _grouped(store, "rollup_features", columns, 4, grid, series)


def _grouped(
    store: Store, table: str, columns: str, keys: int, grid: Grid, series: Sequence[int], where: str = ""
) -> list[tuple[Any, ...]]:
    if not series:
        return []
    parts: list[str] = []
    params: list[Any] = []
    group_by = ", ".join(str(i + 1) for i in range(keys))
    for level, intervals in sorted(grid.intervals().items()):
        sql, p = _level_sql(table, columns, level, grid, intervals, series, where)
        parts.append(f"{sql} GROUP BY {group_by}")
        params += p
    if len(parts) == 1:
        return store.query(parts[0], params)
    values = columns.count("sum(")
    outer = ", ".join(f"CAST(sum(v{i}) AS BIGINT)" for i in range(values))
    return store.query(
        f"SELECT {keys_alias(keys)}, {outer} FROM ({' UNION ALL '.join(parts)}) t GROUP BY {group_by}", params
    )


def nanos(values: Any) -> np.ndarray:
    """Integer nanos as floats."""
    return np.asarray(values, dtype=np.float64) / NANO
