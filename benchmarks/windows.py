"""Benchmark: the 30-day × 1-hour window query against the raw SQL floor, on DuckDB and PostgreSQL.

What is measured, per store, in one run over the same stored events:

* **fairwatch**: ``window_metrics(store, "credit", window="1h", sensitive=["race"])`` — the call a
  dashboard makes: it finds the model's time range, checks the labels, runs the windowed aggregate
  and returns per-window metrics (selection rate, TPR, FPR, precision, accuracy) per group with label
  coverage; 720 windows × 5 groups;
* **floor**: the one ``GROUP BY`` a hand-written service would run to get the same confusion cells
  (hourly window, race, has-outcome, true label, prediction -> count) with the same join to the
  outcomes, fetched to Python, on a plain driver connection (no fairwatch code).

The events (default 10M for DuckDB, 2M for PostgreSQL; ``--duckdb-rows``/``--postgres-rows``) are
generated in the database: 30 days of predictions of one model with two sensitive attributes (race:
5 groups of unequal size, sex: 2), a score, a 0/1 prediction, and an outcome for 60% of them.
PostgreSQL uses a smaller default because generating and indexing 10M rows there takes minutes on a
2-core machine; the ratio is what is compared. Every timing is the best of ``--repeats`` runs, the
two contenders alternating so that both see the same machine load; fairwatch's result is checked
against the floor's cells before anything is reported.

Run it from the repository root::

    python benchmarks/windows.py                                   # DuckDB 10M, PostgreSQL 2M
    python benchmarks/windows.py --stores duckdb --duckdb-rows 1000000

Results are printed and written to ``benchmarks/results/windows.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import _machine
from fairwatch.monitor import Store, open_store, window_metrics
from fairwatch.monitor._store import LABELS_SEEN_BACKFILL

DAYS = 30
START = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
END = START + dt.timedelta(days=DAYS)
MODEL = "credit"
LABELLED_SHARE = 0.6
TARGET_RATIO = 1.5
DEFAULT_POSTGRES = os.environ.get("FAIRWATCH_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "windows.json"

# -- generating the events in the database ------------------------------------------------------------
# A 32-bit multiplicative hash of the row number stands in for random draws, identically in both SQL
# dialects: h(i, k) = ((i + k) * 2654435761) mod 2^32, scaled to [0, 1).
_HASH = "((({i} + {k}) * 2654435761) % 4294967296) / 4294967296.0"


def _u(i: str, k: int) -> str:
    return "(" + _HASH.format(i=i, k=k) + ")"


def _race(i: str) -> str:
    u = _u(i, 11)
    return (
        f"CASE WHEN {u} < 0.60 THEN 'White' WHEN {u} < 0.73 THEN 'Black' WHEN {u} < 0.91 THEN 'Hispanic' "
        f"WHEN {u} < 0.97 THEN 'Asian' ELSE 'Other' END"
    )


def _score(i: str) -> str:
    return f"(0.7 * {_u(i, 3)} + 0.3 * {_u(i, 5)})"


def _rows(n: int, dialect: str) -> tuple[str, str]:
    """A FROM clause of ``n`` numbered rows and the expression of the row number."""
    if dialect == "duckdb":
        return f"range({n}) t(i)", "i"
    return f"generate_series(0, {n - 1}) AS t(i)", "i::bigint"


def prediction_select(n: int, dialect: str) -> str:
    """SELECT of ``n`` predictions spread evenly over 30 days (seconds since START in ``offset``)."""
    seconds = DAYS * 86_400
    rows, i = _rows(n, dialect)
    if dialect == "duckdb":
        ts = f"TIMESTAMPTZ '{START.isoformat()}' + to_microseconds(CAST(i * {seconds * 1_000_000 // n} AS BIGINT))"
    else:
        ts = f"TIMESTAMPTZ '{START.isoformat()}' + make_interval(secs => i::double precision * {seconds} / {n})"
    score = _score(i)
    return (
        f"SELECT '{MODEL}' AS model, 'p' || {i} AS prediction_id, 'v1' AS model_version, {ts} AS ts, "
        f"CASE WHEN {score} >= 0.5 THEN '1' ELSE '0' END AS prediction, {score} AS score, "
        f"CASE WHEN {_u(i, 7)} < 0.5 THEN 'F' ELSE 'M' END AS s_sex, {_race(i)} AS s_race FROM {rows}"
    )


def outcome_select(n: int, dialect: str) -> str:
    """SELECT of the outcomes of 60% of the predictions (true label correlated with the score)."""
    rows, i = _rows(n, dialect)
    label = f"CASE WHEN {_u(i, 17)} < 0.25 + 0.5 * {_score(i)} THEN '1' ELSE '0' END"
    return (
        f"SELECT '' AS model, 'p' || {i} AS prediction_id, {label} AS label, "
        f"TIMESTAMPTZ '{END.isoformat()}' AS ts FROM {rows} WHERE {_u(i, 23)} < {LABELLED_SHARE}"
    )


COLUMNS = "model, prediction_id, model_version, ts, prediction, score, s_sex, s_race"


def fill(store: Store, target: str, n: int) -> float:
    """Generate the events directly into the store's tables (plain driver connection); seconds taken."""
    from fairwatch.monitor import PredictionEvent

    started = time.perf_counter()
    # one event through the store creates the sensitive columns the way ingest does; it is then deleted
    seed = PredictionEvent(
        prediction_id="seed", model=MODEL, timestamp=START, prediction=0, sensitive={"sex": "F", "race": "White"}
    )
    store.insert_predictions([seed])
    statements = [
        "DELETE FROM predictions WHERE prediction_id = 'seed'",
        f"INSERT INTO predictions ({COLUMNS}) {prediction_select(n, store.dialect)}",
        f"INSERT INTO outcomes (model, prediction_id, label, ts) {outcome_select(n, store.dialect)}",
        # rows written behind the store's back need what ingest also records: the labels seen per model
        LABELS_SEEN_BACKFILL,
    ]
    if store.dialect == "duckdb":
        import duckdb

        with duckdb.connect(target) as con:
            for statement in [*statements, "CHECKPOINT"]:
                con.execute(statement)
    else:
        import psycopg

        conninfo, schema = target.split("#", 1)
        with psycopg.connect(conninfo, options=f"-c search_path={schema}", autocommit=True) as conn:
            for statement in [*statements, "VACUUM ANALYZE predictions", "VACUUM ANALYZE outcomes"]:
                conn.execute(statement)  # type: ignore[arg-type]
    return time.perf_counter() - started


# -- the two contenders -------------------------------------------------------------------------------
def floor_sql(dialect: str) -> str:
    """The hand-written aggregate: confusion cells per hourly window and race."""
    epoch = "epoch(p.ts)" if dialect == "duckdb" else "extract(epoch FROM p.ts)"
    start = START.isoformat()
    group_by = "GROUP BY ALL" if dialect == "duckdb" else "GROUP BY 1, 2, 3, 4, 5"
    return (
        f"SELECT CAST(floor(({epoch} - {START.timestamp()}) / 3600) AS BIGINT) AS w, p.s_race, "
        f"o.label IS NOT NULL AS labelled, coalesce(o.label = '1', false) AS y, p.prediction = '1' AS y_pred, "
        f"count(*) AS n FROM predictions p LEFT JOIN outcomes o "
        f"ON o.prediction_id = p.prediction_id AND o.model IN (p.model, '') "
        f"WHERE p.model = '{MODEL}' AND p.ts >= TIMESTAMPTZ '{start}' AND p.ts < TIMESTAMPTZ '{END.isoformat()}' "
        f"{group_by}"
    )


def floor_runner(dialect: str, target: str) -> tuple[Callable[[], list[tuple[Any, ...]]], Callable[[], None]]:
    """A function running the floor query on a plain driver connection, and one closing it."""
    sql = floor_sql(dialect)
    if dialect == "duckdb":
        import duckdb

        con = duckdb.connect(target)
        return (lambda: con.execute(sql).fetchall()), con.close
    import psycopg

    conninfo, schema = target.split("#", 1)
    conn = psycopg.connect(conninfo, options=f"-c search_path={schema}", autocommit=True)
    return (lambda: conn.execute(sql).fetchall()), conn.close


def run_fairwatch(store: Store) -> list[Any]:
    return window_metrics(store, MODEL, window="1h", sensitive=["race"])


def check_same_cells(floor_rows: list[tuple[Any, ...]], windows: list[Any]) -> None:
    """fairwatch's per-window counts equal the floor's (predictions, labelled, positives per group)."""
    expected: dict[tuple[int, str], list[int]] = {}
    for w, race, labelled, _y, y_pred, n in floor_rows:
        cell = expected.setdefault((int(w), race), [0, 0, 0])
        cell[0] += int(n)
        cell[1] += int(n) if labelled else 0
        cell[2] += int(n) if y_pred else 0
    got: dict[tuple[int, str], list[int]] = {}
    for index, window in enumerate(windows):
        if window.stats is None:
            continue
        stats = window.stats
        for g, key in enumerate(stats.groups):
            labelled = int(stats.confusion_n[g].sum())
            got[(index, key[0])] = [int(stats.n[g]), labelled, int(stats.predictions[g][1])]
    if got != expected:
        differing = [k for k in set(got) | set(expected) if got.get(k) != expected.get(k)][:3]
        raise AssertionError(f"fairwatch and the floor disagree, e.g. at {differing}")


def best_of_each(fns: dict[str, Callable[[], Any]], repeats: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Best wall time of each function, run in turn each round (gc.collect() before each run)."""
    best = dict.fromkeys(fns, float("inf"))
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            started = time.perf_counter()
            results[name] = fn()
            best[name] = min(best[name], time.perf_counter() - started)
    return best, results


def time_parts(store: Store, repeats: int) -> dict[str, float]:
    """Where fairwatch's time goes: the aggregate alone (through the store) vs the whole call."""
    from fairwatch.monitor import CellQuery

    query = CellQuery(model=MODEL, start=START, end=END, width=3600, sensitive=("race",))
    best, _ = best_of_each(
        {
            "store.confusion_cells": lambda: store.confusion_cells(query),
            "window_metrics(start=, end=)": lambda: window_metrics(
                store, MODEL, window="1h", sensitive=["race"], start=START, end=END
            ),
        },
        repeats,
    )
    return best


def bench_store(kind: str, rows: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    schema = f"fw_bench_{uuid.uuid4().hex[:10]}"
    if kind == "duckdb":
        path = workdir / "windows.duckdb"
        url, target = f"duckdb://{path}", str(path)
    else:
        url, target = f"{args.postgres}?schema={schema}", f"{args.postgres}#{schema}"
    store = open_store(url)
    try:
        print(f"{kind}: generating {rows:,} predictions ...", flush=True)
        seconds = fill(store, target, rows)
        stored = store.count("predictions")
        labelled = store.count("outcomes")
        print(f"  {stored:,} predictions, {labelled:,} outcomes in {seconds:.1f} s", flush=True)
        run_floor, close_floor = floor_runner(kind, target)
        try:
            # warm both (caches, first-call costs), then time them alternately
            check_same_cells(run_floor(), run_fairwatch(store))
            best, results = best_of_each({"floor": run_floor, "fairwatch": lambda: run_fairwatch(store)}, args.repeats)
        finally:
            close_floor()
        windows = results["fairwatch"]
        parts = time_parts(store, args.repeats)
    finally:
        if kind == "postgres":
            with contextlib.suppress(Exception):
                store.drop_schema()  # type: ignore[attr-defined]
        store.close()
    groups = {key for w in windows if w.stats is not None for key in w.stats.groups}
    ratio = best["fairwatch"] / best["floor"]
    print(
        f"  floor {best['floor']:.3f} s, fairwatch {best['fairwatch']:.3f} s -> {ratio:.2f}× "
        f"({len(windows)} windows × {len(groups)} groups)",
        flush=True,
    )
    for name, value in parts.items():
        print(f"    {name}: {value:.3f} s", flush=True)
    return {
        "store": kind,
        "rows": stored,
        "outcomes": labelled,
        "generate_s": seconds,
        "windows": len(windows),
        "groups": len(groups),
        "floor_s": best["floor"],
        "fairwatch_s": best["fairwatch"],
        "fairwatch_over_floor": ratio,
        "goal": f"<= {TARGET_RATIO:g}× the floor",
        "met": ratio <= TARGET_RATIO,
        "parts_s": parts,
    }


def machine_info() -> dict[str, Any]:
    return _machine.machine_info("duckdb")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="duckdb,postgres", help="comma-separated: duckdb, postgres")
    parser.add_argument("--duckdb-rows", type=int, default=10_000_000)
    parser.add_argument("--postgres-rows", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=5, help="best of N (default 5)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL (a schema is created)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_info()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    workdir = Path(tempfile.mkdtemp(prefix="fairwatch-bench-"))
    results = []
    try:
        for kind in [s.strip() for s in args.stores.split(",") if s.strip()]:
            rows = args.duckdb_rows if kind == "duckdb" else args.postgres_rows
            results.append(bench_store(kind, rows, args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    header = f"{'store':<9} {'rows':>12} {'windows':>8} {'groups':>7} {'floor s':>9} {'fairwatch s':>12} {'ratio':>7}"
    print("\n" + header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['store']:<9} {r['rows']:>12,} {r['windows']:>8} {r['groups']:>7} {r['floor_s']:>9.3f} "
            f"{r['fairwatch_s']:>12.3f} {r['fairwatch_over_floor']:>6.2f}× "
            f"(goal <= {TARGET_RATIO:g}×: {'MET' if r['met'] else 'MISSED'})"
        )
    info["load_average_at_end"] = list(os.getloadavg())
    report = {
        "benchmark": "windows",
        "machine": info,
        "config": {
            "days": DAYS,
            "window": "1h",
            "sensitive": ["race"],
            "labelled_share": LABELLED_SHARE,
            "repeats": args.repeats,
            "timing": "best of N wall-clock runs, floor and fairwatch alternating, gc.collect() before each",
            "floor_sql": {"duckdb": floor_sql("duckdb"), "postgres": floor_sql("postgres")},
        },
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
