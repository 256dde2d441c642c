"""Starting the configured platforms in the background.

Each platform starts on its own: one that cannot be reached yet is tried again with
growing pauses and one short log line per attempt, while the others, the scheduler and
the delivery worker run. One that refuses its credentials (`StartError.permanent`) ends
the process: `refused` is set, with the one line that says which variable to fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from bot.platform import RunningPlatform, StartError

__all__ = ["Backoff", "PlatformStarts", "unreachable"]

log = logging.getLogger(__name__)

Start = Callable[[], Awaitable[RunningPlatform]]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Pauses between attempts: `first`, doubling up to `most` seconds, each shortened by
    up to a tenth at random (processes restarted together do not retry in step)."""

    first: float = 2.0
    most: float = 300.0

    def pauses(self) -> Iterator[float]:
        pause = self.first
        while True:
            yield pause * random.uniform(0.9, 1.0)
            pause = min(pause * 2, self.most)


def unreachable(what: str, exc: BaseException, *,
                error: type[StartError] = StartError) -> StartError:
    """A transient StartError for a platform that did not answer: `what` and why, short
    (no traceback: the reason is the network, not the code)."""
    if isinstance(exc, TimeoutError):
        reason = "no answer in time"
    else:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return error(f"{what}: {reason[:200]}", permanent=False)


class PlatformStarts:
    """Starts platforms in background tasks; `on_started` gets each one that runs."""

    def __init__(self, backoff: Backoff,
                 on_started: Callable[[str, RunningPlatform], None]) -> None:
        self.backoff = backoff
        self.on_started = on_started
        self.refused = asyncio.Event()
        self.all_tried = asyncio.Event()  # every platform was tried at least once
        self.refusals: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._untried: set[str] = set()
        self._pending: set[str] = set()

    @property
    def pending(self) -> set[str]:
        """Platforms not started yet."""
        return set(self._pending)

    def launch(self, name: str, start: Start) -> None:
        self._pending.add(name)
        self._untried.add(name)
        self.all_tried.clear()
        self._tasks.append(asyncio.create_task(self._keep_starting(name, start),
                                               name=f"laurels-start-{name}"))

    async def close(self) -> None:
        """Stop starting (what already started is the caller's to stop)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _keep_starting(self, name: str, start: Start) -> None:
        pauses = self.backoff.pauses()
        while True:
            try:
                running = await start()
            except StartError as exc:
                self._tried(name)
                if exc.permanent:
                    log.error("%s", exc)
                    self.refusals.append(str(exc))
                    self.refused.set()
                    return
                pause = next(pauses)
                log.warning("%s; trying again in %.1f s", exc, pause)
                await asyncio.sleep(pause)
                continue
            self._tried(name)
            self._pending.discard(name)
            self.on_started(name, running)
            return

    def _tried(self, name: str) -> None:
        self._untried.discard(name)
        if not self._untried:
            self.all_tried.set()
