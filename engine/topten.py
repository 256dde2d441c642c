"""The "entered the top 10" announcement: who rose onto the all-time board's first page."""

from __future__ import annotations

from engine import outbox
from engine.context import Tx
from engine.messages import Card
from storage.fastsql import others_above, top_scores
from storage.tables import Member

__all__ = ["TOP", "announce_entries", "top10_card", "top10_key"]

TOP = 10


def top10_card(name: str, external_id: str, rank: int, points: int) -> Card:
    return Card(title=f"📈 {name} entered the top {TOP}",
                text=f"{name} is now #{rank} all time with {points} points.",
                color="gold", mention=external_id)


def top10_key(tx: Tx, member_id: int) -> str:
    """Once per member and community-local day."""
    return f"top10:{member_id}:{tx.local_day().isoformat()}"


async def announce_entries(tx: Tx) -> None:
    """Announce members this transaction moved into the all-time top 10.

    Two bounded index walks (the best 11 scores, then at most 10 rows above a member's old
    balance), never a scan of the board. Boards of 10 members or fewer announce nothing:
    everyone is on the first page there.
    """
    risen = {m: old for m, old in tx.all_time_before.items()
             if old is None or tx.balances.get(m, old) > old}
    tx.all_time_before.clear()
    if not risen:
        return
    best = await top_scores(tx.session, tx.community_id, TOP + 1)
    if len(best) <= TOP:
        return
    tenth = best[TOP - 1]
    for member_id in sorted(risen):
        now = tx.balances.get(member_id)
        if now is None or now < tenth:
            continue
        old = risen[member_id]
        if old is not None and await others_above(
                tx.session, tx.community_id, member_id, old, TOP) < TOP:
            continue  # on the first page already
        rank = 1 + await others_above(tx.session, tx.community_id, member_id, now, TOP)
        member = await tx.session.get(Member, member_id)
        if member is None or member.is_bot:
            continue
        card = top10_card(member.display_name or member.external_id, member.external_id,
                          rank, now)
        await outbox.enqueue(tx, "top10", card, dedupe_key=top10_key(tx, member_id))
