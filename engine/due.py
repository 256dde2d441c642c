"""Running due events: claim, run each in its own transaction, mark it done there too.

A claim commits a lease before any event runs, so a process that dies mid-event leaves
the event pending and leased: its transaction (phase change, tally, outbox rows, points)
rolls back as a whole, and the event runs again once the lease lapses (at once on SQLite,
where `recover` knows no other process can hold it). Handlers are idempotent, so an
event that did commit but ran again changes nothing.

The lease is short (15 s) and renewed every 5 s while the batch is worked on
(engine/leases.py): a long tally keeps its claim, and a dead process's events are taken
over by another process within 15 s.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engine import outbox, schedule
from engine.clock import AdjustableClock
from engine.context import Tx
from engine.leases import Heartbeat
from engine.phases import advance_due_challenge
from engine.refs import CommunityRef
from engine.schedule import ClaimedEvent, Template
from engine.unit import UnitOfWork
from storage.tables import Challenge, Community, DueEvent

__all__ = ["MAX_ATTEMPTS", "STEP_WINDOW", "DueRunner"]

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
MAX_BACKOFF_SECONDS = 600
CATCH_UP_NOTICE_SECONDS = 60
# `run_until` steps through due times one by one over this last stretch of a clock jump;
# what fell due before it catches up at once, as after downtime. Stepping through every
# weekly event of years would take minutes.
STEP_WINDOW = timedelta(days=35)


class DueRunner:
    """Runs what the due-events table says is due. Safe to run in several processes."""

    def __init__(self, uow: UnitOfWork, templates: dict[str, Template] | None = None) -> None:
        self.uow = uow
        self.templates = templates if templates is not None else schedule.load_templates()

    async def recover(self) -> int:
        """At start-up on SQLite, release leases a crashed run left behind.

        SQLite has one bot process, so a lease found at start belongs to a dead one;
        waiting for it to lapse would only delay a deadline. On PostgreSQL another live
        process may hold it, so leases are left to expire.
        """
        if not self.uow.db.is_sqlite:
            return 0

        async def unit(session: AsyncSession) -> int:
            return (await schedule.release_leases(session)
                    + await outbox.release_leases(session))

        released = await self.uow.db.run(unit)
        if released:
            log.warning("released %d leases left by a previous run", released)
        return released

    async def sweep(self) -> None:
        """Rebuild events for every live challenge and community (harmless if they exist)."""
        async with self.uow.db.session() as session:
            communities = (await session.execute(
                select(Community.id, Community.platform, Community.external_id)
                .order_by(Community.id))).all()
        for community_id, platform, external_id in communities:
            ref = self.uow.remember(community_id, CommunityRef(platform, external_id))
            try:
                await self.uow.write(ref, lambda tx: schedule.sync_all(tx, self.templates))
            except Exception:
                # One community's bad data (a hand-edited template) must not stop the rest.
                log.exception("rebuilding the events of community %s failed", community_id)

    async def run_due(self, limit: int = 50, max_batches: int = 100) -> int:
        """Run every event due now, including those that running others made due (a
        missed period close reschedules itself to the next missed boundary); returns how
        many ran. `max_batches` bounds one call; the scheduler wakes again for the rest."""
        total = 0
        for _ in range(max_batches):
            now = self.uow.clock.now()

            async def claim(session: AsyncSession, now: datetime = now) -> list[ClaimedEvent]:
                return await schedule.claim_due(session, now, limit=limit,
                                                skip_locked=not self.uow.db.is_sqlite)

            batch = await self.uow.db.run(claim)
            async with Heartbeat(self.uow.db, DueEvent, self.uow.clock) as beat:
                for event in batch:
                    beat.hold(event.id, event.attempts)
                for event in batch:
                    await self._run(event, beat)
            total += len(batch)
            if not batch:
                break
        return total

    async def next_due_at(self) -> datetime | None:
        async with self.uow.db.session() as session:
            return await schedule.next_due_at(session)

    async def run_until(self, clock: AdjustableClock, target: datetime,
                        after_each: Callable[[], Awaitable[object]] | None = None) -> int:
        """Move `clock` to `target`, stopping at each due time on the way, in order.

        Only the last `STEP_WINDOW` is stepped through. What fell due before it runs once,
        late, at the window's start, under the lateness policy of a restart after downtime
        (deadlines and results always, stale reminders skipped, a missed digest or
        recurring challenge once, at most `schedule.MAX_MISSED_CLOSES` period closes): a
        jump of years costs what such a restart does.
        """
        ran = 0
        if target - clock.now() > STEP_WINDOW:
            clock.set(target - STEP_WINDOW)
            ran += await self.run_due()
            if after_each is not None:
                await after_each()
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

    async def _run(self, event: ClaimedEvent, beat: Heartbeat) -> None:
        try:
            ref = await self.uow.community_of(event.community_id)
            await self.uow.write(ref, lambda tx: self._handle(tx, event))
        except Exception as exc:
            log.exception("due event %s %s failed", event.subject, event.kind)
            await beat.release(event.id)  # no renewal may overwrite the backoff
            await self._failed(event, exc)
        finally:
            await beat.release(event.id)

    async def _failed(self, event: ClaimedEvent, exc: Exception) -> None:
        """Back off (the lease doubles as the retry time); give up after MAX_ATTEMPTS.

        A challenge event that gives up stays `failed` with its error for an operator to
        see; a periodic one is restarted at its next occurrence by the next sweep.
        """
        async def unit(session: AsyncSession) -> None:
            row = await session.get(DueEvent, event.id)
            if row is None or row.status != "pending" or row.due_at != event.due_at:
                return  # moved or finished meanwhile: its new schedule stands
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                row.lease_until = None
            else:
                row.lease_until = self.uow.clock.now() + timedelta(
                    seconds=min(2 ** row.attempts, MAX_BACKOFF_SECONDS))

        await self.uow.db.run(unit)

    async def _handle(self, tx: Tx, event: ClaimedEvent) -> None:
        late = (tx.now - event.due_at).total_seconds()
        # Catching up after downtime is worth an operator's notice; on time, it is not.
        log.log(logging.INFO if late > CATCH_UP_NOTICE_SECONDS else logging.DEBUG,
                "running %s %s (due %s, %.3fs late)", event.subject, event.kind,
                event.due_at.isoformat(), late)
        if event.subject.startswith("challenge:"):
            await self._challenge_event(tx, event)
        else:
            await self._community_event(tx, event)

    async def _challenge_event(self, tx: Tx, event: ClaimedEvent) -> None:
        challenge_id = int(event.subject.split(":")[1])
        # The challenge row is locked before its events are touched, in the same order as
        # the sweep and moderator edits, so two processes never wait on each other in a
        # circle (PostgreSQL; SQLite has one writer anyway).
        c = await tx.session.scalar(select(Challenge).where(
            Challenge.id == challenge_id, Challenge.community_id == tx.community_id
        ).with_for_update())
        if c is None:
            await schedule.finish(tx, event, "skipped")
            return
        if event.kind == "phase":
            # Phase changes always run, however late: each step is conditional on the
            # phase still being what was read, so a second run finds nothing to do. The
            # event row is written last, so a long tally does not hold its row lock and
            # the lease on it can be renewed meanwhile (PostgreSQL).
            await advance_due_challenge(tx, c.id)
            await schedule.finish(tx, event)
            await schedule.sync_challenge(tx, c)
        elif event.kind.startswith("remind:"):
            status = await schedule.remind(tx, c, event.kind, event.due_at)
            await schedule.finish(tx, event, status)
        else:
            await schedule.finish(tx, event, "skipped")

    async def _community_event(self, tx: Tx, event: ClaimedEvent) -> None:
        kind = event.kind
        if schedule.next_occurrence(tx, kind, event.due_at, self.templates) is None:
            # Turned off (or unknown) since it was written: drop it without running.
            await schedule.reschedule_periodic(tx, event, self.templates)
            return
        missed = schedule.missed_occurrences(tx, kind, event.due_at, self.templates)
        if kind in ("close:week", "close:month"):
            # Every ended period's standings are announced once, however late, oldest
            # first (the next one is due at once), up to the last few after long downtime.
            when = missed[-schedule.MAX_MISSED_CLOSES:][0]
            await schedule.close_period(tx, kind.split(":")[1], when)
            await schedule.reschedule_periodic(tx, event, self.templates, after=when)
            return
        # A digest or recurring challenge missed several times runs once, for the latest.
        when = missed[-1]
        if kind == "digest":
            await schedule.digest(tx, when)
        elif kind.startswith("recurring:"):
            template = schedule.community_templates(tx, self.templates)[kind.split(":", 1)[1]]
            c = await schedule.create_recurring(tx, template, when)
            if c is not None:
                await schedule.sync_challenge(tx, c)
        await schedule.reschedule_periodic(tx, event, self.templates)
