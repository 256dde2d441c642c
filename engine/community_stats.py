"""What moderators and the catalog page see of a whole community: activity per day, the
busiest challenges, the achievements catalog with rarity, the audit of manual awards and
deductions, and announcements that failed for good."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from engine import achievements, outbox
from engine.context import Tx
from engine.errors import Conflict, NotFound
from engine.members import find_member
from engine.ranking import RankIndex
from engine.rarity import Rarity
from engine.views import CatalogItem, CommunityStats, DayCount, ManualChange, ParkedPost
from storage.tables import Challenge, Entry, LedgerRow, Member, OutboxRow, Vote, VoteCount

__all__ = ["STATS_DAYS", "catalog", "community_stats", "manual_changes", "parked_posts",
           "retry_parked"]

STATS_DAYS = 30
TOP_CHALLENGES = 5
AUDIT_LINES = 100


async def community_stats(tx: Tx, ranks: RankIndex, days: int = STATS_DAYS) -> CommunityStats:
    """Per community-local day of the last `days`: members active (any points), votes
    cast, entries submitted, points given (positive ledger lines); the challenges with the
    most entries and votes."""
    today = tx.local_day()
    span = [today - timedelta(days=days - 1 - i) for i in range(days)]
    since = datetime.combine(span[0], time(), tx.tz)
    active: dict[date, set[int]] = defaultdict(set)
    given: dict[date, float] = defaultdict(float)
    week_active: set[int] = set()
    week_start = today - timedelta(days=6)
    for member_id, delta, at in (await tx.session.execute(
            select(LedgerRow.member_id, LedgerRow.delta, LedgerRow.created_at)
            .where(LedgerRow.community_id == tx.community_id,
                   LedgerRow.created_at >= since))).all():
        day = tx.local_day(at)
        active[day].add(member_id)
        if day >= week_start:
            week_active.add(member_id)
        if delta > 0:
            given[day] += delta
    votes = await _per_day(tx, select(Vote.cast_at).where(
        Vote.community_id == tx.community_id, Vote.cast_at >= since))
    entries = await _per_day(tx, select(Entry.submitted_at).where(
        Entry.community_id == tx.community_id, Entry.submitted_at >= since))
    counted = func.coalesce(func.sum(VoteCount.votes), 0)
    top = (await tx.session.execute(
        select(Challenge.slug, Challenge.name, func.count(Entry.id), counted)
        .join(Entry, Entry.challenge_id == Challenge.id)
        .outerjoin(VoteCount, VoteCount.entry_id == Entry.id)
        .where(Challenge.community_id == tx.community_id,
               Challenge.phase.not_in(("draft", "cancelled")))
        .group_by(Challenge.id, Challenge.slug, Challenge.name)
        .order_by((func.count(Entry.id) + counted).desc(), Challenge.id.desc())
        .limit(TOP_CHALLENGES))).all()
    stats = await ranks.stats(tx.session, tx.community_id, "all")
    return CommunityStats(
        span, [DayCount(d, len(active.get(d, ()))) for d in span],
        [DayCount(d, votes.get(d, 0)) for d in span],
        [DayCount(d, entries.get(d, 0)) for d in span],
        [DayCount(d, given.get(d, 0.0)) for d in span],
        len(week_active), stats.members,
        [(s, n, int(e), int(v)) for s, n, e, v in top])


async def _per_day(tx: Tx, query: object) -> dict[date, int]:
    counts: dict[date, int] = defaultdict(int)
    for when in (await tx.session.scalars(query)).all():  # type: ignore[call-overload]
        counts[tx.local_day(when)] += 1
    return counts


async def catalog(tx: Tx, ranks: RankIndex, rarity: Rarity, viewer_user_id: str | None
                  ) -> list[CatalogItem]:
    """Every achievement of the catalog with the share of ranked members who earned it;
    a secret one keeps its name and criteria hidden unless the viewer earned it."""
    counts = await rarity.counts(tx)
    members = (await ranks.stats(tx.session, tx.community_id, "all")).members
    mine: dict[str, achievements.Progress] = {}
    if viewer_user_id is not None:
        member = await find_member(tx, viewer_user_id)
        if member is not None:
            mine = {p.definition.key: p for p in await achievements.progress(
                tx, member.id, include_secret=True)}
    items = []
    for d in tx.catalog.defs.values():
        p = mine.get(d.key)
        earned = bool(p and p.unlocked)
        hidden = d.secret and not earned
        items.append(CatalogItem(
            d.key, None if hidden else d.name, None if hidden else d.description,
            None if hidden else d.badge, d.rarity, 0 if hidden else d.points,
            Rarity.percent(counts.get(d.key, 0), members), earned, d.secret,
            p.label if p is not None and not hidden else None))
    return items


async def manual_changes(tx: Tx, limit: int = AUDIT_LINES) -> list[ManualChange]:
    """Moderators' awards and deductions, newest first."""
    by = aliased(Member)
    rows = (await tx.session.execute(
        select(LedgerRow.id, LedgerRow.created_at, Member.display_name, Member.external_id,
               LedgerRow.delta, LedgerRow.note, by.display_name)
        .join(Member, Member.id == LedgerRow.member_id)
        .outerjoin(by, by.id == LedgerRow.awarded_by)
        .where(LedgerRow.community_id == tx.community_id,
               LedgerRow.reason.in_(("award", "deduction")))
        .order_by(LedgerRow.id.desc()).limit(limit))).all()
    return [ManualChange(i, at, name or ext, ext, delta, note or "", who)
            for i, at, name, ext, delta, note, who in rows]


async def parked_posts(tx: Tx) -> list[ParkedPost]:
    """Announcements of this community parked after failing for good, newest first."""
    found = await outbox.list_rows(tx.session, ("parked",), community_id=tx.community_id)
    return [ParkedPost(r.id, r.kind, r.title, r.channel_id, r.attempts, r.last_error,
                       r.created_at) for r in found]


async def retry_parked(tx: Tx, outbox_id: int) -> ParkedPost:
    """Queue one of this community's parked announcements again (another community's
    number is unknown here)."""
    row = await tx.session.get(OutboxRow, outbox_id)
    if row is None or row.community_id != tx.community_id:
        raise NotFound(f"There is no parked announcement {outbox_id} here.")
    if row.status == "sent":
        raise Conflict(f"Announcement {outbox_id} was already sent.")
    info = await outbox.retry(tx.session, outbox_id, tx.now)
    assert info is not None
    return ParkedPost(info.id, info.kind, info.title, info.channel_id, info.attempts,
                      info.last_error, info.created_at)
