"""``fairwatch serve --workers N``: several worker processes on one PostgreSQL store, each with the
service's limits; refused with the reason on a DuckDB file, which one process holds at a time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from fairwatch.monitor._postgres import PostgresStore

from .conftest import postgres_url
from .events import make_stream
from .test_cli_monitor import run

KEY = "workers-key"


def test_workers_need_a_postgresql_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["serve", "--store", f"duckdb://{tmp_path / 'e.duckdb'}", "--workers", "2"], capsys)
    assert code == 2
    assert "--workers 2 needs a PostgreSQL store: a DuckDB file is opened by one process at a time" in err
    assert "run one worker, or store in PostgreSQL (--store postgresql://...)" in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_two_workers_serve_one_postgresql_store_with_the_limits(tmp_path: Path) -> None:
    url = postgres_url("workers_" + uuid.uuid4().hex[:6])
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FAIRWATCH_API_KEYS": f"{KEY}:ingest|read",
        "FAIRWATCH_HEADER_TIMEOUT": "1",
        "FAIRWATCH_EVALUATION_INTERVAL": "0",
    }
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "fairwatch", "serve", "--store", url, "--port", str(port), "--workers", "2"]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(base + "/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

        headers = {"Authorization": f"Bearer {KEY}"}
        events = [e.model_dump(mode="json") for e in make_stream(200).predictions]
        answers = [
            httpx.post(base + "/v1/predictions", json={"events": events[i : i + 50]}, headers=headers, timeout=30)
            for i in range(0, 200, 50)
        ]
        assert [a.json() for a in answers] == [{"accepted": 50, "duplicates": 0}] * 4
        # every worker reads what any of them stored (new connections spread over the workers)
        for _ in range(6):
            listed = httpx.get(base + "/v1/models", headers=headers, timeout=30).json()["models"]
            assert [(m["model"], m["predictions"]) for m in listed] == [("credit", 200)]

        # each worker applies the environment's header timeout (1 s here)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            started = time.monotonic()
            conn.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
            answer = conn.recv(65536)
            assert answer.startswith(b"HTTP/1.1 408"), answer
            assert b"request headers not received within 1 s (FAIRWATCH_HEADER_TIMEOUT)" in answer
            assert time.monotonic() - started < 5
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        cleanup = PostgresStore(url)
        cleanup.drop_schema()
        cleanup.close()
    text = log.read_text()
    assert text.count("Started server process") == 2, text
    assert server.returncode == 0, text
