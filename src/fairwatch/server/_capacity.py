"""Capacity under read load: bounded read slots with a time budget, and a health probe of its own.

An aggregate read (windowed metrics with bootstrap intervals over a long period, drift, estimates, a
rule back-test, the dashboard's charts) can cost tens of seconds of CPU. Without a bound, a few dozen
of them fill the thread pool that health checks and ingest acknowledgements also run in, and the
service looks dead to its orchestrator while it is only busy. So:

- reads run in ``FAIRWATCH_READ_CONCURRENCY`` slots; a read that finds them all busy waits in a queue
  of at most ``FAIRWATCH_READ_QUEUE_LIMIT`` requests for at most ``FAIRWATCH_READ_QUEUE_TIMEOUT``
  seconds, then gets 503 with ``Retry-After`` (a retry can succeed);
- a read that has not answered within ``FAIRWATCH_READ_TIMEOUT`` seconds gets 422 naming the limit
  (asking again would cost as much). Its computation cannot be interrupted: it finishes in the
  background and keeps its slot until then, so the bound on concurrent reads holds;
- ``/v1/health`` pings the store on a thread of its own, one ping at a time shared by concurrent
  probes, and answers 503 when the store does not answer within :data:`HEALTH_PING_TIMEOUT` seconds;
- ingest never enters the read slots.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio

__all__ = ["HEALTH_PING_TIMEOUT", "READ_OPERATIONS", "ReadGate", "StoreProbe", "is_read"]

log = logging.getLogger("fairwatch.server")

#: Seconds ``/v1/health`` waits for the store's answer before it reports the store unreachable.
HEALTH_PING_TIMEOUT = 5.0

#: Operations whose cost grows with the period, windows, groups and intervals asked for: they run in
#: the read slots. (Listing rules or alerts reads a few rows and stays outside.)
READ_OPERATIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/v1/models"),
        ("GET", "/v1/models/{model}/metrics"),
        ("GET", "/v1/models/{model}/drift"),
        ("GET", "/v1/models/{model}/estimates"),
        ("POST", "/v1/rules/{rule_id}/evaluate"),
        ("GET", "/dashboard/api/models"),
        ("GET", "/dashboard/api/models/{model}/metrics"),
        ("GET", "/dashboard/api/models/{model}/estimates"),
        ("GET", "/dashboard/api/models/{model}/drift"),
    }
)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$")


_READ_PATTERNS: dict[str, list[re.Pattern[str]]] = {}
for _method, _template in sorted(READ_OPERATIONS):
    _READ_PATTERNS.setdefault(_method, []).append(_pattern(_template))


def is_read(method: str, path: str) -> bool:
    """Whether a request is one of :data:`READ_OPERATIONS` (``HEAD`` counts as ``GET``).

    Examples
    --------
    >>> is_read("GET", "/v1/models/credit/metrics"), is_read("POST", "/v1/predictions")
    (True, False)
    """
    patterns = _READ_PATTERNS.get("GET" if method == "HEAD" else method, ())
    return any(pattern.match(path) for pattern in patterns)


async def send_error(send: Send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    """An error answer in the service's shape (``{"detail", "message"}``) straight over ASGI."""
    body = json.dumps({"detail": message, "message": message}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class ReadGate:
    """ASGI middleware: requests of the read routes run in ``slots`` slots with a time budget.

    Parameters
    ----------
    app : ASGI application
        The service.
    slots : int
        Reads running at once.
    queue_limit : int
        Reads waiting for a slot at most; more get 503 at once.
    queue_timeout : float
        Seconds a read waits for a slot before it gets 503.
    timeout : float
        Seconds a read may take (from getting its slot to the start of its answer) before it gets 422.
    """

    def __init__(self, app: Any, *, slots: int, queue_limit: int, queue_timeout: float, timeout: float) -> None:
        self.app = app
        self.slots = slots
        self.queue_limit = queue_limit
        self.queue_timeout = queue_timeout
        self.timeout = timeout
        self.running = 0
        self.waiting = 0
        self._semaphore: anyio.Semaphore | None = None

    def reset(self) -> None:
        """Forget the slots' state (at start: each run of the app has an event loop of its own)."""
        self.running = self.waiting = 0
        self._semaphore = None

    @staticmethod
    def _is_read(scope: Scope) -> bool:
        if scope["type"] != "http":
            return False
        path, root = scope["path"], scope.get("root_path", "")
        return is_read(scope["method"], path[len(root) :] if root and path.startswith(root) else path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._is_read(scope):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:  # created in the event loop that serves the requests
            self._semaphore = anyio.Semaphore(self.slots)
        if not await self._acquire(self._semaphore):
            await self._busy(send)
            return
        self.running += 1
        try:
            await self._run_with_budget(scope, receive, send)
        finally:
            self.running -= 1
            self._semaphore.release()

    async def _acquire(self, semaphore: anyio.Semaphore) -> bool:
        if semaphore.value > 0:
            await semaphore.acquire()
            return True
        if self.waiting >= self.queue_limit:
            return False
        self.waiting += 1
        try:
            with anyio.move_on_after(self.queue_timeout):
                await semaphore.acquire()
                return True
            return False
        finally:
            self.waiting -= 1

    async def _busy(self, send: Send) -> None:
        await send_error(
            send,
            503,
            f"the service is busy: all {self.slots} read slots (FAIRWATCH_READ_CONCURRENCY) are taken and "
            f"{self.waiting} read(s) are waiting; nothing was computed, retry later",
            {"Retry-After": str(max(1, math.ceil(self.queue_timeout)))},
        )

    async def _run_with_budget(self, scope: Scope, receive: Receive, send: Send) -> None:
        answered = anyio.Event()
        abandoned = False
        error: Exception | None = None

        async def forward(message: Any) -> None:
            if abandoned:
                return
            if message["type"] == "http.response.start":
                answered.set()
            await send(message)

        async def run() -> None:
            nonlocal error
            try:
                await self.app(scope, receive, forward)
            except Exception as exc:  # re-raised below, outside the task group (no exception group)
                error = exc
            finally:
                answered.set()

        async with anyio.create_task_group() as group:
            group.start_soon(run)
            with anyio.move_on_after(self.timeout):
                await answered.wait()
            if not answered.is_set():
                abandoned = True
                await send_error(
                    send,
                    422,
                    f"this read took longer than {self.timeout:g} s (FAIRWATCH_READ_TIMEOUT) and was given up; ask "
                    f"for a shorter period, longer windows, fewer metrics or groups, or no intervals",
                )
            # the task group waits for the computation: its slot stays taken until it ends
        if error is not None:
            if not abandoned:
                raise error
            log.warning("a read given up after its time budget then failed (%s)", type(error).__name__)


class StoreProbe:
    """The store's reachability for ``/v1/health``: one ping at a time, on a thread of its own.

    Concurrent health checks share the ping in flight, so probes never pile up threads or store
    connections, and they never wait behind reads or ingest for a thread.
    """

    def __init__(self, ping: Callable[[], None], timeout: float | None = None) -> None:
        self.ping = ping
        self.timeout = HEALTH_PING_TIMEOUT if timeout is None else timeout
        self._executor: ThreadPoolExecutor | None = None
        self._inflight: asyncio.Future[None] | None = None

    async def problem(self) -> str | None:
        """None when the store answered; else what went wrong, in words."""
        loop = asyncio.get_running_loop()
        if self._inflight is None or self._inflight.done() or self._inflight.get_loop() is not loop:
            if self._executor is None:  # created on first use, again after close (an app can be restarted)
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fairwatch-health")
            self._inflight = loop.run_in_executor(self._executor, self.ping)
        try:
            await asyncio.wait_for(asyncio.shield(self._inflight), self.timeout)
        except TimeoutError:
            return f"the store did not answer within {self.timeout:g} s"
        except Exception as exc:
            return str(exc)
        return None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            self._inflight = None
