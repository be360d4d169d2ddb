"""Streaming ingest: prediction and outcome events from a message broker into a monitoring store.

:class:`Consumer` is the interface; :class:`NatsConsumer` reads NATS JetStream (``pip install
'fairwatch[stream]'``). Run it with ``fairwatch consume`` or inside the service (``fairwatch serve``
with ``FAIRWATCH_CONSUME_NATS`` set).
"""

from fairwatch.stream._consumer import (
    BatchResult,
    Consumer,
    ConsumerMetrics,
    IncomingMessage,
    PoisonMessageError,
    decode_event,
    write_batch,
)
from fairwatch.stream._nats import NatsConsumer

__all__ = [
    "BatchResult",
    "Consumer",
    "ConsumerMetrics",
    "IncomingMessage",
    "NatsConsumer",
    "PoisonMessageError",
    "decode_event",
    "write_batch",
]
