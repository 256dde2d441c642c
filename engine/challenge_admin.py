"""What moderators do to challenges: create, edit, cancel, advance. Each keeps the
challenge's due events in step (engine/schedule.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from engine import challenges, phases, schedule
from engine.challenge_reads import view_of
from engine.challenges import ChallengeDraft
from engine.context import Tx
from engine.errors import Conflict, InvalidInput
from engine.members import moderator
from engine.refs import MemberRef
from engine.text import clean_text
from engine.views import ChallengeView
from storage.tables import Challenge

__all__ = ["EDITABLE", "advance", "cancel", "check_edit", "create", "edit"]

EDITABLE = ("name", "prompt", "description", "prize", "sponsor_name", "sponsor_url",
            "submissions_close_at", "voting_close_at", "ends_at", "starts_at", "max_entries",
            "vote_emoji", "goal", "unit", "channel_id")


async def create(tx: Tx, actor: MemberRef, draft: ChallengeDraft) -> ChallengeView:
    creator = await moderator(tx, actor)
    c = await challenges.create(tx, draft, creator.id)
    await schedule.sync_challenge(tx, c)
    return view_of(c, tx)


def check_edit(changes: dict[str, Any]) -> None:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(f"These can't be edited: {', '.join(sorted(unknown))}.")


def _draft_of(c: Challenge) -> ChallengeDraft:
    return ChallengeDraft(
        kind=c.kind, name=c.name, prompt=c.prompt, description=c.description,
        starts_at=c.starts_at, submissions_close_at=c.submissions_close_at,
        voting_close_at=c.voting_close_at, ends_at=c.ends_at, max_entries=c.max_entries,
        vote_emoji=c.vote_emoji, early_votes=c.early_votes, prize=c.prize,
        sponsor_name=c.sponsor_name, sponsor_url=c.sponsor_url, metric=c.metric, unit=c.unit,
        goal=c.goal, team_mode=c.team_mode, channel_id=c.channel_id)


def _check_editable(c: Challenge, changes: dict[str, Any], now: datetime) -> None:
    if c.phase in ("tallying", "completed", "cancelled"):
        raise Conflict(f"{c.name} is {c.phase}; it can no longer be edited.")
    started = c.phase not in ("draft", "scheduled")
    if started and "starts_at" in changes:
        raise Conflict(f"{c.name} has already started; its start can't move.")
    if c.phase == "voting" and "submissions_close_at" in changes:
        raise Conflict("Submissions are already closed; that deadline can't move.")
    if c.phase == "voting" and "vote_emoji" in changes:
        raise Conflict("Voting has started; the vote emoji can't change now.")
    for name in ("submissions_close_at", "voting_close_at", "ends_at"):
        if name in changes and changes[name] is not None and changes[name] <= now:
            raise InvalidInput("New deadlines must be in the future.")


async def edit(tx: Tx, actor: MemberRef, ref: str, changes: dict[str, Any]) -> ChallengeView:
    await moderator(tx, actor)
    c = await challenges.find(tx, ref, for_update=True)
    _check_editable(c, changes, tx.now)
    draft = replace(_draft_of(c), **changes)
    checked = challenges.validate(draft, min(tx.now, draft.starts_at or tx.now))
    for name in changes:
        setattr(c, name, getattr(checked, name))
    await tx.session.flush()
    await schedule.sync_challenge(tx, c)
    return view_of(c, tx)


async def cancel(tx: Tx, actor: MemberRef, ref: str, reason: str | None) -> ChallengeView:
    await moderator(tx, actor)
    c = await challenges.find(tx, ref, for_update=True)
    if c.phase in ("completed", "cancelled", "tallying"):
        raise Conflict(f"{c.name} is already {c.phase}.")
    if not await challenges.transition(tx, c, c.phase, "cancelled"):
        raise Conflict(f"{c.name} changed meanwhile; try again.")
    c.cancel_reason = clean_text(reason or "")[:300] or None
    await challenges.announce_phase(tx, c)
    await schedule.sync_challenge(tx, c)
    return ChallengeView.of(c, "Cancelled")


async def advance(tx: Tx, actor: MemberRef, ref: str) -> ChallengeView:
    """Move a challenge to its next phase now (a moderator's shortcut)."""
    await moderator(tx, actor)
    c = await challenges.find(tx, ref, for_update=True)
    await phases.advance_now(tx, c)
    return view_of(c, tx)
