"""The state one engine operation carries through its transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from storage.fastsql import Source
from storage.tables import Community

if TYPE_CHECKING:
    from engine.achievements import Catalog

__all__ = ["RankChange", "Tx", "View"]


@dataclass(frozen=True, slots=True)
class RankChange:
    """A standing moved from `old` (None: newly on the board) to `new` points."""

    community_id: int
    period: str
    old: int | None
    new: int


@dataclass
class Tx:
    """One unit of work: a session, the community it is scoped to, and the time."""

    session: AsyncSession
    community: Community
    now: datetime
    points: dict[str, int]
    catalog: Catalog
    rank_changes: list[RankChange] = field(default_factory=list)
    schedule_changed: bool = False  # due events were written: the scheduler re-arms
    # Members whose balance rose: their point thresholds are checked before the commit.
    points_raised: set[int] = field(default_factory=set)
    # All-time balances this transaction wrote (the ledger sets them; a rebuild clears them).
    balances: dict[int, int] = field(default_factory=dict)
    # Each member's all-time balance before this transaction first changed it (None: no
    # standing yet): whoever rose into the top 10 is announced before the commit.
    all_time_before: dict[int, int | None] = field(default_factory=dict)
    # Rows already read in this transaction, by key: a batch of votes shares one memo
    # across its votes and clears it when one of them is rolled back.
    memo: dict[Any, Any] = field(default_factory=dict)

    @property
    def community_id(self) -> int:
        return self.community.id

    @property
    def source(self) -> Source:
        return self.session

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.community.timezone)

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self.tz)

    def local_day(self, when: datetime | None = None) -> date:
        return self.local(when or self.now).date()

    def rule(self, name: str) -> int:
        return int(self.points[name])


@dataclass(frozen=True, slots=True)
class View:
    """A read that runs plain statements only (storage/fastsql.py) on `source`, a
    session-less reader where the database has one: what `Tx` offers such a read."""

    source: Source
    community: Community  # the engine's detached copy: read, never changed
    now: datetime

    @property
    def community_id(self) -> int:
        return self.community.id

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.community.timezone)
