"""In-process rate limits: sliding windows for failed logins, token buckets for match calls.

Each server process keeps its own counters (no shared service is needed); with N processes the
effective limit is at most N times the setting.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from ohsc.errors import RateLimitedError


class FailureWindow:
    """At most ``limit`` failures per key within ``window`` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def check(self, key: str, what: str = "attempts") -> None:
        """Raise :class:`RateLimitedError` while ``key`` is over the limit."""
        now = self._clock()
        with self._lock:
            hits = self._prune(key, now)
            if len(hits) >= self.limit:
                retry = max(1.0, hits[0] + self.window - now)
                raise RateLimitedError(
                    f"too many failed {what}; try again in {math.ceil(retry)} s", retry_after=retry
                )

    def fail(self, key: str) -> None:
        now = self._clock()
        with self._lock:
            self._hits.setdefault(key, deque()).append(now)
            if len(self._hits) > 100_000:  # bounded memory under a spray of keys
                for stale in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                    del self._hits[stale]

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)


class TokenBucket:
    """``rate_per_minute`` requests per key, with a burst of five seconds' worth."""

    def __init__(self, rate_per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = max(10.0, self.rate * 5)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        if self.rate <= 0:
            return
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                retry = (1.0 - tokens) / self.rate
                raise RateLimitedError("rate limit reached for this API key", retry_after=retry)
            self._buckets[key] = (tokens - 1.0, now)
