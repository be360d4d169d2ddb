"""Raw retention: expired raw events are deleted on a schedule while the service runs.

The roll-ups every read uses are kept; only the raw events (audits, rebuilds, checks) go. Several
replicas may each run it: a deletion is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta, timezone

from starlette.concurrency import run_in_threadpool

from fairwatch.exceptions import StoreError
from fairwatch.monitor import Store

__all__ = ["RawRetention"]

log = logging.getLogger("fairwatch.server")


class RawRetention:
    """Deletes raw events older than ``keep`` every ``interval`` seconds (first pass at start)."""

    def __init__(self, store: Store, keep: timedelta, interval: float) -> None:
        self.store = store
        self.keep = keep
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def prune(self) -> int:
        """One pass; the number of raw rows deleted."""
        deleted = self.store.prune_raw(datetime.now(timezone.utc) - self.keep)
        if deleted:
            log.info("raw retention (%s): deleted %d raw events", self.keep, deleted)
        return deleted

    async def _loop(self) -> None:
        while True:
            try:
                await run_in_threadpool(self.prune)
            except StoreError as exc:  # a store that went away: try again at the next pass
                log.warning("raw retention pass failed: %s", exc)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
