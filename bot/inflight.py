"""Work a platform adapter started and has not finished yet.

Slack needs an answer within 3 seconds, so every listener acknowledges first and works
afterwards; discord.py runs each event handler as its own task. Counting that work lets
shutdown finish it instead of dropping it (an acknowledged event is not sent again, and a
vote half-recorded would wait for a replay that never comes), and lets tests wait until
the bot is quiet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["Inflight"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class Inflight:
    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def count(self) -> int:
        return self._count

    def begin(self) -> None:
        self._count += 1
        self._idle.clear()

    def end(self) -> None:
        self._count = max(0, self._count - 1)
        if self._count == 0:
            self._idle.set()

    @contextmanager
    def track(self) -> Iterator[None]:
        self.begin()
        try:
            yield
        finally:
            self.end()

    def spawn(self, work: Coroutine[Any, Any, T], name: str | None = None, *,
              report: bool = True) -> asyncio.Task[T]:
        """Run `work` in the background, counted from now (not from its first step).
        `report`: log a failure (off when the caller awaits the task and handles its
        outcome itself)."""
        self.begin()
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)  # a reference, so the task is not garbage-collected mid-run
        task.add_done_callback(lambda t: self._done(t, report))
        return task

    def _done(self, task: asyncio.Task[Any], report: bool) -> None:
        self._tasks.discard(task)
        if report and not task.cancelled() and task.exception() is not None:
            log.error("background work failed: %s", task.get_name(),
                      exc_info=task.exception())
        self.end()

    async def wait_idle(self, within: float = 10.0) -> bool:
        """Wait until nothing is in flight; False if `within` seconds passed first."""
        try:
            async with asyncio.timeout(within):
                while self._count:
                    await self._idle.wait()
        except TimeoutError:
            return False
        return True
