"""Slow and greedy clients: timeouts and limits on connections, request headers and request bodies.

uvicorn closes idle keep-alive connections, but a connection that never finishes its request headers,
or a body that stalls half-way, would stay open for ever, and nothing bounds how many connections
are open at once. ``fairwatch serve`` therefore runs uvicorn with :func:`server_config`:

- **headers** must be complete within ``FAIRWATCH_HEADER_TIMEOUT`` seconds of the connection opening
  (or of the first byte of the next request on a kept-alive connection), and hold at most
  ``FAIRWATCH_MAX_HEADER_BYTES``; otherwise the answer is 408 (or 431) and the connection is closed.
  uvicorn has no such timeout, so :class:`GuardedHttpToolsProtocol` adds it to uvicorn's httptools
  protocol;
- **connections** beyond ``FAIRWATCH_MAX_CONNECTIONS`` get 503 and are closed as they open;
- idle kept-alive connections close after ``FAIRWATCH_KEEP_ALIVE_TIMEOUT`` seconds (uvicorn's own).

The **body** timeout is ASGI middleware of the app (:class:`BodyTimeout`), so it holds under any
server: a request body not received in full within ``FAIRWATCH_BODY_TIMEOUT`` seconds gets 408.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from fairwatch.server._settings import Settings

__all__ = ["BodyTimeout", "GuardedHttpToolsProtocol", "guarded_protocol", "server_config"]

log = logging.getLogger("fairwatch.server")


def _raw_answer(status: int, reason: str, message: str, extra: bytes = b"") -> bytes:
    """A complete HTTP/1.1 error answer that closes the connection (written before any ASGI app runs)."""
    body = json.dumps({"detail": message, "message": message}).encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n".encode()
        + extra
        + b"connection: close\r\n\r\n"
        + body
    )


class _BodyTimeoutError(Exception):
    pass


class BodyTimeout:
    """ASGI middleware: a request body not received in full within ``timeout`` seconds gets 408.

    The clock starts when the app first asks for the body; a client that sends a few bytes and then
    stalls (or trickles) cannot hold a request, a thread or a database transaction open.
    """

    def __init__(self, app: Any, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline: float | None = None
        complete = False
        started = False

        async def timed_receive() -> Any:
            nonlocal deadline, complete
            if complete:  # later calls only wait for a disconnect: no deadline
                return await receive()
            if deadline is None:
                deadline = anyio.current_time() + self.timeout
            try:
                with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                    message = await receive()
            except TimeoutError:
                raise _BodyTimeoutError from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, tracking_send)
        except _BodyTimeoutError:
            if started:
                raise
            message = (
                f"request body not received within {self.timeout:g} s (FAIRWATCH_BODY_TIMEOUT); nothing was stored: "
                f"send it again, faster or in smaller batches"
            )
            body = json.dumps({"detail": message, "message": message}).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ]
            await send({"type": "http.response.start", "status": 408, "headers": headers})
            await send({"type": "http.response.body", "body": body})


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request-header timeout and size limit and a connection cap.

    Use :func:`guarded_protocol` to get a subclass with the limits of a :class:`Settings`.
    """

    header_timeout: float = 10.0
    max_header_bytes: int = 64 * 1024
    max_connections: int = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._in_headers = False
        self._header_bytes = 0

    # -- the connection ----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            log.warning("refused a connection: %d are open (FAIRWATCH_MAX_CONNECTIONS)", self.max_connections)
            self._close_with(
                _raw_answer(
                    503,
                    "Service Unavailable",
                    f"too many open connections (FAIRWATCH_MAX_CONNECTIONS is {self.max_connections}); retry later",
                    b"retry-after: 1\r\n",
                )
            )
            return
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        counting = self._in_headers
        super().data_received(data)
        if counting and self._in_headers and not self.transport.is_closing():
            # bytes of a chunk that completed the headers may belong to the body: only incomplete headers count
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._stop_header_timer()
                self._close_with(
                    _raw_answer(
                        431,
                        "Request Header Fields Too Large",
                        f"request headers larger than {self.max_header_bytes} bytes (FAIRWATCH_MAX_HEADER_BYTES)",
                    )
                )

    # -- the parser's callbacks --------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_headers:  # the next request on a kept-alive connection
            self._await_headers()

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        self._in_headers = False
        super().on_headers_complete()

    # -- helpers -----------------------------------------------------------------------------------
    def _await_headers(self) -> None:
        self._in_headers = True
        self._header_bytes = 0
        self._stop_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._in_headers and not self.transport.is_closing():
            self._close_with(
                _raw_answer(
                    408,
                    "Request Timeout",
                    f"request headers not received within {self.header_timeout:g} s (FAIRWATCH_HEADER_TIMEOUT)",
                )
            )

    def _close_with(self, answer: bytes) -> None:
        self._in_headers = False
        self.transport.write(answer)
        self.transport.close()


class EnvironmentGuardedProtocol(GuardedHttpToolsProtocol):
    """The guarded protocol with the limits of the environment's settings (``FAIRWATCH_*``): each
    worker process of ``fairwatch serve --workers N`` loads it by name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.header_timeout, self.max_header_bytes, self.max_connections = _environment_limits()
        super().__init__(*args, **kwargs)


@functools.cache
def _environment_limits() -> tuple[float, int, int]:
    settings = Settings()
    return settings.header_timeout, settings.max_header_bytes, settings.max_connections


def guarded_protocol(settings: Settings) -> type[GuardedHttpToolsProtocol]:
    """:class:`GuardedHttpToolsProtocol` with the limits of ``settings``."""
    limits = {
        "header_timeout": settings.header_timeout,
        "max_header_bytes": settings.max_header_bytes,
        "max_connections": settings.max_connections,
    }
    return type("FairwatchHttpProtocol", (GuardedHttpToolsProtocol,), limits)


def server_config(
    app: Any, settings: Settings, *, host: str, port: int, log_level: str = "info", workers: int = 1
) -> Any:
    """The ``uvicorn.Config`` of ``fairwatch serve``: the app behind the connection limits of ``settings``.

    With ``workers`` above 1, ``app`` is the import string of the app factory and each worker builds
    the app and its limits from the environment's settings (the connection cap is then per worker).
    """
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        http=f"{__name__}:EnvironmentGuardedProtocol" if workers > 1 else guarded_protocol(settings),
        timeout_keep_alive=settings.keep_alive_timeout,
        # uvicorn refuses a request when the open connections reach this: one more than those allowed
        limit_concurrency=settings.max_connections + 1,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        workers=workers,
        factory=workers > 1,
    )
