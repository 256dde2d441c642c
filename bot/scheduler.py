"""APScheduler wakes the due-event runner at the next due time, plus a periodic sweep.

The database holds what is due; APScheduler holds only two in-memory jobs (the next wake
and the sweep), so nothing is lost when the process dies: the next start catches up.
Jobs carry no live objects and no deadlines of their own (APScheduler's default store
would drop one-shot jobs missed while the process was down).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.delivery import DeliveryWorker
from engine.context import ScheduleChanged
from engine.due import DueRunner

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)

# Never wait less than this between wakes: a guard against spinning on a due time that
# cannot be claimed yet.
MIN_WAIT = timedelta(milliseconds=5)


class Scheduler:
    """Wakes `runner` when the next event falls due; sweeps every `sweep_seconds` for
    events written by other processes and to rebuild anything missing."""

    def __init__(self, runner: DueRunner, worker: DeliveryWorker | None = None, *,
                 sweep_seconds: float = 60.0) -> None:
        self.runner = runner
        self.worker = worker
        self.sweep_seconds = sweep_seconds
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._lock = asyncio.Lock()
        self._rearm_pending = False
        self._again = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Catch up on what fell due while stopped, then keep waking on time."""
        await self.runner.recover()
        await self.runner.sweep()
        self._aps.add_job(self._sweep, IntervalTrigger(seconds=self.sweep_seconds), id="sweep",
                          coalesce=True, max_instances=1, misfire_grace_time=None)
        self._aps.start()
        self.runner.uow.on(ScheduleChanged, self._schedule_changed)
        await self._wake()

    def stop(self) -> None:
        self.runner.uow.off(ScheduleChanged, self._schedule_changed)
        if self._aps.running:
            self._aps.shutdown(wait=False)
        for task in self._tasks:
            task.cancel()

    def _schedule_changed(self, _: ScheduleChanged) -> None:
        self.request_rearm()

    def request_rearm(self) -> None:
        """A commit wrote due events: look again for the next due time, soon."""
        if not self._rearm_pending:
            self._rearm_pending = True
            task = asyncio.get_running_loop().create_task(self._rearm())
            # Keep a reference until it is done, or the loop may drop the task.
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _rearm(self) -> None:
        self._rearm_pending = False
        try:
            await self._arm()
        except Exception:
            log.exception("re-arming the scheduler failed; the sweep will retry")

    async def _sweep(self) -> None:
        try:
            await self.runner.sweep()
        except Exception:
            log.exception("sweeping due events failed")
        await self._wake()

    async def _wake(self) -> None:
        if self._lock.locked():
            # A run is under way: ask it to look once more when done, rather than queue
            # behind it (APScheduler would count, and eventually drop, the waiting wakes).
            self._again = True
            return
        async with self._lock:
            self._again = True
            while self._again:
                self._again = False
                try:
                    ran = await self.runner.run_due()
                except Exception:
                    log.exception("running due events failed")
                    ran = 0
                if ran and self.worker is not None:
                    self.worker.wake()
        try:
            await self._arm()
        except Exception:
            log.exception("arming the next wake failed; the sweep will retry")

    async def _arm(self) -> None:
        due = await self.runner.next_due_at()
        if due is None or not self._aps.running:
            return
        # The engine's clock may run ahead of the wall (the console moves it): wait for the
        # same span of real time.
        wait = max(due - self.runner.uow.clock.now(), MIN_WAIT)
        when = datetime.now(UTC) + wait
        # A wake may fire while the previous one still runs (a long tally); it returns at
        # once after asking that run to look again, so a few instances are plenty.
        self._aps.add_job(self._wake, DateTrigger(run_date=when), id="wake",
                          replace_existing=True, misfire_grace_time=None, coalesce=True,
                          max_instances=3)
