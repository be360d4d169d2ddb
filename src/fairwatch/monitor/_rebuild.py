"""Roll-ups from the raw events: rebuild them, check them, and upgrade a store of an earlier release.

All three read the stored events a day at a time and turn them into roll-up deltas with the same
code as ingest (:mod:`fairwatch.monitor._ingest`), so a rebuilt or checked roll-up is exactly what
ingest would have written.

* :func:`rebuild` recomputes a model's roll-ups from a day on (after a bug, or a change of bins).
  Each day is one transaction that deletes the day's roll-up rows and adds the recomputed ones, so an
  interrupted rebuild can be run again; on PostgreSQL ingest of the model waits for the day being
  rebuilt (an advisory lock), so no event is counted twice or missed.
* :func:`check` compares a model's roll-ups with a recomputation, in one snapshot.
* :func:`upgrade` moves a version-0 store (``predictions``/``outcomes`` tables, one column per
  sensitive attribute) to the current schema, a chunk of events per transaction with its progress
  recorded, so an interrupted upgrade resumes where it stopped. Events the current release refuses
  (a timestamp outside the supported range, a prediction or label that is not a finite number) are
  moved to the ``quarantine`` table with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from fairwatch._typing import IntArray
from fairwatch.exceptions import InvalidInputError, UnknownModelError
from fairwatch.monitor._dictionary import Entry
from fairwatch.monitor._events import EARLIEST, LATEST
from fairwatch.monitor._ingest import (
    IngestCounts,
    Transaction,
    apply_deltas,
    feature_rows,
    lock_model,
    write_entries,
)
from fairwatch.monitor._rollup import (
    COUNT_KEYS,
    FEATURE_KEYS,
    LEVEL_SECONDS,
    SCORE_KEYS,
    Contributions,
    Deltas,
    as_text,
    contribution_deltas,
    dictionary_id,
    feature_deltas,
    group_key_text,
    merge_deltas,
)

if TYPE_CHECKING:
    from fairwatch.monitor._store import Progress, Store

__all__ = ["RollupDifference", "check", "rebuild", "upgrade"]

_DAY = 86_400
_RAW_COLUMNS = "model, model_version, ts, prediction, score, features, group_id, label"
#: Non-finite numbers as an earlier release stored them (text of a float label).
_NON_FINITE = ("nan", "inf", "-inf", "NaN", "Infinity", "-Infinity")


def day_floor(value: datetime) -> datetime:
    seconds = int(value.timestamp()) // _DAY * _DAY
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


# -- raw rows -> deltas -------------------------------------------------------------------------------------
#: The raw columns the roll-ups are computed from, and their types.
RAW_SCHEMA = (
    ("model", "string"),
    ("model_version", "string"),
    ("ts", "timestamp"),
    ("prediction", "string"),
    ("score", "double"),
    ("features", "string"),
    ("group_id", "int64"),
    ("label", "string"),
)


def raw_table(rows: Sequence[tuple[Any, ...]]) -> Any:
    """Raw event rows ``(model, model_version, ts, prediction, score, features, group_id, label)`` as a
    pyarrow table."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "double": pa.float64(),
        "int64": pa.int64(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }
    columns = list(zip(*rows)) if rows else [()] * len(RAW_SCHEMA)
    return pa.table({name: pa.array(list(values), types[kind]) for (name, kind), values in zip(RAW_SCHEMA, columns)})


def _as_raw(table: Any) -> Any:
    """A fetched table with the :data:`RAW_SCHEMA` types (an empty or all-null column has none of its own)."""
    return table.select([name for name, _ in RAW_SCHEMA]).cast(raw_table([]).schema)


def _ids(kind: str, models: Any, values: Any, needed: dict[int, Entry]) -> IntArray:
    """Dictionary ids of ``(model, value)`` pairs (0 where the value is null), one hash per distinct pair."""
    import pyarrow.compute as pc

    pairs = pc.binary_join_element_wise(models, pc.fill_null(values, "\x00"), "\x1f")
    encoded = pc.dictionary_encode(pairs).combine_chunks()
    ids = []
    for text in encoded.dictionary.to_pylist():
        model, value = text.split("\x1f", 1)
        if value == "\x00":
            ids.append(0)
            continue
        entry = Entry(kind, model, "", value)
        needed[entry.id] = entry
        ids.append(entry.id)
    return (
        np.asarray(ids, np.int64)[encoded.indices.to_numpy(zero_copy_only=False)]
        if len(encoded)
        else np.zeros(0, np.int64)
    )


def raw_deltas(table: Any, store: Store, counts: IngestCounts, tx: Transaction | None = None) -> Deltas:
    """Deltas of raw events (a table with the :data:`RAW_SCHEMA` columns), as ingest computes them.

    Dictionary entries the events need are written in ``tx`` (none when ``tx`` is None: a check, where
    an unknown entry can only mean a difference)."""
    import pyarrow as pa

    if table.num_rows == 0:
        return Deltas()
    needed: dict[int, Entry] = {}
    models = table.column("model")
    contributions = Contributions(
        series=_ids("s", models, table.column("model_version"), needed),
        group_id=table.column("group_id").to_numpy(zero_copy_only=False).astype(np.int64),
        prediction=_ids("l", models, table.column("prediction"), needed),
        label=_ids("l", models, table.column("label"), needed),
        ts_us=table.column("ts").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy(zero_copy_only=False),
        score=table.column("score").to_numpy(zero_copy_only=False).astype(np.float64),
        sign=np.ones(table.num_rows, np.int64),
    )
    texts = table.column("features").to_pylist()
    present = [i for i, text in enumerate(texts) if text is not None]
    if present:
        names = models.to_pylist()
        features: list[dict[str, Any] | None] = [None] * len(texts)
        for i in present:
            features[i] = json.loads(texts[i])
        found = feature_rows(names, features, store.dictionary, needed)
    else:
        found = (np.zeros(0, np.int64),) * 3
    if tx is not None:
        write_entries(tx, store.dictionary, needed, counts, check=False)
    deltas = contribution_deltas(contributions)
    index, feature, code = found
    if index.size:
        deltas.features = feature_deltas(
            contributions.series[index], contributions.group_id[index], contributions.ts_us[index], feature, code
        )
    return deltas


def _days(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    day = day_floor(start)
    while day < end:
        yield day, day + timedelta(days=1)
        day += timedelta(days=1)


def _model_range(store: Store, model: str) -> tuple[datetime, datetime] | None:
    rows = store.query("SELECT min(ts), max(ts) FROM events WHERE model = ? AND ts IS NOT NULL", [model])
    if not rows or rows[0][0] is None:
        return None
    return _utc(rows[0][0]), _utc(rows[0][1])


def _bucket_bounds(start: datetime, end: datetime) -> list[tuple[int, int, int]]:
    """``(level, first bucket, end bucket)`` of the buckets inside ``[start, end)`` (whole days)."""
    s, e = int(start.timestamp()), int(end.timestamp())
    return [(level, s // seconds, e // seconds) for level, seconds in enumerate(LEVEL_SECONDS)]


def _delete_rollups(tx: Transaction, series: Sequence[int], start: datetime, end: datetime) -> None:
    marks = ", ".join("?" * len(series))
    for table in ("rollup_counts", "rollup_scores", "rollup_features"):
        for level, lo, hi in _bucket_bounds(start, end):
            tx.execute(
                f"DELETE FROM {table} WHERE series IN ({marks}) AND level = ? AND bucket >= ? AND bucket < ?",
                [*series, level, lo, hi],
            )


def rebuild(store: Store, model: str, since: datetime | None = None, progress: Progress | None = None) -> int:
    """Recompute ``model``'s roll-ups from its raw events, from the day of ``since`` (default: its
    first stored event) on; returns the events read.

    Raises
    ------
    fairwatch.exceptions.UnknownModelError
        When no raw event of the model is stored.
    fairwatch.exceptions.InvalidInputError
        When ``since`` is before the raw retention horizon (the roll-ups there could not be recomputed).
    """
    found = _model_range(store, model)
    if found is None:
        raise UnknownModelError(f"unknown model {model!r}: no raw events stored for it")
    kept = raw_horizon(store)
    if since is not None and since.tzinfo is None:
        raise InvalidInputError(f"since must include a timezone (e.g. 2024-05-01T00:00:00Z); got {since}")
    start = day_floor(since or found[0])
    if kept is not None and start < kept:
        raise InvalidInputError(
            f"raw events before {kept.isoformat()} were deleted by the raw retention; rebuild from that day on "
            f"(--since {kept.date().isoformat()}) so the roll-ups before it are kept"
        )
    days = list(_days(start, found[1] + timedelta(microseconds=1)))
    done_rows = 0
    for index, (d0, d1) in enumerate(days):
        done_rows += _rebuild_day(store, model, d0, d1)
        if progress is not None:
            progress("rebuild", index + 1, len(days))
    store.forget_dictionary(model)
    return done_rows


def _rebuild_day(store: Store, model: str, d0: datetime, d1: datetime) -> int:
    counts = IngestCounts()
    with store._transaction() as tx:
        lock_model(tx, model, exclusive=True)
        rows = _as_raw(
            tx.fetch_table(f"SELECT {_RAW_COLUMNS} FROM events WHERE model = ? AND ts >= ? AND ts < ?", [model, d0, d1])
        )
        series = sorted(
            {
                dictionary_id("s", model, "", v)
                for (v,) in store.query("SELECT DISTINCT value FROM dictionary WHERE kind = 's' AND model = ?", [model])
            }
            | {dictionary_id("s", model, "", r[1]) for r in rows}
        )
        if series:
            _delete_rollups(tx, series, d0, d1)
        apply_deltas(tx, raw_deltas(rows, store, counts, tx))
    store.dictionary.admit(counts.new_entries)
    return int(rows.num_rows)


# -- checks ------------------------------------------------------------------------------------------------
@dataclass
class RollupDifference:
    """Roll-up rows of one table that differ from the recomputation (key -> (stored, recomputed))."""

    table: str
    rows: dict[tuple[int, ...], tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)


def check(store: Store, model: str, progress: Progress | None = None) -> list[RollupDifference]:
    """Compare ``model``'s roll-ups with a recomputation from its raw events (days the raw retention
    still keeps); an empty list means they agree exactly."""
    found = _model_range(store, model)
    if found is None:
        raise UnknownModelError(f"unknown model {model!r}: no raw events stored for it")
    kept = raw_horizon(store)
    start = max(day_floor(found[0]), kept) if kept is not None else day_floor(found[0])
    end = day_floor(found[1]) + timedelta(days=1)
    days = list(_days(start, end))
    parts: list[Deltas] = []
    counts = IngestCounts()
    for index, (d0, d1) in enumerate(days):
        with store._transaction() as tx:  # one snapshot per day
            rows = _as_raw(
                tx.fetch_table(
                    f"SELECT {_RAW_COLUMNS} FROM events WHERE model = ? AND ts >= ? AND ts < ?", [model, d0, d1]
                )
            )
        parts.append(raw_deltas(rows, store, counts))
        if progress is not None:
            progress("check", index + 1, len(days))
    recomputed = merge_deltas(parts)
    series = store.series_ids(model)
    return _compare(store, recomputed, series, start, end)


def _compare(
    store: Store, recomputed: Deltas, series: Sequence[int], start: datetime, end: datetime
) -> list[RollupDifference]:
    out = []
    marks = ", ".join("?" * max(len(series), 1))
    for table, keys, sums in (
        ("counts", COUNT_KEYS, ("n",)),
        ("scores", SCORE_KEYS, ("n", "s1", "s2")),
        ("features", FEATURE_KEYS, ("n",)),
    ):
        expected: dict[tuple[int, ...], tuple[int, ...]] = {}
        table_rows = getattr(recomputed, table)
        if table_rows:
            columns = [table_rows[k] for k in keys] + [table_rows[s] for s in sums]
            for row in zip(*(c.tolist() for c in columns)):
                if any(row[len(keys) :]):
                    expected[tuple(row[: len(keys)])] = tuple(row[len(keys) :])
        stored: dict[tuple[int, ...], tuple[int, ...]] = {}
        for level, lo, hi in _bucket_bounds(start, end):
            for row in store.query(
                f"SELECT {', '.join(keys)}, {', '.join(sums)} FROM rollup_{table} WHERE series IN ({marks}) "
                f"AND level = ? AND bucket >= ? AND bucket < ?",
                [*(series or [0]), level, lo, hi],
            ):
                values = tuple(int(v) for v in row[len(keys) :])
                if any(values):
                    stored[tuple(int(v) for v in row[: len(keys)])] = values
        differing = {
            key: (stored.get(key, ()), expected.get(key, ()))
            for key in set(stored) | set(expected)
            if stored.get(key) != expected.get(key)
        }
        if differing:
            out.append(RollupDifference(table, differing))
    return out


def raw_horizon(store: Store) -> datetime | None:
    """The day from which raw events are all kept (None: no raw event was ever deleted by retention)."""
    rows = store.query("SELECT value FROM store_meta WHERE key = 'raw_kept_since'")
    return datetime.fromisoformat(rows[0][0]) if rows else None


# -- upgrading a version-0 store ----------------------------------------------------------------------------------
def upgrade(store: Store, progress: Progress | None = None) -> None:
    """Bring a store written by an earlier release to the current schema (nothing to do for a current one)."""
    from fairwatch.monitor._schema import SCHEMA_VERSION

    rows = store.query("SELECT value FROM store_meta WHERE key = 'schema_version'")
    if rows and int(rows[0][0]) >= SCHEMA_VERSION:
        return
    if "predictions" in store._tables():
        _upgrade_from_v0(store, progress)
    with store._transaction() as tx:
        tx.execute("DELETE FROM store_meta WHERE key = 'schema_version'")
        tx.execute("INSERT INTO store_meta (key, value) VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])


def _v0_sensitive_columns(store: Store) -> list[str]:
    if store.dialect == "duckdb":
        rows = store.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'predictions' "
            "AND table_schema = current_schema() ORDER BY column_name"
        )
    else:
        rows = store.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'predictions' "
            "AND table_schema = current_schema() ORDER BY column_name"
        )
    return [r[0] for r in rows if r[0].startswith("s_")]


def _quarantine_v0(store: Store) -> None:
    """Move version-0 events the current release would refuse into ``quarantine``."""
    text_ts = "CAST(p.ts AS VARCHAR)" if store.dialect == "duckdb" else "CAST(p.ts AS TEXT)"
    bad_time = "(p.ts < ? OR p.ts >= ?)"
    bad_label = "p.prediction IN (" + ", ".join("?" * len(_NON_FINITE)) + ")"
    columns = ", ".join(
        ["p.model", "p.prediction_id", text_ts, "p.prediction", "CAST(p.score AS VARCHAR)", "p.features"]
    )
    if store.dialect == "postgres":
        columns = columns.replace("AS VARCHAR", "AS TEXT")
    params = [EARLIEST, LATEST, *_NON_FINITE]
    rows = store.query(f"SELECT {columns} FROM predictions p WHERE {bad_time} OR {bad_label}", params)
    bad_outcomes = store.query(
        "SELECT o.model, o.prediction_id, o.label FROM outcomes o WHERE o.label IN ("
        + ", ".join("?" * len(_NON_FINITE))
        + ") OR o.ts < ? OR o.ts >= ?",
        [*_NON_FINITE, EARLIEST, LATEST],
    )
    if not rows and not bad_outcomes:
        return
    with store._transaction() as tx:
        for model, pid, ts, predicted, score, features in rows:
            reason = "prediction is not a finite number" if predicted in _NON_FINITE else "timestamp outside 1970-2199"
            event = json.dumps({"timestamp": ts, "prediction": predicted, "score": score, "features": features})
            tx.execute(
                "INSERT INTO quarantine (model, prediction_id, reason, event) VALUES (?, ?, ?, ?)",
                [model, pid, reason, event],
            )
        tx.execute(f"DELETE FROM predictions p WHERE {bad_time} OR {bad_label}", params)
        for model, pid, label in bad_outcomes:
            event = json.dumps({"label": label})
            tx.execute(
                "INSERT INTO quarantine (model, prediction_id, reason, event) VALUES (?, ?, ?, ?)",
                [model, pid, "outcome label or timestamp the current release refuses", event],
            )
        tx.execute(
            "DELETE FROM outcomes WHERE label IN (" + ", ".join("?" * len(_NON_FINITE)) + ") OR ts < ? OR ts >= ?",
            [*_NON_FINITE, EARLIEST, LATEST],
        )


def _upgrade_from_v0(store: Store, progress: Progress | None) -> None:
    text = "VARCHAR" if store.dialect == "duckdb" else "TEXT"
    with store._transaction() as tx:  # a store from before outcomes were stored has no table for them
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS outcomes (model {text} NOT NULL DEFAULT '', prediction_id {text} NOT NULL, "
            f"label {text} NOT NULL, ts TIMESTAMPTZ NOT NULL)"
        )
    _quarantine_v0(store)
    sensitive = _v0_sensitive_columns(store)
    total = int(store.query("SELECT count(*) FROM predictions")[0][0])
    done_rows = store.query("SELECT value FROM store_meta WHERE key = 'upgrade_v0_days'")
    finished = set(json.loads(done_rows[0][0])) if done_rows else set()
    days = [
        (r[0], _utc(r[1]), int(r[2]))
        for r in store.query(
            "SELECT model, min(ts), count(*) FROM predictions GROUP BY model, "
            + (
                "CAST(epoch(ts) AS BIGINT) // 86400"
                if store.dialect == "duckdb"
                else "floor(extract(epoch FROM ts) / 86400)"
            )
            + " ORDER BY 1, 2"
        )
    ]
    done = sum(n for model, first, n in days if f"{model}|{day_floor(first).date()}" in finished)
    if progress is not None:
        progress("upgrade", done, total)
    columns = ", ".join(f'p."{c}"' for c in sensitive)
    select = (
        "SELECT p.model, p.prediction_id, p.model_version, p.ts, p.prediction, p.score, p.features, "
        "coalesce(om.label, o0.label), coalesce(om.ts, o0.ts)"
        + (f", {columns}" if columns else "")
        + " FROM predictions p LEFT JOIN outcomes om ON om.prediction_id = p.prediction_id AND om.model = p.model "
        "LEFT JOIN outcomes o0 ON o0.prediction_id = p.prediction_id AND o0.model = '' "
        "WHERE p.model = ? AND p.ts >= ? AND p.ts < ?"
    )
    for model, first, n in days:
        marker = f"{model}|{day_floor(first).date()}"
        if marker in finished:
            continue
        d0 = day_floor(first)
        rows = store.query(select, [model, d0, d0 + timedelta(days=1)])
        _upgrade_day(store, rows, [c[2:] for c in sensitive], marker, finished)
        done += n
        if progress is not None:
            progress("upgrade", done, total)
    _upgrade_orphans(store)
    with store._transaction() as tx:
        for table in ("predictions", "outcomes", "labels_seen", "feature_names"):
            tx.execute(f"DROP TABLE IF EXISTS {table}")
        tx.execute("DELETE FROM store_meta WHERE key = 'upgrade_v0_days'")
    store.forget_dictionary()


def _upgrade_day(
    store: Store, rows: Sequence[tuple[Any, ...]], attributes: list[str], marker: str, finished: set[str]
) -> None:
    import pyarrow as pa

    counts = IngestCounts()
    needed: dict[int, Entry] = {}
    groups: list[int] = []
    for row in rows:
        pairs = [(name, as_text(v)) for name, v in zip(attributes, row[9:]) if v is not None]
        entry = Entry("g", row[0], "", group_key_text(pairs))
        needed[entry.id] = entry
        groups.append(entry.id)
    events = {
        "prediction_id": [r[1] for r in rows],
        "model": [r[0] for r in rows],
        "model_version": [r[2] or "" for r in rows],
        "ts": [_utc(r[3]) for r in rows],
        "prediction": [r[4] for r in rows],
        "score": pa.array([r[5] for r in rows], pa.float64()),
        "features": [r[6] for r in rows],
        "group_id": groups,
        "label": [r[7] for r in rows],
        "label_ts": pa.array([None if r[8] is None else _utc(r[8]) for r in rows], pa.timestamp("us", tz="UTC")),
    }
    raw = [(r[0], r[2] or "", r[3], r[4], r[5], r[6], g, r[7]) for r, g in zip(rows, groups)]
    finished.add(marker)
    with store._transaction() as tx:
        write_entries(tx, store.dictionary, needed, counts, check=False)
        if rows:
            tx.stage("staging_upgrade", events)
            names = ", ".join(events)
            tx.execute(f"INSERT INTO events ({names}) SELECT {names} FROM staging_upgrade ON CONFLICT DO NOTHING")
            apply_deltas(tx, raw_deltas(raw_table(raw), store, counts, tx))
        tx.execute("DELETE FROM store_meta WHERE key = 'upgrade_v0_days'")
        tx.execute("INSERT INTO store_meta (key, value) VALUES ('upgrade_v0_days', ?)", [json.dumps(sorted(finished))])
    store.dictionary.admit(counts.new_entries)


def _upgrade_orphans(store: Store) -> None:
    """Outcomes whose prediction never arrived: placeholders (with a model) or pending (without)."""
    with store._transaction() as tx:
        tx.execute(
            "INSERT INTO events (prediction_id, model, label, label_ts) SELECT o.prediction_id, o.model, o.label, o.ts "
            "FROM outcomes o WHERE o.model <> '' AND NOT EXISTS (SELECT 1 FROM predictions p "
            "WHERE p.prediction_id = o.prediction_id AND p.model = o.model) ON CONFLICT DO NOTHING"
        )
        tx.execute(
            "INSERT INTO pending_outcomes (prediction_id, label, label_ts) SELECT o.prediction_id, o.label, o.ts "
            "FROM outcomes o WHERE o.model = '' AND NOT EXISTS (SELECT 1 FROM predictions p "
            "WHERE p.prediction_id = o.prediction_id) ON CONFLICT DO NOTHING"
        )
