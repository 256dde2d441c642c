"""APScheduler wakes the due-event runner at the next due time, plus a periodic sweep.

The database holds what is due; APScheduler holds only two in-memory jobs (the next wake
and the sweep), so nothing is lost when the process dies: the next start catches up.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.delivery import DeliveryWorker
from engine.due import DueRunner

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, runner: DueRunner, worker: DeliveryWorker | None = None, *,
                 sweep_seconds: float = 60.0) -> None:
        self.runner = runner
        self.worker = worker
        self.sweep_seconds = sweep_seconds
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._lock = asyncio.Lock()
        self._rearm_pending = False

    async def start(self) -> None:
        await self.runner.sweep()
        self._aps.add_job(self._sweep, IntervalTrigger(seconds=self.sweep_seconds), id="sweep",
                          coalesce=True, max_instances=1, misfire_grace_time=None)
        self._aps.start()
        self.runner.engine.schedule_listeners.append(self.request_rearm)
        await self._wake()

    def stop(self) -> None:
        if self.request_rearm in self.runner.engine.schedule_listeners:
            self.runner.engine.schedule_listeners.remove(self.request_rearm)
        if self._aps.running:
            self._aps.shutdown(wait=False)

    def request_rearm(self) -> None:
        """A commit wrote due events: look again for the next due time, soon."""
        if not self._rearm_pending:
            self._rearm_pending = True
            asyncio.get_running_loop().create_task(self._rearm())

    async def _rearm(self) -> None:
        self._rearm_pending = False
        await self._arm()

    async def _sweep(self) -> None:
        await self.runner.sweep()
        await self._wake()

    async def _wake(self) -> None:
        async with self._lock:
            try:
                ran = await self.runner.run_due()
            except Exception:
                log.exception("running due events failed")
                ran = 0
            if ran and self.worker is not None:
                self.worker.wake()
        await self._arm()

    async def _arm(self) -> None:
        due = await self.runner.next_due_at()
        if due is None:
            return
        # The engine's clock may run ahead of the wall (the console moves it): wait for the
        # same span of real time.
        wait = max(due - self.runner.engine.clock.now(), timedelta(milliseconds=5))
        when = datetime.now(UTC) + wait
        self._aps.add_job(self._wake, DateTrigger(run_date=when), id="wake",
                          replace_existing=True, misfire_grace_time=None, coalesce=True)
