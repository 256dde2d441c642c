"""Heartbeat leases: a claim is short, and the process working on it keeps renewing it.

Due events and outbox rows are claimed with a lease (`lease_until`) so that no other
process takes them meanwhile. A long lease makes a dead process's claims wait long for
a taker; a short one would let a slow but live process lose its work. So the lease is
short and a background task renews it while the claimer works:

    LEASE         15 s   what a claim (and each renewal) is good for
    RENEW_EVERY    5 s   how often the working process renews what it holds
    FENCE_MARGIN   3 s   a guarded step gives up this long before an unrenewed lease ends

A process that dies stops renewing: its leases end 10 to 15 s after its death (15 s after
its last renewal, which was at most 5 s before it died), and another process takes the
work over then. That is the worst case on PostgreSQL: 15 s, plus the time to run the
event (a due event: the other process's scheduler is armed for the lease's end) or up
to one idle tick of its delivery worker (1 s). Two renewals in a row may fail (a slow
database) before a live process loses anything. SQLite has one bot process, which
releases every lease at start (`DueRunner.recover`), so there a crashed claim waits for
nothing at all.

A renewal is a compare-and-set on the claim: the row must still be pending with the
attempt count this claim gave it. Another process that took the row over counted an
attempt of its own, so a process that lost its claim never extends the new holder's
lease. On PostgreSQL a row locked by a transaction (its own handler committing, or a
taker claiming it) is skipped, never waited for.

`Heartbeat.guard` fences a step that must not outlive the claim (posting to a platform):
it is cancelled if the claim goes 12 s without a renewal, before any other process may
take the row over. SQLite needs no fence: no other process can take the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engine.clock import Clock
from storage.db import Database
from storage.tables import DueEvent, OutboxRow

__all__ = ["FENCE_MARGIN", "LEASE", "RENEW_EVERY", "Heartbeat", "LeaseLost", "renew"]

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=15)
RENEW_EVERY = 5.0  # seconds
FENCE_MARGIN = 3.0  # seconds

Leased = type[DueEvent] | type[OutboxRow]


class LeaseLost(Exception):
    """A guarded step ran past the end of a claim that could not be renewed."""


async def renew(session: AsyncSession, table: Leased, claims: Mapping[int, int],
                until: datetime, *, skip_locked: bool = False) -> set[int]:
    """Extend the lease of each claimed row (id -> the attempt count its claim gave it)
    that is still pending and still ours; returns the ids renewed."""
    by_attempts: dict[int, list[int]] = defaultdict(list)
    for row_id, attempts in claims.items():
        by_attempts[attempts].append(row_id)
    renewed: set[int] = set()
    for attempts, ids in by_attempts.items():
        mine = (select(table.id)
                .where(table.id.in_(ids), table.status == "pending",
                       table.attempts == attempts, table.lease_until.is_not(None)))
        if skip_locked:
            mine = mine.with_for_update(skip_locked=True)
        result = await session.execute(
            update(table).where(table.id.in_(mine.scalar_subquery()))
            .values(lease_until=until).returning(table.id))
        renewed.update(result.scalars().all())
    return renewed


class Heartbeat:
    """Renews the leases of the rows this process holds, every `every` seconds, while
    used as `async with`. Rows are held with `hold` after they are claimed and let go
    with `release` before their outcome is written."""

    def __init__(self, db: Database, table: Leased, clock: Clock, *,
                 lease: timedelta = LEASE, every: float = RENEW_EVERY,
                 fence: bool | None = None) -> None:
        self.db = db
        self.table = table
        self.clock = clock
        self.lease = lease
        self.every = every
        # Whether another process could take a claim over: PostgreSQL, not SQLite.
        self.fenced = not db.is_sqlite if fence is None else fence
        self.renewals = 0  # successful renewal rounds (for tests and logs)
        self._held: dict[int, int] = {}
        self._fences: dict[int, asyncio.Timeout] = {}
        self._lock = asyncio.Lock()  # one renewal at a time; release waits it out
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def hold(self, row_id: int, attempts: int) -> None:
        self._held[row_id] = attempts

    async def release(self, row_id: int) -> None:
        """Stop renewing `row_id`. Returns once no renewal that includes it is under
        way, so an outcome written next (a backoff lease) is never overwritten."""
        async with self._lock:
            self._held.pop(row_id, None)

    @contextlib.asynccontextmanager
    async def guard(self, row_id: int, leased_at: float | None = None
                    ) -> AsyncIterator[None]:
        """Run the block only while the claim on `row_id` is certainly ours: cancelled
        (raising `LeaseLost`) when no renewal came for `lease - FENCE_MARGIN`.

        `leased_at`: the loop time taken just before the lease was last set (default:
        now), so the fence never outlasts the lease."""
        if not self.fenced:
            yield
            return
        fence = asyncio.timeout_at(self._fence_deadline(leased_at))
        try:
            async with fence:
                self._fences[row_id] = fence
                yield
        except TimeoutError:
            if fence.expired():
                raise LeaseLost(f"the claim on row {row_id} could not be renewed") from None
            raise
        finally:
            self._fences.pop(row_id, None)

    def _fence_deadline(self, leased_at: float | None = None) -> float:
        if leased_at is None:
            leased_at = asyncio.get_running_loop().time()
        return (leased_at + self.lease.total_seconds()
                - min(FENCE_MARGIN, self.lease.total_seconds() / 2))

    async def __aenter__(self) -> Heartbeat:
        self._stop.clear()
        self._task = asyncio.get_running_loop().create_task(self._beat())
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        if self._task is not None:
            # Let a renewal under way finish its transaction rather than cut it short.
            await asyncio.shield(self._task)
            self._task = None

    async def _beat(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.every)
            if self._stop.is_set():
                return
            try:
                await self.renew_now()
            except Exception:
                # The next beat tries again; the fence stops guarded work in time.
                log.warning("renewing %d leases failed", len(self._held), exc_info=True)

    async def renew_now(self) -> set[int]:
        """One renewal round (the background task calls it every `every` seconds)."""
        async with self._lock:
            if not self._held:
                return set()
            claims = dict(self._held)
            # Taken before the round trip: the fence must end before the lease does.
            leased_at = asyncio.get_running_loop().time()
            until = self.clock.now() + self.lease

            async def unit(session: AsyncSession) -> set[int]:
                return await renew(session, self.table, claims, until,
                                   skip_locked=self.fenced)

            renewed = await self.db.run(unit)
            self.renewals += 1
            deadline = self._fence_deadline(leased_at)
            for row_id in renewed:
                fence = self._fences.get(row_id)
                if fence is not None:
                    fence.reschedule(deadline)
            if len(renewed) < len(claims):
                log.debug("%d of %d leases not renewed (finished, locked or taken over)",
                          len(claims) - len(renewed), len(claims))
            return renewed
