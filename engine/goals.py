"""Taking part: joining, leaving and logging progress toward a goal."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import func, select

from engine import challenges, outbox
from engine.achievements import bump_stat, unit_stat
from engine.challenges import _num, _text
from engine.context import Tx
from engine.errors import Conflict, InvalidInput, WrongPhase
from engine.ledger import Posting, post
from engine.members import ensure_member, taking_part
from engine.messages import Card
from engine.refs import MemberRef
from engine.streaks import record_activity
from engine.views import ChallengeView, Pace
from engine.wording import plural
from storage.tables import Challenge, Member, Participant, ProgressLog, Team

__all__ = ["Pace", "join", "join_by", "leave", "leave_by", "log_by", "log_progress", "pace"]

MAX_LOG = 1_000_000


async def join(tx: Tx, member: Member, c: Challenge, team_name: str | None) -> Participant:
    if c.phase not in ("scheduled", "open", "active"):
        raise WrongPhase(f"{c.name} is {c.phase}; it can't be joined now.")
    team = await _team(tx, c, team_name)
    part = await participant(tx, c, member)
    if part is not None and part.active:
        raise Conflict(f"You are already in {c.name}.")
    if part is None:
        part = Participant(community_id=tx.community_id, challenge_id=c.id, member_id=member.id,
                           team_id=team.id if team else None, joined_at=tx.now, active=True,
                           progress=0.0)
        tx.session.add(part)
        await bump_stat(tx, member.id, "challenges_joined")
    else:
        part.active = True
        part.team_id = team.id if team else part.team_id
    await tx.session.flush()
    if c.kind == "goal":
        ref = f"challenge:{c.id}"
        await post(tx, [Posting(member.id, tx.rule("goal_joined"), "goal_joined",
                                f"join:{c.id}:{member.id}", ref)])
    return part


async def _team(tx: Tx, c: Challenge, team_name: str | None) -> Team | None:
    if c.team_mode != "team":
        if team_name:
            raise InvalidInput(f"{c.name} has no teams; join without a team name.")
        return None
    name = _text(team_name, "team name", 50)
    if not name:
        raise InvalidInput(f"{c.name} is played in teams: give a team name to join or start one.")
    team = await tx.session.scalar(
        select(Team).where(Team.challenge_id == c.id, func.lower(Team.name) == name.lower())
    )
    if team is None:
        team = Team(community_id=tx.community_id, challenge_id=c.id, name=name)
        tx.session.add(team)
        await tx.session.flush()
    return team


async def participant(tx: Tx, c: Challenge, member: Member) -> Participant | None:
    return await tx.session.scalar(
        select(Participant).where(
            Participant.community_id == tx.community_id,
            Participant.challenge_id == c.id,
            Participant.member_id == member.id,
        )
    )


async def leave(tx: Tx, member: Member, c: Challenge) -> Participant:
    part = await participant(tx, c, member)
    if part is None or not part.active:
        raise Conflict(f"You are not in {c.name}.")
    if c.phase in ("tallying", "completed", "cancelled"):
        raise WrongPhase(f"{c.name} is {c.phase}; there is nothing to leave.")
    part.active = False
    return part


async def log_progress(
    tx: Tx, member: Member, c: Challenge, amount: float, note: str | None
) -> Participant:
    """Add progress; reaching the goal makes finishers (the member, the team or everyone)."""
    if c.kind != "goal":
        raise InvalidInput(f"{c.name} takes entries, not progress logs.")
    if not math.isfinite(amount) or amount <= 0:
        raise InvalidInput("Progress must be a positive number.")
    if amount > MAX_LOG:
        raise InvalidInput(f"That is more than {MAX_LOG:,} in one log; check the amount.")
    if c.phase != "active" or (c.ends_at is not None and tx.now >= c.ends_at):
        raise WrongPhase(f"{c.name} is not running; progress can be logged while it is active.")
    part = await participant(tx, c, member)
    if part is None or not part.active:
        raise Conflict(f"Join {c.name} first with /challenge join {c.slug}.")
    note = _text(note, "note", 200) or None
    part.progress += amount
    tx.session.add(ProgressLog(community_id=tx.community_id, challenge_id=c.id,
                               member_id=member.id, amount=amount, note=note, logged_at=tx.now))
    await tx.session.flush()
    await bump_stat(tx, member.id, "progress_logs")
    await bump_stat(tx, member.id, unit_stat("progress_total", c.unit), amount)
    await record_activity(tx, member.id)
    await _finishers(tx, c, part)
    return part


async def _finishers(tx: Tx, c: Challenge, part: Participant) -> None:
    goal = c.goal or 0
    if c.team_mode == "individual":
        group = [part] if part.progress >= goal else []
    else:
        query = select(Participant).where(Participant.challenge_id == c.id,
                                          Participant.active.is_(True))
        if c.team_mode == "team":
            query = query.where(Participant.team_id == part.team_id)
        members = list((await tx.session.scalars(query)).all())
        group = members if sum(p.progress for p in members) >= goal else []
    for p in group:
        if p.finished_at is None:
            await _finish(tx, c, p)


async def _finish(tx: Tx, c: Challenge, p: Participant) -> None:
    p.finished_at = tx.now
    member = await tx.session.get(Member, p.member_id)
    assert member is not None
    who = member.display_name
    if c.team_mode == "team" and p.team_id is not None:
        team = await tx.session.get(Team, p.team_id)
        who = f"{member.display_name} (team {team.name})" if team else who
    elif c.team_mode == "community":
        who = f"{member.display_name}, with everyone,"
    # The finish is announced before the achievements it unlocks.
    await outbox.enqueue(
        tx, "finisher",
        Card(title=f"🏁 Goal reached: {c.name}",
             text=f"{who} reached the goal of {_num(c.goal or 0)} "
             f"{c.unit or ''}! (+{plural(tx.rule('goal_reached'), 'point')})".replace(" !", "!"),
             color="green", mention=member.external_id),
        dedupe_key=f"finish:{c.id}:{p.member_id}",
    )
    ref = f"challenge:{c.id}"
    await post(tx, [Posting(p.member_id, tx.rule("goal_reached"), "goal_reached",
                            f"goal:{c.id}:{p.member_id}", ref)])
    await bump_stat(tx, p.member_id, "goals_reached")


async def pace(tx: Tx, c: Challenge, part: Participant) -> Pace:
    """Progress toward the goal (the team's or everyone's in those modes), the average per
    day since it started counting, and when the goal would be reached at that pace."""
    goal = c.goal or 0.0
    if c.team_mode == "individual":
        progress, since = part.progress, max(part.joined_at, c.starts_at)
    else:
        query = select(func.coalesce(func.sum(Participant.progress), 0.0)).where(
            Participant.challenge_id == c.id, Participant.active.is_(True))
        if c.team_mode == "team":
            query = query.where(Participant.team_id == part.team_id)
        progress, since = float(await tx.session.scalar(query) or 0.0), c.starts_at
    # At least a day, so a first log right after joining does not project a silly pace.
    days = max((tx.now - since).total_seconds() / 86400, 1.0)
    per_day = progress / days
    projected = None
    if part.finished_at is None and per_day > 0 and goal > progress:
        projected = tx.now + timedelta(days=(goal - progress) / per_day)
    return Pace(progress, goal, per_day, projected, part.finished_at is not None)


async def join_by(tx: Tx, ref: MemberRef, challenge: str, team: str | None) -> ChallengeView:
    member = await taking_part(tx, ref)
    c = await challenges.find(tx, challenge, for_share=True)
    await join(tx, member, c, team)
    return ChallengeView.of(c, challenges.status_line(c, tx.now))


async def leave_by(tx: Tx, ref: MemberRef, challenge: str) -> ChallengeView:
    member = await ensure_member(tx, ref)
    c = await challenges.find(tx, challenge, for_share=True)
    await leave(tx, member, c)
    return ChallengeView.of(c, challenges.status_line(c, tx.now))


async def log_by(tx: Tx, ref: MemberRef, challenge: str, amount: float, note: str | None
                 ) -> Pace:
    member = await taking_part(tx, ref)
    # Logs to one challenge queue up: progress adds up without lost updates, a shared
    # target sees every log, and the tally (which locks it too) sees all.
    c = await challenges.find(tx, challenge, for_update=True)
    part = await log_progress(tx, member, c, amount, note)
    return await pace(tx, c, part)
