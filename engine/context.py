"""The state one engine operation carries through its transaction, and the typed events it
raises for after the commit (handled in one place: `engine.unit.UnitOfWork`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from engine.refs import CommunityRef
from storage.sql.run import Source
from storage.tables import Community

if TYPE_CHECKING:
    from engine.achievements import Catalog

__all__ = ["LedgerMoves", "RankMoved", "ScheduleChanged", "Tx", "Unlock", "View",
           "VotesCounted"]


# -- events: facts a committed transaction tells the rest of the process ---------------

@dataclass(frozen=True, slots=True)
class RankMoved:
    """A standing moved from `old` (None: newly on the board) to `new` points."""

    community_id: int
    period: str
    old: int | None
    new: int


@dataclass(frozen=True, slots=True)
class ScheduleChanged:
    """Due events were written: the scheduler looks again for the next due time."""


@dataclass(frozen=True, slots=True)
class VotesCounted:
    """Votes were counted in `community` and wait for their points (settlement)."""

    community: CommunityRef
    voters: frozenset[str]  # their voters' platform ids
    votes: int  # how many


# -- in-transaction state -----------------------------------------------------------------

@dataclass
class LedgerMoves:
    """What this transaction did to all-time balances, for the rules that run before its
    commit: point thresholds (`raised`) and the top-10 entries (`before`/`after`)."""

    before: dict[int, int | None] = field(default_factory=dict)  # None: no standing yet
    after: dict[int, int] = field(default_factory=dict)
    raised: set[int] = field(default_factory=set)  # members a posting paid points to

    def moved(self, member_id: int, old: int | None, new: int) -> None:
        self.before.setdefault(member_id, old)
        self.after[member_id] = new

    def forget(self) -> None:
        """A rebuild of the standings: nothing to announce or check for what it wrote."""
        self.before.clear()
        self.after.clear()
        self.raised.clear()


@dataclass(frozen=True, slots=True)
class Unlock:
    """An achievement a member unlocked (for the `times`-th time) in this transaction.
    What one transaction unlocks is announced in one post before its commit
    (`engine.achievement_posts.announce`)."""

    member_id: int
    key: str
    times: int


@dataclass(eq=False)
class Tx:
    """One unit of work: a session, the community it is scoped to, and the time."""

    session: AsyncSession
    community: Community
    now: datetime
    points: dict[str, int]
    catalog: Catalog
    # How long after voting closes the tally waits for votes still being counted.
    close_grace: timedelta = timedelta(0)
    # Events for after the commit; shared by every Tx of one transaction.
    events: list[object] = field(default_factory=list)
    # Rows already read in this transaction, by key; shared like `events`.
    memo: dict[Any, Any] = field(default_factory=dict)
    moves: LedgerMoves = field(default_factory=LedgerMoves)
    # Achievements unlocked so far, in order, for the one post written before the commit;
    # shared like `events`.
    unlocks: list[Unlock] = field(default_factory=list)

    @property
    def community_id(self) -> int:
        return self.community.id

    @property
    def ref(self) -> CommunityRef:
        return CommunityRef(self.community.platform, self.community.external_id)

    @property
    def source(self) -> Source:
        return self.session

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.community.timezone)

    def emit(self, event: object) -> None:
        self.events.append(event)

    def at(self, when: datetime) -> Tx:
        """The same transaction as of another moment (a vote is paid as of its cast
        time), with balance moves of its own."""
        return replace(self, now=when, moves=LedgerMoves())

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self.tz)

    def local_day(self, when: datetime | None = None) -> date:
        return self.local(when or self.now).date()

    def rule(self, name: str) -> int:
        return int(self.points[name])


@dataclass(frozen=True, slots=True)
class View:
    """A read that runs plain statements only (storage/sql) on `source`, a session-less
    reader where the database has one: what `Tx` offers such a read."""

    source: Source
    community: Community  # the unit of work's detached copy: read, never changed
    now: datetime

    @property
    def community_id(self) -> int:
        return self.community.id

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.community.timezone)
