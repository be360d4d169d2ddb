"""NATS JetStream consumer: a durable pull consumer, micro-batches, ack after commit, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Sequence
from typing import Any

from fairwatch.exceptions import (
    BrokerUnavailableError,
    InvalidInputError,
    MissingDependencyError,
    StoreUnavailableError,
)
from fairwatch.monitor._store import Store
from fairwatch.stream._consumer import (
    BatchResult,
    Consumer,
    ConsumerMetrics,
    IncomingMessage,
    dead_letter_payload,
    write_batch,
)

__all__ = ["NatsConsumer", "subject_matches", "without_credentials"]

log = logging.getLogger("fairwatch.stream")

#: Seconds between consumer-info polls while idle (to keep the lag gauge current).
IDLE_INFO_EVERY = 5.0
#: Exponential backoff on broker or store errors: first wait, cap.
BACKOFF = (0.2, 5.0)


def _nats() -> Any:
    try:
        import nats
    except ImportError as exc:
        raise MissingDependencyError(
            "streaming ingest from NATS needs nats-py: pip install 'fairwatch[stream]'"
        ) from exc
    return nats


def without_credentials(url: str) -> str:
    """``url`` (or comma-separated URLs) without the user, password or token before ``@``.

    Examples
    --------
    >>> without_credentials("nats://app:s3cret@nats-1:4222,nats://tok@nats-2")
    'nats://nats-1:4222,nats://nats-2'
    """
    shown = []
    for part in url.split(","):
        scheme, sep, rest = part.strip().rpartition("://")
        shown.append(f"{scheme}{sep}{rest.rpartition('@')[2]}")
    return ",".join(shown)


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, ``>`` the rest (one token or more).

    Examples
    --------
    >>> subject_matches("fw.*.predictions", "fw.credit.predictions"), subject_matches("fw.>", "fw")
    (True, False)
    """
    p, s = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(p) == len(s)


class NatsConsumer(Consumer):
    """Events from a NATS JetStream stream into a store, effectively once.

    Parameters
    ----------
    store : Store
        Where events go (its inserts are idempotent by ``prediction_id``).
    url : str
        NATS server, e.g. ``nats://127.0.0.1:4222``.
    stream : str
        JetStream stream name; created with ``subjects`` when it does not exist.
    subjects : sequence of str
        Subjects of the events. The last token of a message's subject says its kind:
        ``...predictions`` or ``...outcomes``. One subject becomes the consumer's filter.
    durable : str
        Durable consumer name: a restarted consumer resumes where the last acknowledgement left off.
    dead_letter_subject : str, optional
        Where poison messages go (default ``fairwatch.dead_letter.<stream>``); a stream
        ``<stream>_DEAD_LETTER`` is created for it when no stream captures it.
    batch_size, max_wait : int, float
        A micro-batch is stored when it holds ``batch_size`` messages or ``max_wait`` seconds after its
        first message arrived. At most one batch is in flight (``max_ack_pending = batch_size``): the
        next batch is pulled only after the store committed the current one.
    ack_wait : float
        Seconds before the broker redelivers an unacknowledged message.
    metrics : ConsumerMetrics, optional
        Prometheus metrics (default: a private registry).
    """

    def __init__(
        self,
        store: Store,
        *,
        url: str = "nats://127.0.0.1:4222",
        stream: str,
        subjects: Sequence[str] = (),
        durable: str = "fairwatch",
        dead_letter_subject: str | None = None,
        batch_size: int = 500,
        max_wait: float = 1.0,
        ack_wait: float = 30.0,
        connect_timeout: float = 2.0,
        reconnect_wait: float = 1.0,
        metrics: ConsumerMetrics | None = None,
    ) -> None:
        if not stream or any(c in stream for c in ".*> "):
            raise InvalidInputError(f"stream name {stream!r} must be non-empty without '.', '*', '>' or spaces")
        if batch_size < 1 or batch_size > 10_000:
            raise InvalidInputError(f"batch_size must be between 1 and 10000; got {batch_size}")
        if max_wait <= 0:
            raise InvalidInputError(f"max_wait must be positive (seconds); got {max_wait}")
        self.store = store
        self.url = url
        #: The URL as logs, errors and ``GET /v1/consumer`` show it: user, password or token left out.
        self.shown_url = without_credentials(url)
        self.stream = stream
        self.subjects = list(subjects)
        self.durable = durable
        self.name = f"nats:{stream}:{durable}"
        self.dead_letter_subject = dead_letter_subject or f"fairwatch.dead_letter.{stream}"
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.ack_wait = ack_wait
        self.connect_timeout = connect_timeout
        self.reconnect_wait = reconnect_wait
        self.metrics = metrics or ConsumerMetrics()
        self._nc: Any = None
        self._js: Any = None
        self._sub: Any = None
        self._last_info = 0.0
        self._closing = False
        self._unacked: list[Any] = []

    # -- setup ---------------------------------------------------------------------------------------
    async def connect(self) -> None:
        nats = _nats()
        await self._probe(nats)
        gauge = self.metrics.connected.labels(self.name)

        async def disconnected() -> None:
            gauge.set(0)
            if not self._closing:
                log.warning("disconnected from NATS at %s; reconnecting", self.shown_url)

        async def reconnected() -> None:
            gauge.set(1)
            log.warning("reconnected to NATS at %s", self.shown_url)

        async def error(exc: Exception) -> None:
            log.debug("NATS client error: %s", exc)

        self._nc = await nats.connect(
            self.url,
            connect_timeout=self.connect_timeout,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=self.reconnect_wait,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=error,
        )
        gauge.set(1)
        self._js = self._nc.jetstream()
        try:
            await self._ensure_streams()
            self._sub = await self._bind_consumer()
        except BaseException:
            await self._nc.close()
            raise

    async def _probe(self, nats: Any) -> None:
        """Fail fast with a clear message: the long-lived connection retries forever."""

        seen: list[Exception] = []

        async def quiet(exc: Exception) -> None:
            seen.append(exc)

        try:
            probe = await asyncio.wait_for(
                nats.connect(
                    self.url,
                    connect_timeout=self.connect_timeout,
                    allow_reconnect=False,
                    max_reconnect_attempts=1,
                    reconnect_time_wait=0.05,
                    error_cb=quiet,
                ),
                timeout=3 * self.connect_timeout,
            )
        except Exception as exc:
            cause = seen[-1] if seen else exc
            number = getattr(cause, "errno", None)
            reason = (os.strerror(number) if number else str(cause)) or type(cause).__name__
            if isinstance(exc, asyncio.TimeoutError):
                reason = f"no answer within {3 * self.connect_timeout:g} s"
            raise BrokerUnavailableError(
                f"cannot reach NATS at {self.shown_url} ({reason}); check the URL and that nats-server is running with "
                f"JetStream enabled (nats-server -js)"
            ) from None
        await probe.close()

    async def _ensure_streams(self) -> None:
        from nats.errors import NoRespondersError
        from nats.js.errors import NotFoundError, ServiceUnavailableError

        try:
            info = await self._js.stream_info(self.stream)
            captured = list(info.config.subjects or [])
        except NotFoundError:
            if not self.subjects:
                raise InvalidInputError(
                    f"JetStream stream {self.stream!r} does not exist; pass --subjects to create it"
                ) from None
            await self._js.add_stream(name=self.stream, subjects=self.subjects)
            captured = list(self.subjects)
        except (NoRespondersError, ServiceUnavailableError) as exc:
            raise BrokerUnavailableError(
                f"NATS at {self.shown_url} does not answer JetStream requests ({type(exc).__name__}); start "
                f"nats-server with JetStream enabled (nats-server -js)"
            ) from None
        if len(self.subjects) > 1 and set(self.subjects) != set(captured):
            raise InvalidInputError(
                f"stream {self.stream!r} captures {captured}; a consumer filters on one subject or on the whole "
                f"stream: give one subject, or the stream's subjects"
            )
        if any(subject_matches(p, self.dead_letter_subject) for p in captured):
            raise InvalidInputError(
                f"dead-letter subject {self.dead_letter_subject!r} is captured by stream {self.stream!r} ({captured}); "
                f"dead letters would be consumed again: choose a subject outside the stream"
            )
        try:
            await self._js.find_stream_name_by_subject(self.dead_letter_subject)
        except NotFoundError:
            await self._js.add_stream(name=f"{self.stream}_DEAD_LETTER", subjects=[self.dead_letter_subject])

    async def _bind_consumer(self) -> Any:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        try:
            info = await self._js.consumer_info(self.stream, self.durable)
            limit = info.config.max_ack_pending
            if limit is not None and 0 < limit < self.batch_size:
                # the server delivers at most max_ack_pending unacknowledged messages: a larger batch never fills
                log.warning(
                    "durable consumer %r allows %d unacknowledged messages; batches hold at most that many",
                    self.durable,
                    limit,
                )
                self.batch_size = int(limit)
        except NotFoundError:
            config = ConsumerConfig(
                durable_name=self.durable,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=self.ack_wait,
                max_ack_pending=self.batch_size,
                filter_subject=self.subjects[0] if len(self.subjects) == 1 else None,
            )
            await self._js.add_consumer(self.stream, config=config)
        return await self._js.pull_subscribe_bind(durable=self.durable, stream=self.stream)

    # -- the loop ------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        if self._sub is None:
            await self.connect()
        backoff = BACKOFF[0]
        while not stop.is_set():
            try:
                await self._acknowledge()  # acknowledgements a broker outage interrupted
                messages = await self._collect(stop)
                if messages:
                    await self._process(messages, stop)
                backoff = BACKOFF[0]
            except (StoreUnavailableError, BrokerUnavailableError) as exc:
                log.warning("%s; retrying in %.1f s", exc, backoff)
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, BACKOFF[1])
            except Exception as exc:
                if not _is_nats_error(exc):
                    raise
                log.warning("NATS error (%s: %s); retrying in %.1f s", type(exc).__name__, exc, backoff)
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, BACKOFF[1])

    async def _collect(self, stop: asyncio.Event) -> list[Any]:
        """Up to ``batch_size`` messages, waiting at most ``max_wait`` after the first one."""
        from nats.errors import TimeoutError as FetchTimeout

        messages: list[Any] = []
        deadline: float | None = None
        loop = asyncio.get_running_loop()
        while len(messages) < self.batch_size and not stop.is_set():
            timeout = self.max_wait if deadline is None else deadline - loop.time()
            if timeout <= 0.005:
                break
            try:
                got = await self._sub.fetch(batch=self.batch_size - len(messages), timeout=timeout)
            except (FetchTimeout, asyncio.TimeoutError):
                if not messages:
                    await self._refresh_lag(idle=True)
                continue
            if got and deadline is None:
                deadline = loop.time() + self.max_wait
            messages.extend(got)
        if messages:
            meta = messages[-1].metadata
            self.metrics.lag.labels(self.name).set(meta.num_pending)
        return messages

    async def _refresh_lag(self, *, idle: bool) -> None:
        now = time.monotonic()
        if idle and now - self._last_info < IDLE_INFO_EVERY:
            return
        self._last_info = now
        info = await self._js.consumer_info(self.stream, self.durable)
        self.metrics.lag.labels(self.name).set(info.num_pending)
        self.metrics.ack_pending.labels(self.name).set(info.num_ack_pending)

    async def _process(self, messages: list[Any], stop: asyncio.Event) -> None:
        """Store the batch, dead-letter its poison messages, then acknowledge every message."""
        started = time.perf_counter()
        self.metrics.ack_pending.labels(self.name).set(len(messages))
        incoming = [IncomingMessage(m.subject, m.data, m, m.metadata.sequence.stream) for m in messages]
        try:
            result = await asyncio.to_thread(write_batch, self.store, incoming)
        except StoreUnavailableError:
            # not stored: put the messages back (they come again after a short delay) and back off
            self.metrics.store_retries.labels(self.name).inc()
            for m in messages:
                await m.nak(delay=1.0)
            raise
        failed = await self._dead_letter(incoming, result)
        # stored: from here on the messages must be acknowledged, if need be again after a reconnect
        self._unacked = [m for index, m in enumerate(messages) if index not in failed]
        self.metrics.ack_pending.labels(self.name).set(len(failed))
        name = self.name
        self.metrics.messages.labels(name, "stored").inc(result.stored)
        self.metrics.messages.labels(name, "duplicate").inc(result.duplicates)
        self.metrics.messages.labels(name, "dead_letter").inc(len(result.dead) - len(failed))
        self.metrics.batch_size.labels(name).observe(len(messages))
        await self._acknowledge()
        self.metrics.batch_seconds.labels(name).observe(time.perf_counter() - started)
        log.info(
            "batch of %d: %d stored, %d duplicates, %d dead-lettered",
            len(messages),
            result.stored,
            result.duplicates,
            len(result.dead),
        )

    async def _acknowledge(self) -> None:
        """Acknowledge the stored messages and wait until the server has them (acks are idempotent:
        after a lost connection they are simply sent again)."""
        if not self._unacked:
            return
        for m in self._unacked:
            await self._nc.publish(m.reply, b"+ACK")
        await self._nc.flush(timeout=5)
        self._unacked = []

    async def _dead_letter(self, incoming: list[IncomingMessage], result: BatchResult) -> set[int]:
        """Publish poison messages (awaiting the broker's acknowledgement); indices that could not be."""
        failed: set[int] = set()
        for index, error in result.dead:
            message = incoming[index]
            log.warning("dead-lettering message %s on %s: %s", message.sequence, message.subject, error)
            # the id makes a redelivered poison message (the consumer died before acknowledging it) a
            # duplicate the dead-letter stream drops, within its duplicate window (2 minutes by default)
            headers = {
                "Fairwatch-Error": error[:1000],
                "Fairwatch-Subject": message.subject,
                "Nats-Msg-Id": f"{self.stream}:{message.sequence}",
            }
            try:
                await self._js.publish(
                    self.dead_letter_subject, dead_letter_payload(message, error), headers=headers, timeout=5.0
                )
            except Exception as exc:
                log.warning("could not publish the dead letter (%s); the message will be redelivered", exc)
                await message.ref.nak(delay=5.0)
                failed.add(index)
        return failed

    async def close(self) -> None:
        if self._nc is None or self._nc.is_closed:
            return
        self._closing = True
        # acknowledgements are flushed with their batch; a pull subscription has nothing to drain
        try:
            await self._acknowledge()
            await self._nc.flush(timeout=2)
        except Exception as exc:
            log.warning("could not flush acknowledgements before closing (%s); those messages come again", exc)
        await self._nc.close()
        self.metrics.connected.labels(self.name).set(0)


def _is_nats_error(exc: BaseException) -> bool:
    from nats.errors import Error

    return isinstance(exc, (Error, ConnectionError, asyncio.TimeoutError))


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
