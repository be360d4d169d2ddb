"""Ingest under faults: the service killed with SIGKILL, PostgreSQL restarted, an unwritable DuckDB file.

Each test runs the real service (uvicorn in a subprocess on 127.0.0.1) and checks the ingest promises
from the outside: an event is acknowledged only once it is durable, a batch is stored whole or not at
all, and re-sending a batch is a counted no-op. Batches carry their number in every id
(``b00012-0042``), so the store can be audited batch by batch afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from fairwatch.monitor import open_store

from .conftest import POSTGRES_URL, postgres_url

API_KEY = "fault-test-key"
T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
START_TIMEOUT = 60.0


def batch_body(number: int, size: int) -> bytes:
    """``size`` prediction events whose ids all start with ``b<number>-``."""
    events = [
        {
            "prediction_id": f"b{number:05d}-{i:04d}",
            "model": "credit",
            "model_version": "v1",
            "timestamp": (T0 + dt.timedelta(seconds=number * size + i)).isoformat(),
            "prediction": i % 2,
            "score": round((i % 100) / 100, 2),
            "sensitive": {"sex": "FM"[i % 2], "race": "ABC"[i % 3]},
            "features": {"age": 20 + i % 50, "region": "north"},
        }
        for i in range(size)
    ]
    return json.dumps({"events": events}).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """``fairwatch.server:create_app`` under uvicorn in a subprocess, on ``store_url``."""

    def __init__(
        self,
        store_url: str,
        log: Path,
        preexec: Callable[[], None] | None = None,
        *,
        log_level: str = "warning",
        env: dict[str, str] | None = None,
    ) -> None:
        self.store_url = store_url
        self.log = log
        self.preexec = preexec
        self.log_level = log_level
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def launch(self) -> subprocess.Popen[bytes]:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "uvicorn", "fairwatch.server:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", self.log_level]
        env = {**os.environ, "FAIRWATCH_STORE": self.store_url, "FAIRWATCH_API_KEYS": f"{API_KEY}:ingest", **self.env}
        with self.log.open("ab") as out:
            # the pre-exec hooks (a file size limit, dropped capabilities) only make system calls
            self.process = subprocess.Popen(
                command,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=self.preexec,  # noqa: PLW1509
            )
        return self.process

    def start(self) -> None:
        """Launch and wait until ``/v1/health`` answers 200."""
        process = self.launch()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the service exited with {process.returncode}:\n{self.output()[-3000:]}")
            try:
                if httpx.get(self.url + "/v1/health", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the service did not become healthy in {START_TIMEOUT:g} s:\n{self.output()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Ledger:
    """What the clients saw, per batch number."""

    size: int
    acked: list[int] = field(default_factory=list)
    failed: dict[int, tuple[int, str]] = field(default_factory=dict)  # HTTP status and message
    unanswered: list[int] = field(default_factory=list)  # the connection broke: state unknown

    @property
    def sent(self) -> set[int]:
        return set(self.acked) | set(self.failed) | set(self.unanswered)


class Senders:
    """Client threads posting numbered batches until stopped (or, optionally, until the server is gone)."""

    def __init__(self, url: str, size: int, *, threads: int = 2, stop_when_unanswered: bool = True) -> None:
        self.url = url
        self.ledger = Ledger(size)
        self.stop_when_unanswered = stop_when_unanswered
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._changed = threading.Condition(self._lock)
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Senders:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self) -> None:
        size = self.ledger.size
        headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30.0) as client:
            while not self._stop.is_set():
                with self._lock:
                    number = self._next
                    self._next += 1
                try:
                    response = client.post("/v1/predictions", content=batch_body(number, size))
                except httpx.TransportError:
                    with self._changed:
                        self.ledger.unanswered.append(number)
                        self._changed.notify_all()
                    if self.stop_when_unanswered:
                        return
                    time.sleep(0.05)
                    continue
                with self._changed:
                    if response.status_code == 200:
                        assert response.json() == {"accepted": size, "duplicates": 0}
                        self.ledger.acked.append(number)
                    else:
                        self.ledger.failed[number] = (response.status_code, response.json().get("detail", ""))
                    self._changed.notify_all()

    def wait_until(self, condition: Callable[[Ledger], bool], what: str, timeout: float = 60.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self.ledger), timeout=timeout):
                raise AssertionError(f"timed out waiting for {what}; so far: {self.ledger}")

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a client thread did not finish"


def stored_batches(store_url: str) -> dict[int, int]:
    """Number of stored events per batch (opening the store replays its log, as a restart does)."""
    store = open_store(store_url)
    try:
        rows = store.query(
            "SELECT split_part(prediction_id, '-', 1), count(*) FROM events WHERE ts IS NOT NULL GROUP BY 1"
        )
    finally:
        store.close()
    return {int(prefix[1:]): int(count) for prefix, count in rows}


def assert_promises_kept(ledger: Ledger, stored: dict[int, int]) -> None:
    """Every acknowledged batch is stored whole; no batch is stored in part; nothing unsent is stored."""
    for number in ledger.acked:
        assert stored.get(number, 0) == ledger.size, (
            f"batch {number} was acknowledged but {stored.get(number, 0)} of its {ledger.size} events are stored"
        )
    partial = {number: count for number, count in stored.items() if count != ledger.size}
    assert not partial, f"batches stored in part (batch: events stored): {partial}"
    assert set(stored) <= ledger.sent
    assert sum(stored.values()) >= ledger.size * len(ledger.acked)


@pytest.fixture
def fault_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh DuckDB file or PostgreSQL schema (dropped afterwards), by the test's ``backend`` param."""
    if request.param == "duckdb":
        yield f"duckdb://{tmp_path / 'events.duckdb'}"
        return
    url = postgres_url("faults_" + uuid.uuid4().hex[:8])
    yield url
    _drop_schema(url)


def _drop_schema(url: str) -> None:
    from fairwatch.monitor._postgres import PostgresStore

    cleanup = PostgresStore(url)
    cleanup.drop_schema()
    cleanup.close()


# -- (a) SIGKILL during ingest ----------------------------------------------------------------------
@pytest.mark.parametrize("fault_store_url", ["duckdb", "postgres"], indirect=True)
def test_sigkill_during_ingest_loses_no_acknowledged_event(fault_store_url: str, tmp_path: Path) -> None:
    service = Service(fault_store_url, tmp_path / "service.log")
    service.start()
    try:
        with Senders(service.url, size=1000) as senders:
            senders.wait_until(lambda ledger: len(ledger.acked) >= 6, "six acknowledged batches")
            service.kill()  # mid-stream: the other client's batch is in flight
            senders.join()
    finally:
        service.stop()
    ledger = senders.ledger
    stored = stored_batches(fault_store_url)
    assert_promises_kept(ledger, stored)

    # restarted on the same store, the service takes writes again, and every batch re-sent is
    # counted exactly as what is stored: all duplicates, or (never stored) all accepted
    service.start()
    try:
        with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
            for number in sorted(ledger.sent) + [max(ledger.sent) + 1]:
                response = client.post("/v1/predictions", content=batch_body(number, ledger.size), timeout=30)
                assert response.status_code == 200, response.text
                counts = (response.json()["accepted"], response.json()["duplicates"])
                assert counts == ((0, ledger.size) if number in stored else (ledger.size, 0)), number
    finally:
        service.stop()
    assert set(stored_batches(fault_store_url).values()) == {ledger.size}


# -- (b) PostgreSQL restarted during ingest ---------------------------------------------------------
@dataclass
class Cluster:
    """The local PostgreSQL cluster behind ``POSTGRES_URL``, driven with pg_ctlcluster."""

    version: str
    name: str

    def ctl(self, action: str, *options: str) -> None:
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action, *options]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def online(self) -> bool:
        return any(line[:2] == [self.version, self.name] and "online" in line for line in _clusters())


def _clusters() -> list[list[str]]:
    """``pg_lsclusters`` lines, split: version, name, port, status, ..."""
    listing = subprocess.run(["pg_lsclusters", "--no-header"], check=True, capture_output=True, text=True, timeout=30)
    return [line.split() for line in listing.stdout.splitlines() if line.strip()]


@pytest.fixture
def pg_cluster() -> Iterator[Cluster]:
    """The cluster to restart; whatever happens in the test, it is running again afterwards."""
    postgres_url("probe")  # fails under CI=true, skips elsewhere, when PostgreSQL is unreachable
    port = str(urlsplit(POSTGRES_URL).port or 5432)
    host = urlsplit(POSTGRES_URL).hostname
    problem = None
    if host not in ("127.0.0.1", "localhost") or shutil.which("pg_ctlcluster") is None:
        problem = "restarting PostgreSQL needs a local cluster managed with pg_ctlcluster"
    cluster = None
    if problem is None:
        found = [line for line in _clusters() if len(line) > 2 and line[2] == port]
        if not found:
            problem = f"no pg_ctlcluster cluster listens on port {port}"
        else:
            cluster = Cluster(found[0][0], found[0][1])
    if problem is not None or cluster is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{problem} (CI=true: this test must run)")
        pytest.skip(str(problem))
    try:
        yield cluster
    finally:
        if not cluster.online():
            cluster.ctl("start")


@pytest.mark.slow  # a PostgreSQL stop and start, and a pool timeout during the outage (~13 s)
@pytest.mark.exclusive  # every other PostgreSQL test would see the outage
def test_postgres_restart_during_ingest_gives_503_and_the_pool_recovers(pg_cluster: Cluster, tmp_path: Path) -> None:
    url = postgres_url("restart_" + uuid.uuid4().hex[:8])
    service = Service(url, tmp_path / "service.log")
    service.start()
    try:
        with Senders(service.url, size=200, threads=1, stop_when_unanswered=False) as senders:
            senders.wait_until(lambda ledger: len(ledger.acked) >= 3, "three acknowledged batches")
            try:
                pg_cluster.ctl("stop", "-m", "fast")  # aborts the transactions in flight
                senders.wait_until(lambda ledger: len(ledger.failed) >= 1, "a write refused during the outage")
                during = service.url + "/v1/health"
                assert httpx.get(during, timeout=30).status_code == 503
            finally:
                pg_cluster.ctl("start")
            acked = len(senders.ledger.acked)
            senders.wait_until(lambda ledger: len(ledger.acked) >= acked + 3, "writes accepted again after the restart")
    finally:
        service.stop()
    ledger = senders.ledger
    try:
        assert_promises_kept(ledger, stored_batches(url))
    finally:
        _drop_schema(url)
    assert not ledger.unanswered
    for status, message in ledger.failed.values():
        assert status == 503
        assert message.startswith("PostgreSQL store is unavailable"), message
        assert "retry when it is back" in message


# -- (c) an unwritable DuckDB file ------------------------------------------------------------------
def _without_root_file_access() -> Callable[[], None] | None:
    """For root: a pre-exec hook dropping the capabilities that bypass file permissions."""
    if os.geteuid() != 0:
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def drop() -> None:
        for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, from the bounding set
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")

    return drop


def test_read_only_duckdb_file_is_a_clear_startup_error(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    directory.mkdir()
    path = directory / "events.duckdb"
    open_store(f"duckdb://{path}").close()
    path.chmod(0o444)
    directory.chmod(0o555)
    service = Service(f"duckdb://{path}", tmp_path / "service.log", preexec=_without_root_file_access())
    try:
        process = service.launch()
        try:
            code = process.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the service started on a read-only store:\n{service.output()[-2000:]}")
    finally:
        service.stop()
        directory.chmod(0o755)
        path.chmod(0o644)
    assert code != 0
    assert f"cannot open DuckDB store 'duckdb://{path}'" in service.output()
    assert "Permission denied" in service.output()


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_duckdb_file_that_cannot_grow_gives_503_and_keeps_what_was_acknowledged(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'events.duckdb'}"
    # the service may write at most 4 MB per file: like a full disk, writes fail once the log is that big
    service = Service(url, tmp_path / "service.log", preexec=_file_size_limit(4_000_000))
    service.start()
    try:
        with Senders(service.url, size=1000, threads=1, stop_when_unanswered=False) as senders:
            senders.wait_until(lambda ledger: len(ledger.failed) >= 2, "writes refused once the file is full")
    finally:
        service.stop()
    ledger = senders.ledger
    assert len(ledger.acked) >= 3
    for status, message in ledger.failed.values():
        assert status == 503
        assert message.startswith(f"could not store the batch in '{url}'; nothing was written"), message
    stored = stored_batches(url)
    assert_promises_kept(ledger, stored)
    assert not set(stored) & set(ledger.failed), "a batch refused with 503 was stored"


@contextlib.contextmanager
def small_disk(directory: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``directory``: writes beyond it fail with ENOSPC, as on a full disk.

    Needs the right to mount (root with CAP_SYS_ADMIN); elsewhere the test is skipped: the file size
    limit test above drives the same refusal path with EFBIG.
    """
    directory.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        check=False,
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip()}); the RLIMIT_FSIZE test covers it")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False, capture_output=True)


def test_full_disk_gives_503_and_keeps_what_was_acknowledged(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "3m") as disk:
        url = f"duckdb://{disk / 'events.duckdb'}"
        service = Service(url, tmp_path / "service.log")
        service.start()
        try:
            with Senders(service.url, size=1000, threads=1, stop_when_unanswered=False) as senders:
                senders.wait_until(lambda ledger: len(ledger.failed) >= 2, "writes refused once the disk is full")
            health = httpx.get(service.url + "/v1/health", timeout=10)
        finally:
            service.stop()
        # what a restart sees once space is freed: the files as they were left, moved to a roomy disk
        restored = tmp_path / "restored"
        restored.mkdir()
        for leftover in disk.iterdir():
            shutil.copy2(leftover, restored / leftover.name)
    ledger = senders.ledger
    assert len(ledger.acked) >= 3
    assert not ledger.unanswered
    for status, message in ledger.failed.values():
        assert status == 503
        assert message.startswith(f"could not store the batch in '{url}'; nothing was written"), message
        assert "No space left on device" in message, message
    assert health.status_code in (200, 503)
    stored = stored_batches(f"duckdb://{restored / 'events.duckdb'}")
    assert_promises_kept(ledger, stored)
    assert not set(stored) & set(ledger.failed), "a batch refused with 503 was stored"


@dataclass
class ReadOnlyRole:
    """A PostgreSQL login role the service connects as, whose sessions can be switched to read-only."""

    name: str

    def admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def url(self, schema: str) -> str:
        parts = urlsplit(postgres_url(schema))
        return parts._replace(netloc=f"{self.name}@{parts.hostname}:{parts.port or 5432}").geturl()

    def set_read_only(self, on: bool) -> None:
        """Like a server put in read-only mode: new sessions refuse writes, current ones are ended."""
        setting = "SET default_transaction_read_only = on" if on else "RESET default_transaction_read_only"
        self.admin(
            f"ALTER ROLE {self.name} {setting}",
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{self.name}'",
        )


@pytest.fixture
def read_only_role() -> Iterator[ReadOnlyRole]:
    postgres_url("probe")  # fails under CI=true, skips elsewhere, when PostgreSQL is unreachable
    role = ReadOnlyRole("fw_test_ro_" + uuid.uuid4().hex[:8])
    database = urlsplit(POSTGRES_URL).path.lstrip("/") or "postgres"
    role.admin(f"CREATE ROLE {role.name} LOGIN", f'GRANT CREATE ON DATABASE "{database}" TO {role.name}')
    try:
        yield role
    finally:
        role.admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role.name}'",
            f"DROP OWNED BY {role.name} CASCADE",
            f'REVOKE CREATE ON DATABASE "{database}" FROM {role.name}',
            f"DROP ROLE {role.name}",
        )


@pytest.mark.slow  # two switches of the database's write mode during ingest (~10 s)
def test_read_only_postgres_gives_503_and_writes_resume(read_only_role: ReadOnlyRole, tmp_path: Path) -> None:
    url = read_only_role.url("readonly_" + uuid.uuid4().hex[:8])
    service = Service(url, tmp_path / "service.log", env={"FAIRWATCH_API_KEYS": f"{API_KEY}:ingest|read"})
    service.start()
    try:
        with Senders(service.url, size=200, threads=1, stop_when_unanswered=False) as senders:
            senders.wait_until(lambda ledger: len(ledger.acked) >= 3, "three acknowledged batches")
            read_only_role.set_read_only(True)
            senders.wait_until(lambda ledger: len(ledger.failed) >= 2, "writes refused while read-only")
            # reads still work while writes are refused
            models = httpx.get(service.url + "/v1/models", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)
            read_only_role.set_read_only(False)
            acked = len(senders.ledger.acked)
            senders.wait_until(lambda ledger: len(ledger.acked) >= acked + 3, "writes accepted again")
    finally:
        service.stop()
    ledger = senders.ledger
    assert models.status_code == 200, models.text
    assert not ledger.unanswered
    read_only = 0
    for status, message in ledger.failed.values():
        assert status == 503, message
        # a batch in flight when the sessions were ended is refused as "unavailable", later ones as read-only
        assert message.startswith(("PostgreSQL store is read-only", "PostgreSQL store is unavailable")), message
        read_only += message.startswith("PostgreSQL store is read-only (cannot execute")
    assert read_only >= 1
    assert_promises_kept(ledger, stored_batches(url))


# -- the staging path stores exactly what was validated ---------------------------------------------
@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_awkward_values_survive_the_staging_path(backend: str, tmp_path: Path) -> None:
    from fairwatch.monitor import PredictionEvent
    from fairwatch.monitor._events import normalize_attribute, normalize_label

    url = f"duckdb://{tmp_path / 'x.duckdb'}" if backend == "duckdb" else postgres_url("values_" + uuid.uuid4().hex[:8])
    awkward = ["a,b", 'quote"d', "new\nline", "", "tab\there", "ünïcødé ✓", "back\\slash", "NULL", "\\N"]
    events = [
        PredictionEvent(
            prediction_id=f"id-{i}-{text}",
            model="m.x-1",
            model_version=None if i % 2 else text,
            timestamp=dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=i - 4))),
            prediction=[True, 0, 1.0, "yes"][i % 4],
            score=None if i % 3 == 0 else i / 10,
            sensitive={"Group": text, "flag": [True, 3, 2.5, None][i % 4]},
            features=None if i == 1 else {"text": text, "n": i, "x": 0.1 * i, "b": False, "none": None},
        )
        for i, text in enumerate(awkward)
    ]
    store = open_store(url)
    try:
        assert store.insert_predictions(events + events[:2]).accepted == len(events)
        rows = store.query(
            "SELECT prediction_id, model_version, ts, prediction, score, features, group_id FROM events "
            "WHERE ts IS NOT NULL"
        )
        groups = store.entries("m.x-1").groups
    finally:
        if backend == "postgres":
            store.drop_schema()  # type: ignore[attr-defined]
        store.close()
    got = {r[0]: r[1:] for r in rows}
    assert len(got) == len(events)
    for event in events:
        version, ts, prediction, score, features, group_id = got[event.prediction_id]
        values = groups[group_id]
        group, flag = values.get("group"), values.get("flag")
        assert version == (event.model_version or "")
        assert ts == event.timestamp
        assert prediction == normalize_label(event.prediction)
        assert score == event.score
        assert (None if features is None else json.loads(features)) == event.features
        assert group == event.sensitive["Group"]
        raw_flag = event.sensitive["flag"]
        assert flag == (None if raw_flag is None else normalize_attribute(raw_flag))


# -- every window summarised at once equals window by window ----------------------------------------
def _same(a: object, b: object, where: str) -> None:
    """Equal, with nan equal to nan, through Summary and Disparity objects."""
    import dataclasses
    import math

    import numpy as np

    if isinstance(a, float) and isinstance(b, float):
        assert a == b or (math.isnan(a) and math.isnan(b)), (where, a, b)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and np.array_equal(a, b, equal_nan=True), (where, a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), (where, a, b)
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        for f in dataclasses.fields(a):
            if f.name != "stats":
                _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    else:
        assert a == b, (where, a, b)


def _window_by_window(window: Any, min_group_size: int | None, ci: float | None) -> Any:
    """The window's summaries computed on its own GroupStats with :func:`summarize`."""
    from fairwatch.metrics import get_metric, summarize
    from fairwatch.monitor._stack import labelled_view, split_specs
    from fairwatch.monitor._windows import WindowResult

    free, needs = split_specs([get_metric(m) for m in window.metric_names])
    options = {"ci": ci, "min_group_size": min_group_size, "n_boot": 10, "random_state": 0, "warn": False}
    return WindowResult(
        window.start,
        window.end,
        window.n,
        window.labelled,
        window.stats,
        summarize(window.stats, free, **options) if free else None,
        summarize(labelled_view(window.stats), needs, **options) if needs else None,
        window.metric_names,
        window.sensitive,
    )


@pytest.mark.parametrize("min_group_size", [None, 5, 30])
@pytest.mark.parametrize("sensitive", [["race"], ["sex", "race"]])
def test_windows_summarised_at_once_equal_window_by_window(min_group_size: int | None, sensitive: list[str]) -> None:
    from fairwatch.monitor import window_metrics

    from .events import make_stream

    stream = make_stream(2000, seed=7, labelled_share=0.3, minutes_per_event=0.7)
    metrics = ["selection_rate", "accuracy", "tpr", "fpr", "precision", "error_rate", "fnr"]
    with open_store("duckdb://:memory:") as store:
        store.insert_predictions(stream.predictions)
        store.insert_outcomes(stream.outcomes)
        for names in (None, metrics):
            windows = window_metrics(
                store, "credit", sensitive=sensitive, window="20m", metrics=names, min_group_size=min_group_size
            )
            for window in windows:
                if window.stats is None:
                    continue
                expected = _window_by_window(window, min_group_size, None)
                _same(window.label_free, expected.label_free, "label_free")
                _same(window.labelled_summary, expected.labelled_summary, "labelled")
                assert window.to_dict() == expected.to_dict()


@pytest.mark.parametrize("min_group_size", [None, 30])
def test_window_intervals_at_once_equal_window_by_window(min_group_size: int | None) -> None:
    """With intervals: group intervals (Wilson) and difference intervals (Newcombe) are those of
    :func:`summarize`; ratio intervals are MOVER-R (the rule engine's), within the bootstrap's reach."""
    from fairwatch.monitor import window_metrics

    from .events import make_stream

    stream = make_stream(3000, seed=3, labelled_share=0.5, minutes_per_event=0.7)
    with open_store("duckdb://:memory:") as store:
        store.insert_predictions(stream.predictions)
        store.insert_outcomes(stream.outcomes)
        windows = window_metrics(
            store, "credit", sensitive=["race"], window="2h", ci=0.95, min_group_size=min_group_size
        )
        compared = 0
        for window in windows:
            if window.stats is None:
                continue
            got, want = window.to_dict(), _window_by_window(window, min_group_size, 0.95).to_dict()
            assert got["groups"] == want["groups"]
            for name, d in want["disparities"].items():
                # a combination (equalized odds) takes the interval of its worst part; with fewer than two
                # groups there is no difference, so no interval either (summarize gives one around 0)
                plain = "agg" not in d and d["difference"] is not None
                fields = ("difference", "ratio", "difference_lo", "difference_hi") if plain else ("difference", "ratio")
                for field in fields:
                    if d[field] is None:
                        assert got["disparities"][name][field] is None, (name, field)
                    else:
                        assert got["disparities"][name][field] == pytest.approx(d[field], rel=1e-12), (name, field)
                for field in ("max_group", "min_group", "groups_compared"):
                    assert got["disparities"][name][field] == d[field], (name, field)
                if "agg" in d:
                    worst = max(d["metrics"], key=lambda m: got["disparities"][m]["difference"] or -1)
                    for field in ("difference_lo", "difference_hi"):
                        assert got["disparities"][name][field] == got["disparities"][worst][field]
                elif d["ratio_lo"] is not None and got["disparities"][name]["ratio_lo"] is not None:
                    compared += 1
                    assert got["disparities"][name]["ratio_lo"] <= d["ratio"] <= got["disparities"][name]["ratio_hi"]
        assert compared > 10
