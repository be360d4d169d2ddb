"""Load test: sustained ingest at the benchmark rate with concurrent metric queries, on a live server.

The real service (``fairwatch.server:create_app``) runs under uvicorn in a subprocess on 127.0.0.1 on
a fresh store (a DuckDB file by default, or a PostgreSQL schema with ``--store postgresql://...``,
dropped afterwards), which first gets ``--history`` events (default 1M) spread over 30 days, generated
in the database with their roll-ups built by fairwatch (as ``benchmarks/windows.py`` does). For
``--seconds`` (default 60):

* **ingest**: ``--ingest-clients`` threads post 5,000-event prediction batches on a fixed schedule that
  adds up to ``--rate`` events/s (open loop: batch *k* is due at ``k × batch / rate`` seconds; a client
  that falls behind sends at once, and the lag is reported; sending stops when the time is up, so a
  server that cannot keep up shows as a lower rate). The default rate is the fairwatch ingest
  rate recorded for that store in ``benchmarks/results/ingest.json`` (the ingest benchmark's figure).
  ``--timestamps live`` (default) gives each batch timestamps within a minute, as a deployed model's
  traffic; ``spread`` over the 30 days, a backfill;
* **queries**: ``--query-clients`` threads ask, ``--query-pause`` seconds apart (default 0.5, a busy
  dashboard), for the windowed metrics of the model over everything stored so far
  (``/v1/models/credit/metrics``, 1 h windows over 30 days of event time, by sex and race), and every
  fifth time for its feature drift.

Reported: events acknowledged and their rate against the target, error count (any non-2xx answer or
broken connection, a request unanswered after 60 s), p50/p99/max latency of ingest acknowledgements,
metric queries and drift queries, and, after the server has stopped, the number of events stored,
which must equal the number acknowledged.

Run it from the repository root::

    python benchmarks/load.py                                   # 60 s, DuckDB
    python benchmarks/load.py --store postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/load.py --seconds 10 --rate 20000 --output load-quick.json
    python benchmarks/load.py --store postgresql://... --workers 2 --output benchmarks/results/load_workers2.json

``--workers 2`` runs the server as ``fairwatch serve --workers 2`` does: two uvicorn worker processes
(PostgreSQL only), so reads and ingest validation run on separate interpreters.

Results are printed and written to ``benchmarks/results/load.json`` (one entry per store kind).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import API_KEY, BATCH, Bodies, free_port, machine_info, running

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_OUTPUT = RESULTS / "load.json"
#: Used when benchmarks/results/ingest.json has no figure for the store (the issue's targets).
FALLBACK_RATE = {"duckdb": 150_000.0, "postgres": 50_000.0}
READ_KEY = "bench-load-read-key"
METRICS_QUERY = "/v1/models/credit/metrics?sensitive=sex,race&window=1h&start=2024-05-01T00:00:00Z"
DRIFT_QUERY = (
    "/v1/models/credit/drift?reference_start=2024-05-01T00:00:00Z&reference_end=2024-05-08T00:00:00Z"
    "&start=2024-05-24T00:00:00Z&end=2024-05-31T00:00:00Z&sensitive=sex"
)


def benchmark_rate(kind: str) -> float:
    """fairwatch's ingest rate on ``kind`` as recorded by ``benchmarks/ingest.py``."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        summary = json.loads((RESULTS / "ingest.json").read_text(encoding="utf-8"))["summary"]
        return float(summary[kind]["fairwatch_events_per_s"])
    return FALLBACK_RATE[kind]


@dataclass
class Timings:
    """Latencies (ms) of successful requests and the errors seen, collected from several threads."""

    ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    events: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, ms: float, events: int = 0) -> None:
        with self.lock:
            self.ms.append(ms)
            self.events += events

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)

    def summary(self) -> dict[str, Any]:
        values = np.array(self.ms) if self.ms else np.array([np.nan])
        return {
            "requests": len(self.ms),
            "errors": len(self.errors),
            "first_errors": self.errors[:3],
            "p50_ms": float(np.percentile(values, 50)),
            "p99_ms": float(np.percentile(values, 99)),
            "max_ms": float(values.max()),
        }


@dataclass
class LoadResult:
    store: str
    seconds: float
    target_events_per_s: float
    acknowledged: int
    events_per_s: float
    stored: int
    lag_s: float
    ingest: dict[str, Any]
    queries: dict[str, Any]
    drift: dict[str, Any]

    @property
    def errors(self) -> int:
        return int(self.ingest["errors"]) + int(self.queries["errors"]) + int(self.drift["errors"])


def _post_batches(url: str, bodies: Bodies, schedule: Schedule, timings: Timings, batch: int) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    with httpx.Client(base_url=url, headers=headers, timeout=60.0) as client:
        while (due := schedule.next_due()) is not None:
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            body = bodies.take()
            sent = time.perf_counter()
            try:
                response = client.post("/v1/predictions", content=body)
            except httpx.HTTPError as exc:
                timings.error(f"{type(exc).__name__}: {exc}")
                continue
            if response.status_code != 200:
                timings.error(f"{response.status_code}: {response.text[:200]}")
                continue
            accepted = int(response.json()["accepted"])
            if accepted != batch:
                timings.error(f"batch acknowledged {accepted} of {batch} events as new")
            timings.ok((time.perf_counter() - sent) * 1e3, accepted)
            schedule.done(time.perf_counter() - due)


def _query(url: str, stop: threading.Event, metrics: Timings, drift: Timings, pause: float) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {READ_KEY}"}, timeout=60.0) as client:
        count = 0
        while not stop.is_set():
            is_drift = count % 5 == 4
            path, timings = (DRIFT_QUERY, drift) if is_drift else (METRICS_QUERY, metrics)
            count += 1
            sent = time.perf_counter()
            try:
                response = client.get(path)
            except httpx.HTTPError as exc:
                timings.error(f"{type(exc).__name__}: {exc}")
                continue
            # before the first batch is stored the model is unknown: that 404 is expected, not counted
            if response.status_code == 404 and "unknown model" in response.text:
                stop.wait(0.05)
                continue
            if response.status_code != 200:
                timings.error(f"{response.status_code}: {response.text[:200]}")
                continue
            timings.ok((time.perf_counter() - sent) * 1e3)
            stop.wait(pause)


class Schedule:
    """Due times of batches for an open-loop rate, handed out to the client threads in order."""

    def __init__(self, rate: float, batch: int, seconds: float) -> None:
        self.interval = batch / rate
        self.count = max(1, int(seconds / self.interval))
        self.start = time.perf_counter() + 0.2
        self._next = 0
        self.lag = 0.0
        self._lock = threading.Lock()

    def next_due(self) -> float | None:
        """When the next batch is due; None once the schedule is through or its time is up."""
        with self._lock:
            if self._next >= self.count or time.perf_counter() >= self.start + self.count * self.interval:
                return None
            self._next += 1
            return self.start + (self._next - 1) * self.interval

    def done(self, late_by: float) -> None:
        with self._lock:
            self.lag = max(self.lag, late_by)


def fill_history(store_url: str, events: int) -> None:
    """30 days of ``events`` predictions, generated by SQL with their roll-ups built by fairwatch."""
    from fairwatch.monitor import open_store
    from windows import fill

    print(f"storing {events:,} events of history ...", flush=True)
    store = open_store(store_url)
    try:
        fill(store, store_url, events)
    finally:
        store.close()


def count_predictions(store_url: str) -> int:
    from fairwatch.monitor import open_store

    store = open_store(store_url)
    try:
        return store.count("predictions")
    finally:
        store.close()


@contextlib.contextmanager
def fresh_store(store: str, workdir: Path) -> Iterator[str]:
    """A store URL: a new DuckDB file, or a new schema of the PostgreSQL database (dropped afterwards)."""
    if store == "duckdb":
        yield f"duckdb://{workdir / 'load.duckdb'}"
        return
    schema = f"fw_load_{uuid.uuid4().hex[:10]}"
    separator = "&" if "?" in store else "?"
    try:
        yield f"{store}{separator}schema={schema}"
    finally:
        from fairwatch.monitor._postgres import PostgresStore

        cleanup = PostgresStore(f"{store}{separator}schema={schema}")
        cleanup.drop_schema()
        cleanup.close()


def run_load(
    store_url: str,
    *,
    seconds: float,
    rate: float,
    batch: int = BATCH,
    ingest_clients: int = 3,
    query_clients: int = 1,
    query_pause: float = 0.5,
    log: Path,
    spread_seconds: float = 60.0,
    workers: int = 1,
) -> LoadResult:
    """Run the server on ``store_url`` and load it; the server is stopped before stored events are counted."""
    command = [sys.executable, "-m", "uvicorn", "fairwatch.server:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(free_port()), "--log-level", "warning", "--no-access-log"]
    if workers > 1:  # what `fairwatch serve --workers N` runs (PostgreSQL stores only)
        command += ["--workers", str(workers)]
    env = {"FAIRWATCH_STORE": store_url, "FAIRWATCH_API_KEYS": f"{API_KEY}:ingest,{READ_KEY}:read"}
    bodies = Bodies(batch, spread_seconds=spread_seconds)
    ingest, queries, drift = Timings(), Timings(), Timings()
    with running(command, env, "/v1/predictions", "/v1/health", log) as server:
        schedule = Schedule(rate, batch, seconds)
        stop = threading.Event()
        readers = [
            threading.Thread(target=_query, args=(server.url, stop, queries, drift, query_pause))
            for _ in range(query_clients)
        ]
        writers = [
            threading.Thread(target=_post_batches, args=(server.url, bodies, schedule, ingest, batch))
            for _ in range(ingest_clients)
        ]
        started = time.perf_counter()
        for thread in readers + writers:
            thread.start()
        for thread in writers:
            thread.join()
        elapsed = time.perf_counter() - started
        stop.set()
        for thread in readers:
            thread.join()
    kind = "duckdb" if store_url.startswith("duckdb") else "postgres"
    return LoadResult(
        store=kind,
        seconds=elapsed,
        target_events_per_s=rate,
        acknowledged=ingest.events,
        events_per_s=ingest.events / elapsed,
        stored=count_predictions(store_url),
        lag_s=schedule.lag,
        ingest=ingest.summary(),
        queries=queries.summary(),
        drift=drift.summary(),
    )


def report(result: LoadResult) -> None:
    ratio = result.events_per_s / result.target_events_per_s
    print(
        f"\n{result.store}: {result.acknowledged:,} events acknowledged in {result.seconds:.1f} s = "
        f"{result.events_per_s:,.0f} events/s ({ratio:.2f}× the target {result.target_events_per_s:,.0f}; "
        f"at most {result.lag_s:.2f} s behind schedule)"
    )
    for name, part in (("ingest", result.ingest), ("metrics", result.queries), ("drift", result.drift)):
        print(
            f"  {name:<8} {part['requests']:>6} requests  p50 {part['p50_ms']:8.1f} ms  p99 {part['p99_ms']:8.1f} ms"
            f"  max {part['max_ms']:8.1f} ms  errors {part['errors']}"
        )
    verdict = "OK" if result.stored == result.acknowledged else "MISMATCH"
    print(f"  stored {result.stored:,} = acknowledged {result.acknowledged:,}: {verdict}; errors: {result.errors}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="duckdb", help="duckdb (a temporary file) or a postgresql:// URL")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to ingest (default 60)")
    parser.add_argument("--rate", type=float, help="events/s to send (default: the ingest benchmark's figure)")
    parser.add_argument("--batch", type=int, default=BATCH, help="events per request (default 5000)")
    parser.add_argument("--ingest-clients", type=int, default=3, help="concurrent ingest clients (default 3)")
    parser.add_argument("--query-clients", type=int, default=1, help="concurrent query clients (default 1)")
    parser.add_argument("--query-pause", type=float, default=0.5, help="seconds between a client's queries")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results (merged by store)")
    parser.add_argument("--history", type=int, default=1_000_000, help="events stored first, over 30 days")
    parser.add_argument("--timestamps", choices=["live", "spread"], default="live")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (PostgreSQL only, like `fairwatch serve --workers`)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    kind = "duckdb" if args.store == "duckdb" else "postgres"
    if args.workers > 1 and kind == "duckdb":
        raise SystemExit("--workers above 1 needs a PostgreSQL store (a DuckDB file is opened by one process)")
    rate = args.rate or benchmark_rate(kind)
    info = machine_info()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    print(
        f"loading {kind} for {args.seconds:g} s at {rate:,.0f} events/s ({args.batch:,}-event batches, "
        f"{args.ingest_clients} ingest + {args.query_clients} query clients) ...",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="fairwatch-load-"))
    try:
        with fresh_store(args.store, workdir) as url:
            if args.history:
                fill_history(url, args.history)
            result = run_load(
                url,
                seconds=args.seconds,
                rate=rate,
                batch=args.batch,
                ingest_clients=args.ingest_clients,
                query_clients=args.query_clients,
                query_pause=args.query_pause,
                log=workdir / "server.log",
                spread_seconds=60.0 if args.timestamps == "live" else 30 * 86_400.0,
                workers=args.workers,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.stored -= args.history  # the events stored before the load
    report(result)
    info["load_average_at_end"] = list(os.getloadavg())
    previous: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        previous = json.loads(args.output.read_text(encoding="utf-8")).get("runs", {})
    entry = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": info,
        "config": {
            "seconds": args.seconds,
            "batch": args.batch,
            "ingest_clients": args.ingest_clients,
            "query_clients": args.query_clients,
            "query_pause_s": args.query_pause,
            "metrics_query": METRICS_QUERY,
            "drift_query": DRIFT_QUERY,
            "history_events": args.history,
            "timestamps": args.timestamps,
            "server": f"uvicorn, {args.workers} worker process(es), 127.0.0.1, access log off",
        },
        "result": asdict(result),
        "acknowledged_equals_stored": result.stored == result.acknowledged,
        "errors": result.errors,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    runs = {**previous, kind: entry}
    args.output.write_text(json.dumps({"benchmark": "load", "runs": runs}, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")
    return 0 if result.errors == 0 and result.stored == result.acknowledged else 1


if __name__ == "__main__":
    sys.exit(main())
