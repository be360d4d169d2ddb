"""Per-key request rate limits: one token bucket per API key."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Token buckets keyed by caller: ``rate`` requests per second on average, ``burst`` at once.

    Each key's bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; a request
    takes one token or is refused with the time until one is available. Buckets are created only for
    callers that authenticated, so their number is bounded by the number of keys.

    Parameters
    ----------
    rate : float
        Tokens added per second; ``0`` disables the limiter (every request passes).
    burst : int
        Bucket size; ``0`` means twice the rate (at least 1).
    clock : callable
        Monotonic seconds (tests pass a fake clock).

    Examples
    --------
    >>> now = [0.0]
    >>> limiter = RateLimiter(rate=2, burst=2, clock=lambda: now[0])
    >>> [limiter.acquire("k") for _ in range(3)]
    [0.0, 0.0, 0.5]
    >>> now[0] = 0.5
    >>> limiter.acquire("k")
    0.0
    """

    def __init__(self, rate: float, burst: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = float(rate)
        self.burst = float(burst) if burst > 0 else max(1.0, 2.0 * self.rate)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def acquire(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when granted, else the seconds until one is available."""
        if not self.enabled:
            return 0.0
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        """``Retry-After`` header value: whole seconds, rounded up, at least 1."""
        return str(max(1, math.ceil(wait)))
