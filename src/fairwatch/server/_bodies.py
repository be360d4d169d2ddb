"""Validating a large ingest batch a piece at a time, so reads are not kept waiting.

pydantic-core validates a JSON body in one call that holds the interpreter lock throughout: 35 ms
for 5,000 events. Every other thread of the process (reads, health, the event loop) waits that long
each time it needs the lock, and a read needs it a dozen times, so under saturating ingest a 30 ms
read took 200 ms. A body of the documented shape ``{"events": [...]}`` is therefore cut between its
events (found by a vectorised scan of the bytes, strings and nesting accounted for) and validated
:data:`PIECE` events at a time, with the lock given up between pieces. The events are the same as
the whole body's: the scan is exact for valid JSON, and a piece that fails sends the whole body to
the one-call validation, whose error names the events as the client numbered them.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel

from fairwatch.monitor import OutcomeBatch, PredictionBatch

__all__ = ["PIECE", "event_cuts", "validate_batch"]

#: Events validated per call.
PIECE = 500
_OPENING = re.compile(rb'\s*\{\s*"events"\s*:\s*\[')
_CLOSING = re.compile(rb"\]\s*\}\s*")
_NESTING = np.zeros(256, np.int8)
_NESTING[[ord("{"), ord("[")]] = 1
_NESTING[[ord("}"), ord("]")]] = -1
_STRUCTURAL = np.zeros(256, bool)
_STRUCTURAL[[ord(c) for c in "{}[],"]] = True

BatchT = TypeVar("BatchT", PredictionBatch, OutcomeBatch)


def _unescaped(body: bytes, quotes: np.ndarray) -> np.ndarray:
    """The quotes that are not escaped (preceded by an even run of backslashes)."""
    raw = np.frombuffer(body, dtype=np.uint8)
    escaped = np.flatnonzero(raw[np.maximum(quotes - 1, 0)] == ord("\\"))
    keep = np.ones(quotes.size, dtype=bool)
    for k in escaped.tolist():
        at, run = int(quotes[k]) - 1, 0
        while at >= 0 and body[at] == ord("\\"):
            run, at = run + 1, at - 1
        keep[k] = run % 2 == 0
    return quotes[keep]


def event_cuts(body: bytes) -> list[int] | None:
    """Offsets ``c`` such that ``body[c[i] + 1 : c[i + 1]]`` is the text of event ``i``, for a body
    that is exactly ``{"events": [...]}`` (any whitespace); ``None`` for any other shape."""
    head = _OPENING.match(body)
    if head is None:
        return None
    raw = np.frombuffer(body, dtype=np.uint8)
    quotes = np.flatnonzero(raw == ord('"'))
    if quotes.size and (raw == ord("\\")).any():
        quotes = _unescaped(body, quotes)
    if quotes.size % 2:
        return None
    marks = np.flatnonzero(_STRUCTURAL[raw])
    marks = marks[np.searchsorted(quotes, marks) % 2 == 0]  # outside strings: an even number of quotes before
    chars = raw[marks]
    depth = np.cumsum(_NESTING[chars], dtype=np.int64)
    if depth.size == 0 or depth[-1] != 0:
        return None
    first = int(np.searchsorted(marks, head.end() - 1))  # the array's '['
    ends = np.flatnonzero(depth[first:] == 1)
    if ends.size == 0:
        return None
    last = first + int(ends[0])  # the array's ']'
    end = int(marks[last])
    if chars[last] != ord("]") or _CLOSING.fullmatch(body, end) is None:
        return None
    inner = slice(first + 1, last)
    commas = marks[inner][(chars[inner] == ord(",")) & (depth[inner] == 2)]
    return [int(marks[first]), *commas.tolist(), end]


def validate_batch(model: type[BatchT], body: bytes, *, strict: bool = True) -> BatchT:
    """``model.model_validate_json(body)``, a piece at a time when the body holds more than two
    pieces of events; raises the whole body's :class:`pydantic.ValidationError` when it is invalid."""
    cuts = event_cuts(body) if body.count(b"{") > 2 * PIECE else None
    if cuts is None or not 2 * PIECE < len(cuts) - 1 <= _max_items(model):
        return model.model_validate_json(body, strict=strict)
    events: list[Any] = []
    try:
        for i in range(0, len(cuts) - 1, PIECE):
            piece = body[cuts[i] + 1 : cuts[min(i + PIECE, len(cuts) - 1)]]
            events += model.model_validate_json(b'{"events":[' + piece + b"]}", strict=strict).events
    except ValueError:  # pydantic's ValidationError: the whole body's error numbers the events as sent
        return model.model_validate_json(body, strict=strict)
    return model.model_construct(events=events)


def _max_items(model: type[BaseModel]) -> int:
    for meta in model.model_fields["events"].metadata:
        limit = getattr(meta, "max_length", None)
        if limit is not None:
            return int(limit)
    return 0
