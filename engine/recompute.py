"""Rebuild derived state (standings, counters, streaks) from history; grant what was missed."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import delete, func, select

from engine.achievements import check, unit_stat
from engine.context import Tx
from engine.ledger import rebuild_standings
from engine.streaks import from_days
from storage.tables import (
    Challenge,
    Entry,
    Member,
    MemberStat,
    Participant,
    Placement,
    ProgressLog,
    Streak,
    Vote,
    VoteCount,
)

__all__ = ["recompute"]


async def recompute(tx: Tx) -> int:
    """Returns the number of achievements unlocked by the recompute."""
    await rebuild_standings(tx)
    stats = await _stats_from_history(tx)
    await tx.session.execute(delete(MemberStat).where(MemberStat.community_id == tx.community_id))
    tx.session.add_all(
        MemberStat(community_id=tx.community_id, member_id=m, stat=s, value=v)
        for (m, s), v in stats.items()
    )
    await _rebuild_streaks(tx)
    await tx.session.flush()
    members = (await tx.session.scalars(select(Member.id).where(
        Member.community_id == tx.community_id, Member.is_bot.is_(False)))).all()
    sources = list(tx.catalog.by_source)
    unlocked = 0
    for member_id in members:
        unlocked += len(await check(tx, member_id, sources))
    return unlocked


async def _stats_from_history(tx: Tx) -> dict[tuple[int, str], float]:
    cid = tx.community_id
    out: dict[tuple[int, str], float] = defaultdict(float)

    async def put(stat: str, query) -> None:  # type: ignore[no-untyped-def]
        for member_id, value in (await tx.session.execute(query)).all():
            if member_id is not None and value:
                out[(member_id, stat)] += float(value)

    ok = Entry.disqualified_reason.is_(None)
    await put("entries", select(Entry.member_id, func.count()).where(
        Entry.community_id == cid, ok).group_by(Entry.member_id))
    await put("votes_received", select(Entry.member_id, func.sum(VoteCount.votes))
              .join(VoteCount, VoteCount.entry_id == Entry.id)
              .where(Entry.community_id == cid).group_by(Entry.member_id))
    await put("featured", select(Entry.member_id, func.count()).where(
        Entry.community_id == cid, Entry.featured.is_(True)).group_by(Entry.member_id))
    await put("votes_cast", select(Vote.voter_id, func.count()).where(
        Vote.community_id == cid).group_by(Vote.voter_id))
    entry_places = Placement.subject.like("entry:%")
    await put("wins", select(Placement.member_id, func.count(func.distinct(
        Placement.challenge_id))).where(Placement.community_id == cid, Placement.place == 1,
                                        entry_places).group_by(Placement.member_id))
    await put("podiums", select(Placement.member_id, func.count(func.distinct(
        Placement.challenge_id))).where(Placement.community_id == cid, Placement.place <= 3,
                                        entry_places).group_by(Placement.member_id))
    await put("goals_reached", select(Participant.member_id, func.count()).where(
        Participant.community_id == cid, Participant.finished_at.is_not(None))
        .group_by(Participant.member_id))
    await put("challenges_joined", select(Participant.member_id, func.count()).where(
        Participant.community_id == cid).group_by(Participant.member_id))
    await put("progress_logs", select(ProgressLog.member_id, func.count()).where(
        ProgressLog.community_id == cid).group_by(ProgressLog.member_id))
    per_unit = (await tx.session.execute(
        select(ProgressLog.member_id, Challenge.unit, func.sum(ProgressLog.amount))
        .join(Challenge, Challenge.id == ProgressLog.challenge_id)
        .where(ProgressLog.community_id == cid)
        .group_by(ProgressLog.member_id, Challenge.unit))).all()
    for member_id, unit, total in per_unit:
        if total:
            out[(member_id, unit_stat("progress_total", unit))] += float(total)
    return out


async def _rebuild_streaks(tx: Tx) -> None:
    cid = tx.community_id
    days: dict[int, set[date]] = defaultdict(set)
    for query in (
        select(Entry.member_id, Entry.submitted_at).where(Entry.community_id == cid),
        select(Vote.voter_id, Vote.cast_at).where(Vote.community_id == cid),
        select(ProgressLog.member_id, ProgressLog.logged_at).where(ProgressLog.community_id == cid),
    ):
        for member_id, when in (await tx.session.execute(query)).all():
            days[member_id].add(tx.local_day(when))
    await tx.session.execute(delete(Streak).where(Streak.community_id == cid))
    for member_id, active in days.items():
        state = from_days(active)
        tx.session.add(Streak(community_id=cid, member_id=member_id, current=state.current,
                              longest=state.longest, last_day=state.last_day))
