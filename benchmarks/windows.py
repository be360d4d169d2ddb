"""Benchmark: the 30-day × 1-hour windowed metrics of one model, read from the roll-ups, as the stored
events grow — beside the same read recomputed from the raw events.

What is measured, per store and size, in one run over the same stored events:

* **read**: ``window_metrics(store, "credit", window="1h", sensitive=["race"], ci=0.95)`` from the
  roll-ups: 720 windows × 5 groups, selection rate, TPR, FPR, precision and accuracy with Wilson,
  Newcombe and MOVER-R intervals, disparities and label coverage, all computed; p50 and p90 of
  ``--repeats`` runs;
* **read + answer**: the same and the answer of every window as Python objects (``to_dict()``, what
  ``GET /v1/models/credit/metrics`` serialises: 2.6 MB of JSON for 720 windows);
* **raw recompute**: the same call with ``source="raw"``, which aggregates every stored event of the
  30 days (what every read cost before the roll-ups); best of 3 runs (fewer at 100M);
* **api**: the same request through the service in-process (``TestClient``), p50.

The two answers are compared number for number before anything is reported.

The events (30 days, one model, race with 5 groups of unequal size and sex, a score, a 0/1 prediction,
an outcome for 60% of them) are generated in the database by SQL; their roll-ups are then built by
fairwatch itself (``rebuild``, the code of ``fairwatch rollups rebuild``), a day at a time.

Run it from the repository root::

    python benchmarks/windows.py                                      # DuckDB 1M,10M,100M; PostgreSQL 1M,10M
    python benchmarks/windows.py --duckdb-sizes 1M --postgres-sizes 1M

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
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import _machine
from fairwatch.monitor import Store, open_store, window_metrics
from fairwatch.monitor._dictionary import Entry
from fairwatch.monitor._ingest import IngestCounts, write_entries
from fairwatch.monitor._rebuild import rebuild
from fairwatch.monitor._rollup import group_key_text

DAYS = 30
START = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
END = START + dt.timedelta(days=DAYS)
MODEL = "credit"
VERSION = "v1"
LABELLED_SHARE = 0.6
RACES = ("White", "Black", "Hispanic", "Asian", "Other")
GOAL_MS = 50.0
GOAL_FLAT = 1.5
DEFAULT_POSTGRES = os.environ.get("FAIRWATCH_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "windows.json"
READ = {"window": "1h", "sensitive": ["race"], "ci": 0.95, "start": START, "end": END}

# -- generating the events in the database ------------------------------------------------------------
# A 32-bit multiplicative hash of the row number stands in for random draws, identically in both SQL
# dialects: h(i, k) = ((i + k) * 2654435761) mod 2^32, scaled to [0, 1).
_HASH = "((({i} + {k}) * 2654435761) % 4294967296) / 4294967296.0"


def _u(i: str, k: int) -> str:
    return "(" + _HASH.format(i=i, k=k) + ")"


def _groups() -> dict[tuple[str, str], Entry]:
    return {
        (race, sex): Entry("g", MODEL, "", group_key_text([("race", race), ("sex", sex)]))
        for race in RACES
        for sex in ("F", "M")
    }


def _group_id(i: str) -> str:
    u_race, u_sex = _u(i, 11), _u(i, 7)
    cases = []
    for race, cut in zip(RACES, (0.60, 0.73, 0.91, 0.97, 1.01)):
        ids = {sex: _groups()[(race, sex)].id for sex in ("F", "M")}
        cases.append(f"WHEN {u_race} < {cut} THEN (CASE WHEN {u_sex} < 0.5 THEN {ids['F']} ELSE {ids['M']} END)")
    return "CASE " + " ".join(cases) + " END"


def _score(i: str) -> str:
    return f"(0.7 * {_u(i, 3)} + 0.3 * {_u(i, 5)})"


def events_select(n: int, dialect: str) -> str:
    """SELECT of ``n`` events spread evenly over 30 days, 60% with an outcome."""
    seconds = DAYS * 86_400
    if dialect == "duckdb":
        rows, i = f"range({n}) t(i)", "i"
        ts = f"TIMESTAMPTZ '{START.isoformat()}' + to_microseconds(CAST(i * {seconds * 1_000_000 // n} AS BIGINT))"
    else:
        rows, i = f"generate_series(0, {n - 1}) AS t(i)", "i::bigint"
        ts = f"TIMESTAMPTZ '{START.isoformat()}' + make_interval(secs => i::double precision * {seconds} / {n})"
    score = _score(i)
    outcome = f"CASE WHEN {_u(i, 17)} < 0.25 + 0.5 * {score} THEN '1' ELSE '0' END"
    label = f"CASE WHEN {_u(i, 23)} < {LABELLED_SHARE} THEN ({outcome}) END"
    return (
        f"SELECT 'p' || {i} AS prediction_id, '{MODEL}' AS model, '{VERSION}' AS model_version, {ts} AS ts, "
        f"CASE WHEN {score} >= 0.5 THEN '1' ELSE '0' END AS prediction, {score} AS score, "
        f"CAST(NULL AS TEXT) AS features, {_group_id(i)} AS group_id, {label} AS label, "
        f"CASE WHEN {_u(i, 23)} < {LABELLED_SHARE} THEN TIMESTAMPTZ '{END.isoformat()}' END AS label_ts FROM {rows}"
    )


def fill(store: Store, url: str, n: int) -> dict[str, float]:
    """Generate ``n`` events with SQL, then build their roll-ups with fairwatch; seconds of each step."""
    columns = "prediction_id, model, model_version, ts, prediction, score, features, group_id, label, label_ts"
    started = time.perf_counter()
    with store._transaction() as tx:
        entries = [*_groups().values(), Entry("s", MODEL, "", VERSION)]
        entries += [Entry("l", MODEL, "", label) for label in ("0", "1")]
        write_entries(tx, store.dictionary, {e.id: e for e in entries}, IngestCounts(), check=False)
        tx.execute(f"INSERT INTO events ({columns}) {events_select(n, store.dialect)}")
    if store.dialect == "postgres":
        import psycopg

        conninfo, schema = url.split("?schema=")
        with psycopg.connect(conninfo, options=f"-c search_path={schema}", autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE events")
    generated = time.perf_counter() - started
    store.forget_dictionary()
    started = time.perf_counter()
    rebuild(store, MODEL)
    built = time.perf_counter() - started
    if store.dialect == "postgres":
        with psycopg.connect(conninfo, options=f"-c search_path={schema}", autocommit=True) as conn:
            for table in ("rollup_counts", "rollup_scores", "rollup_features", "dictionary"):
                conn.execute(f"VACUUM ANALYZE {table}")  # type: ignore[arg-type]
    return {"generate_s": generated, "rollups_s": built}


# -- the measurements ---------------------------------------------------------------------------------------------
def timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


def read(store: Store, source: str = "rollups") -> list[dict[str, Any]]:
    return [w.to_dict() for w in window_metrics(store, MODEL, source=source, **READ)]  # type: ignore[arg-type]


def compute(store: Store) -> Any:
    return window_metrics(store, MODEL, **READ)  # type: ignore[arg-type]


def api_reader(store: Store) -> tuple[Callable[[], Any], Callable[[], None]]:
    from fastapi.testclient import TestClient

    from fairwatch.server import Settings, create_app

    client = TestClient(create_app(Settings(api_keys="bench-read:read"), store=store))
    client.__enter__()
    params = {"sensitive": "race", "window": "1h", "ci": 0.95, "start": START.isoformat(), "end": END.isoformat()}

    def get() -> Any:
        r = client.get("/v1/models/credit/metrics", params=params, headers={"Authorization": "Bearer bench-read"})
        assert r.status_code == 200, r.text
        return r.content  # the bytes a client receives (decoding them is the client's cost)

    return get, lambda: client.__exit__(None, None, None)


def _ms(seconds: list[float], q: float) -> float:
    return 1e3 * statistics.quantiles(seconds, n=10)[int(q * 10) - 1] if len(seconds) >= 2 else 1e3 * seconds[0]


def bench(kind: str, rows: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    schema = f"fw_bench_{uuid.uuid4().hex[:10]}"
    url = f"duckdb://{workdir / f'windows-{rows}.duckdb'}" if kind == "duckdb" else f"{args.postgres}?schema={schema}"
    store = open_store(url)
    try:
        print(f"{kind} {rows:,}: generating events and building roll-ups ...", flush=True)
        setup = fill(store, url, rows)
        print(f"  generated in {setup['generate_s']:.1f} s, roll-ups built in {setup['rollups_s']:.1f} s", flush=True)
        computed, _ = timed(lambda: compute(store), args.repeats)
        rollups, answer = timed(lambda: read(store), args.repeats)
        raw_repeats = 1 if rows >= 50_000_000 else 3
        raw, raw_answer = timed(lambda: read(store, "raw"), raw_repeats)
        if answer != raw_answer:
            raise AssertionError("the roll-ups' answer differs from the raw recomputation")
        get, close = api_reader(store)
        try:
            api, _ = timed(get, max(5, args.repeats // 2))
        finally:
            close()
        rollup_rows = {
            table: int(store.query(f"SELECT count(*) FROM rollup_{table}")[0][0])
            for table in ("counts", "scores", "features")
        }
    finally:
        if kind == "postgres":
            with contextlib.suppress(Exception):
                store.drop_schema()  # type: ignore[attr-defined]
        store.close()
        for path in workdir.glob(f"windows-{rows}.duckdb*"):
            path.unlink()
    result = {
        "store": kind,
        "rows": rows,
        **setup,
        "windows": len(answer),
        "groups": len({g["group"]["race"] for w in answer for g in w["groups"]}),
        "read_p50_ms": _ms(computed, 0.5),
        "read_p90_ms": _ms(computed, 0.9),
        "rollups_p50_ms": _ms(rollups, 0.5),
        "rollups_p90_ms": _ms(rollups, 0.9),
        "api_p50_ms": _ms(api, 0.5),
        "raw_recompute_s": min(raw),
        "rollup_rows": rollup_rows,
    }
    print(
        f"  read p50 {result['read_p50_ms']:.1f} ms (p90 {result['read_p90_ms']:.1f}); with the answer p50 "
        f"{result['rollups_p50_ms']:.1f} ms (p90 {result['rollups_p90_ms']:.1f}), api p50 "
        f"{result['api_p50_ms']:.1f} ms, raw recompute {result['raw_recompute_s']:.2f} s",
        flush=True,
    )
    return result


def _sizes(text: str) -> list[int]:
    units = {"K": 1_000, "M": 1_000_000}
    return [
        int(float(s[:-1]) * units[s[-1].upper()]) if s[-1].upper() in units else int(s) for s in text.split(",") if s
    ]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duckdb-sizes", default="1M,10M,100M", help="comma-separated (K, M suffixes; '' skips)")
    parser.add_argument("--postgres-sizes", default="1M,10M")
    parser.add_argument("--repeats", type=int, default=20, help="runs of the roll-up read (default 20)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL (a schema is created)")
    parser.add_argument("--workdir", type=Path, default=None, help="where DuckDB files go (default: temp dir)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    info = _machine.machine_info("duckdb", "psycopg")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fairwatch-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for kind, sizes in (("duckdb", args.duckdb_sizes), ("postgres", args.postgres_sizes)):
            for rows in _sizes(sizes):
                results.append(bench(kind, rows, args, workdir))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    header = (
        f"{'store':<9} {'rows':>12} {'read p50':>9} {'answer p50':>11} {'p90':>7} {'api p50':>8} {'raw s':>8} "
        f"{'raw/read':>9}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        print(
            f"{r['store']:<9} {r['rows']:>12,} {r['read_p50_ms']:>9.1f} {r['rollups_p50_ms']:>11.1f} "
            f"{r['rollups_p90_ms']:>7.1f} {r['api_p50_ms']:>8.1f} {r['raw_recompute_s']:>8.2f} "
            f"{1e3 * r['raw_recompute_s'] / r['read_p50_ms']:>8.0f}×"
        )
    flat = {}
    for kind in ("duckdb", "postgres"):
        found = {r["rows"]: r["read_p50_ms"] for r in results if r["store"] == kind}
        if 1_000_000 in found and 10_000_000 in found:
            flat[kind] = found[10_000_000] / found[1_000_000]
            print(f"{kind}: 10M / 1M = {flat[kind]:.2f}× (goal <= {GOAL_FLAT}×)")
    info["load_average_at_end"] = list(os.getloadavg())
    report = {
        "benchmark": "windows",
        "machine": info,
        "config": {
            "days": DAYS,
            "read": {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in READ.items()},
            "labelled_share": LABELLED_SHARE,
            "repeats": args.repeats,
            "timing": (
                "read: p50/p90 of N wall-clock runs of window_metrics; answer: window_metrics + to_dict; raw: best of "
                "3 (1 at 100M)"
            ),
            "goal": f"roll-ups p50 <= {GOAL_MS:g} ms and 10M within {GOAL_FLAT}x of 1M",
        },
        "results": results,
        "flatness_10m_over_1m": flat,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
