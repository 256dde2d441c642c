"""Requests per token: an in-process token bucket each.

A bucket holds up to `burst` requests and refills at `rate` a second; a request takes one
or is told how long until one is there (the 429's Retry-After). Each process limits on its
own: behind several processes a token may make that many requests in each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

__all__ = ["TokenBuckets"]


class TokenBuckets:
    """One bucket per key (an API token's id), created full on first use."""

    def __init__(self, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate above 0 and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        # key -> (requests available, when that was counted)
        self._buckets: dict[Hashable, tuple[float, float]] = {}

    def take(self, key: Hashable) -> float:
        """0.0 when the request may go ahead (and takes its place); otherwise the seconds
        until it could."""
        now = self._clock()
        level, at = self._buckets.get(key, (float(self.burst), now))
        level = min(float(self.burst), level + (now - at) * self.rate)
        if level >= 1.0:
            self._buckets[key] = (level - 1.0, now)
            return 0.0
        self._buckets[key] = (level, now)
        return (1.0 - level) / self.rate
