"""Daily streaks: consecutive community-local days with a qualifying activity."""

from __future__ import annotations

from datetime import timedelta

from engine import outbox
from engine.achievements import check
from engine.context import Tx
from engine.messages import Card
from storage.fastsql import get_streak, put_streak
from storage.tables import Member, Streak

__all__ = ["MILESTONES", "record_activity"]

MILESTONES = (7, 14, 30, 60, 100, 365)


async def record_activity(tx: Tx, member_id: int) -> Streak:
    """Count today for the member; a gap of a day or more starts the streak again."""
    today = tx.local_day()
    found = await get_streak(tx.session, tx.community_id, member_id)
    current, longest, last_day = found if found is not None else (0, 0, None)
    row = Streak(community_id=tx.community_id, member_id=member_id, current=current,
                 longest=longest, last_day=last_day)
    if last_day is not None and last_day >= today:
        # Today counted already; or a clock moved backwards (or a zone change): never
        # shorten a streak for it.
        return row
    row.current = current + 1 if last_day == today - timedelta(days=1) else 1
    row.last_day = today
    grew_longest = row.current > longest
    row.longest = max(longest, row.current)
    # Written as plain SQL (storage/fastsql.py): every vote and entry passes here.
    await put_streak(tx.session, tx.community_id, member_id, row.current, row.longest, today)
    if row.current in MILESTONES:
        member = await tx.session.get(Member, member_id)
        name = (member.display_name or member.external_id) if member else str(member_id)
        await outbox.enqueue(
            tx,
            "streak",
            Card(
                title=f"🔥 {row.current}-day streak!",
                text=f"{name} has taken part {row.current} days in a row.",
                color="gold",
                mention=member.external_id if member else None,
            ),
            dedupe_key=f"streak:{member_id}:{today.isoformat()}",
        )
    if grew_longest:
        await check(tx, member_id, ["streak"], known={"streak": float(row.longest)})
    return row
