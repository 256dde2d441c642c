"""Plain read models the engine hands to commands and adapters (no ORM objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, TypeVar

from engine.achievements import Progress
from engine.leaderboards import ViewerRank
from storage.tables import Badge, Challenge, Entry, LedgerRow

T = TypeVar("T")

__all__ = [
    "BadgeRarity",
    "BadgeView",
    "BoardPage",
    "CatalogItem",
    "ChallengeDetails",
    "ChallengePage",
    "ChallengeView",
    "CommunityStats",
    "CommunityView",
    "DayCount",
    "EntryView",
    "GalleryEntry",
    "LedgerLine",
    "ManualChange",
    "MemberMatch",
    "MemberPage",
    "Pace",
    "Page",
    "ParkedPost",
    "Profile",
    "ProgressSeries",
    "RankedRow",
    "WebCommunity",
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
    # Where achievement posts go: "announcements" (the default), "channel"
    # (`achievements_channel`) or "off".
    achievement_posts: str = "announcements"
    achievements_channel: str | None = None


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
    status: str  # plain text as of the read (`challenges.status_line`)
    completed_at: datetime | None = None

    @classmethod
    def of(cls, c: Challenge, status: str) -> ChallengeView:
        return cls(
            c.id, c.slug, c.kind, c.name, c.phase, c.prompt, c.description, c.prize,
            c.sponsor_name, c.sponsor_url, c.starts_at, c.submissions_close_at,
            c.voting_close_at, c.ends_at, c.max_entries, c.vote_emoji, c.goal, c.unit,
            c.metric, c.team_mode, c.channel_id, status, c.completed_at,
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
    avatar_url: str | None = None  # the platform's picture (None: show initials)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    pages: int
    total: int


# -- the web dashboard's read models (engine/web_access, board_reads, gallery_reads,
#    member_reads.member_page, community_stats) ------------------------------------------

@dataclass(frozen=True, slots=True)
class WebCommunity:
    """A community as its web pages know it: `public_id` is its id in addresses;
    `public`: leaderboard, challenge and catalog pages are open to anyone; `live_counts`:
    galleries show votes while voting runs."""

    id: int
    platform: str
    external_id: str
    name: str
    timezone: str
    public_id: str
    public: bool
    live_counts: bool


@dataclass(frozen=True, slots=True)
class RankedRow:
    """A leaderboard row with its movement since last week: `moved` places up (negative:
    down), None when the member was not on the board then (`new`)."""

    rank: int
    name: str
    points: float
    member_external_id: str | None
    moved: int | None
    new: bool
    avatar_url: str | None = None


@dataclass(frozen=True, slots=True)
class BoardPage:
    period: str
    label: str
    rows: list[RankedRow]
    page: int
    pages: int
    members: int
    average: float
    median: float
    viewer: ViewerRank | None
    page_size: int
    compared_with: str  # what movement is measured against, in words


@dataclass(frozen=True, slots=True)
class MemberMatch:
    """A member a search found: where they stand on a board and which page holds them."""

    external_id: str
    name: str
    points: int
    rank: int | None
    page: int | None


@dataclass(frozen=True, slots=True)
class GalleryEntry:
    id: int
    title: str
    author: str
    author_external_id: str
    image_url: str | None
    link: str | None
    votes: int | None  # None: hidden while voting runs
    featured: bool
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class ProgressSeries:
    """A goal challenge's progress over time: a member, a team or the whole community;
    `points` are (moment, cumulative progress)."""

    label: str
    points: list[tuple[datetime, float]]


@dataclass(frozen=True, slots=True)
class ChallengePage:
    challenge: ChallengeView
    entries: list[GalleryEntry]
    votes_shown: bool
    podium: list[tuple[int, str, float, str | None]]  # place, label, score, member id
    series: list[ProgressSeries]
    goal: float | None
    participants: int


@dataclass(frozen=True, slots=True)
class BadgeRarity:
    badge: BadgeView
    rarity: str | None  # the catalog's word (common ... legendary); None: a custom badge
    earned_by: float | None  # % of ranked members holding it


@dataclass(frozen=True, slots=True)
class MemberPage:
    external_id: str
    name: str
    points: int
    rank: ViewerRank | None
    streak: int
    longest_streak: int
    active_days: list[date]  # the last year's days with activity (community-local)
    first_day: date
    last_day: date
    badges: list[BadgeRarity]
    achievements: list[Progress]
    balance: list[tuple[date, int]]  # points at the end of each day with a change
    recent: list[LedgerLine]
    challenges: list[tuple[ChallengeView, str]]
    avatar_url: str | None = None  # the platform's picture (None: show initials)


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """An achievement as the catalog page shows it; secret ones are None until earned."""

    key: str
    name: str | None
    description: str | None
    badge: str | None
    rarity: str
    points: int
    earned_by: float  # % of ranked members who earned it
    earned: bool  # by the viewer
    secret: bool
    progress: str | None


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    value: float


@dataclass(frozen=True, slots=True)
class CommunityStats:
    days: list[date]
    active_members: list[DayCount]
    votes: list[DayCount]
    entries: list[DayCount]
    points_given: list[DayCount]
    active_this_week: int
    members: int
    top_challenges: list[tuple[str, str, int, int]]  # slug, name, entries, votes


@dataclass(frozen=True, slots=True)
class ManualChange:
    """A moderator's award or deduction, for the audit page."""

    id: int
    at: datetime
    member: str
    member_external_id: str
    delta: int
    reason: str
    by: str | None


@dataclass(frozen=True, slots=True)
class ParkedPost:
    id: int
    kind: str
    title: str
    channel_id: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
