"""The API's request and response bodies: pydantic models, built from the engine's plain
values (engine/views.py and friends) field by field, never from the database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from engine.achievements import AchievementDef, Progress
from engine.api_reads import ListedEntry
from engine.community_settings import MAX_AWARD
from engine.leaderboards import Board, BoardRow, Standings, ViewerRank
from engine.views import (
    BadgeView,
    BoardPage,
    CatalogItem,
    ChallengeDetails,
    ChallengeView,
    CommunityView,
    LedgerLine,
    MemberPage,
    Page,
    Profile,
    RankedRow,
)
from engine.views import CommunityStats as StatsView

__all__ = [
    "Achievement",
    "AchievementProgress",
    "AwardBadge",
    "AwardPoints",
    "Badge",
    "BoardOut",
    "BoardStats",
    "CancelChallenge",
    "CatalogAchievement",
    "Challenge",
    "ChallengeInfo",
    "ChallengePage",
    "Community",
    "CommunityActivity",
    "CommunityStats",
    "DayActivity",
    "Entry",
    "EntryPage",
    "HistoryPage",
    "LedgerEntry",
    "MemberCalendar",
    "MemberOut",
    "MovementPage",
    "MovementRow",
    "Period",
    "PointsOverTime",
    "Position",
    "Rank",
    "Row",
    "StandingsOut",
    "Streak",
    "TopChallenge",
]

Period = Literal["all", "week", "month"]  # engine/periods.py PERIODS


class Community(BaseModel):
    id: str = Field(description="its public id, as addresses name it")
    name: str
    platform: str
    timezone: str
    point_rules: dict[str, int]

    @classmethod
    def of(cls, c: CommunityView, public_id: str) -> Community:
        return cls(id=public_id, name=c.name, platform=c.platform, timezone=c.timezone,
                   point_rules=c.points)


class Rank(BaseModel):
    rank: int = Field(description="1 is the top; ties share a rank")
    points: int
    members: int = Field(description="members on this board")
    top_percent: float = Field(description="the share of the board at or above this rank")

    @classmethod
    def of(cls, r: ViewerRank) -> Rank:
        return cls(rank=r.rank, points=r.points, members=r.members, top_percent=r.top_percent)


AVATAR = ("the member's picture as their platform shows it (an https address); none "
          "where the platform has not shown one: show initials")


class Row(BaseModel):
    rank: int
    member: str | None = Field(description="the member's platform id (none for a team)")
    name: str
    points: float
    detail: str | None = None
    avatar_url: str | None = Field(default=None, description=AVATAR)

    @classmethod
    def of(cls, r: BoardRow) -> Row:
        return cls(rank=r.rank, member=r.member_external_id, name=r.name, points=r.points,
                   detail=r.detail, avatar_url=r.avatar_url)


class BoardOut(BaseModel):
    period: str
    label: str = Field(description='e.g. "all time", "week 12 of 2026", "March 2026"')
    page: int
    pages: int
    members: int
    average: float
    median: float
    rows: list[Row]

    @classmethod
    def of(cls, b: Board) -> BoardOut:
        return cls(period=b.period, label=b.label, page=b.page, pages=b.pages,
                   members=b.members, average=b.average, median=b.median,
                   rows=[Row.of(r) for r in b.rows])


class BoardStats(BaseModel):
    label: str
    members: int
    average: float
    median: float


class CommunityStats(BaseModel):
    boards: dict[str, BoardStats] = Field(description="by period: all, week, month")
    challenges: int = Field(description="challenges listed (neither draft nor cancelled)")


class Position(BaseModel):
    period: str
    label: str
    on_board: bool
    rank: Rank | None = Field(description="none when the member has no points this period")


class LedgerEntry(BaseModel):
    id: int
    delta: int
    balance_after: int
    reason: str
    reference: str | None
    note: str | None
    awarded_by: str | None = Field(description="the moderator's name, for awards")
    at: datetime

    @classmethod
    def of(cls, line: LedgerLine) -> LedgerEntry:
        return cls(id=line.id, delta=line.delta, balance_after=line.balance_after,
                   reason=line.reason, reference=line.reference, note=line.note,
                   awarded_by=line.awarded_by, at=line.at)


class HistoryPage(BaseModel):
    lines: list[LedgerEntry] = Field(description="newest first")
    next_before: int | None = Field(
        description="pass as `before` for the next (older) page; none at the end")


class Badge(BaseModel):
    id: int
    key: str
    name: str
    icon: str
    reason: str | None
    awarded_at: datetime
    showcased: bool

    @classmethod
    def of(cls, b: BadgeView) -> Badge:
        return cls(id=b.id, key=b.key, name=b.name, icon=b.icon, reason=b.reason,
                   awarded_at=b.awarded_at, showcased=b.showcased)


class Streak(BaseModel):
    current: int = Field(description="days in a row, alive today or yesterday")
    longest: int


class Challenge(BaseModel):
    id: int
    slug: str
    kind: Literal["submission", "goal"]
    name: str
    phase: str
    status: str = Field(description="e.g. 'Submissions close in 2 days'")
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
    team_mode: str

    @classmethod
    def of(cls, c: ChallengeView) -> Challenge:
        return cls(id=c.id, slug=c.slug, kind=c.kind, name=c.name,  # type: ignore[arg-type]
                   phase=c.phase, status=c.status, prompt=c.prompt, description=c.description,
                   prize=c.prize, sponsor_name=c.sponsor_name, sponsor_url=c.sponsor_url,
                   starts_at=c.starts_at, submissions_close_at=c.submissions_close_at,
                   voting_close_at=c.voting_close_at, ends_at=c.ends_at,
                   max_entries=c.max_entries, vote_emoji=c.vote_emoji, goal=c.goal,
                   unit=c.unit, team_mode=c.team_mode)


class ActiveChallenge(BaseModel):
    challenge: str = Field(description="its slug")
    name: str
    status: str = Field(description="the member's status in it")


class MemberOut(BaseModel):
    member: str = Field(description="the platform's user id")
    name: str
    avatar_url: str | None = Field(description=AVATAR)
    points: int = Field(description="all-time points")
    rank: Rank | None = Field(description="on the all-time board")
    streak: Streak
    badges: int
    showcase: list[Badge]
    active: list[ActiveChallenge]
    recent: list[LedgerEntry]

    @classmethod
    def of(cls, p: Profile) -> MemberOut:
        return cls(member=p.user_id, name=p.name, avatar_url=p.avatar_url, points=p.points,
                   rank=Rank.of(p.rank) if p.rank else None,
                   streak=Streak(current=p.streak, longest=p.longest_streak), badges=p.badges,
                   showcase=[Badge.of(b) for b in p.showcase],
                   active=[ActiveChallenge(challenge=c.slug, name=c.name, status=s)
                           for c, s in p.active],
                   recent=[LedgerEntry.of(line) for line in p.recent])


class Achievement(BaseModel):
    key: str
    name: str
    description: str
    badge: str
    rarity: str
    points: int = Field(description="points paid when unlocked")
    target: float
    repeatable: bool

    @classmethod
    def of(cls, d: AchievementDef) -> Achievement:
        return cls(key=d.key, name=d.name, description=d.description, badge=d.badge,
                   rarity=d.rarity, points=d.points, target=d.target, repeatable=d.repeatable)


class CatalogAchievement(BaseModel):
    key: str
    name: str
    description: str
    badge: str
    rarity: str
    points: int = Field(description="points paid when unlocked")
    earned_by: float = Field(description="% of the members on the board who earned it")

    @classmethod
    def of(cls, item: CatalogItem) -> CatalogAchievement:
        return cls(key=item.key, name=item.name or "", description=item.description or "",
                   badge=item.badge or "", rarity=item.rarity, points=item.points,
                   earned_by=item.earned_by)


class AchievementProgress(BaseModel):
    achievement: Achievement
    value: float
    unlocked: bool
    times: int
    label: str = Field(description='e.g. "3/5"')

    @classmethod
    def of(cls, p: Progress) -> AchievementProgress:
        return cls(achievement=Achievement.of(p.definition), value=p.value,
                   unlocked=p.unlocked, times=p.times, label=p.label)


class ChallengePage(BaseModel):
    items: list[Challenge]
    page: int
    pages: int
    total: int

    @classmethod
    def of(cls, p: Page[ChallengeView]) -> ChallengePage:
        return cls(items=[Challenge.of(c) for c in p.items], page=p.page, pages=p.pages,
                   total=p.total)


class ChallengeInfo(BaseModel):
    challenge: Challenge
    entries: int
    participants: int
    votes: int

    @classmethod
    def of(cls, d: ChallengeDetails) -> ChallengeInfo:
        return cls(challenge=Challenge.of(d.challenge), entries=d.entries,
                   participants=d.participants, votes=d.votes)


class Entry(BaseModel):
    id: int
    title: str
    link: str | None
    image_url: str | None
    votes: int
    featured: bool
    disqualified_reason: str | None
    author: str = Field(description="the author's platform id")
    author_name: str
    submitted_at: datetime

    @classmethod
    def of(cls, listed: ListedEntry) -> Entry:
        e = listed.entry
        return cls(id=e.id, title=e.title, link=e.link, image_url=e.image_url,
                   votes=e.votes or 0, featured=e.featured,
                   disqualified_reason=e.disqualified_reason, author=listed.author_id,
                   author_name=listed.author_name, submitted_at=e.submitted_at)


class EntryPage(BaseModel):
    items: list[Entry]
    page: int
    pages: int
    total: int

    @classmethod
    def of(cls, p: Page[ListedEntry]) -> EntryPage:
        return cls(items=[Entry.of(e) for e in p.items], page=p.page, pages=p.pages,
                   total=p.total)


class StandingsOut(BaseModel):
    challenge: str = Field(description="its slug")
    final: bool = Field(description="the results as placed, once the challenge completed")
    rows: list[Row]
    page: int
    pages: int
    total: int

    @classmethod
    def of(cls, s: Standings) -> StandingsOut:
        return cls(challenge=s.challenge.slug, final=s.challenge.phase == "completed",
                   rows=[Row.of(r) for r in s.rows], page=s.page, pages=s.pages,
                   total=s.total)


# -- the dashboard's read models: movement, a member's year, the community's days -----------

class MovementRow(BaseModel):
    rank: int
    member: str | None = Field(description="the member's platform id")
    name: str
    points: float
    avatar_url: str | None = Field(description=AVATAR)
    moved: int | None = Field(description="places up since `compared_with` (negative: "
                              "down); none when the member was not on that board")
    new: bool = Field(description="not on the board compared with")

    @classmethod
    def of(cls, r: RankedRow) -> MovementRow:
        return cls(rank=r.rank, member=r.member_external_id, name=r.name, points=r.points,
                   avatar_url=r.avatar_url, moved=r.moved, new=r.new)


class MovementPage(BaseModel):
    period: str
    label: str
    page: int
    pages: int
    page_size: int
    members: int
    average: float
    median: float
    compared_with: str = Field(description="what movement is measured against, in words: "
                               "last week's final board (this week's board), the start of "
                               "this week (all time, this month)")
    rows: list[MovementRow]

    @classmethod
    def of(cls, b: BoardPage) -> MovementPage:
        return cls(period=b.period, label=b.label, page=b.page, pages=b.pages,
                   page_size=b.page_size, members=b.members, average=b.average,
                   median=b.median, compared_with=b.compared_with,
                   rows=[MovementRow.of(r) for r in b.rows])


class MemberCalendar(BaseModel):
    member: str = Field(description="the platform's user id")
    first_day: date = Field(description="the calendar's first day (community time)")
    last_day: date = Field(description="today (community time)")
    active_days: list[date] = Field(description="days with activity (a vote, an entry, "
                                    "progress logged), oldest first")
    streak: Streak

    @classmethod
    def of(cls, m: MemberPage) -> MemberCalendar:
        return cls(member=m.external_id, first_day=m.first_day, last_day=m.last_day,
                   active_days=m.active_days,
                   streak=Streak(current=m.streak, longest=m.longest_streak))


class DayPoints(BaseModel):
    day: date
    points: int = Field(description="all-time points at the end of that day")


class PointsOverTime(BaseModel):
    member: str = Field(description="the platform's user id")
    days: list[DayPoints] = Field(description="each day the points changed, oldest first "
                                  "(community time)")

    @classmethod
    def of(cls, m: MemberPage) -> PointsOverTime:
        return cls(member=m.external_id,
                   days=[DayPoints(day=d, points=p) for d, p in m.balance])


class DayActivity(BaseModel):
    day: date
    active_members: int = Field(description="members whose points changed that day")
    votes: int = Field(description="votes cast")
    entries: int = Field(description="entries submitted")
    points_given: float = Field(description="points paid (deductions not counted)")


class TopChallenge(BaseModel):
    challenge: str = Field(description="its slug")
    name: str
    entries: int
    votes: int


class CommunityActivity(BaseModel):
    days: list[DayActivity] = Field(description="the last 30 days, oldest first "
                                    "(community time)")
    active_this_week: int = Field(description="members active in the last 7 days")
    members: int = Field(description="members on the all-time board")
    top_challenges: list[TopChallenge] = Field(description="the busiest, by entries and "
                                               "votes")

    @classmethod
    def of(cls, s: StatsView) -> CommunityActivity:
        return cls(
            days=[DayActivity(day=d, active_members=int(a.value), votes=int(v.value),
                              entries=int(e.value), points_given=g.value)
                  for d, a, v, e, g in zip(s.days, s.active_members, s.votes, s.entries,
                                           s.points_given, strict=True)],
            active_this_week=s.active_this_week, members=s.members,
            top_challenges=[TopChallenge(challenge=slug, name=name, entries=n, votes=v)
                            for slug, name, n, v in s.top_challenges])


# -- request bodies: moderators' writes -----------------------------------------------------

class AwardPoints(BaseModel):
    amount: int = Field(description="points to give; negative deducts",
                        ge=-MAX_AWARD, le=MAX_AWARD)
    reason: str = Field(description="recorded in the ledger", min_length=1, max_length=300)
    key: str | None = Field(
        default=None, min_length=1, max_length=128,
        description="idempotency key: the same key again is refused (409) and pays nothing")


class AwardBadge(BaseModel):
    badge: str = Field(description="a catalog achievement's key, or a custom badge's name",
                       min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=300)


class CancelChallenge(BaseModel):
    reason: str | None = Field(default=None, max_length=300)
