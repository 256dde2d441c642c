"""Read models of members: a profile, the ledger lines, achievement progress, and the web
member page."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from engine import achievements, leaderboards
from engine.awards import badges_of
from engine.challenge_reads import view_of
from engine.context import Tx
from engine.errors import InvalidInput, NotFound
from engine.members import find_member
from engine.ranking import RankIndex
from engine.rarity import Rarity
from engine.refs import MemberRef
from engine.streaks import StreakState, alive
from engine.views import BadgeRarity, BadgeView, ChallengeView, LedgerLine, MemberPage, Profile
from engine.wording import plural
from storage.sql import member_page as member_sql
from storage.sql.progress import streaks_of
from storage.tables import (
    Challenge,
    Entry,
    Member,
    Participant,
    Streak,
)

__all__ = ["MAX_HISTORY", "achievement_progress", "badges", "check_history", "history",
           "member_page", "profile"]

LIVE = ("scheduled", "open", "voting", "active")
MAX_HISTORY = 100


def check_history(limit: int, before: int | None) -> None:
    if not 1 <= limit <= MAX_HISTORY:
        raise InvalidInput(f"Ask for 1 to {MAX_HISTORY} ledger lines.")
    if before is not None and before < 1:
        raise InvalidInput("`before` is the id of a ledger line (1 or more).")


async def history(tx: Tx, member_id: int, limit: int, before: int | None = None
                  ) -> list[LedgerLine]:
    """The member's newest ledger lines (older than the line `before`, if given)."""
    return [LedgerLine(i, delta, balance_after, reason, reference, note,
                       name if awarded_by else None, at)
            for i, delta, balance_after, reason, reference, note, name, awarded_by, at
            in await member_sql.ledger_lines(tx.source, tx.community_id, member_id, limit,
                                             before)]


async def member_history(tx: Tx, user_id: str, limit: int, before: int | None = None
                         ) -> list[LedgerLine]:
    member = await find_member(tx, user_id)
    return [] if member is None else await history(tx, member.id, limit, before)


async def badges(tx: Tx, user_id: str) -> list[BadgeView]:
    member = await find_member(tx, user_id)
    return [] if member is None else await badges_of(tx, member)


async def achievement_progress(tx: Tx, user_id: str) -> list[achievements.Progress]:
    member = await find_member(tx, user_id)
    if member is None:
        return [achievements.Progress(d, 0, False, 0) for d in tx.catalog.defs.values()
                if not d.secret]
    return await achievements.progress(tx, member.id)


async def profile(tx: Tx, ranks: RankIndex, viewer: MemberRef, target_user_id: str | None
                  ) -> Profile:
    user_id = target_user_id or viewer.user_id
    member = await find_member(tx, user_id)
    if member is None:
        if target_user_id:
            raise NotFound("That member hasn't taken part yet.")
        return Profile(user_id, viewer.display_name or user_id, 0, None, 0, 0, [], 0, [], [])
    rank = await leaderboards.viewer_rank(tx, ranks, member.id, "all")
    streak = await tx.session.get(Streak, (tx.community_id, member.id))
    state = (StreakState(streak.current, streak.longest, streak.last_day) if streak
             else StreakState())
    owned = await badges_of(tx, member)
    return Profile(
        member.external_id, member.display_name, rank.points if rank else 0, rank,
        alive(state, tx.local_day()), state.longest,
        [b for b in owned if b.showcased], len(owned), await _taking_part(tx, member),
        await history(tx, member.id, 5), avatar_url=member.avatar_url)


async def _taking_part(tx: Tx, member: Member) -> list[tuple[ChallengeView, str]]:
    """The live challenges the member takes part in, with their status in each."""
    rows = (await tx.session.execute(
        select(Challenge, Participant).join(Participant, Participant.challenge_id == Challenge.id)
        .where(Challenge.community_id == tx.community_id, Participant.member_id == member.id,
               Participant.active.is_(True), Challenge.phase.in_(LIVE)))).all()
    active = []
    for c, part in rows:
        status = (f"{part.progress:g}/{c.goal:g} {c.unit or ''}".strip() if c.kind == "goal"
                  else "joined")
        active.append((view_of(c, tx), status))
    entered = (await tx.session.execute(
        select(Challenge, func.count(Entry.id)).join(Entry, Entry.challenge_id == Challenge.id)
        .where(Challenge.community_id == tx.community_id, Entry.member_id == member.id,
               Challenge.phase.in_(("open", "voting")))
        .group_by(Challenge.id))).all()
    for c, n in entered:
        active.append((view_of(c, tx), plural(n, "entry")))
    return active


# -- the web member page -------------------------------------------------------------

CALENDAR_DAYS = 365
RECENT_LINES = 15
MAX_CHALLENGES = 20
# What counts toward a streak (streaks.record_activity is called when these happen):
# voting (its paid "vote_cast" ledger rows), entering, logging progress.
ACTIVITY_REASONS = ("vote_cast", "entry_submitted")


async def member_page(tx: Tx, ranks: RankIndex, rarity: Rarity, user_id: str) -> MemberPage:
    """Everything the web member page shows: points, rank, the streak and a year of
    active days, badges with their rarity, achievement progress, points over time,
    recent ledger lines and the challenges taken part in."""
    member = await find_member(tx, user_id)
    if member is None:
        raise NotFound("That member hasn't taken part yet.")
    rank = await leaderboards.viewer_rank(tx, ranks, member.id, "all")
    streak = (await streaks_of(tx.session, tx.community_id, [member.id])).get(member.id)
    state = StreakState(*streak) if streak else StreakState()
    today = tx.local_day()
    first = today - timedelta(days=CALENDAR_DAYS - 1)
    since = datetime.combine(first, time(), tx.tz) - timedelta(days=1)
    days = await _active_days(tx, member.id, since)
    counts = await rarity.counts(tx)
    members = max(rank.members if rank else 0, 1)
    if rank is None:
        stats = await ranks.stats(tx.session, tx.community_id, "all")
        members = max(stats.members, 1)
    owned = []
    for b in await badges_of(tx, member):
        d = tx.catalog.defs.get(b.key)
        owned.append(BadgeRarity(b, d.rarity if d else None,
                                 Rarity.percent(counts.get(b.key, 0), members) if d else None))
    return MemberPage(
        member.external_id, member.display_name or member.external_id,
        rank.points if rank else 0, rank, alive(state, today), state.longest,
        sorted(d for d in days if first <= d <= today), first, today, owned,
        await achievements.progress(tx, member.id),
        await _balance_by_day(tx, member.id), await history(tx, member.id, RECENT_LINES),
        await _taken_part(tx, member), member.avatar_url)


async def _active_days(tx: Tx, member_id: int, since: datetime) -> set[date]:
    return {tx.local_day(when) for when in await member_sql.activity_times(
        tx.source, tx.community_id, member_id, ACTIVITY_REASONS, since)}


async def _balance_by_day(tx: Tx, member_id: int) -> list[tuple[date, int]]:
    """The all-time balance at the end of each day it changed (ledger order)."""
    by_day: dict[date, int] = {}
    for at, balance in await member_sql.balances(tx.source, tx.community_id, member_id):
        by_day[tx.local_day(at)] = balance
    return sorted(by_day.items())


async def _taken_part(tx: Tx, member: Member) -> list[tuple[ChallengeView, str]]:
    """Challenges the member entered or joined, newest first, with what they did there."""
    entered = await member_sql.entries_per_challenge(tx.source, tx.community_id, member.id)
    joined = await member_sql.participations(tx.source, tx.community_id, member.id)
    ids = sorted(set(entered) | set(joined), reverse=True)[:MAX_CHALLENGES]
    if not ids:
        return []
    found = {c.id: c for c in (await tx.session.scalars(select(Challenge).where(
        Challenge.community_id == tx.community_id, Challenge.id.in_(ids)))).all()}
    out = []
    for cid in ids:
        c = found.get(cid)
        if c is None or c.phase in ("draft",):
            continue
        if cid in entered:
            status = plural(int(entered[cid]), "entry")
        else:
            status = (f"{joined[cid]:g}/{c.goal:g} {c.unit or ''}".strip()
                      if c.goal is not None else "joined")
        out.append((view_of(c, tx), status))
    return out
