"""The stream consumer inside ``fairwatch serve``: enabled by ``FAIRWATCH_CONSUME_NATS``.

The consumer writes to the service's store and reports on the service's ``/metrics``
(``fairwatch_consumer_*``); it starts with the app and, on shutdown, finishes its batch first.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Depends
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ConsumeSettings", "build_router"]

log = logging.getLogger("fairwatch.stream")


class ConsumeSettings(BaseSettings):
    """``FAIRWATCH_CONSUME_NATS`` (URL; unset = no consumer), ``_STREAM``, ``_SUBJECTS`` (comma-separated),
    ``_DURABLE``, ``_DEAD_LETTER_SUBJECT``, ``_BATCH_SIZE``, ``_MAX_WAIT``."""

    model_config = SettingsConfigDict(env_prefix="FAIRWATCH_CONSUME_", extra="ignore")

    nats: str | None = None
    stream: str = "FAIRWATCH"
    subjects: str = ""
    durable: str = "fairwatch"
    dead_letter_subject: str | None = None
    batch_size: int = 500
    max_wait: float = 1.0


def build_router(ctx: Any) -> APIRouter:
    """Add startup/shutdown hooks running the consumer when ``FAIRWATCH_CONSUME_NATS`` is set."""
    router = APIRouter()
    settings = ConsumeSettings()
    if not settings.nats:
        return router
    from fairwatch.stream._consumer import ConsumerMetrics
    from fairwatch.stream._nats import NatsConsumer

    consumer = NatsConsumer(
        ctx.store,
        url=settings.nats,
        stream=settings.stream,
        subjects=[s.strip() for s in settings.subjects.split(",") if s.strip()],
        durable=settings.durable,
        dead_letter_subject=settings.dead_letter_subject,
        batch_size=settings.batch_size,
        max_wait=settings.max_wait,
        metrics=ConsumerMetrics(ctx.telemetry.registry),
    )
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        await consumer.connect()  # an unreachable broker stops the service from starting, with the reason
        tasks.append(asyncio.create_task(consumer.run(stop)))

    async def shutdown() -> None:
        stop.set()
        try:
            for task in tasks:
                try:
                    await task
                except Exception as exc:  # the consumer stopped early: say why, and still disconnect
                    log.error("the stream consumer had stopped: %s: %s", type(exc).__name__, exc)
        finally:
            await consumer.close()

    ctx.startup.append(start)
    ctx.shutdown.append(shutdown)

    @router.get("/v1/consumer", dependencies=[Depends(ctx.auth.require("read"))], tags=["operations"])
    def consumer_status() -> dict[str, Any]:
        """The in-service stream consumer: broker, stream, durable name, dead-letter subject, state."""
        running = bool(tasks) and not tasks[0].done()
        return {
            "broker": "nats",
            "url": consumer.shown_url,
            "stream": consumer.stream,
            "durable": consumer.durable,
            "dead_letter_subject": consumer.dead_letter_subject,
            "running": running,
        }

    return router
