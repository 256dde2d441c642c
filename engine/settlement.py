"""When votes are paid for: soon after they commit, without slowing the votes down.

A counted vote commits first and is paid for by settlement (engine/vote_payments.py). In
a burst of votes, settlement waits for a pause so that voters' commits are not queued
behind it (SQLite has one writer); while votes keep arriving, a small chunk is still paid
every `MAX_WAIT` seconds. A member who just voted and asks for something sees their vote
paid (the read waits at most `READ_WAIT`); anyone else's read waits only between bursts,
and only while few votes wait (`FEW`): the backlog a burst leaves takes seconds to pay,
and a chat command must not wait on it.
Settlement that a crash cut short, or votes left by another process, are paid by the
next write of the community (`settle_in`, run before every write) or `settle_all`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from engine.context import VotesCounted
from engine.refs import CommunityRef, MemberRef
from engine.unit import UnitOfWork
from engine.vote_payments import CLAIM, claim, days, pay
from storage.sql.queues import communities_unsettled, has_unsettled
from storage.sql.run import off_loop

__all__ = ["FEW", "QUIET_READ_WAIT", "READ_WAIT", "Settler"]

log = logging.getLogger(__name__)

MAX_WAIT = 2.0  # seconds a busy stream of votes may hold settlement back
QUIET = 0.025  # seconds without votes that make a pause
# Seconds a read waits for its member's votes to be paid: a chat command must answer
# within seconds (Discord wants a reply or a deferral within 3).
READ_WAIT = 2.0
# Seconds anyone else's read waits, between bursts of votes and with `FEW` votes waiting
# at most: settlement is quick then.
QUIET_READ_WAIT = 0.25
FEW = 64  # votes settlement pays in some 25 ms (about 2,500 a second)
POLL = 0.002
FIRST_CHUNK = 32  # votes paid while votes keep arriving; doubled each time it is quiet
LAST_CHUNK = 1024


class VoteActivity(Protocol):
    """How busy the votes are (`GroupCommit`, engine/batching.py)."""

    @property
    def busy(self) -> bool:
        """Whether votes are queued or being committed."""
        ...

    def idle_for(self) -> float:
        """Seconds since votes were last queued or committed (0 while busy)."""
        ...


class Settler:
    """Pays for counted votes: in the transaction of any write (`settle_in`), and in the
    background, one task per community with votes waiting."""

    def __init__(self, uow: UnitOfWork, votes: VoteActivity, *,
                 background: bool = True) -> None:
        self._uow = uow
        self._votes = votes  # settlement keeps out of a burst's way
        self._background = background
        self._tasks: dict[CommunityRef, asyncio.Task[None]] = {}
        self._hurry: set[CommunityRef] = set()
        self._dirty: set[CommunityRef] = set()  # counted since the last claim
        self._voters: dict[CommunityRef, set[str]] = {}  # whose votes are waiting
        self._waiting: dict[CommunityRef, int] = {}  # how many (counted here, not paid)

    # -- paying -------------------------------------------------------------------------

    async def settle_in(self, session: AsyncSession, ref: CommunityRef,
                        limit: int | None = None) -> int:
        """Pay, in this transaction, for the community's waiting votes (all of them, or
        the oldest `limit`); returns how many."""
        base = await self._uow.tx(session, ref)
        if limit is None and not await has_unsettled(session, base.community_id):
            return 0
        count = 0
        # Paying is background work, and its statements (upserts into tables of a
        # million rows) take milliseconds each: on a SQLite file they run on a worker
        # thread, so a chunk of payments never holds the event loop.
        async with off_loop(session):
            while True:
                claimed = await claim(base, limit or CLAIM)
                count += len(claimed)
                for day in days(base, claimed):
                    await pay(base, day)
                if limit is not None or len(claimed) < CLAIM:
                    return count

    async def settle(self, ref: CommunityRef, limit: int = CLAIM) -> int:
        """Pay for up to `limit` of the community's counted votes, oldest first, in one
        transaction of their own; returns how many."""
        await self._uow.known(ref)

        async def unit(session: AsyncSession) -> int:
            await self._uow.serialize(session, ref)  # as every write of the community
            paid = await self.settle_in(session, ref, limit)
            # And ends as every write does: what the votes unlocked is announced.
            await self._uow.finish(await self._uow.tx(session, ref))
            return paid

        paid = await self._uow.run(unit)
        if ref in self._waiting:  # votes another process counted may be among them
            self._waiting[ref] = max(0, self._waiting[ref] - paid)
        return paid

    async def settle_all(self) -> int:
        """Pay for every counted vote still waiting, in every community (at start-up:
        votes a stopped process counted but did not pay for); returns how many."""
        async with self._uow.db.session() as session:
            ids = await communities_unsettled(session)
        done = 0
        for community_id in ids:
            ref = await self._uow.community_of(community_id)
            while (paid := await self.settle(ref)) > 0:
                done += paid
        return done

    # -- when ---------------------------------------------------------------------------

    def counted(self, event: VotesCounted) -> None:
        """Votes were counted in a community: make sure they get paid."""
        ref = event.community
        self._voters.setdefault(ref, set()).update(event.voters)
        self._waiting[ref] = self._waiting.get(ref, 0) + event.votes
        self._dirty.add(ref)
        if not self._background:
            return
        if self._paying(ref) is None:
            self._tasks[ref] = asyncio.get_running_loop().create_task(self._run(ref))

    def waiting(self, ref: CommunityRef, user_id: str) -> bool:
        """Whether this member has votes counted in this process and not yet paid."""
        return user_id in self._voters.get(ref, ())

    def few_waiting(self, ref: CommunityRef) -> bool:
        """Whether the votes counted in this process and not yet paid are `FEW` at most."""
        return self._waiting.get(ref, 0) <= FEW

    async def before_read(self, viewer: MemberRef | CommunityRef) -> CommunityRef:
        """Wait, before a read, for the votes it should see paid; the community read.

        A member who just voted waits for their votes (at most `READ_WAIT`); anyone else
        waits only while no burst of votes is under way and few votes wait (at most
        `QUIET_READ_WAIT`), so that neither a burst nor the backlog it leaves holds up
        the reads of members who are not in it."""
        ref = viewer.community if isinstance(viewer, MemberRef) else viewer
        if self._paying(ref) is None:  # the usual case, checked before anything else
            return ref
        if isinstance(viewer, MemberRef) and self.waiting(ref, viewer.user_id):
            await self.flush(ref, READ_WAIT)
        elif not self._votes.busy and self.few_waiting(ref):
            await self.flush(ref, QUIET_READ_WAIT)
        return ref

    async def flush(self, ref: CommunityRef, at_most: float | None = None) -> None:
        """Return once the votes counted here so far in `ref` are paid, or after
        `at_most` seconds; settlement keeps paying without pause either way."""
        task = self._paying(ref)
        if task is None:
            return
        self._hurry.add(ref)
        try:
            await asyncio.wait_for(asyncio.shield(task), at_most)
        except TimeoutError:
            log.debug("a read stopped waiting for settlement in %s", ref)

    def _paying(self, ref: CommunityRef) -> asyncio.Task[None] | None:
        """The community's settlement task while it runs."""
        task = self._tasks.get(ref)
        return None if task is None or task.done() else task

    async def close(self) -> None:
        """Pay for everything counted so far, then stop."""
        for ref in list(self._tasks):
            await self.flush(ref)

    async def _run(self, ref: CommunityRef) -> None:
        chunk = FIRST_CHUNK
        try:
            while True:
                chunk = min(chunk * 2, LAST_CHUNK) if await self._quiet(ref) else FIRST_CHUNK
                self._dirty.discard(ref)
                if await self.settle(ref, chunk) < chunk and ref not in self._dirty:
                    self._voters.pop(ref, None)
                    self._waiting.pop(ref, None)  # none left, whoever paid them
                    return
                await asyncio.sleep(0)  # let others use the loop between chunks
        except Exception:  # the next write or `settle_all` pays them
            log.exception("settling votes failed; they stay queued")
        finally:
            self._hurry.discard(ref)

    async def _quiet(self, ref: CommunityRef) -> bool:
        """Wait until no votes were queued or committed for `QUIET` seconds (at most
        `MAX_WAIT`, unless a read hurries it); whether it is quiet."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_WAIT
        while self._votes.idle_for() < QUIET and ref not in self._hurry:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(POLL)
        return True
