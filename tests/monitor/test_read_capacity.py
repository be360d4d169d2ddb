"""Heavy reads cannot starve the service: bounded read slots, a read time budget, a health probe of its own.

A read is made slow on purpose (``read_windows`` blocks on an event) and many are sent at once to a
live uvicorn server; health checks and ingest must still answer at once, and reads beyond the slots
get the documented refusals.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

import fairwatch.server._app as app_module
from fairwatch.monitor import Store
from fairwatch.server import Settings, create_app
from fairwatch.server._capacity import READ_OPERATIONS, is_read

from .events import make_stream
from .test_client import serve

KEYS = "cap-ingest:ingest,cap-read:read"
READ = {"Authorization": "Bearer cap-read"}
INGEST = {"Authorization": "Bearer cap-ingest"}
METRICS = "/v1/models/loans/metrics?sensitive=sex"


class SlowReads:
    """Wraps ``read_windows``: each call says it started, then waits for ``release`` before reading."""

    def __init__(self, read: Callable[..., Any]) -> None:
        self.read = read
        self.started = threading.Semaphore(0)
        self.release = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.started.release()
        self.release.wait(60)
        return self.read(*args, **kwargs)

    def wait_started(self, count: int) -> None:
        for _ in range(count):
            assert self.started.acquire(timeout=30), "a read did not start"


@pytest.fixture
def slow_reads(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowReads]:
    store.insert_predictions(make_stream(20, seed=1, model="loans").predictions)  # read once released
    slow = SlowReads(app_module.read_windows)
    monkeypatch.setattr(app_module, "read_windows", slow)
    yield slow
    slow.release.set()  # never leave a server thread blocked


def until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll a condition the server cannot signal to the test (its queue length)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _batch() -> dict[str, Any]:
    return {"events": [json.loads(e.model_dump_json()) for e in make_stream(5).predictions]}


def test_health_and_ingest_answer_while_reads_fill_the_service(store: Store, slow_reads: SlowReads) -> None:
    """45 slow reads (more than the 40 threads Starlette runs routes in) leave health and ingest alone."""
    settings = Settings(
        api_keys=KEYS, evaluation_interval=0, read_concurrency=2, read_queue_limit=43, read_queue_timeout=60
    )
    app = create_app(settings, store=store)
    with serve(app) as url, ThreadPoolExecutor(45) as pool:
        gate = app.state.read_gate
        reads = [pool.submit(httpx.get, url + METRICS, headers=READ, timeout=90) for _ in range(45)]
        slow_reads.wait_started(2)
        until(lambda: gate.waiting == 43, "43 queued reads")

        health, health_seconds = timed(lambda: httpx.get(url + "/v1/health", timeout=10))
        ingest, ingest_seconds = timed(
            lambda: httpx.post(url + "/v1/predictions", json=_batch(), headers=INGEST, timeout=10)
        )
        extra = httpx.get(url + METRICS, headers=READ, timeout=10)

        assert (health.status_code, ingest.status_code) == (200, 200)
        assert health_seconds < 1.0 and ingest_seconds < 1.0, (health_seconds, ingest_seconds)
        assert ingest.json() == {"accepted": 5, "duplicates": 0}
        assert extra.status_code == 503
        assert extra.headers["Retry-After"] == "60"
        assert extra.json()["detail"] == (
            "the service is busy: all 2 read slots (FAIRWATCH_READ_CONCURRENCY) are taken and 43 read(s) are "
            "waiting; nothing was computed, retry later"
        )
        assert gate.running == 2  # the bound held: never more than two reads computing

        slow_reads.release.set()
        assert [r.result().status_code for r in reads] == [200] * 45


def test_a_read_over_its_time_budget_gets_422_and_keeps_its_slot(store: Store, slow_reads: SlowReads) -> None:
    settings = Settings(
        api_keys=KEYS, evaluation_interval=0, read_concurrency=1, read_queue_timeout=0.2, read_timeout=0.5
    )
    app = create_app(settings, store=store)
    with serve(app) as url:
        slow, seconds = timed(lambda: httpx.get(url + METRICS, headers=READ, timeout=10))
        assert slow.status_code == 422
        assert 0.5 <= seconds < 5
        assert slow.json()["detail"] == (
            "this read took longer than 0.5 s (FAIRWATCH_READ_TIMEOUT) and was given up; ask for a shorter "
            "period, longer windows, fewer metrics or groups, or no intervals"
        )
        # its computation goes on and holds the only slot: the next read waits 0.2 s, then 503
        busy = httpx.get(url + "/v1/models", headers=READ, timeout=10)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
        assert busy.json()["message"].startswith("the service is busy: all 1 read slots (FAIRWATCH_READ_CONCURRENCY)")
        assert httpx.get(url + "/v1/health", timeout=10).status_code == 200

        slow_reads.release.set()
        until(lambda: app.state.read_gate.running == 0, "the given-up read to end")
        assert httpx.get(url + METRICS, headers=READ, timeout=10).status_code == 200


def test_reads_beyond_the_queue_limit_are_refused_at_once(store: Store, slow_reads: SlowReads) -> None:
    settings = Settings(api_keys=KEYS, evaluation_interval=0, read_concurrency=1, read_queue_limit=0)
    app = create_app(settings, store=store)
    with serve(app) as url, ThreadPoolExecutor(1) as pool:
        first = pool.submit(httpx.get, url + METRICS, headers=READ, timeout=30)
        slow_reads.wait_started(1)
        refused, seconds = timed(lambda: httpx.get(url + "/v1/models", headers=READ, timeout=10))
        assert refused.status_code == 503 and seconds < 1.0
        assert "and 0 read(s) are waiting" in refused.json()["detail"]
        slow_reads.release.set()
        assert first.result().status_code == 200


def test_every_read_operation_runs_in_the_read_slots(store: Store) -> None:
    """Each gated operation exists (a renamed route would silently escape the bound)."""
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(evaluation_interval=0), store=store)) as client:
        for method, template in sorted(READ_OPERATIONS):
            path = template.replace("{model}", "credit").replace("{rule_id}", "r1")
            assert is_read(method, path)
            assert client.request(method, path).status_code == 401, (method, path)  # the route is there
    assert not is_read("POST", "/v1/predictions") and not is_read("GET", "/v1/health")
    assert not is_read("GET", "/v1/models/credit/metrics/extra") and is_read("HEAD", "/v1/models")


def test_health_reports_a_store_that_does_not_answer(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    import fairwatch.server._capacity as capacity

    monkeypatch.setattr(capacity, "HEALTH_PING_TIMEOUT", 0.2)
    stuck = threading.Event()
    monkeypatch.setattr(store, "ping", lambda: stuck.wait(10))
    try:
        with TestClient(create_app(Settings(evaluation_interval=0), store=store)) as client:
            answers = [client.get("/v1/health") for _ in range(3)]  # share the one ping in flight
    finally:
        stuck.set()
    assert {a.status_code for a in answers} == {503}
    assert answers[0].json()["detail"] == "store unreachable: the store did not answer within 0.2 s"
