"""The unit of work: transactions scoped to one community, the loaded copies of
communities, and the events a committed transaction raises.

Every engine operation runs through here:

- `write` runs its work in one transaction. Before the work, the `before_write` hooks
  run (settlement pays the community's counted votes first, so every write sees them
  paid); after it, the `before_commit` hooks (point thresholds, the top-10 entries,
  the one post of what the transaction unlocked).
- `read` and `view` run reads; `view` runs on a session-less reader where the database
  has one (SQLite files), for work of plain statements only.
- Work raises typed events (`engine.context`); once the transaction has committed, each
  goes to the handlers registered for its type with `on`, in the order raised. Handlers
  run under the write lock, so in-process indexes see commits in the order they happened.

A transaction is retried as a whole on deadlocks, serialization failures and key races
(`storage.db.Database.run`), never inside an aborted one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engine.achievements import Catalog
from engine.clock import Clock
from engine.context import Tx, View
from engine.errors import NotFound
from engine.members import ensure_community
from engine.refs import CommunityRef
from storage.db import Database, is_fault
from storage.plain_reads import PlainReader
from storage.sql.members import community_row, lock_community
from storage.sql.run import Source
from storage.tables import Community

__all__ = ["UnitOfWork"]

log = logging.getLogger(__name__)
T = TypeVar("T")
# Backoff while the database is unavailable: from a tenth of a second up to two.
FAULT_FIRST_WAIT = 0.1
FAULT_MAX_WAIT = 2.0
_EVENTS = "laurels.events"
_MEMO = "laurels.memo"
_UNLOCKS = "laurels.unlocks"

BeforeWrite = Callable[[AsyncSession, CommunityRef], Awaitable[None]]
BeforeCommit = Callable[[Tx], Awaitable[None]]


class UnitOfWork:
    """Transactions, community copies and after-commit events over one database."""

    def __init__(self, db: Database, clock: Clock, catalog: Catalog,
                 default_points: dict[str, int], default_timezone: str = "UTC",
                 close_grace: timedelta = timedelta(0)) -> None:
        self.db = db
        self.clock = clock
        self.catalog = catalog
        self.default_points = default_points
        self.default_timezone = default_timezone
        self.close_grace = close_grace
        self.before_write: list[BeforeWrite] = []
        self.before_commit: list[BeforeCommit] = []
        self._handlers: dict[type, list[Callable[[Any], None]]] = {}
        self._ids: dict[tuple[str, str], int] = {}
        # Per community: its row as last read, the loaded copy and its point rules.
        self._copies: dict[int, tuple[tuple[Any, ...], Community, dict[str, int]]] = {}

    # -- events -----------------------------------------------------------------------

    def on(self, event_type: type[T], handler: Callable[[T], None]) -> None:
        """Call `handler` with each committed event of `event_type`."""
        self._handlers.setdefault(event_type, []).append(handler)

    def off(self, event_type: type[T], handler: Callable[[T], None]) -> None:
        handlers = self._handlers.get(event_type, [])
        if handler in handlers:
            handlers.remove(handler)

    def _dispatch(self, events: list[object]) -> None:
        for event in events:
            for handler in self._handlers.get(type(event), ()):
                handler(event)

    async def run(self, unit: Callable[[AsyncSession], Awaitable[T]], *,
                  patience: float = 0.0) -> T:
        """Run `unit` in one write transaction (retried whole on deadlocks and races),
        then hand the events it raised to their handlers. While the database is
        unavailable (`is_fault`), keep trying for `patience` seconds with backoff."""
        raised: list[list[object]] = [[]]

        async def attempt(session: AsyncSession) -> T:
            # A retried attempt starts with nothing raised and nothing remembered.
            raised[0] = session.info[_EVENTS] = []
            session.info[_MEMO] = {}
            session.info[_UNLOCKS] = []
            return await unit(session)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        wait = FAULT_FIRST_WAIT
        while True:
            try:
                return await self.db.run(attempt,
                                         after_commit=lambda _: self._dispatch(raised[0]))
            except Exception as exc:
                if not is_fault(exc) or loop.time() + wait > deadline:
                    raise
                log.warning("the database is unavailable (%s); trying again in %.1f s",
                            type(getattr(exc, "orig", exc)).__name__, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, FAULT_MAX_WAIT)

    @staticmethod
    def is_fault(exc: BaseException) -> bool:
        """Whether `exc` says the database is unavailable rather than the work wrong."""
        return is_fault(exc)

    # -- communities ------------------------------------------------------------------

    def points_of(self, community: Community) -> dict[str, int]:
        return {**self.default_points, **{k: int(v) for k, v in community.point_rules.items()}}

    async def open_community(
        self, ref: CommunityRef, *, timezone: str | None = None,
        announce_channel: str | None = None, entries_channel: str | None = None,
    ) -> tuple[Community, bool]:
        """The community for `ref`, created with defaults on first contact; whether this
        call created it."""
        async def unit(session: AsyncSession) -> tuple[Community, bool]:
            return await ensure_community(
                session, ref, self.clock.now(), timezone=timezone or self.default_timezone,
                announce_channel=announce_channel, entries_channel=entries_channel)

        community, created = await self.db.run(unit)
        self._ids[(ref.platform, ref.external_id)] = community.id
        return community, created

    async def known(self, ref: CommunityRef) -> None:
        """Create the community with defaults the first time this process hears of it."""
        if (ref.platform, ref.external_id) not in self._ids:
            await self.open_community(ref)

    def remember(self, community_id: int, ref: CommunityRef) -> CommunityRef:
        """Note a community's id (a sweep over every community knows it already)."""
        self._ids[(ref.platform, ref.external_id)] = community_id
        return ref

    def id_of(self, ref: CommunityRef) -> int | None:
        return self._ids.get((ref.platform, ref.external_id))

    async def community_of(self, community_id: int) -> CommunityRef:
        async with self.db.session() as session:
            c = await session.get(Community, community_id)
            if c is None:
                raise NotFound("No such community.")
            return self.remember(c.id, CommunityRef(c.platform, c.external_id, c.name))

    # -- transaction states -------------------------------------------------------------

    async def tx(self, session: AsyncSession, ref: CommunityRef) -> Tx:
        """A Tx on the community's row as this session loads it (changes are written)."""
        community_id = self.id_of(ref)
        community = await session.get(Community, community_id) if community_id else None
        if community is None:
            community = await session.scalar(
                select(Community).where(Community.platform == ref.platform,
                                        Community.external_id == ref.external_id))
        if community is None:
            raise NotFound("This community isn't set up yet.")
        self._ids[(ref.platform, ref.external_id)] = community.id
        return self._state(session, community, self.points_of(community))

    def _state(self, session: AsyncSession, community: Community, points: dict[str, int]
               ) -> Tx:
        return Tx(session, community, self.clock.now(), points, self.catalog,
                  close_grace=self.close_grace, events=session.info.setdefault(_EVENTS, []),
                  memo=session.info.setdefault(_MEMO, {}),
                  unlocks=session.info.setdefault(_UNLOCKS, []))

    async def plain_tx(self, session: AsyncSession, ref: CommunityRef) -> Tx:
        """A Tx for work of plain statements only (a vote batch), on the loaded copy of
        the community while its row is unchanged: loading it through the ORM cost a tenth
        of a batch. Such work never changes the community, nor adds ORM objects that
        would need it attached."""
        known = await self._unchanged_copy(session, ref)
        if known is None:
            return await self.tx(session, ref)
        return self._state(session, *known)

    async def _unchanged_copy(self, source: Source, ref: CommunityRef
                              ) -> tuple[Community, dict[str, int]] | None:
        """The loaded copy of the community and its point rules, if its row is unchanged."""
        community_id = self.id_of(ref)
        known = None if community_id is None else self._copies.get(community_id)
        if community_id is None or known is None:
            return None
        if await community_row(source, community_id) != known[0]:
            return None
        return known[1], known[2]

    async def _read_tx(self, session: AsyncSession, ref: CommunityRef) -> Tx:
        """A read's Tx. The community row is compared with one plain statement and the
        loaded copy reused while it is unchanged: loading it through the ORM was half the
        cost of a leaderboard read. Reads never change the copy."""
        known = await self._unchanged_copy(session, ref)
        if known is not None:
            return self._state(session, *known)
        community_id = self.id_of(ref)
        row = None if community_id is None else await community_row(session, community_id)
        tx = await self.tx(session, ref)
        # Kept only if the row did not change while it loaded (each read statement may see
        # a newer commit on PostgreSQL).
        if row is not None and await community_row(session, tx.community_id) == row:
            session.expunge(tx.community)
            self._copies[tx.community_id] = (row, tx.community, tx.points)
        return tx

    # -- operations ---------------------------------------------------------------------

    async def serialize(self, session: AsyncSession, ref: CommunityRef) -> None:
        """First thing in a write of the community: wait for its other writes (in any
        process) to commit. Writes that move points touch shared rows (standings, the
        score histogram) in orders no one statement can fix; one at a time per community
        they never deadlock. Votes are counted beside them (they touch none of those)."""
        community_id = self.id_of(ref)
        assert community_id is not None, "known() first"
        await lock_community(session, community_id)

    async def write(self, ref: CommunityRef, work: Callable[[Tx], Awaitable[T]], *,
                    patience: float = 0.0) -> T:
        """Run `work` in one transaction for the community (created on first contact);
        `patience`: seconds to keep trying while the database is unavailable."""
        await self.known(ref)

        async def unit(session: AsyncSession) -> T:
            await self.serialize(session, ref)
            for hook in self.before_write:
                await hook(session, ref)
            tx = await self.tx(session, ref)
            result = await work(tx)
            await self.finish(tx)
            return result

        return await self.run(unit, patience=patience)

    async def finish(self, tx: Tx) -> None:
        """The last work of a write transaction: the `before_commit` hooks. Every write
        runs them (settlement, which pays votes in transactions of its own, too)."""
        for before in self.before_commit:
            await before(tx)

    async def read(self, ref: CommunityRef, work: Callable[[Tx], Awaitable[T]]) -> T:
        await self.known(ref)
        async with self.db.session() as session:
            return await work(await self._read_tx(session, ref))

    async def view(self, ref: CommunityRef, work: Callable[[Tx | View], Awaitable[T]]) -> T:
        """`read` for work that runs plain statements only: on a SQLite file it runs on a
        session-less reader, a fraction of a session's cost."""
        await self.known(ref)
        with self.db.plain_read() as reader:
            if reader is not None:
                found = await self._view(reader, ref)
                if found is not None:
                    return await work(found)
        async with self.db.session() as session:
            return await work(await self._read_tx(session, ref))

    async def _view(self, reader: PlainReader, ref: CommunityRef) -> View | None:
        """A view on the loaded copy of the community while its row is unchanged (None:
        no copy yet, or a changed row, which a session read loads again)."""
        known = await self._unchanged_copy(reader, ref)
        return None if known is None else View(reader, known[0], self.clock.now())
