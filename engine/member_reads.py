"""Read models of members: a profile, the ledger lines, achievement progress."""

from __future__ import annotations

from sqlalchemy import func, select

from engine import achievements, leaderboards
from engine.awards import badges_of
from engine.challenge_reads import view_of
from engine.context import Tx
from engine.errors import InvalidInput, NotFound
from engine.members import find_member
from engine.ranking import RankIndex
from engine.refs import MemberRef
from engine.streaks import StreakState, alive
from engine.views import BadgeView, ChallengeView, LedgerLine, Profile
from storage.tables import Challenge, Entry, LedgerRow, Member, Participant, Streak

__all__ = ["MAX_HISTORY", "achievement_progress", "badges", "check_history", "history",
           "profile"]

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
    query = select(LedgerRow).where(LedgerRow.community_id == tx.community_id,
                                    LedgerRow.member_id == member_id)
    if before is not None:
        query = query.where(LedgerRow.id < before)
    rows = (await tx.session.scalars(query.order_by(LedgerRow.id.desc()).limit(limit))).all()
    names = {m.id: m.display_name for m in (await tx.session.scalars(select(Member).where(
        Member.id.in_({r.awarded_by for r in rows if r.awarded_by})))).all()}
    return [LedgerLine.of(r, names.get(r.awarded_by) if r.awarded_by else None) for r in rows]


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
        await history(tx, member.id, 5))


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
        active.append((view_of(c, tx), f"{n} entr{'y' if n == 1 else 'ies'}"))
    return active
