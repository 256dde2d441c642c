"""The phase state machine: a challenge moves draft → scheduled → open → voting → tallying
→ completed (goal challenges: … → active → tallying → completed), or to cancelled.

Each step is a conditional update (`challenges.transition`), so a step run twice (two
processes, a crash and a rerun) happens once. The due-event runner (engine/due.py) and a
moderator's `/challenge advance` are the only callers.
"""

from __future__ import annotations

from sqlalchemy import select

from engine import challenges, schedule
from engine.context import Tx
from engine.errors import Conflict
from engine.results import tally
from storage.tables import Challenge

__all__ = ["advance_due_challenge", "advance_now"]


async def advance_due_challenge(tx: Tx, challenge_id: int) -> int:
    """Run the challenge's phase changes whose time has come; returns how many ran."""
    c = await tx.session.scalar(select(Challenge).where(
        Challenge.id == challenge_id, Challenge.community_id == tx.community_id
    ).with_for_update())
    steps = 0
    while c is not None:
        deadline = challenges.next_deadline(c, tx.close_grace)
        if deadline is None or deadline[1] > tx.now or not await _step(tx, c):
            break
        steps += 1
    return steps


async def advance_now(tx: Tx, c: Challenge) -> None:
    """Move a challenge to its next phase now (a moderator's shortcut): its deadline
    becomes now, and the step runs at once."""
    if c.phase == "draft":
        nxt = "scheduled" if c.starts_at > tx.now else ("open" if c.kind == "submission"
                                                        else "active")
        await challenges.transition(tx, c, "draft", nxt)
        if nxt != "scheduled":
            await challenges.announce_phase(tx, c)
        await schedule.sync_challenge(tx, c)
        return
    if c.phase == "scheduled":
        c.starts_at = tx.now
    elif c.phase == "open":
        c.submissions_close_at = tx.now
    elif c.phase == "voting":
        c.voting_close_at = tx.now
    elif c.phase == "active":
        c.ends_at = tx.now
    else:
        raise Conflict(f"{c.name} is {c.phase}; there is no next phase.")
    await tx.session.flush()
    await _step(tx, c)
    await schedule.sync_challenge(tx, c)


async def _step(tx: Tx, c: Challenge) -> bool:
    """One phase change, conditional on the phase still being what we read."""
    if c.phase == "scheduled":
        new = "open" if c.kind == "submission" else "active"
        if await challenges.transition(tx, c, "scheduled", new):
            await challenges.announce_phase(tx, c)
            return True
        return False
    if c.phase == "open":
        if await challenges.transition(tx, c, "open", "voting"):
            await challenges.announce_phase(tx, c)
            return True
        return False
    if c.phase in ("voting", "active"):
        return await tally(tx, c) is not None
    return False
