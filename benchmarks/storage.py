"""Benchmark: storage per event, with and without raw retention, on DuckDB and PostgreSQL.

One day of traffic of one model (``--events`` predictions, default 1M: about 12 a second) goes
through the store's ingest path in 5,000-event batches: two sensitive attributes (10 groups), a score,
a 0/1 prediction, three features (two numbers, one text), and an outcome for 60% of the predictions.
Then the sizes of the raw events and of the roll-ups are measured; then the raw events are deleted (what
``--raw-retention`` does once they are old) and the roll-ups measured again. The roll-ups of a day
depend on buckets × groups × cells, not on the number of events: with raw retention a store grows by
them alone.

PostgreSQL sizes are ``pg_total_relation_size`` (tables, indexes, TOAST) after ``VACUUM``; DuckDB
sizes are the used blocks of the file after a checkpoint (``PRAGMA database_size``; the file itself
keeps its free blocks for reuse).

Run it from the repository root::

    python benchmarks/storage.py                      # 1M events, DuckDB and PostgreSQL
    python benchmarks/storage.py --events 200000 --stores duckdb

Results are printed and written to ``benchmarks/results/storage.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import _machine
from fairwatch.monitor import OutcomeEvent, PredictionEvent, Store, open_store

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)
BATCH = 5000
DEFAULT_POSTGRES = os.environ.get("FAIRWATCH_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "storage.json"
RAW_TABLES = ("events", "pending_outcomes")
#: Without raw events the store is its roll-ups and dictionary (the space of deleted raw rows is reused).
ROLLUP_TABLES = ("rollup_counts", "rollup_scores", "rollup_features", "dictionary")


def fill(store: Store, n: int) -> float:
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for first in range(0, n, BATCH):
        size = min(BATCH, n - first)
        score = rng.random(size)
        sex = rng.choice(np.array(["F", "M"]), size)
        race = rng.choice(np.array(["A", "B", "C", "D", "E"]), size, p=[0.6, 0.13, 0.18, 0.06, 0.03])
        age = rng.integers(18, 90, size)
        income = rng.uniform(10_000, 200_000, size).round(2)
        region = rng.choice(np.array(["north", "south", "east", "west"]), size)
        predictions = [
            PredictionEvent(
                prediction_id=f"p{first + i}",
                model="credit",
                model_version="v3",
                timestamp=T0 + DAY * ((first + i) / n),
                prediction=int(score[i] >= 0.5),
                score=round(float(score[i]), 4),
                sensitive={"sex": str(sex[i]), "race": str(race[i])},
                features={"age": int(age[i]), "income": float(income[i]), "region": str(region[i])},
            )
            for i in range(size)
        ]
        store.insert_predictions(predictions)
        store.insert_outcomes(
            [
                OutcomeEvent(
                    prediction_id=p.prediction_id, model="credit", label=int(rng.random() < 0.5), timestamp=T0 + 2 * DAY
                )
                for p in predictions
                if rng.random() < 0.6
            ]
        )
    return time.perf_counter() - started


def sizes(store: Store, url: str) -> dict[str, int]:
    """Bytes of each table (PostgreSQL) or of the used database blocks (DuckDB: ``total``)."""
    if store.dialect == "postgres":
        import psycopg

        conninfo, schema = url.split("?schema=")
        with psycopg.connect(conninfo, options=f"-c search_path={schema}", autocommit=True) as conn:
            for table in (*RAW_TABLES, *ROLLUP_TABLES):
                conn.execute(f"VACUUM {table}")  # type: ignore[arg-type]
            return {
                table: int(conn.execute("SELECT pg_total_relation_size(%s)", [f"{schema}.{table}"]).fetchone()[0])  # type: ignore[index]
                for table in (*RAW_TABLES, *ROLLUP_TABLES)
            }
    store.query("CHECKPOINT")
    (row,) = store.query("PRAGMA database_size")
    columns = [d for d in ("database_name", "database_size", "block_size", "total_blocks", "used_blocks")]
    info = dict(zip(columns, row))
    return {"total": int(info["block_size"]) * int(info["used_blocks"])}


def rows(store: Store) -> dict[str, int]:
    return {t: int(store.query(f"SELECT count(*) FROM {t}")[0][0]) for t in (*RAW_TABLES, *ROLLUP_TABLES)}


def bench(kind: str, n: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = (
        f"duckdb://{workdir / 'storage.duckdb'}"
        if kind == "duckdb"
        else f"{args.postgres}?schema=fw_storage_{uuid.uuid4().hex[:8]}"
    )
    store = open_store(url, max_future_skew=None)
    try:
        print(f"{kind}: ingesting {n:,} predictions ...", flush=True)
        seconds = fill(store, n)
        with_raw, rows_with_raw = sizes(store, url), rows(store)
        store.prune_raw(T0 + 10 * DAY)
        without_raw, rows_without_raw = sizes(store, url), rows(store)
    finally:
        if kind == "postgres":
            store.drop_schema()  # type: ignore[attr-defined]
        store.close()
    total_with = sum(with_raw.values())
    total_without = sum(v for k, v in without_raw.items() if k not in RAW_TABLES)
    result = {
        "store": kind,
        "events": n,
        "ingest_s": seconds,
        "bytes_with_raw": with_raw,
        "bytes_without_raw": without_raw,
        "rows_with_raw": rows_with_raw,
        "rows_without_raw": rows_without_raw,
        "bytes_per_event_with_raw": total_with / n,
        "bytes_per_event_without_raw": total_without / n,
        "mb_per_million_events_a_day_with_raw": total_with / n * 1e6 / 2**20,
        "mb_per_day_rollups_only": total_without / 2**20,
    }
    print(
        f"  with raw events {total_with / 2**20:,.1f} MB ({result['bytes_per_event_with_raw']:.0f} B/event); "
        f"roll-ups only {total_without / 2**20:,.1f} MB ({result['bytes_per_event_without_raw']:.1f} B/event)",
        flush=True,
    )
    return result


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--stores", default="duckdb,postgres")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    info = _machine.machine_info("duckdb", "psycopg")
    workdir = Path(tempfile.mkdtemp(prefix="fairwatch-bench-"))
    try:
        results = [bench(kind, args.events, args, workdir) for kind in args.stores.split(",") if kind]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    info["load_average_at_end"] = list(os.getloadavg())
    report = {"benchmark": "storage", "machine": info, "config": {"events": args.events, "days": 1}, "results": results}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
