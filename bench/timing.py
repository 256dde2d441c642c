"""Latency percentiles and a pool of concurrent callers."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["Run", "percentile", "run_concurrent", "run_one_by_one", "run_sequential"]

T = TypeVar("T")


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Run:
    """Latencies in seconds of the calls that completed, and the wall time they took."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    first_error: str | None = None

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def ms(self, q: float) -> float | None:
        p = percentile(self.latencies, q)
        return None if p is None else p * 1000

    def error(self, exc: BaseException) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = f"{type(exc).__name__}: {exc}"[:300]


async def run_concurrent(
    calls: Iterable[Callable[[], Awaitable[object]]], concurrency: int, time_cap: float,
) -> Run:
    """Run `calls` with `concurrency` callers in flight, stopping early after `time_cap` s."""
    run = Run()
    it = iter(calls)
    start = time.perf_counter()
    deadline = start + time_cap

    async def caller() -> None:
        for call in it:
            if time.perf_counter() > deadline:
                return
            t0 = time.perf_counter()
            try:
                await call()
            except Exception as exc:
                run.error(exc)
                continue
            run.latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    run.elapsed = time.perf_counter() - start
    return run


def run_sequential(calls: Iterable[Callable[[], object]], time_cap: float) -> Run:
    """Synchronous calls one after another (the raw-driver floor on SQLite)."""
    run = Run()
    start = time.perf_counter()
    deadline = start + time_cap
    for call in calls:
        if time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        try:
            call()
        except Exception as exc:
            run.error(exc)
            continue
        run.latencies.append(time.perf_counter() - t0)
    run.elapsed = time.perf_counter() - start
    return run


async def run_one_by_one(call: Callable[[T], Awaitable[object]], items: Iterable[T],
                         time_cap: float) -> Run:
    """`call` for each item, one at a time (latency, not throughput), stopping after
    `time_cap` seconds once 20 are done."""
    run = Run()
    start = time.perf_counter()
    for item in items:
        if run.done >= 20 and time.perf_counter() - start > time_cap:
            break
        t0 = time.perf_counter()
        await call(item)
        run.latencies.append(time.perf_counter() - t0)
    run.elapsed = time.perf_counter() - start
    return run
