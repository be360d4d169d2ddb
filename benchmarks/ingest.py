"""Benchmark: ingest throughput and acknowledgement latency of the monitoring service.

What is measured, per store (DuckDB file, PostgreSQL schema), in one run:

* **fairwatch**: the real service (``fairwatch.server:create_app``) under uvicorn in a subprocess on
  127.0.0.1, ``POST /v1/predictions`` with an API key: full validation, idempotency (re-sent ids are
  counted no-ops), all-or-nothing batches, acknowledged after the commit;
* **fairwatch-no-rollups**: the same service with the roll-up maintenance switched off
  (``benchmarks/_no_rollups.py``): what ingest costs without the per-bucket statistics every read now
  comes from (the goal: with roll-ups >= 0.8x without);
* **floor**: a bare FastAPI + pydantic endpoint (no fairwatch code, defined in this file) under the
  same uvicorn settings, doing the same insert with a primary-key conflict check: FastAPI's default
  body parsing into a plain pydantic model, the batch as a pyarrow table, one
  ``INSERT ... ON CONFLICT DO NOTHING`` in a transaction (DuckDB); for PostgreSQL ``COPY`` into a
  temporary staging table, then one ``INSERT ... ON CONFLICT DO NOTHING``, committed.

Per store, both servers run side by side (each on its own fresh DuckDB file or PostgreSQL schema);
after a warm-up of each, ``--clients`` concurrent httpx clients (threads) post 5,000-event batches
back to back to one server at a time, in ``--rounds`` alternating rounds that add up to ``--seconds``
per contender, so that both see the same machine load. Every event has a unique id, a model and
version, an ISO 8601 timestamp with zone, a 0/1 prediction, a score, two sensitive attributes (sex,
race) and three features. ``--timestamps live`` (the default) spreads a batch's timestamps over a
minute, as a deployed model's traffic is; ``spread`` over 30 days, as a backfill of history is (each
event then lands in its own 5-minute bucket: the roll-ups' worst case). Events/s counts acknowledged
events over the measured wall time; latency is the client-side time from sending a batch to reading
its acknowledgement; "cpu cores" is the server process's CPU time over that wall time (PostgreSQL's
own processes are not included).

Run it from the repository root (PostgreSQL expected at 127.0.0.1:5432, database ``test``)::

    python benchmarks/ingest.py                     # 20 s per contender, DuckDB and PostgreSQL
    python benchmarks/ingest.py --seconds 5 --stores duckdb

Results are printed as a table and written to ``benchmarks/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from pydantic import BaseModel

import _machine

BATCH = 5_000
API_KEY = "bench-ingest-key"
#: Replaced by the batch number in every prediction id of a body (fixed width, so bodies keep their size).
PLACEHOLDER = b"@@@@@@@@@"
DEFAULT_POSTGRES = os.environ.get("FAIRWATCH_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "ingest.json"
TARGET_EVENTS_PER_S = {"duckdb": 150_000.0, "postgres": 50_000.0}
TARGET_P99_MS = 100.0
T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)


# -- the events -------------------------------------------------------------------------------------
def make_body(batch: int, seed: int, spread_seconds: float = 60.0) -> bytes:
    """A request body of ``batch`` events whose ids contain :data:`PLACEHOLDER`, their timestamps
    spread over ``spread_seconds``."""
    rng = random.Random(seed)
    zones = [dt.timezone.utc, dt.timezone(dt.timedelta(hours=2)), dt.timezone(dt.timedelta(hours=-5))]
    events = []
    for i in range(batch):
        score = rng.random()
        moment = T0 + dt.timedelta(seconds=rng.uniform(0, spread_seconds))
        events.append(
            {
                "prediction_id": f"{PLACEHOLDER.decode()}-{i:05d}",
                "model": "credit",
                "model_version": "v3",
                "timestamp": moment.astimezone(rng.choice(zones)).isoformat(),
                "prediction": int(score >= 0.5),
                "score": round(score, 4),
                "sensitive": {
                    "sex": rng.choice(("F", "M")),
                    "race": rng.choices(("A", "B", "C", "D", "E"), weights=(60, 13, 18, 6, 3))[0],
                },
                "features": {
                    "age": rng.randint(18, 90),
                    "income": round(rng.uniform(10_000, 200_000), 2),
                    "region": rng.choice(("north", "south", "east", "west")),
                },
            }
        )
    return json.dumps({"events": events}).encode()


class Bodies:
    """Request bodies with unique ids: a few templates, the batch number substituted per request."""

    def __init__(self, batch: int, templates: int = 4, spread_seconds: float = 60.0) -> None:
        self.templates = [make_body(batch, seed, spread_seconds) for seed in range(templates)]
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> bytes:
        with self._lock:
            number = self._next
            self._next += 1
        template = self.templates[number % len(self.templates)]
        return template.replace(PLACEHOLDER, b"%09d" % number)


# -- the floor: a bare FastAPI + pydantic endpoint, no fairwatch code ---------------------------------
FLOOR_COLUMNS = (
    "model",
    "prediction_id",
    "model_version",
    "ts",
    "prediction",
    "score",
    "features",
    "s_sex",
    "s_race",
)
FLOOR_TABLE_SQL = """CREATE TABLE IF NOT EXISTS predictions (
    model TEXT NOT NULL, prediction_id TEXT NOT NULL, model_version TEXT NOT NULL DEFAULT '',
    ts TIMESTAMPTZ NOT NULL, prediction TEXT NOT NULL, score DOUBLE PRECISION, features TEXT,
    s_sex TEXT, s_race TEXT, PRIMARY KEY (model, prediction_id))"""


class FloorEvent(BaseModel):
    """The floor's event: plain pydantic types, no custom validators."""

    prediction_id: str
    model: str
    model_version: str | None = None
    timestamp: dt.datetime
    prediction: int
    score: float | None = None
    sensitive: dict[str, str]
    features: dict[str, Any] | None = None


class FloorBatch(BaseModel):
    events: list[FloorEvent]


def floor_app(kind: str, target: str) -> Any:
    """The floor service: ``POST /ingest`` with ``{"events": [...]}`` into ``target``."""
    from fastapi import FastAPI

    def columns(events: list[FloorEvent]) -> dict[str, list[Any]]:
        return {
            "model": [e.model for e in events],
            "prediction_id": [e.prediction_id for e in events],
            "model_version": [e.model_version or "" for e in events],
            "ts": [e.timestamp for e in events],
            "prediction": [str(e.prediction) for e in events],
            "score": [e.score for e in events],
            "features": [None if e.features is None else json.dumps(e.features) for e in events],
            "s_sex": [e.sensitive.get("sex") for e in events],
            "s_race": [e.sensitive.get("race") for e in events],
        }

    app = FastAPI()
    names = ", ".join(FLOOR_COLUMNS)
    if kind == "duckdb":
        import duckdb
        import pyarrow as pa

        con = duckdb.connect(target)
        con.execute(FLOOR_TABLE_SQL)
        lock = threading.Lock()

        def insert(events: list[FloorEvent]) -> int:
            staging = pa.table(columns(events))
            with lock:
                cur = con.cursor()
                cur.execute("BEGIN TRANSACTION")
                cur.register("staging", staging)
                row = cur.execute(
                    f"INSERT INTO predictions ({names}) SELECT {names} FROM staging ON CONFLICT DO NOTHING"
                ).fetchone()
                cur.execute("COMMIT")
                cur.close()
            return int(row[0]) if row else 0

    else:
        from psycopg_pool import ConnectionPool

        conninfo, schema = target.split("#", 1)
        pool = ConnectionPool(conninfo, min_size=4, max_size=8, kwargs={"options": f"-c search_path={schema}"})
        with pool.connection() as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            conn.execute(FLOOR_TABLE_SQL)

        def insert(events: list[FloorEvent]) -> int:
            cols = columns(events)
            rows = list(zip(*cols.values()))
            with pool.connection() as conn, conn.cursor() as cur:
                cur.execute("CREATE TEMP TABLE staging (LIKE predictions) ON COMMIT DROP")
                with cur.copy(f"COPY staging ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cur.execute(f"INSERT INTO predictions ({names}) SELECT {names} FROM staging ON CONFLICT DO NOTHING")
                return int(cur.rowcount)

    @app.post("/ingest")
    def ingest(batch: FloorBatch) -> dict[str, int]:
        accepted = insert(batch.events)
        return {"accepted": accepted, "duplicates": len(batch.events) - accepted}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve_floor(kind: str, target: str, port: int) -> None:
    import uvicorn

    uvicorn.run(floor_app(kind, target), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- running a server ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    path: str
    log: Path

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], path: str, health: str, log: Path) -> Iterator[Server]:
    """Start ``command`` (a uvicorn server), wait for ``health`` to answer, stop it at the end."""
    port = int(command[command.index("--port") + 1])
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, url, path, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + health, timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start within 60 s: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the load -----------------------------------------------------------------------------------------
@dataclass
class CaseResult:
    store: str
    contender: str
    clients: int
    seconds: float
    batches: int
    events: int
    events_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_cores: float
    stored: int
    errors: int


@dataclass
class Phase:
    """What the clients saw while loading one server for a while."""

    records: list[tuple[float, float, int]]  # sent, acknowledged (perf_counter), events accepted
    errors: list[str]
    seconds: float  # first send to last acknowledgement
    server_cpu_seconds: float


def drive(server: Server, bodies: Bodies, clients: int, seconds: float) -> Phase:
    """``clients`` threads posting bodies back to back for ``seconds`` (requests in flight then finish)."""
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    per_client: list[list[tuple[float, float, int]]] = [[] for _ in range(clients)]
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds

    def client(index: int) -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60.0) as http:
            while time.perf_counter() < stop_at:
                body = bodies.take()
                sent = time.perf_counter()
                response = http.post(server.path, content=body)
                done = time.perf_counter()
                if response.status_code != 200:
                    errors.append(f"{response.status_code}: {response.text[:300]}")
                    continue
                per_client[index].append((sent, done, int(response.json()["accepted"])))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    cpu_before = server.cpu_seconds()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = [r for rs in per_client for r in rs]
    span = max(r[1] for r in records) - min(r[0] for r in records) if records else 0.0
    return Phase(records, errors, span, server.cpu_seconds() - cpu_before)


def server_command(
    store: str, contender: str, args: argparse.Namespace, target: str
) -> tuple[list[str], dict[str, str]]:
    """How to start ``contender`` on ``target`` (a DuckDB file, or a PostgreSQL schema)."""
    port = str(free_port())
    if contender.startswith("fairwatch"):
        url = f"duckdb://{target}" if store == "duckdb" else f"{args.postgres}?schema={target}"
        factory = "fairwatch.server:create_app" if contender == "fairwatch" else "_no_rollups:create_app"
        command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--app-dir", str(Path(__file__).parent)]
        command += ["--host", "127.0.0.1", "--port", port, "--log-level", "warning", "--no-access-log"]
        # the benchmark's events are of May 2024: no clock-skew check to pass either way
        env = {"FAIRWATCH_STORE": url, "FAIRWATCH_API_KEYS": f"{API_KEY}:ingest", "FAIRWATCH_MAX_FUTURE_SKEW": "off"}
        return command, env
    floor_target = target if store == "duckdb" else f"{args.postgres}#{target}"
    return [sys.executable, __file__, "--serve-floor", store, "--target", floor_target, "--port", port], {}


def run_store(store: str, args: argparse.Namespace, workdir: Path, bodies: Bodies) -> list[CaseResult]:
    """Both contenders on ``store``, loaded in alternating rounds so that both see the same machine load."""
    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    targets = {
        c: str(workdir / f"{store}-{c}.duckdb") if store == "duckdb" else f"fw_bench_{uuid.uuid4().hex[:10]}"
        for c in contenders
    }
    phases: dict[str, list[Phase]] = {c: [] for c in contenders}
    try:
        with contextlib.ExitStack() as stack:
            servers = {}
            for contender in contenders:
                command, env = server_command(store, contender, args, targets[contender])
                served = ("/v1/predictions", "/v1/health") if contender.startswith("fairwatch") else None
                path, health = served or ("/ingest", "/health")
                log = workdir / f"{store}-{contender}.log"
                servers[contender] = stack.enter_context(running(command, env, path, health, log))
            for contender in contenders:
                drive(servers[contender], bodies, args.clients, args.warmup)
            for round_ in range(args.rounds):
                for contender in contenders if round_ % 2 == 0 else contenders[::-1]:
                    phases[contender].append(
                        drive(servers[contender], bodies, args.clients, args.seconds / args.rounds)
                    )
        stored = {c: count_stored(store, targets[c], args.postgres, c) for c in contenders}
    finally:
        for contender in contenders:
            if store == "postgres":
                drop_schema(args.postgres, targets[contender])
            for leftover in workdir.glob(f"{store}-{contender}.duckdb*"):
                leftover.unlink()
    return [summarise(store, c, phases[c], args.clients, stored[c]) for c in contenders]


def summarise(store: str, contender: str, phases: list[Phase], clients: int, stored: int) -> CaseResult:
    records = [r for p in phases for r in p.records]
    errors = [e for p in phases for e in p.errors]
    if not records:
        raise RuntimeError(f"{store}/{contender}: no batch was acknowledged; errors: {errors[:3]}")
    if errors:
        print(f"  {store}/{contender}: {len(errors)} failed request(s), e.g. {errors[0]}")
    seconds = sum(p.seconds for p in phases)
    ms = np.array([(done - sent) * 1e3 for sent, done, _ in records])
    events = sum(r[2] for r in records)
    return CaseResult(
        store=store,
        contender=contender,
        clients=clients,
        seconds=seconds,
        batches=len(records),
        events=events,
        events_per_s=events / seconds,
        p50_ms=float(np.percentile(ms, 50)),
        p99_ms=float(np.percentile(ms, 99)),
        max_ms=float(ms.max()),
        server_cpu_cores=sum(p.server_cpu_seconds for p in phases) / seconds,
        stored=stored,
        errors=len(errors),
    )


def count_stored(store: str, target: str, postgres: str, contender: str) -> int:
    """Events stored by a contender (``target``: its DuckDB file or PostgreSQL schema)."""
    table = "events WHERE ts IS NOT NULL" if contender.startswith("fairwatch") else "predictions"
    if store == "duckdb":
        import duckdb

        with duckdb.connect(target, read_only=True) as con:
            row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
            return int(row[0]) if row else 0
    import psycopg

    with psycopg.connect(postgres) as conn:
        row = conn.execute(f"SELECT count(*) FROM {target}.{table}").fetchone()  # type: ignore[arg-type]
        return int(row[0]) if row else 0


def drop_schema(postgres: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


# -- report -------------------------------------------------------------------------------------------
def print_table(results: Sequence[CaseResult]) -> None:
    header = (
        f"{'store':<9} {'contender':<21} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'batches':>8} {'cpu cores':>9} {'stored':>10} {'errors':>6}"
    )
    print("\n" + header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.store:<9} {r.contender:<21} {r.events_per_s:>10,.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} "
            f"{r.max_ms:>8.1f} {r.batches:>8} {r.server_cpu_cores:>9.2f} {r.stored:>10,} {r.errors:>6}"
        )


def evaluate(results: Sequence[CaseResult]) -> dict[str, Any]:
    by = {(r.store, r.contender): r for r in results}
    summary: dict[str, Any] = {}
    print("\nratios and targets:")
    for store, goal in TARGET_EVENTS_PER_S.items():
        fw, floor = by.get((store, "fairwatch")), by.get((store, "floor"))
        bare = by.get((store, "fairwatch-no-rollups"))
        if fw is None:
            continue
        ratio = fw.events_per_s / floor.events_per_s if floor else None
        with_rollups = fw.events_per_s / bare.events_per_s if bare else None
        if bare is not None and with_rollups is not None:
            print(
                f"  {store}: with roll-ups {fw.events_per_s:,.0f} events/s = {with_rollups:.2f}x without "
                f"({bare.events_per_s:,.0f}); goal >= 0.8x -> {'MET' if with_rollups >= 0.8 else 'MISSED'}"
            )
        entry = {
            "no_rollups_events_per_s": bare.events_per_s if bare else None,
            "rollups_over_no_rollups_throughput": with_rollups,
            "rollups_goal_met": None if with_rollups is None else with_rollups >= 0.8,
            "fairwatch_events_per_s": fw.events_per_s,
            "floor_events_per_s": floor.events_per_s if floor else None,
            "fairwatch_over_floor_throughput": ratio,
            "fairwatch_p99_ms": fw.p99_ms,
            "floor_p99_ms": floor.p99_ms if floor else None,
            "goal_events_per_s": goal,
            "goal_p99_ms": TARGET_P99_MS,
            "throughput_met": fw.events_per_s >= goal,
            "p99_met": fw.p99_ms < TARGET_P99_MS,
            "every_acknowledged_event_stored": fw.stored >= fw.events,
        }
        summary[store] = entry
        versus = "no floor" if floor is None or ratio is None else f"{ratio:.2f}× the floor ({floor.events_per_s:,.0f})"
        print(
            f"  {store}: fairwatch {fw.events_per_s:,.0f} events/s = {versus}; "
            f"goal >= {goal:,.0f} -> {'MET' if entry['throughput_met'] else 'MISSED'}; "
            f"p99 {fw.p99_ms:.1f} ms (goal < {TARGET_P99_MS:g}) -> {'MET' if entry['p99_met'] else 'MISSED'}"
        )
    return summary


def machine_info() -> dict[str, Any]:
    return _machine.machine_info(
        "fastapi",
        "pydantic",
        "uvicorn",
        "duckdb",
        http_parser="httptools" if _has("httptools") else "h11",
        event_loop="uvloop" if _has("uvloop") else "asyncio",
    )


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# -- main -----------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per contender (default 20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds per server first")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds the seconds are split into")
    parser.add_argument("--clients", type=int, default=2, help="concurrent clients (default 2)")
    parser.add_argument("--batch", type=int, default=BATCH, help="events per request (default 5000)")
    parser.add_argument("--stores", default="duckdb,postgres", help="comma-separated: duckdb, postgres")
    parser.add_argument(
        "--contenders",
        default="floor,fairwatch,fairwatch-no-rollups",
        help="comma-separated: floor, fairwatch, fairwatch-no-rollups",
    )
    parser.add_argument(
        "--timestamps",
        choices=["live", "spread"],
        default="live",
        help="a batch's timestamps within a minute (live traffic) or over 30 days (a backfill)",
    )
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL (a schema is created)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results")
    parser.add_argument("--serve-floor", choices=["duckdb", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_floor:
        serve_floor(args.serve_floor, args.target, args.port)
        return 0
    info = machine_info()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    bodies = Bodies(args.batch, spread_seconds=60.0 if args.timestamps == "live" else 30 * 86_400.0)
    print(f"body: {args.batch:,} events, {len(bodies.templates[0]):,} bytes")
    workdir = Path(tempfile.mkdtemp(prefix="fairwatch-bench-"))
    results: list[CaseResult] = []
    try:
        for store in [s.strip() for s in args.stores.split(",") if s.strip()]:
            print(
                f"running {store}: {args.warmup:g} s warm-up each, then {args.rounds} alternating rounds, "
                f"{args.seconds:g} s per contender ...",
                flush=True,
            )
            for result in run_store(store, args, workdir, bodies):
                print(
                    f"  {result.contender}: {result.events_per_s:,.0f} events/s, p50 {result.p50_ms:.1f} ms, "
                    f"p99 {result.p99_ms:.1f} ms",
                    flush=True,
                )
                results.append(result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)
    summary = evaluate(results)
    info["load_average_at_end"] = list(os.getloadavg())
    report = {
        "benchmark": "ingest",
        "machine": info,
        "config": {
            "batch": args.batch,
            "clients": args.clients,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "body_bytes": len(bodies.templates[0]),
            "timestamps": args.timestamps,
            "server": "uvicorn, one process, 127.0.0.1, access log off",
        },
        "cases": [asdict(r) for r in results],
        "summary": summary,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
