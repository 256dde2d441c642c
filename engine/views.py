"""Plain read models the engine hands to commands and adapters (no ORM objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from engine.achievements import Progress
from engine.leaderboards import ViewerRank
from storage.tables import Badge, Challenge, Entry, LedgerRow

T = TypeVar("T")

__all__ = [
    "BadgeView",
    "ChallengeDetails",
    "ChallengeView",
    "CommunityView",
    "EntryView",
    "LedgerLine",
    "Pace",
    "Page",
    "Profile",
]


@dataclass(frozen=True, slots=True)
class CommunityView:
    id: int
    platform: str
    external_id: str
    name: str
    timezone: str
    announce_channel: str | None
    entries_channel: str | None
    moderator_role: str | None
    points: dict[str, int]


@dataclass(frozen=True, slots=True)
class ChallengeView:
    id: int
    slug: str
    kind: str
    name: str
    phase: str
    prompt: str
    description: str
    prize: str | None
    sponsor_name: str | None
    sponsor_url: str | None
    starts_at: datetime
    submissions_close_at: datetime | None
    voting_close_at: datetime | None
    ends_at: datetime | None
    max_entries: int
    vote_emoji: str
    goal: float | None
    unit: str | None
    metric: str | None
    team_mode: str
    channel_id: str | None
    status: str

    @classmethod
    def of(cls, c: Challenge, status: str) -> ChallengeView:
        return cls(
            c.id, c.slug, c.kind, c.name, c.phase, c.prompt, c.description, c.prize,
            c.sponsor_name, c.sponsor_url, c.starts_at, c.submissions_close_at,
            c.voting_close_at, c.ends_at, c.max_entries, c.vote_emoji, c.goal, c.unit,
            c.metric, c.team_mode, c.channel_id, status,
        )


@dataclass(frozen=True, slots=True)
class EntryView:
    id: int
    challenge_id: int
    title: str
    link: str | None
    image_url: str | None
    votes: int
    featured: bool
    disqualified_reason: str | None
    channel_id: str | None
    message_id: str | None
    submitted_at: datetime

    @classmethod
    def of(cls, e: Entry) -> EntryView:
        return cls(e.id, e.challenge_id, e.title, e.link, e.image_url, e.votes, e.featured,
                   e.disqualified_reason, e.channel_id, e.message_id, e.submitted_at)


@dataclass(frozen=True, slots=True)
class Pace:
    """Progress toward a goal, the average per day, and when the goal would be reached."""

    progress: float
    goal: float
    per_day: float
    projected_finish: datetime | None  # None: no pace yet, or already finished
    finished: bool = False


@dataclass(frozen=True, slots=True)
class ChallengeDetails:
    challenge: ChallengeView
    entries: int
    participants: int
    votes: int
    joined: bool
    my_entries: list[EntryView]
    my_votes: int
    can_submit: bool
    my_progress: Pace | None
    team: str | None


@dataclass(frozen=True, slots=True)
class LedgerLine:
    id: int
    delta: int
    balance_after: int
    reason: str
    reference: str | None
    note: str | None
    awarded_by: str | None
    at: datetime

    @classmethod
    def of(cls, r: LedgerRow, awarded_by: str | None) -> LedgerLine:
        return cls(r.id, r.delta, r.balance_after, r.reason, r.reference, r.note, awarded_by,
                   r.created_at)


@dataclass(frozen=True, slots=True)
class BadgeView:
    id: int
    key: str
    name: str
    icon: str
    reason: str | None
    awarded_at: datetime
    showcased: bool

    @classmethod
    def of(cls, b: Badge, showcased: bool) -> BadgeView:
        return cls(b.id, b.key, b.name, b.icon, b.reason, b.awarded_at, showcased)


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: str
    name: str
    points: int
    rank: ViewerRank | None
    streak: int
    longest_streak: int
    showcase: list[BadgeView]
    badges: int
    active: list[tuple[ChallengeView, str]]  # challenge and the member's status in it
    recent: list[LedgerLine]
    achievements: list[Progress] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    pages: int
    total: int
