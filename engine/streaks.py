"""Daily streaks: consecutive community-local days with a qualifying activity.

The streak rule is `advance` (what one more active day does to a streak) and `alive`
(whether a streak still counts today); paying a vote, submitting an entry, logging
progress and rebuilding streaks from history (recompute) all go through them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from engine import outbox
from engine.achievements import check_values
from engine.context import Tx
from engine.messages import Card
from engine.wording import plural
from storage.sql.progress import put_streaks, streaks_of
from storage.tables import Member

__all__ = ["MILESTONES", "StreakState", "advance", "alive", "from_days", "milestone_card",
           "record_activity", "write_streaks"]

MILESTONES = (7, 14, 30, 60, 100, 365)


@dataclass(frozen=True, slots=True)
class StreakState:
    current: int = 0
    longest: int = 0
    last_day: date | None = None


def advance(state: StreakState, day: date) -> StreakState | None:
    """The streak after activity on `day`; None when that day counted already. A gap of
    a day or more starts the streak again; a day before the last one (a clock moved back,
    a zone change) never shortens it."""
    if state.last_day is not None and state.last_day >= day:
        return None
    current = state.current + 1 if state.last_day == day - timedelta(days=1) else 1
    return StreakState(current, max(state.longest, current), day)


def alive(state: StreakState, today: date) -> int:
    """The streak's current length as of `today`: it still counts if its last day is today
    or yesterday (today can still extend it), else it is broken."""
    if state.last_day is None or (today - state.last_day).days > 1:
        return 0
    return state.current


def from_days(days: Iterable[date]) -> StreakState:
    """The streak that activity on these days builds, day by day through `advance`."""
    state = StreakState()
    for day in sorted(set(days)):
        state = advance(state, day) or state
    return state


def milestone_card(name: str, external_id: str | None, days: int) -> Card:
    return Card(title=f"🔥 {days}-day streak!",
                text=f"{name} has taken part {plural(days, 'day')} in a row.",
                color="gold", mention=external_id)


async def record_activity(tx: Tx, member_id: int) -> None:
    """Count today (`tx.now`, community-local) for the member."""
    found = await streaks_of(tx.session, tx.community_id, [member_id])
    state = StreakState(*found[member_id]) if member_id in found else StreakState()
    new = advance(state, tx.local_day())
    if new is not None:
        await write_streaks(tx, {member_id: (state, new)})


async def write_streaks(tx: Tx, moves: Mapping[int, tuple[StreakState, StreakState]]
                        ) -> None:
    """Store streaks that moved (member: before, after) in one statement; announce the
    milestones reached and unlock what a longer longest streak earns."""
    if not moves:
        return
    await put_streaks(tx.session, [
        (tx.community_id, m, new.current, new.longest, new.last_day)  # type: ignore[misc]
        for m, (_, new) in sorted(moves.items())])
    for member_id, (_, new) in sorted(moves.items()):
        if new.current in MILESTONES and new.last_day is not None:
            member = await tx.session.get(Member, member_id)
            name = (member.display_name or member.external_id) if member else str(member_id)
            await outbox.enqueue(
                tx, "streak",
                milestone_card(name, member.external_id if member else None, new.current),
                dedupe_key=f"streak:{member_id}:{new.last_day.isoformat()}")
    await check_values(tx, {(m, "streak"): float(new.longest)
                            for m, (old, new) in moves.items() if new.longest > old.longest})
