"""The broker-independent part of streaming ingest: decoding, dead-letter records, batch writes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from fairwatch.exceptions import InvalidInputError, MissingDependencyError
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
