"""Slow and greedy clients against the server ``fairwatch serve`` runs, over raw sockets on 127.0.0.1.

Headers sent a byte at a time, a body that stalls, oversized headers and too many connections are
each cut off within their limit (short limits here), while health checks keep being answered.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from fairwatch.monitor import Store
from fairwatch.server import Settings, create_app
from fairwatch.server._http import server_config

from .events import make_stream

INGEST_KEY = "slow-ingest-key"


@contextmanager
def serve(settings: Settings, store: Store) -> Iterator[tuple[str, int]]:
    """``fairwatch serve``'s uvicorn configuration in a thread on a free port; yields (host, port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    config = server_config(create_app(settings, store=store), settings, host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        yield host, port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _settings(**limits: Any) -> Settings:
    return Settings(api_keys=f"{INGEST_KEY}:ingest", evaluation_interval=0, **limits)


def _connect(address: tuple[str, int]) -> socket.socket:
    conn = socket.create_connection(address, timeout=10)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def _read_until_closed(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails after the socket's timeout)."""
    chunks = []
    try:
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        # a byte a dripping client sent after the server's close resets the connection: the answer
        # read before that is what counts
        if not chunks:
            raise
    return b"".join(chunks)


def _status_and_body(answer: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _healthy(address: tuple[str, int]) -> bool:
    started = time.monotonic()
    ok = httpx.get(f"http://{address[0]}:{address[1]}/v1/health", timeout=5).status_code == 200
    return ok and time.monotonic() - started < 1.0


def _served(address: tuple[str, int]) -> bool:
    try:
        return httpx.get(f"http://{address[0]}:{address[1]}/v1/health", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


class Dripper(threading.Thread):
    """Sends ``data`` one byte per ``interval`` until the server closes the connection."""

    def __init__(self, conn: socket.socket, data: bytes, interval: float) -> None:
        super().__init__(daemon=True)
        self.conn, self.data, self.interval = conn, data, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        for byte in self.data:
            if self.stopped.wait(self.interval):  # paces the drip; stop() ends it at once
                return
            if select.select([self.conn], [], [], 0)[0]:
                return  # the server answered: a byte sent after its close would reset the connection
            try:
                self.conn.send(bytes([byte]))
            except OSError:  # closed by the server: what we wait for
                return

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def test_headers_sent_a_byte_at_a_time_are_cut_off_with_408(store: Store) -> None:
    with serve(_settings(header_timeout=1.0), store) as address:
        conn = _connect(address)
        dripper = Dripper(conn, b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100, 0.1)
        started = time.monotonic()
        dripper.start()
        try:
            assert _healthy(address)  # others are served meanwhile
            answer = _read_until_closed(conn)
        finally:
            dripper.stop()
            conn.close()
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3.0, elapsed
    status, body = _status_and_body(answer)
    assert status == 408
    assert body["detail"] == "request headers not received within 1 s (FAIRWATCH_HEADER_TIMEOUT)"


def test_a_connection_that_sends_nothing_is_closed(store: Store) -> None:
    with serve(_settings(header_timeout=0.5), store) as address:
        conn = _connect(address)
        started = time.monotonic()
        try:
            answer = _read_until_closed(conn)
        finally:
            conn.close()
        assert time.monotonic() - started < 3.0
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert _healthy(address)


def test_the_next_request_on_a_kept_alive_connection_has_the_same_header_timeout(store: Store) -> None:
    with serve(_settings(header_timeout=0.5, keep_alive_timeout=30), store) as address:
        conn = _connect(address)
        try:
            conn.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            first = conn.recv(65536)
            assert first.startswith(b"HTTP/1.1 200 OK")
            conn.sendall(b"GET /v1/health HTTP/1.1\r\n")  # then nothing more
            started = time.monotonic()
            answer = _read_until_closed(conn)
        finally:
            conn.close()
    assert time.monotonic() - started < 3.0
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")


def test_a_body_that_stalls_gets_408_and_stores_nothing(store: Store) -> None:
    events = [json.loads(e.model_dump_json()) for e in make_stream(5).predictions]
    body = json.dumps({"events": events}).encode()
    head = (
        f"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {INGEST_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with serve(_settings(body_timeout=1.0), store) as address:
        conn = _connect(address)
        try:
            conn.sendall(head + body[:20])  # then the body stalls
            started = time.monotonic()
            assert _healthy(address)
            answer = _read_until_closed(conn)  # the server closes the connection after its answer
        finally:
            conn.close()
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3.0, elapsed
    status, detail = _status_and_body(answer)
    assert status == 408
    assert detail["detail"] == (
        "request body not received within 1 s (FAIRWATCH_BODY_TIMEOUT); nothing was stored: send it again, "
        "faster or in smaller batches"
    )
    assert store.count("predictions") == 0


def test_a_trickling_body_gets_408_at_the_deadline(store: Store) -> None:
    """A byte every 0.1 s never stalls for long, but the whole body must arrive within the limit."""
    head = (
        f"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {INGEST_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    with serve(_settings(body_timeout=1.0), store) as address:
        conn = _connect(address)
        conn.sendall(head)
        dripper = Dripper(conn, b"x" * 1000, 0.1)
        started = time.monotonic()
        dripper.start()
        try:
            answer = _read_until_closed(conn)
        finally:
            dripper.stop()
            conn.close()
    assert time.monotonic() - started < 3.0
    assert _status_and_body(answer)[0] == 408


def test_oversized_headers_get_431(store: Store) -> None:
    with serve(_settings(max_header_bytes=4096), store) as address:
        conn = _connect(address)
        try:
            conn.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
            for _ in range(10):
                if select.select([conn], [], [], 0.05)[0]:
                    break  # answered: more bytes after the server's close would reset the connection
                conn.sendall(b"X-Filler: " + b"a" * 1000 + b"\r\n")
            answer = _read_until_closed(conn)
        except (BrokenPipeError, ConnectionResetError):
            pytest.fail("the server closed the connection without an answer")
        finally:
            conn.close()
        status, body = _status_and_body(answer)
        assert status == 431
        assert body["detail"] == "request headers larger than 4096 bytes (FAIRWATCH_MAX_HEADER_BYTES)"
        assert _healthy(address)


def test_connections_beyond_the_limit_are_refused_as_they_open(store: Store) -> None:
    with serve(_settings(max_connections=3, header_timeout=30), store) as address:
        idle = [_connect(address) for _ in range(3)]
        try:
            extra = _connect(address)
            answer = _read_until_closed(extra)
            extra.close()
            status, body = _status_and_body(answer)
            assert status == 503 and b"retry-after: 1" in answer
            assert body["detail"] == "too many open connections (FAIRWATCH_MAX_CONNECTIONS is 3); retry later"
            idle.pop().close()
            deadline = time.monotonic() + 5
            while not _served(address):  # once the server has seen the close, a new connection is served
                assert time.monotonic() < deadline, "a closed connection still counts against the limit"
        finally:
            for conn in idle:
                conn.close()


def test_fairwatch_serve_runs_uvicorn_with_the_limits(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fairwatch.server._http import GuardedHttpToolsProtocol

    from .test_cli_monitor import run

    configs: list[Any] = []

    class Captured:
        def __init__(self, config: Any) -> None:
            configs.append(config)

        def run(self) -> None:
            pass

    monkeypatch.setattr(uvicorn, "Server", Captured)
    for name, value in {"HEADER_TIMEOUT": "2.5", "MAX_CONNECTIONS": "50", "KEEP_ALIVE_TIMEOUT": "7"}.items():
        monkeypatch.setenv(f"FAIRWATCH_{name}", value)
    code, _, err = run(["serve", "--store", f"duckdb://{tmp_path / 'events.duckdb'}", "--port", "0"], capsys)
    assert code == 0, err
    (config,) = configs
    assert issubclass(config.http, GuardedHttpToolsProtocol)
    assert (config.http.header_timeout, config.http.max_connections) == (2.5, 50)
    assert (config.timeout_keep_alive, config.limit_concurrency) == (7, 51)
    assert config.http.max_header_bytes == Settings().max_header_bytes == 65536
    assert (Settings().header_timeout, Settings().body_timeout) == (2.5, 60.0)
