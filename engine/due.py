"""Running due events: claim, run each in its own transaction, mark it done there too."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engine import schedule
from engine.clock import AdjustableClock
from engine.context import Tx
from engine.schedule import ClaimedEvent, Template
from engine.service import Engine, advance_due_challenge
from storage.tables import Challenge, Community, DueEvent

__all__ = ["DueRunner"]

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


class DueRunner:
    """Runs what the due-events table says is due. Safe to run in several processes."""

    def __init__(self, engine: Engine, templates: dict[str, Template] | None = None) -> None:
        self.engine = engine
        self.templates = templates if templates is not None else schedule.load_templates()

    async def sweep(self) -> None:
        """Rebuild events for every live challenge and community (harmless if they exist)."""
        async with self.engine.db.session() as session:
            communities = (await session.execute(
                select(Community.id, Community.platform, Community.external_id))).all()
        for community_id, platform, external_id in communities:
            ref = self.engine.ref_for(community_id, platform, external_id)
            await self.engine.write(ref, self._sync_all)

    async def _sync_all(self, tx: Tx) -> None:
        live = (await tx.session.scalars(select(Challenge).where(
            Challenge.community_id == tx.community_id,
            Challenge.phase.in_(("scheduled", "open", "voting", "active"))))).all()
        for c in live:
            await schedule.sync_challenge(tx, c)
        await schedule.sync_community(tx, self.templates)

    async def run_due(self, limit: int = 50) -> int:
        """Run every event due now; returns how many ran."""
        total = 0
        while True:
            now = self.engine.clock.now()

            async def claim(session: AsyncSession, now: datetime = now) -> list[ClaimedEvent]:
                return await schedule.claim_due(session, now, limit=limit,
                                                skip_locked=not self.engine.db.is_sqlite)

            batch = await self.engine.db.run(claim)
            for event in batch:
                await self._run(event)
            total += len(batch)
            if len(batch) < limit:
                return total

    async def next_due_at(self) -> datetime | None:
        async with self.engine.db.session() as session:
            return await schedule.next_due_at(session)

    async def run_until(self, clock: AdjustableClock, target: datetime,
                        after_each: Callable[[], Awaitable[object]] | None = None) -> int:
        """Move `clock` to `target`, stopping at each due time on the way, in order."""
        ran = 0
        while True:
            due = await self.next_due_at()
            if due is None or due > target:
                break
            if due > clock.now():
                clock.set(due)
            n = await self.run_due()
            ran += n
            if after_each is not None:
                await after_each()
            if n == 0:
                break  # leased elsewhere: nothing more to do here now
        clock.set(target)
        ran += await self.run_due()
        if after_each is not None:
            await after_each()
        return ran

    async def _run(self, event: ClaimedEvent) -> None:
        try:
            ref = await self.engine.community_of(event.community_id)
            await self.engine.write(ref, lambda tx: self._handle(tx, event))
        except Exception as exc:
            log.exception("due event %s %s failed", event.subject, event.kind)
            await self._failed(event, exc)

    async def _failed(self, event: ClaimedEvent, exc: Exception) -> None:
        async def unit(session: AsyncSession) -> None:
            row = await session.get(DueEvent, event.id)
            if row is None or row.status != "pending":
                return
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                row.lease_until = self.engine.clock.now() + timedelta(
                    seconds=min(2 ** row.attempts, 600))

        await self.engine.db.run(unit)

    async def _handle(self, tx: Tx, event: ClaimedEvent) -> None:
        if event.subject.startswith("challenge:"):
            await self._challenge_event(tx, event)
        else:
            await self._community_event(tx, event)

    async def _challenge_event(self, tx: Tx, event: ClaimedEvent) -> None:
        challenge_id = int(event.subject.split(":")[1])
        c = await tx.session.scalar(select(Challenge).where(
            Challenge.id == challenge_id, Challenge.community_id == tx.community_id))
        if c is None:
            await schedule.finish(tx, event, "skipped")
            return
        if event.kind == "phase":
            await schedule.finish(tx, event)
            await advance_due_challenge(tx, c.id)
            await schedule.sync_challenge(tx, c)
        elif event.kind.startswith("remind:"):
            status = await schedule.remind(tx, c, event.kind, event.due_at)
            await schedule.finish(tx, event, status)
        else:
            await schedule.finish(tx, event, "skipped")

    async def _community_event(self, tx: Tx, event: ClaimedEvent) -> None:
        kind = event.kind
        if kind == "digest":
            await schedule.digest(tx, event.due_at)
            nxt = schedule.next_weekly(tx.now, tx, event.due_at.astimezone(tx.tz).weekday(),
                                       event.due_at.astimezone(tx.tz).time())
        elif kind in ("close:week", "close:month"):
            period = kind.split(":")[1]
            await schedule.close_period(tx, period, event.due_at)
            nxt = schedule.next_period_end(tx.now, tx, period)
        elif kind.startswith("recurring:"):
            template = schedule.community_templates(tx, self.templates).get(kind.split(":", 1)[1])
            if template is None:
                await schedule.finish(tx, event, "skipped")
                return
            c = await schedule.create_recurring(tx, template, event.due_at)
            if c is not None:
                await schedule.sync_challenge(tx, c)
            nxt = schedule.next_weekly(tx.now, tx, template.weekday, template.at,
                                       template.weeks_between)
        else:
            await schedule.finish(tx, event, "skipped")
            return
        await tx.session.execute(update(DueEvent).where(DueEvent.id == event.id).values(
            due_at=nxt, status="pending", attempts=0, lease_until=None, done_at=tx.now))
