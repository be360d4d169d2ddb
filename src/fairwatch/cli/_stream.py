"""``fairwatch consume``: streaming ingest from NATS JetStream into a store."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from fairwatch._text import comma_list
from fairwatch.exceptions import InvalidInputError, MissingDependencyError

__all__ = ["consume_command", "register"]


def consume_command(
    stream: Annotated[
        str, typer.Option("--stream", help="JetStream stream name (created with --subjects if missing).")
    ],
    subjects: Annotated[
        Optional[str],
        typer.Option("--subjects", help="Comma-separated subjects ending in .predictions or .outcomes."),
    ] = None,
    nats_url: Annotated[
        str, typer.Option("--nats", envvar="FAIRWATCH_NATS_URL", help="NATS server URL.")
    ] = "nats://127.0.0.1:4222",
    store: Annotated[
        Optional[str],
        typer.Option("--store", envvar="FAIRWATCH_STORE", help="Store URL: duckdb:///path.duckdb or postgresql://..."),
    ] = None,
    durable: Annotated[str, typer.Option("--durable", help="Durable consumer name.")] = "fairwatch",
    dead_letter_subject: Annotated[
        Optional[str], typer.Option("--dead-letter-subject", help="Default: fairwatch.dead_letter.<stream>.")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Messages per micro-batch (at most).")] = 500,
    max_wait: Annotated[float, typer.Option("--max-wait", help="Seconds a batch waits to fill up.")] = 1.0,
    ack_wait: Annotated[
        float, typer.Option("--ack-wait", help="Seconds before unacknowledged messages return.")
    ] = 30.0,
    metrics_port: Annotated[
        Optional[int], typer.Option("--metrics-port", help="Serve Prometheus metrics on this port.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log every batch.")] = False,
) -> None:
    """Consume prediction and outcome events from NATS JetStream into a store, effectively once.

    Messages are acknowledged after the store committed their batch; poison messages go to a
    dead-letter subject. SIGTERM or Ctrl-C finishes the current batch and stops.
    """
    try:
        from fairwatch.monitor import open_store
        from fairwatch.server._settings import Settings
        from fairwatch.stream import ConsumerMetrics, NatsConsumer
    except ImportError as exc:
        raise MissingDependencyError("consume needs the server extra: pip install 'fairwatch[server,stream]'") from exc
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(message)s")
    metrics = ConsumerMetrics()
    target = open_store(store or Settings().store)
    try:
        consumer = NatsConsumer(
            target,
            url=nats_url,
            stream=stream,
            subjects=comma_list(subjects),
            durable=durable,
            dead_letter_subject=dead_letter_subject,
            batch_size=batch_size,
            max_wait=max_wait,
            ack_wait=ack_wait,
            metrics=metrics,
        )
        if metrics_port is not None:
            _serve_metrics(metrics, metrics_port)
        asyncio.run(_consume(consumer))
    finally:
        target.close()


def _serve_metrics(metrics: Any, port: int) -> None:
    from prometheus_client import start_http_server

    try:
        start_http_server(port, addr="127.0.0.1", registry=metrics.registry)
    except OSError as exc:
        raise InvalidInputError(f"--metrics-port {port} cannot be used ({exc.strerror}); choose a free port") from None


async def _consume(consumer: Any) -> None:
    console = Console(stderr=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await consumer.connect()
    console.print(
        f"consuming stream {consumer.stream!r} (durable {consumer.durable!r}) from {consumer.shown_url}; "
        f"dead letters to {consumer.dead_letter_subject!r}",
        highlight=False,
    )
    try:
        await consumer.run(stop)
    finally:
        await consumer.close()
    console.print("stopped: the last batch was stored and acknowledged", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``consume`` to the main app."""
    app.command("consume")(consume_command)
