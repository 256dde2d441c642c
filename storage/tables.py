"""The schema: every table holding community data carries `community_id`."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

from storage.types import Id, UTCDateTime

__all__ = [
    "Achievement",
    "AchievementHolders",
    "ApiToken",
    "Badge",
    "Base",
    "Challenge",
    "Community",
    "DueEvent",
    "Entry",
    "LedgerRow",
    "Member",
    "MemberStat",
    "OutboxRow",
    "Participant",
    "Placement",
    "ProgressLog",
    "ScoreCount",
    "SiteSecret",
    "SpentLink",
    "Standing",
    "Streak",
    "Team",
    "Vote",
    "VoteCount",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(), dict[str, Any]: JSON()}


def community_fk() -> Mapped[int]:
    return mapped_column(Id, ForeignKey("communities.id", ondelete="CASCADE"), index=False)


class Community(Base):
    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    announce_channel: Mapped[str | None] = mapped_column(String(64))
    entries_channel: Mapped[str | None] = mapped_column(String(64))
    moderator_role: Mapped[str | None] = mapped_column(String(200))
    point_rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    # The community's id in web addresses (/c/<public_id>/...): random and unguessable,
    # so a page's address never tells another community's.
    public_id: Mapped[str] = mapped_column(String(32), index=True, unique=True,
                                           default=lambda: secrets.token_urlsafe(16))


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("community_id", "external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = community_fk()
    external_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # The platform's picture of the member (https, engine/avatars.py); None: initials.
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    is_moderator: Mapped[bool] = mapped_column(Boolean, default=False)
    showcase: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class Challenge(Base):
    __tablename__ = "challenges"
    __table_args__ = (
        UniqueConstraint("community_id", "slug"),
        Index(None, "community_id", "phase"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = community_fk()
    slug: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # submission | goal
    name: Mapped[str] = mapped_column(String(100))
    prompt: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    prize: Mapped[str | None] = mapped_column(String(300))
    sponsor_name: Mapped[str | None] = mapped_column(String(100))
    sponsor_url: Mapped[str | None] = mapped_column(String(500))
    phase: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime]
    submissions_close_at: Mapped[datetime | None]
    voting_close_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    max_entries: Mapped[int] = mapped_column(Integer, default=3)
    vote_emoji: Mapped[str] = mapped_column(String(64), default="thumbsup")
    early_votes: Mapped[bool] = mapped_column(Boolean, default=False)
    metric: Mapped[str | None] = mapped_column(String(50))
    unit: Mapped[str | None] = mapped_column(String(20))
    goal: Mapped[float | None] = mapped_column(Float)
    team_mode: Mapped[str] = mapped_column(String(16), default="individual")
    channel_id: Mapped[str | None] = mapped_column(String(64))
    template_key: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(Id, ForeignKey("members.id"))
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(300))


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("challenge_id", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = community_fk()
    challenge_id: Mapped[int] = mapped_column(Id, ForeignKey("challenges.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(50))


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("challenge_id", "member_id"),
                      Index(None, "community_id", "member_id"))  # a member's challenges

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = community_fk()
    challenge_id: Mapped[int] = mapped_column(Id, ForeignKey("challenges.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(Id, ForeignKey("members.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(Id, ForeignKey("teams.id"))
    joined_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    finished_at: Mapped[datetime | None]


class ProgressLog(Base):
    __tablename__ = "progress_logs"
    __table_args__ = (Index(None, "challenge_id", "member_id", "logged_at"),
                      Index(None, "community_id", "member_id", "logged_at"))  # active days

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = community_fk()
    challenge_id: Mapped[int] = mapped_column(Id, ForeignKey("challenges.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(Id, ForeignKey("members.id", ondelete="CASCADE"))
    amount: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(String(200))
    logged_at: Mapped[datetime]


class VoteCount(Base):
    """An entry's vote count, apart from the entry. Every vote rewrites it: narrow rows
    keep a challenge's counts on a few pages where entry rows (titles, links) spread them
    over many, so a batch of votes writes a third fewer pages."""

    __tablename__ = "vote_counts"

    entry_id: Mapped[int] = mapped_column(Id, ForeignKey("entries.id", ondelete="CASCADE"),
                                          primary_key=True)
    community_id: Mapped[int] = community_fk()
    votes: Mapped[int] = mapped_column(Integer, default=0)


class Entry(Base):
    __tablename__ = "entries"
    __table_args__ = (
        Index(None, "community_id", "message_id"),
        Index(None, "challenge_id", "member_id"),
        Index(None, "community_id", "member_id", "challenge_id"),  # a member's entries
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = community_fk()
    challenge_id: Mapped[int] = mapped_column(Id, ForeignKey("challenges.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(Id, ForeignKey("members.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(100))
    link: Mapped[str | None] = mapped_column(String(500))
    image_url: Mapped[str | None] = mapped_column(String(500))
    channel_id: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime]
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    disqualified_reason: Mapped[str | None] = mapped_column(String(300))
    # Read-only here: votes change the count in `vote_counts` (storage/sql/votes.py), so
    # writing the entry leaves the loaded count as it was.
    votes: Mapped[int] = column_property(
        select(VoteCount.votes).where(VoteCount.entry_id == id)
        .correlate_except(VoteCount).scalar_subquery(), expire_on_flush=False)


class Vote(Base):
    __tablename__ = "votes"
    # One vote per voter per entry: a replayed reaction event hits this and changes nothing.
    # A retracted vote's row is deleted; its number must never be given to a later vote,
    # whose ledger keys ("vote:{id}:...") would then look used (SQLite reuses the highest
    # rowid without AUTOINCREMENT; PostgreSQL sequences never go back).
    # No index by voter: each vote would write one more random index page, which at a
    # million votes is a third of a vote's writes; a voter's votes in a challenge are
    # counted through its entries instead.
    __table_args__ = (UniqueConstraint("entry_id", "voter_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = community_fk()
    challenge_id: Mapped[int] = mapped_column(Id, ForeignKey("challenges.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(Id, ForeignKey("entries.id", ondelete="CASCADE"))
    voter_id: Mapped[int] = mapped_column(Id, ForeignKey("members.id", ondelete="CASCADE"))
    cast_at: Mapped[datetime]
    # The variants of the vote emoji the voter holds on the entry (👍, 👍🏽; Slack's +1 and
    # +1::skin-tone-3 are separate reactions), separated by spaces: the vote stands while
    # one is left (engine/vote_rules.py). Empty for votes counted before it was kept.
    reactions: Mapped[str] = mapped_column(String(200), server_default="")



class UnsettledVote(Base):
    """A counted vote whose points are not paid yet. A vote commits with its row here;
    settlement pays for it (ledger, standings, counters, streak, achievements) in a later
    transaction, oldest first, and deletes the row in the same transaction: each vote is
    paid exactly once, and a crash between the two leaves the row for the next run."""

    __tablename__ = "unsettled_votes"
    __table_args__ = (Index(None, "community_id", "vote_id"),)

    vote_id: Mapped[int] = mapped_column(Id, ForeignKey("votes.id", ondelete="CASCADE"),
                                         primary_key=True, autoincrement=False)
    community_id: Mapped[int] = community_fk()

class Placement(Base):
    """A challenge's results as written when it closed: a snapshot (labels and scores are
    copied), so only the challenge is a foreign key; it owns the rows and its deletion
    removes them. Members, entries and teams are never deleted, and checking each row
    against them cost most of a 100,000-entry tally on PostgreSQL (see docs/performance.md).
    """

    __tablename__ = "placements"
    __table_args__ = (UniqueConstraint("challenge_id", "place", "subject"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = mapped_column(Id)
    challenge_id: Mapped[int] = mapped_column(Id, ForeignKey("challenges.id", ondelete="CASCADE"))
    place: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(64))  # entry:{id} | member:{id} | team:{id}
    member_id: Mapped[int | None] = mapped_column(Id)
    entry_id: Mapped[int | None] = mapped_column(Id)
    team_id: Mapped[int | None] = mapped_column(Id)
    score: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(200))
    tiebreak: Mapped[str | None] = mapped_column(String(200))


class LedgerRow(Base):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "ledger"
    __table_args__ = (
        UniqueConstraint("community_id", "idempotency_key"),
        Index(None, "community_id", "member_id", "id"),
        Index(None, "community_id", "member_id", "reason", "period_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = community_fk()
    member_id: Mapped[int] = mapped_column(Id, ForeignKey("members.id", ondelete="CASCADE"))
    delta: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(300))
    awarded_by: Mapped[int | None] = mapped_column(Id, ForeignKey("members.id"))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    # The moment whose week/month the points count toward (a reversal counts where the
    # original did, so weekly boards stay honest).
    period_at: Mapped[datetime]
    created_at: Mapped[datetime]


class Standing(Base):
    """Points per member per period ('all', 'w2026-47', 'm2026-11'), derived from the ledger."""

    __tablename__ = "standings"
    __table_args__ = (Index(None, "community_id", "period", "points", "member_id"),)

    community_id: Mapped[int] = mapped_column(
        Id, ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    points: Mapped[int] = mapped_column(Integer, default=0)


class ScoreCount(Base):
    """How many members of a board hold each score: a histogram of `standings`.

    Kept in step with `standings` in the same transaction by the ledger (and rebuilt with
    it), so ranks, counts, sums and medians read one row per distinct score, not one per
    member. Rows with no members are deleted.
    """

    __tablename__ = "standings_histogram"

    community_id: Mapped[int] = mapped_column(
        Id, ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    points: Mapped[int] = mapped_column(Integer, primary_key=True)
    members: Mapped[int] = mapped_column(Integer)


class MemberStat(Base):
    """Counters achievements read (entries, votes_cast, wins, ...), rebuilt by a recompute."""

    __tablename__ = "member_stats"

    community_id: Mapped[int] = mapped_column(
        Id, ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    stat: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[float] = mapped_column(Float, default=0.0)


class Achievement(Base):
    __tablename__ = "achievements"

    community_id: Mapped[int] = mapped_column(
        Id, ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    times: Mapped[int] = mapped_column(Integer, default=0)
    unlocked_at: Mapped[datetime | None]


class AchievementHolders(Base):
    """How many members hold each achievement: an aggregate of `achievements` (times > 0),
    kept in step by the unlock that creates a holder, so rarity reads a row per
    achievement, not one per member."""

    __tablename__ = "achievement_holders"

    community_id: Mapped[int] = mapped_column(
        Id, ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    holders: Mapped[int] = mapped_column(Integer)


class Badge(Base):
    __tablename__ = "badges"
    __table_args__ = (Index(None, "community_id", "member_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = community_fk()
    member_id: Mapped[int] = mapped_column(Id, ForeignKey("members.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    icon: Mapped[str] = mapped_column(String(32), default="🏅")
    reason: Mapped[str | None] = mapped_column(String(300))
    awarded_by: Mapped[int | None] = mapped_column(Id, ForeignKey("members.id"))
    awarded_at: Mapped[datetime]


class Streak(Base):
    __tablename__ = "streaks"

    community_id: Mapped[int] = mapped_column(
        Id, ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    current: Mapped[int] = mapped_column(Integer, default=0)
    longest: Mapped[int] = mapped_column(Integer, default=0)
    last_day: Mapped[date | None] = mapped_column(Date)


class OutboxRow(Base):
    """An announcement waiting to be posted by the delivery worker."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("community_id", "dedupe_key"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = community_fk()
    kind: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(64))
    member_external_id: Mapped[str | None] = mapped_column(String(64))  # for direct messages
    body: Mapped[dict[str, Any]] = mapped_column()
    dedupe_key: Mapped[str] = mapped_column(String(128))
    entry_id: Mapped[int | None] = mapped_column(Id, ForeignKey("entries.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|parked
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # When an attempt that may have reached the platform began (wall-clock time, the
    # platforms' clock): set before the post, so a later attempt looks for its message
    # before posting again (bot/delivery.py).
    post_started_at: Mapped[datetime | None]


class DueEvent(Base):
    """Something the scheduler must do at `due_at`; the database, not the scheduler, owns it."""

    __tablename__ = "due_events"
    __table_args__ = (
        UniqueConstraint("subject", "kind"),
        Index(None, "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = community_fk()
    subject: Mapped[str] = mapped_column(String(64))  # e.g. challenge:12
    kind: Mapped[str] = mapped_column(String(32))  # e.g. open, close_submissions, remind_24h
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]


class SiteSecret(Base):
    """Secrets of the installation (not of one community) that every process must share,
    generated once: the key that signs the dashboard's links and sessions when
    LAURELS_WEB_SECRET is unset. Never logged."""

    __tablename__ = "site_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class SpentLink(Base):
    """A dashboard sign-in link already used: each link signs in once. Kept until the link
    would have expired anyway."""

    __tablename__ = "spent_links"
    __table_args__ = (Index(None, "community_id", "expires_at"),)

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    community_id: Mapped[int] = community_fk()
    expires_at: Mapped[datetime]


class ApiToken(Base):
    """A moderator's bearer token for the JSON API, scoped to one community. Only the
    SHA-256 of the token is kept; `prefix` (its first characters, not secret) finds the
    row, and names it in lists and revocations. `rights` is what the platform said of the
    creator when they made it (`{"admin": bool, "roles": [...]}`): moderator writes made
    with the token are checked against it, as the creator's own commands were."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("prefix"), Index(None, "community_id", "revoked_at"))

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = community_fk()
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[int] = mapped_column(Id, ForeignKey("members.id", ondelete="CASCADE"))
    rights: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[int | None] = mapped_column(Id, ForeignKey("members.id"))
