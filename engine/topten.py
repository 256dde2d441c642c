"""The "entered the top 10" announcement: who rose onto the all-time board's first page.

The rule is `entered`, a pure function of the balances a transaction moved and the top of
the board after it; every write that moves points (a vote's payment, results, an award)
reaches it through `announce_entries`, called before its commit.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine import outbox
from engine.context import Tx
from engine.messages import Card
from engine.wording import plural
from storage.sql.boards import top_members
from storage.tables import Member

__all__ = ["TOP", "Entered", "announce_entries", "entered", "top10_card", "top10_key"]

TOP = 10


@dataclass(frozen=True, slots=True)
class Entered:
    member_id: int
    rank: int
    points: int


def entered(before: Mapping[int, int | None], after: Mapping[int, int],
            top: Sequence[tuple[int, int]], limit: int = TOP) -> list[Entered]:
    """The members a change moved into the first `limit` places of a board.

    `before`/`after`: the points of every member the change moved (None: not on the board
    before). `top`: the board's best `limit + len(after)` (member, points) rows after the
    change, best first. Ties share a place, so a member is on the first page while fewer
    than `limit` others score more. Whether a member was there before is judged on the
    board as it was, the other movers at their old points: a member already on the page
    is never "entering" it because others rose too. A board of `limit` members or fewer
    announces nothing: everyone is on its first page.
    """
    if len(top) <= limit:
        return []
    # The members the change did not move keep their points; at most len(after) of the
    # rows in `top` are movers, so it holds every unmoved member that can count here.
    # Scores sorted once and counted by bisection: settlement moves a few thousand
    # members in one transaction, and counting pairwise grew with their square, on the
    # event loop (2.5 million comparisons in one run of the votes benchmark).
    unmoved = sorted(p for m, p in top if m not in after)
    olds = sorted(old for old in before.values() if old is not None)
    now = sorted(p for _, p in top)

    def more_than(scores: list[int], points: int) -> int:
        return len(scores) - bisect_right(scores, points)

    # A member's own score is never above itself, so it needs no leaving out.
    def above_before(points: int) -> int:
        return more_than(unmoved, points) + more_than(olds, points)

    def above_now(points: int) -> int:
        return more_than(now, points)

    found = []
    for member_id in sorted(after):
        old, new = before.get(member_id), after[member_id]
        if old is not None and new <= old:
            continue  # did not rise
        now_above = above_now(new)
        if now_above >= limit:
            continue
        if old is not None and above_before(old) < limit:
            continue  # on the first page already
        found.append(Entered(member_id, now_above + 1, new))
    return found


def top10_card(name: str, external_id: str, rank: int, points: int) -> Card:
    return Card(title=f"📈 {name} entered the top {TOP}",
                text=f"{name} is now #{rank} all time with {plural(points, 'point')}.",
                color="gold", mention=external_id)


def top10_key(tx: Tx, member_id: int) -> str:
    """Once per member and community-local day."""
    return f"top10:{member_id}:{tx.local_day().isoformat()}"


async def announce_entries(tx: Tx) -> None:
    """Announce the members this transaction moved into the all-time top 10: one bounded
    index walk of the board's top, never a scan of the board."""
    before, after = dict(tx.moves.before), dict(tx.moves.after)
    tx.moves.before.clear()
    tx.moves.after.clear()
    if not any(before.get(m) is None or p > (before[m] or 0) for m, p in after.items()):
        return
    top = await top_members(tx.session, tx.community_id, "all", TOP + len(after))
    for e in entered(before, after, top):
        member = await tx.session.get(Member, e.member_id)
        if member is None or member.is_bot:
            continue
        card = top10_card(member.display_name or member.external_id, member.external_id,
                          e.rank, e.points)
        await outbox.enqueue(tx, "top10", card, dedupe_key=top10_key(tx, e.member_id))
