"""Window cells recomputed from the raw events, in the roll-ups' form (checks and benchmarks).

The same rows :func:`~fairwatch.monitor._cells.count_rows` and
:func:`~fairwatch.monitor._cells.score_rows` read from the roll-ups, but aggregated from every stored
event of the period, so the two can be compared number for number. Its cost grows with the events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fairwatch.monitor._cells import Grid, _seconds
from fairwatch.monitor._rollup import NANO, SCORE_BINS, dictionary_id

if TYPE_CHECKING:
    from fairwatch.monitor._store import Store

__all__ = ["raw_window_rows"]


def raw_window_rows(
    store: Store, model: str, model_version: str | None, grid: Grid, scored: bool
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """``(count rows, labelled score rows)`` of the grid, from the raw events."""
    epoch = "epoch(ts)" if store.dialect == "duckdb" else "extract(epoch FROM ts)"
    window = f"CAST(floor(({epoch} - ?) / ?) AS BIGINT)"
    where = "model = ? AND ts >= ? AND ts < ?" + (" AND model_version = ?" if model_version is not None else "")
    params: list[Any] = [_seconds(grid.start), float(grid.width), model, grid.start, grid.end]
    if model_version is not None:
        params.append(model_version)
    counts = store.query(
        f"SELECT {window}, group_id, prediction, label, count(*) FROM events WHERE {where} GROUP BY 1, 2, 3, 4", params
    )

    def label_id(text: str | None) -> int:
        return 0 if text is None else dictionary_id("l", model, "", text)

    count_rows = [(w, g, label_id(p), label_id(y), n) for w, g, p, y, n in counts]
    if not scored:
        return count_rows, []
    bins = f"LEAST(CAST(floor(score * {SCORE_BINS}) AS INTEGER), {SCORE_BINS - 1})"
    scores = store.query(
        f"SELECT {window}, group_id, prediction, label, {bins}, count(*), "
        f"CAST(sum(CAST(round(score * {NANO}) AS BIGINT)) AS BIGINT), "
        # (PostgreSQL refuses a product that underflows: a square far below a nano is 0 anyway)
        f"CAST(sum(CASE WHEN score < 1e-100 THEN 0 ELSE CAST(round(score * score * {NANO}) AS BIGINT) END) AS BIGINT) "
        f"FROM events WHERE {where} AND label IS NOT NULL AND score IS NOT NULL GROUP BY 1, 2, 3, 4, 5",
        params,
    )
    score_rows = [(w, g, label_id(p), label_id(y), b, n, s1, s2) for w, g, p, y, b, n, s1, s2 in scores]
    return count_rows, score_rows
