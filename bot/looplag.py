"""How late the event loop runs: a ticker that notes how much later than asked it woke.

Everything the bot does shares one event loop: a call that blocks it delays every
platform's heartbeats and every member's answer (Discord and Slack want one within 3
seconds). `LoopLag` measures that delay continuously, logs a warning when it passes
`warn_after` (rate-limited), and exposes it as the `laurels_event_loop_lag_seconds`
histogram and as recent figures (`figures()`), for /healthz and the benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass

from prometheus_client import Histogram

__all__ = ["LAG", "LagFigures", "LoopLag"]

log = logging.getLogger(__name__)

LAG = Histogram("laurels_event_loop_lag_seconds",
                "How much later than asked the event loop ran a timer",
                buckets=(0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))


@dataclass(frozen=True, slots=True)
class LagFigures:
    samples: int
    p99: float  # seconds
    max: float
    last: float


class LoopLag:
    """A ticker on the running loop: every `interval` seconds, how late did it wake?"""

    def __init__(self, interval: float = 0.1, *, warn_after: float = 0.25,
                 keep: int = 6000, warn_every: float = 10.0) -> None:
        self.interval = interval
        self.warn_after = warn_after
        self.warn_every = warn_every
        self._samples: deque[float] = deque(maxlen=keep)
        self._task: asyncio.Task[None] | None = None
        self._last_warning = float("-inf")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._tick(), name="loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _tick(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.note(max(0.0, time.perf_counter() - asked - self.interval))

    def note(self, lag: float) -> None:
        self._samples.append(lag)
        LAG.observe(lag)
        if lag > self.warn_after:
            now = time.monotonic()
            if now - self._last_warning >= self.warn_every:
                self._last_warning = now
                log.warning("the event loop was blocked for %.0f ms (something ran too long "
                            "without yielding)", lag * 1000)

    def samples(self) -> list[float]:
        """The lags kept, oldest first, in seconds."""
        return list(self._samples)

    def figures(self) -> LagFigures:
        """p99, max and last lag of the samples kept (zeros before the first)."""
        if not self._samples:
            return LagFigures(0, 0.0, 0.0, 0.0)
        ordered = sorted(self._samples)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        return LagFigures(len(ordered), p99, ordered[-1], self._samples[-1])
