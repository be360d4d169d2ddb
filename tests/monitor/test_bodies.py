"""Large ingest bodies validated a piece at a time: the same events as one whole validation, whatever
the strings hold, and the same error (events numbered as sent) when the body is invalid."""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fairwatch.monitor import OutcomeBatch, PredictionBatch
from fairwatch.server import _bodies
from fairwatch.server._bodies import PIECE, event_cuts, validate_batch

# text meant to fool a scanner: quotes, escapes, brackets and commas inside strings
TOKENS = [*'ab"\\{}[],: \n\t\u00e9\u2028', "\\u0022", '\\"', "\\\\"]
HOSTILE = st.lists(st.sampled_from(TOKENS), max_size=12).map("".join)


def _event(i: int, text: str = "x") -> dict[str, Any]:
    return {
        "prediction_id": f"p{i}-{text}",
        "model": "credit",
        "timestamp": "2024-05-01T00:00:00Z",
        "prediction": 1,
        "score": 0.25,
        "sensitive": {"sex": text or "F"},
        "features": {"note": text or "n", "size": 1.5} if i % 2 else {},
    }


def _whole(model: Any, body: bytes) -> Any:
    return model.model_validate_json(body, strict=True)


def _errors(model: Any, body: bytes) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        validate_batch(model, body)
    return caught.value.errors(include_url=False)


@settings(max_examples=30, deadline=None)
@given(texts=st.lists(HOSTILE, min_size=1, max_size=5), indent=st.sampled_from([None, 1]))
def test_pieces_give_the_events_of_the_whole_body(texts: list[str], indent: int | None) -> None:
    events = [_event(i, texts[i % len(texts)]) for i in range(2 * PIECE + 7)]
    body = json.dumps({"events": events}, indent=indent, ensure_ascii=bool(indent)).encode()
    cuts = event_cuts(body)
    assert cuts is not None and len(cuts) - 1 == len(events)
    assert [json.loads(body[a + 1 : b]) for a, b in itertools.pairwise(cuts)] == events
    assert validate_batch(PredictionBatch, body).events == _whole(PredictionBatch, body).events


def test_an_invalid_event_is_named_as_sent() -> None:
    events = [_event(i) for i in range(3 * PIECE)]
    events[1234]["timestamp"] = "2024-05-01T00:00:00"  # no zone
    events[1400]["score"] = "high"
    body = json.dumps({"events": events}).encode()
    errors = _errors(PredictionBatch, body)
    assert [e["loc"][:2] for e in errors] == [("events", 1234), ("events", 1400)]
    with pytest.raises(ValidationError) as whole:
        _whole(PredictionBatch, body)
    assert errors == whole.value.errors(include_url=False)


@pytest.mark.parametrize(
    "body",
    [
        b'{"events": [' + b",".join([b'{"prediction_id": "a"}'] * 1100) + b"]",  # cut short
        b'{"events": [' + b",".join([b'{"prediction_id": "a"}'] * 1100) + b"]} trailing",
        b'{"other": 1, "events": [' + b",".join([b"{}"] * 1100) + b"]}",
        b'{"events": [' + b",".join([b"{}"] * 1100) + b'], "other": 1}',
        b'{"events": [' + b",".join([b"{}"] * 1100) + b'], "events": []}',
        b'{"events": [' + b",".join([b'{"a": "\\""}'] * 1100) + b",]}",
    ],
)
def test_other_shapes_get_the_whole_body_error(body: bytes) -> None:
    with pytest.raises(ValidationError) as whole:
        _whole(PredictionBatch, body)
    assert _errors(PredictionBatch, body) == whole.value.errors(include_url=False)


def test_more_events_than_a_batch_may_hold_get_the_usual_error() -> None:
    body = json.dumps({"events": [{"prediction_id": "p", "label": 1}] * 10_001}).encode()
    errors = _errors(OutcomeBatch, body)
    assert errors[0]["msg"] == "List should have at most 10000 items after validation, not 10001"


def test_the_lock_is_given_up_between_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread asking for the interpreter lock while a 5,000-event body is validated gets it within
    a piece's time, not after the whole body (the reason for the pieces)."""
    events = [_event(i) for i in range(5000)]
    body = json.dumps({"events": events}).encode()
    pieces = []
    real = PredictionBatch.model_validate_json

    def counted(data: Any, **kwargs: Any) -> Any:
        pieces.append(len(data))
        return real(data, **kwargs)

    monkeypatch.setattr(_bodies, "PredictionBatch", PredictionBatch)
    monkeypatch.setattr(PredictionBatch, "model_validate_json", counted)
    assert len(validate_batch(PredictionBatch, body).events) == 5000
    assert len(pieces) == 10 and max(pieces) < len(body) / 5

    # and the gaps are real: a ticking thread is not held up for a whole-body validation
    monkeypatch.undo()
    ticks: list[float] = []
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.0005)

    started = time.perf_counter()
    _whole(PredictionBatch, body)
    whole_seconds = time.perf_counter() - started
    ticker = threading.Thread(target=tick)
    ticker.start()
    time.sleep(0.01)
    validate_batch(PredictionBatch, body)
    stop.set()
    ticker.join()
    longest = max(b - a for a, b in itertools.pairwise(ticks))
    assert longest < whole_seconds * 0.6, (longest, whole_seconds)
