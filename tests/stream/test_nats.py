"""Streaming ingest against the real NATS JetStream server.

The consumer runs as ``fairwatch consume`` in a subprocess; it is killed with SIGKILL mid-stream,
restarted, and the store must then hold each event exactly once, with the poison messages on the
dead-letter subject and every stream message acknowledged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fairwatch.monitor import open_store

from .conftest import NATS_URL, StreamNames

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
N_PREDICTIONS = 2000
N_OUTCOMES = 500
N_DUPLICATES = 200


def prediction(i: int) -> bytes:
    return json.dumps(
        {
            "prediction_id": f"p{i:05d}",
            "model": "credit",
            "timestamp": (T0 + dt.timedelta(seconds=i)).isoformat(),
            "prediction": i % 2,
            "score": round((i % 97) / 97, 4),
            "sensitive": {"sex": "FM"[i % 2]},
        }
    ).encode()


def outcome(i: int) -> bytes:
    return json.dumps(
        {"prediction_id": f"p{i:05d}", "label": (i // 2) % 2, "timestamp": (T0 + dt.timedelta(days=3)).isoformat()}
    ).encode()


POISON = {
    "not json": b"{this is not json",
    "missing field": json.dumps({"prediction_id": "x1", "model": "credit", "prediction": 1}).encode(),
    "bad score": json.dumps(
        {"prediction_id": "x2", "model": "credit", "timestamp": T0.isoformat(), "prediction": 1, "score": 7.5}
    ).encode(),
}


async def _js(action: Any) -> Any:
    import nats

    nc = await nats.connect(NATS_URL, connect_timeout=2, allow_reconnect=False)
    try:
        return await action(nc.jetstream())
    finally:
        await nc.close()


def publish_all(names: StreamNames) -> None:
    async def action(js: Any) -> None:
        await js.add_stream(name=names.stream, subjects=names.subjects)
        futures = []
        for i in range(N_PREDICTIONS):
            futures.append(await js.publish_async(names.predictions, prediction(i)))
            if i == 900:
                for payload in POISON.values():
                    futures.append(await js.publish_async(names.predictions, payload))
        for i in range(N_DUPLICATES):  # re-sent predictions (a producer retrying)
            futures.append(await js.publish_async(names.predictions, prediction(i * 7)))
        for i in range(N_OUTCOMES):
            futures.append(await js.publish_async(names.outcomes, outcome(i)))
        await asyncio.gather(*futures)

    asyncio.run(_js(action))


def consumer_state(names: StreamNames) -> tuple[int, int, int]:
    """(delivered-and-acknowledged stream sequence floor, pending, ack pending) of the durable consumer."""

    async def action(js: Any) -> tuple[int, int, int]:
        from nats.js.errors import NotFoundError

        try:
            info = await js.consumer_info(names.stream, "fairwatch")
        except NotFoundError:
            return 0, -1, -1
        if os.environ.get("FW_DEBUG"):
            print(time.monotonic(), info.ack_floor.stream_seq, info.num_pending, info.num_ack_pending, flush=True)
        return int(info.ack_floor.stream_seq), int(info.num_pending), int(info.num_ack_pending)

    result: tuple[int, int, int] = asyncio.run(_js(action))
    return result


def dead_letters(names: StreamNames) -> list[dict[str, Any]]:
    async def action(js: Any) -> list[dict[str, Any]]:
        info = await js.stream_info(f"{names.stream}_DEAD_LETTER")
        records = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(f"{names.stream}_DEAD_LETTER", seq)
            records.append({**json.loads(msg.data), "headers": dict(msg.headers or {})})
        return records

    result: list[dict[str, Any]] = asyncio.run(_js(action))
    return result


def start_consumer(names: StreamNames, store_url: str, batch_size: int = 200) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "fairwatch",
        "consume",
        "--nats",
        NATS_URL,
        "--stream",
        names.stream,
        "--subjects",
        ",".join(names.subjects),
        "--store",
        store_url,
        "--dead-letter-subject",
        names.dead_letter,
        "--batch-size",
        str(batch_size),
        "--max-wait",
        "0.2",
        "--ack-wait",
        "2",  # messages delivered to a killed consumer come back after 2 s
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(condition: Any, timeout: float, what: str, process: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return

        if process is not None and process.poll() is not None:
            pytest.fail(f"the consumer exited ({process.returncode}) while waiting for {what}: {process.stderr.read()}")  # type: ignore[union-attr]
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_kill_restart_stores_each_event_once(nats_stream: StreamNames, tmp_path: Path) -> None:
    names = nats_stream
    publish_all(names)
    total = N_PREDICTIONS + len(POISON) + N_DUPLICATES + N_OUTCOMES
    store_url = f"duckdb://{tmp_path / 'events.duckdb'}"

    first = start_consumer(names, store_url, batch_size=100)
    try:
        wait_for(lambda: consumer_state(names)[0] >= 600, 30, "the first batches", first)
        first.kill()  # SIGKILL: no chance to finish the batch in flight
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    floor, pending, ack_pending = consumer_state(names)
    assert floor < total and pending + ack_pending > 0, "the consumer was not killed mid-stream"

    second = start_consumer(names, store_url)
    try:
        wait_for(lambda: consumer_state(names)[1:] == (0, 0), 30, "every message acknowledged", second)
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=15)
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0, err
    assert "stopped: the last batch was stored and acknowledged" in err

    with open_store(store_url) as store:
        assert store.count("predictions") == N_PREDICTIONS
        assert store.count("outcomes") == N_OUTCOMES
        ids = store.query("SELECT count(DISTINCT prediction_id) FROM events WHERE ts IS NOT NULL")[0][0]
        assert ids == N_PREDICTIONS

    letters = dead_letters(names)
    assert len(letters) == len(POISON)
    by_payload = {letter["payload"]: letter for letter in letters}
    assert set(by_payload) == {p.decode() for p in POISON.values()}
    assert by_payload[POISON["not json"].decode()]["error"].startswith("not a JSON prediction event: Invalid JSON")
    assert (
        by_payload[POISON["missing field"].decode()]["error"] == "invalid prediction event: timestamp: Field required"
    )
    assert "score: Input should be less than or equal to 1" in by_payload[POISON["bad score"].decode()]["error"]
    assert all(letter["subject"] == names.predictions for letter in letters)
    assert all(letter["headers"]["Fairwatch-Error"] == letter["error"] for letter in letters)


def test_stop_finishes_the_batch_in_flight(nats_stream: StreamNames, tmp_path: Path) -> None:
    """Stopping (what SIGTERM does) while messages flow: whatever was delivered is stored and acknowledged."""
    from fairwatch.stream import NatsConsumer

    names = nats_stream
    store = open_store(f"duckdb://{tmp_path / 'events.duckdb'}")

    async def scenario() -> None:
        consumer = NatsConsumer(
            store,
            url=NATS_URL,
            stream=names.stream,
            subjects=names.subjects,
            dead_letter_subject=names.dead_letter,
            batch_size=50,
            max_wait=0.5,
        )
        await consumer.connect()
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))

        async def publish(js: Any) -> None:
            for i in range(400):
                await js.publish(names.predictions, prediction(i))

        await _js(publish)
        while store.count("predictions") == 0:
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 10)
        await consumer.close()

    asyncio.run(scenario())
    floor, pending, ack_pending = consumer_state(names)
    assert ack_pending == 0, "a delivered message was left unacknowledged"
    assert store.count("predictions") == floor  # exactly the acknowledged messages are stored
    assert pending == 400 - floor
    store.close()


def test_unreachable_broker_is_a_clear_startup_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fairwatch.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "consume",
                "--nats",
                "nats://127.0.0.1:1",
                "--stream",
                "NOPE",
                "--subjects",
                "a.predictions",
                "--store",
                f"duckdb://{tmp_path / 'x.duckdb'}",
            ]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error: cannot reach NATS at nats://127.0.0.1:1" in err
    assert "nats-server -js" in err


def test_service_runs_the_consumer_and_exposes_its_metrics(
    nats_stream: StreamNames, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from fairwatch.server import Settings, create_app

    names = nats_stream
    monkeypatch.setenv("FAIRWATCH_CONSUME_NATS", NATS_URL)
    monkeypatch.setenv("FAIRWATCH_CONSUME_STREAM", names.stream)
    monkeypatch.setenv("FAIRWATCH_CONSUME_SUBJECTS", ",".join(names.subjects))
    monkeypatch.setenv("FAIRWATCH_CONSUME_DEAD_LETTER_SUBJECT", names.dead_letter)
    monkeypatch.setenv("FAIRWATCH_CONSUME_MAX_WAIT", "0.1")
    store = open_store(f"duckdb://{tmp_path / 'svc.duckdb'}")
    app = create_app(Settings(store="duckdb://:memory:", auth_disabled=True), store=store)
    with TestClient(app) as client:

        async def publish(js: Any) -> None:
            for i in range(30):
                await js.publish(names.predictions, prediction(i))
            await js.publish(names.outcomes, b"[1, 2]")

        asyncio.run(_js(publish))
        wait_for(lambda: store.count("predictions") == 30 and consumer_state(names)[1:] == (0, 0), 20, "ingest")
        text = client.get("/metrics").text
        status = client.get("/v1/consumer").json()
    store.close()
    assert status["running"] is True and status["stream"] == names.stream
    consumer = f'consumer="nats:{names.stream}:fairwatch"'
    assert f'fairwatch_consumer_messages_total{{{consumer},result="stored"}} 30.0' in text
    assert f'fairwatch_consumer_messages_total{{{consumer},result="dead_letter"}} 1.0' in text
    assert f"fairwatch_consumer_batch_size_count{{{consumer}}}" in text
    assert f"fairwatch_consumer_lag{{{consumer}}} 0.0" in text


class _Proxy:
    """A TCP forwarder to the NATS server that can be cut and restored (a broker outage, as the consumer sees it)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.server: asyncio.AbstractServer | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def test_broker_outage_while_running_and_a_store_outage_lose_nothing(nats_stream: StreamNames, tmp_path: Path) -> None:
    from urllib.parse import urlsplit

    from fairwatch.exceptions import StoreUnavailableError
    from fairwatch.stream import ConsumerMetrics, NatsConsumer

    names = nats_stream
    store = open_store(f"duckdb://{tmp_path / 'events.duckdb'}")
    insert = store.insert_predictions
    failures = [1]

    def flaky_insert(events: Any) -> Any:
        if failures[0]:
            failures[0] -= 1
            raise StoreUnavailableError("the store is down (test)")
        return insert(events)

    store.insert_predictions = flaky_insert  # type: ignore[method-assign]
    metrics = ConsumerMetrics()
    parts = urlsplit(NATS_URL)

    async def scenario() -> None:
        proxy = _Proxy((parts.hostname or "127.0.0.1", parts.port or 4222))
        await proxy.start()
        consumer = NatsConsumer(
            store,
            url=f"nats://127.0.0.1:{proxy.port}",
            stream=names.stream,
            subjects=names.subjects,
            dead_letter_subject=names.dead_letter,
            batch_size=50,
            max_wait=0.1,
            reconnect_wait=0.2,
            ack_wait=2.0,  # a batch the server sent while the link was down comes again after 2 s
            metrics=metrics,
        )
        await consumer.connect()
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))

        async def publish(start: int) -> None:
            async def action(js: Any) -> None:
                for i in range(start, start + 200):
                    await js.publish(names.predictions, prediction(i))

            await _js(action)

        await publish(0)
        while store.count("predictions") < 100:
            await asyncio.sleep(0.02)
        await proxy.cut()  # the broker goes away mid-stream
        await publish(200)  # producers keep publishing (directly to the server)
        await asyncio.sleep(1.0)
        assert metrics.connected.labels(consumer.name)._value.get() == 0
        await proxy.start()  # back on the same port: the client reconnects by itself
        deadline = time.monotonic() + 20
        while store.count("predictions") < 400 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)
        await consumer.close()
        await proxy.cut()

    asyncio.run(scenario())
    assert store.count("predictions") == 400
    assert failures == [0]
    name = f"nats:{names.stream}:fairwatch"
    assert metrics.store_retries.labels(name)._value.get() == 1
    store.close()
