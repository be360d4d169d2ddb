"""Rate limits: a token bucket per API key, and per client address for failed authentications."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["FailedAuthLimiter", "RateLimiter"]


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

    def __init__(
        self,
        rate: float,
        burst: int = 0,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_keys: int = 100_000,
    ) -> None:
        self.rate = float(rate)
        self.burst = float(burst) if burst > 0 else max(1.0, 2.0 * self.rate)
        self.max_keys = max_keys
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
            if key not in self._buckets:
                self._prune(now)
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def wait(self, key: str) -> float:
        """Seconds until ``key`` could take a token (0.0: now), without taking one."""
        if not self.enabled:
            return 0.0
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        """Keep at most ``max_keys`` buckets: full ones go first (a full bucket is no bucket), then the oldest."""
        if len(self._buckets) < self.max_keys:
            return
        for key in [k for k, (tokens, at) in self._buckets.items() if tokens + (now - at) * self.rate >= self.burst]:
            del self._buckets[key]
        while len(self._buckets) >= self.max_keys:
            del self._buckets[next(iter(self._buckets))]

    @staticmethod
    def retry_after(wait: float) -> str:
        """``Retry-After`` header value: whole seconds, rounded up, at least 1."""
        return str(max(1, math.ceil(wait)))


class FailedAuthLimiter:
    """Failed authentications per client address: ``per_minute`` of them, then 429 for a while.

    Each address has a token bucket of ``per_minute`` tokens refilling at ``per_minute`` per minute;
    a request presenting an unknown or revoked key takes a token. Once the bucket is empty, keys are
    no longer even looked up for that address, so it cannot go on guessing, except keys that already
    authenticated from it: a careless client sharing an address (a NAT, a proxy) with a working one
    does not lock the working one out. Successful requests never take a token.

    Parameters
    ----------
    per_minute : int
        Failed authentications an address may make per minute; ``0`` disables the limit.
    clock : callable
        Monotonic seconds (tests pass a fake clock).
    max_addresses : int
        Addresses remembered at most (buckets and the keys that worked from each).

    Examples
    --------
    >>> now = [0.0]
    >>> limiter = FailedAuthLimiter(per_minute=2, clock=lambda: now[0])
    >>> limiter.succeeded("10.0.0.1", "good-key-digest")
    >>> [limiter.failed("10.0.0.1") for _ in range(3)]
    [0.0, 0.0, 30.0]
    >>> limiter.blocked("10.0.0.1", "guess-digest"), limiter.blocked("10.0.0.1", "good-key-digest")
    (30.0, 0.0)
    >>> now[0] = 30.0
    >>> limiter.blocked("10.0.0.1", "guess-digest")
    0.0
    """

    #: Keys remembered per address as having worked from it.
    KEYS_PER_ADDRESS = 16

    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic, *, max_addresses: int = 100_000
    ) -> None:
        self.per_minute = per_minute
        self.buckets = RateLimiter(per_minute / 60.0, per_minute, clock, max_keys=max_addresses)
        self.max_addresses = max_addresses
        self._worked: OrderedDict[str, set[str]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def blocked(self, address: str, identity: str) -> float:
        """Seconds ``address`` must wait before presenting the key ``identity`` (0.0: it may now)."""
        if not self.enabled:
            return 0.0
        wait = self.buckets.wait(address)
        if wait > 0:
            with self._lock:
                if identity in self._worked.get(address, ()):
                    return 0.0
        return wait

    def failed(self, address: str) -> float:
        """Count a failed authentication; the seconds to wait when it went over the limit."""
        return self.buckets.acquire(address) if self.enabled else 0.0

    def succeeded(self, address: str, identity: str) -> None:
        """Remember that the key ``identity`` works from ``address``."""
        if not self.enabled:
            return
        with self._lock:
            keys = self._worked.get(address)
            if keys is None:
                keys = self._worked[address] = set()
                while len(self._worked) > self.max_addresses:
                    self._worked.popitem(last=False)
            else:
                self._worked.move_to_end(address)
            if identity not in keys:
                if len(keys) >= self.KEYS_PER_ADDRESS:
                    keys.pop()
                keys.add(identity)
