"""Service operations: startup and shutdown hooks (a failure never leaves the others running), and the
key that `/metrics` may require."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from fairwatch.monitor import open_store
from fairwatch.server import Settings, create_app


def test_a_failing_shutdown_hook_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(Settings(auth_disabled=True), store=open_store("duckdb://:memory:"))
    stopped: list[str] = []

    def broken() -> None:
        raise RuntimeError("the broker connection is gone")

    app.state.context.shutdown.extend([broken, lambda: stopped.append("scheduler")])
    with caplog.at_level(logging.ERROR, logger="fairwatch.server"), TestClient(app) as client:
        assert client.get("/v1/health").status_code == 200
    assert stopped == ["scheduler"]
    assert "a shutdown hook failed" in caplog.text


def test_a_failed_start_stops_what_had_started() -> None:
    app = create_app(Settings(auth_disabled=True), store=open_store("duckdb://:memory:"))
    events: list[str] = []

    def unreachable() -> None:
        raise RuntimeError("cannot reach the broker at nats://127.0.0.1:1")

    app.state.context.startup.extend([lambda: events.append("scheduler started"), unreachable])
    app.state.context.shutdown.append(lambda: events.append("scheduler stopped"))
    with pytest.raises(RuntimeError, match="cannot reach the broker"), TestClient(app):
        pass
    assert events == ["scheduler started", "scheduler stopped"]


def test_metrics_can_require_a_read_key() -> None:
    settings = Settings(api_keys="r:read,w:ingest", metrics_require_key=True)
    with TestClient(create_app(settings, store=open_store("duckdb://:memory:"))) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer w"}).status_code == 403
        answer = client.get("/metrics", headers={"Authorization": "Bearer r"})
        assert answer.status_code == 200 and "fairwatch_events_total" in answer.text
    with TestClient(create_app(Settings(api_keys="r:read"), store=open_store("duckdb://:memory:"))) as client:
        assert client.get("/metrics").status_code == 200  # open by default, for scrapers
