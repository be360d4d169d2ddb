"""NATS fixtures: the real JetStream server at 127.0.0.1:4222 (override with ``FAIRWATCH_TEST_NATS``).

Each test gets its own uniquely named stream (and dead-letter stream), deleted afterwards. With
``CI=true`` an unreachable server fails the test instead of skipping it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

pytest.importorskip("nats")
pytest.importorskip("duckdb")

NATS_URL = os.environ.get("FAIRWATCH_TEST_NATS", "nats://127.0.0.1:4222")


def _reachable() -> bool:
    parts = urlsplit(NATS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout=2):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class StreamNames:
    stream: str
    predictions: str
    outcomes: str
    dead_letter: str

    @property
    def subjects(self) -> list[str]:
        return [self.predictions, self.outcomes]


async def _delete_streams(names: StreamNames) -> None:
    import nats
    from nats.js.errors import NotFoundError

    nc = await nats.connect(NATS_URL, connect_timeout=2, allow_reconnect=False)
    js = nc.jetstream()
    for name in (names.stream, f"{names.stream}_DEAD_LETTER"):
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(name)
    await nc.close()


@pytest.fixture
def nats_stream() -> Iterator[StreamNames]:
    """Names of a fresh stream for this test; the stream and its dead-letter stream are deleted after."""
    if not _reachable():
        message = f"NATS at {NATS_URL} is unreachable"
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail(message + " (CI=true: the NATS JetStream server is required)", pytrace=False)
        pytest.skip(message)
    token = uuid.uuid4().hex[:10]
    names = StreamNames(
        stream=f"FWTEST_{token}",
        predictions=f"fwtest.{token}.predictions",
        outcomes=f"fwtest.{token}.outcomes",
        dead_letter=f"fwtest_dead.{token}",
    )
    yield names
    asyncio.run(_delete_streams(names))
