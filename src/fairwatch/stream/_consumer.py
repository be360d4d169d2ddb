"""The broker-independent part of streaming ingest: decoding, batch writes, dead letters, metrics.

A :class:`Consumer` reads prediction and outcome events from a message broker and writes them to a
:class:`~fairwatch.monitor.Store` in micro-batches. The contract every implementation keeps:

* a message is acknowledged only after the store committed the batch holding its event (or after a
  poison message was durably published to the dead-letter subject);
* the store ignores re-sent ``prediction_id``\\ s, so redelivery after a crash stores each event once
  (effectively-once);
* a message that cannot become an event (bad JSON, a missing field, a validation error) never blocks
  the stream: it goes to the dead-letter subject with the error and the original payload.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from fairwatch.exceptions import FairwatchError, StoreUnavailableError
from fairwatch.monitor._events import OutcomeEvent, PredictionEvent
from fairwatch.monitor._store import Store

__all__ = [
    "BatchResult",
    "Consumer",
    "ConsumerMetrics",
    "IncomingMessage",
    "PoisonMessageError",
    "dead_letter_payload",
    "decode_event",
    "event_kind",
    "write_batch",
]

log = logging.getLogger("fairwatch.stream")

#: Last subject token -> event kind.
_KINDS = {"predictions": "predictions", "prediction": "predictions", "outcomes": "outcomes", "outcome": "outcomes"}


class PoisonMessageError(FairwatchError):
    """A message that cannot become an event; it goes to the dead-letter subject."""


@dataclass(frozen=True)
class IncomingMessage:
    """A broker message reduced to what decoding needs (``ref`` is the broker's own handle)."""

    subject: str
    data: bytes
    ref: Any = None
    sequence: int | None = None


def event_kind(subject: str) -> str:
    """``"predictions"`` or ``"outcomes"`` from the last token of ``subject`` (``fw.credit.predictions``).

    Examples
    --------
    >>> event_kind("fairwatch.credit.outcomes")
    'outcomes'
    """
    kind = _KINDS.get(subject.rsplit(".", 1)[-1])
    if kind is None:
        raise PoisonMessageError(
            f"subject {subject!r} does not end in '.predictions' or '.outcomes'; the last subject token says "
            f"which kind of event a message holds"
        )
    return kind


def decode_event(subject: str, data: bytes) -> PredictionEvent | OutcomeEvent:
    """Validate one message (one JSON event) into a prediction or an outcome event.

    Raises
    ------
    PoisonMessageError
        With a one-line reason: not JSON, not an object, or the first validation error and its field.

    Examples
    --------
    >>> decode_event("fw.outcomes", b'{"prediction_id": "a1", "label": 1, "timestamp": "2024-05-01T00:00:00Z"}').label
    1
    """
    kind = event_kind(subject)
    model = PredictionEvent if kind == "predictions" else OutcomeEvent
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        if first["type"] in ("json_invalid", "json_type"):
            raise PoisonMessageError(f"not a JSON {kind[:-1]} event: {first['msg']}") from None
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise PoisonMessageError(f"invalid {kind[:-1]} event: {where}: {first['msg']}{more}") from None


def dead_letter_payload(message: IncomingMessage, error: str) -> bytes:
    """The dead-letter record: the error, where the message came from and its original payload."""
    try:
        payload: dict[str, Any] = {"payload": message.data.decode("utf-8")}
    except UnicodeDecodeError:
        payload = {"payload_base64": base64.b64encode(message.data).decode("ascii")}
    record = {
        "error": error,
        "subject": message.subject,
        "stream_sequence": message.sequence,
        "dead_lettered_at": datetime.now(timezone.utc).isoformat(),
        **payload,
    }
    return json.dumps(record).encode("utf-8")


@dataclass
class BatchResult:
    """What one micro-batch did."""

    stored: int = 0
    duplicates: int = 0
    #: (message index in the batch, error) of every poison message
    dead: list[tuple[int, str]] = field(default_factory=list)


def write_batch(store: Store, messages: Sequence[IncomingMessage]) -> BatchResult:
    """Decode ``messages`` and store their events: predictions, then outcomes, each one transaction.

    Poison messages are reported in ``dead``; events the store itself rejects as invalid are retried
    one at a time so that only the bad ones are dead-lettered. A
    :class:`~fairwatch.exceptions.StoreUnavailableError` propagates: nothing may be acknowledged.
    """
    result = BatchResult()
    events: dict[str, list[tuple[int, Any]]] = {"predictions": [], "outcomes": []}
    for index, message in enumerate(messages):
        try:
            event = decode_event(message.subject, message.data)
        except PoisonMessageError as exc:
            result.dead.append((index, str(exc)))
            continue
        events["predictions" if isinstance(event, PredictionEvent) else "outcomes"].append((index, event))
    for kind, items in events.items():
        if items:
            _store_events(store, kind, items, result)
    return result


def _store_events(store: Store, kind: str, items: list[tuple[int, Any]], result: BatchResult) -> None:
    insert = store.insert_predictions if kind == "predictions" else store.insert_outcomes
    try:
        done = insert([event for _, event in items])
    except StoreUnavailableError:
        raise
    except FairwatchError as exc:
        if len(items) == 1:  # also a batch of one: dead-lettered, never raised (nothing would ack it)
            result.dead.append((items[0][0], f"the store refused the event: {exc}"))
            return
        for item in items:  # find the event the store refuses; the others are stored
            _store_events(store, kind, [item], result)
        return
    result.stored += done.accepted
    result.duplicates += done.duplicates


class ConsumerMetrics:
    """Prometheus metrics of a consumer, registered in ``registry`` (the service's, or a fresh one)."""

    def __init__(self, registry: Any = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry if registry is not None else CollectorRegistry()
        labels = ["consumer"]
        self.messages = Counter(
            "fairwatch_consumer_messages_total",
            "Messages handled by the stream consumer, by result (stored, duplicate, dead_letter)",
            [*labels, "result"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "fairwatch_consumer_batch_size",
            "Messages per committed micro-batch",
            labels,
            buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "fairwatch_consumer_batch_seconds", "Time to store and acknowledge a batch", labels, registry=self.registry
        )
        self.lag = Gauge(
            "fairwatch_consumer_lag",
            "Messages in the stream not yet delivered to the consumer (as of the last message or poll)",
            labels,
            registry=self.registry,
        )
        self.ack_pending = Gauge(
            "fairwatch_consumer_ack_pending",
            "Messages delivered but not yet acknowledged",
            labels,
            registry=self.registry,
        )
        self.connected = Gauge(
            "fairwatch_consumer_connected", "1 while connected to the broker", labels, registry=self.registry
        )
        self.store_retries = Counter(
            "fairwatch_consumer_store_retries_total",
            "Batches put back because the store was unavailable",
            labels,
            registry=self.registry,
        )


class Consumer(ABC):
    """Streaming ingest from a message broker into a store.

    Implementations: :class:`~fairwatch.stream.NatsConsumer` (NATS JetStream). A Kafka consumer
    would implement the same three methods, commit offsets where this one acknowledges, and reuse
    :func:`write_batch` and :class:`ConsumerMetrics`.
    """

    name: str

    @abstractmethod
    async def connect(self) -> None:
        """Connect and bind to the durable consumer; raise
        :class:`~fairwatch.exceptions.BrokerUnavailableError` when the broker cannot be reached."""

    @abstractmethod
    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; then finish (store and acknowledge) the current batch and return."""

    @abstractmethod
    async def close(self) -> None:
        """Flush acknowledgements and disconnect."""
