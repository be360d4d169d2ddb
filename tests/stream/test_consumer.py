"""The broker-independent part of streaming ingest: decoding, dead-letter records, batch writes."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from fairwatch.exceptions import BrokerUnavailableError, InvalidInputError, MissingDependencyError
from fairwatch.monitor import open_store
from fairwatch.stream import IncomingMessage, NatsConsumer, PoisonMessageError, decode_event, write_batch
from fairwatch.stream._consumer import dead_letter_payload
from fairwatch.stream._nats import subject_matches

PREDICTION = {
    "prediction_id": "a1",
    "model": "credit",
    "timestamp": "2024-05-01T00:00:00Z",
    "prediction": 1,
    "score": 0.7,
    "sensitive": {"sex": "F"},
}


def message(subject: str, payload: object) -> IncomingMessage:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return IncomingMessage(subject, data, sequence=7)


@pytest.mark.parametrize(
    ("subject", "data", "error"),
    [
        ("fw.predictions", b"{oops", r"^not a JSON prediction event: Invalid JSON"),
        ("fw.predictions", b"[1, 2]", r"^invalid prediction event: message: Input should be an object"),
        ("fw.predictions", json.dumps({**PREDICTION, "timestamp": None}).encode(), r"timestamp: Input should be"),
        ("fw.outcomes", b'{"prediction_id": "a1"}', r"^invalid outcome event: label: Field required \(and 1 more"),
        ("fw.events", json.dumps(PREDICTION).encode(), r"does not end in '.predictions' or '.outcomes'"),
        (
            "fw.predictions",
            json.dumps({**PREDICTION, "timestamp": "2024-05-01T00:00:00"}).encode(),
            r"timestamp: Input should have timezone info",
        ),
    ],
)
def test_poison_messages_say_what_is_wrong(subject: str, data: bytes, error: str) -> None:
    with pytest.raises(PoisonMessageError, match=error):
        decode_event(subject, data)


def test_dead_letter_record_keeps_the_payload() -> None:
    record = json.loads(dead_letter_payload(message("fw.predictions", b"{oops"), "not JSON"))
    assert record["payload"] == "{oops" and record["error"] == "not JSON" and record["stream_sequence"] == 7
    binary = json.loads(dead_letter_payload(message("fw.predictions", b"\xff\xfe"), "x"))
    assert base64.b64decode(binary["payload_base64"]) == b"\xff\xfe"


def test_write_batch_stores_events_and_reports_poison(tmp_path: Path) -> None:
    store = open_store(f"duckdb://{tmp_path / 's.duckdb'}")
    batch = [
        message("fw.predictions", PREDICTION),
        message("fw.predictions", b"nope"),
        message("fw.predictions", PREDICTION),  # a duplicate
        message("fw.outcomes", {"prediction_id": "a1", "label": 1, "timestamp": "2024-05-02T00:00:00Z"}),
    ]
    result = write_batch(store, batch)
    assert (result.stored, result.duplicates) == (2, 1)
    assert [index for index, _ in result.dead] == [1]
    again = write_batch(store, batch)  # a redelivered batch is a no-op
    assert (again.stored, again.duplicates) == (0, 3)
    store.close()


def test_subject_matching() -> None:
    assert subject_matches("a.*.c", "a.b.c") and not subject_matches("a.*.c", "a.b.d")
    assert subject_matches("a.>", "a.b.c") and not subject_matches("a.>", "a")
    assert not subject_matches("a.b", "a.b.c")


def test_bad_consumer_settings_are_refused() -> None:
    store = open_store("duckdb://:memory:")
    with pytest.raises(InvalidInputError, match=r"stream name 'a\.b' must be non-empty without"):
        NatsConsumer(store, stream="a.b")
    with pytest.raises(InvalidInputError, match="batch_size must be between 1 and 10000; got 0"):
        NatsConsumer(store, stream="S", batch_size=0)
    store.close()


def test_missing_nats_py_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from fairwatch.stream import _nats

    monkeypatch.setitem(sys.modules, "nats", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'fairwatch\[stream\]'"):
        _nats._nats()


def test_an_event_the_store_refuses_is_dead_lettered_even_alone(tmp_path: Path) -> None:
    # a batch of one must not raise: the consumer would neither acknowledge nor dead-letter it
    store = open_store(f"duckdb://{tmp_path / 's.duckdb'}")
    refused = {**PREDICTION, "prediction_id": "bad"}

    def insert(events: list[object]) -> object:
        if any(getattr(e, "prediction_id", None) == "bad" for e in events):
            raise InvalidInputError("value out of range")
        return real(events)

    real = store.insert_predictions
    store.insert_predictions = insert  # type: ignore[method-assign,assignment]
    alone = write_batch(store, [message("fw.predictions", refused)])
    assert alone.stored == 0 and alone.dead == [(0, "the store refused the event: value out of range")]
    mixed = write_batch(store, [message("fw.predictions", PREDICTION), message("fw.predictions", refused)])
    assert mixed.stored == 1 and [index for index, _ in mixed.dead] == [1]
    store.close()


def test_the_broker_url_is_shown_without_credentials() -> None:
    # shown in logs, errors and GET /v1/consumer (any read key): no user, password or token
    store = open_store("duckdb://:memory:")
    consumer = NatsConsumer(store, stream="S", url="nats://app:s3cret@127.0.0.1:4222,tls://tok3n@nats-2:4222")
    assert consumer.shown_url == "nats://127.0.0.1:4222,tls://nats-2:4222"
    assert NatsConsumer(store, stream="S", url="nats://127.0.0.1:4222").shown_url == "nats://127.0.0.1:4222"
    store.close()


def test_an_unreachable_broker_error_shows_no_credentials() -> None:
    pytest.importorskip("nats")
    store = open_store("duckdb://:memory:")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    consumer = NatsConsumer(store, stream="S", url=f"nats://app:s3cret@127.0.0.1:{port}", connect_timeout=0.5)
    with pytest.raises(BrokerUnavailableError, match=f"cannot reach NATS at nats://127.0.0.1:{port} ") as info:
        asyncio.run(consumer.connect())
    assert "s3cret" not in str(info.value)
    store.close()


def test_the_service_disconnects_a_consumer_that_stopped_early(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from fastapi.testclient import TestClient

    import fairwatch.stream._nats as nats_module
    from fairwatch.server import Settings, create_app

    closed: list[bool] = []

    class Crashing:
        def __init__(self, store: object, **options: Any) -> None:
            self.url = self.shown_url = options["url"]
            self.stream, self.durable, self.dead_letter_subject = "S", "d", "dl"

        async def connect(self) -> None:
            pass

        async def run(self, stop: asyncio.Event) -> None:
            raise RuntimeError("unexpected")

        async def close(self) -> None:
            closed.append(True)

    monkeypatch.setattr(nats_module, "NatsConsumer", Crashing)
    monkeypatch.setenv("FAIRWATCH_CONSUME_NATS", "nats://127.0.0.1:1")
    app = create_app(Settings(store="duckdb://:memory:", auth_disabled=True))
    with TestClient(app) as client:
        assert client.get("/v1/consumer").json()["running"] in (True, False)
    assert closed == [True]
    assert "the stream consumer had stopped: RuntimeError: unexpected" in caplog.text
