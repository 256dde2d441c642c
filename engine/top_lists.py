"""Lists cut short for a post (the weekly digest, a period's final standings): ranks as
`/leaderboard` gives them, and never a silent cut.

- Ranks come from `placing.shared_ranks` (ties share a rank: 1, 2, 2, 4), as on every
  live board; the rows shown are the top of the board in its order (points, then the
  member id), so their ranks are the board's.
- A tie at the cut is shown whole when it runs at most `TIE_ROOM` rows past the cut, and
  counted when it runs further ("…and 5 more members tied on 100 pts").
- What the cut leaves out is counted in SQL (for a board, the score histogram, one row
  per distinct score), never by loading it: "…and 12 more members".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Row, case, func, select

from engine.context import Tx
from engine.placing import shared_ranks
from engine.wording import plural
from storage.tables import Member, ScoreCount, Standing, Streak

__all__ = ["TIE_ROOM", "Ranked", "TopList", "board_top", "cut", "more_line", "streak_top"]

TIE_ROOM = 3  # rows a tie at the cut may add to a list before it is counted instead


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int
    name: str
    points: int


@dataclass(frozen=True, slots=True)
class TopList:
    """The top of a board as a post shows it, and what the cut left out."""

    rows: list[Ranked]
    tied: int = 0  # members left out tied with the last row shown
    below: int = 0  # members left out with fewer points
    unit: str = "pt"  # what `points` counts, for "tied on 100 pts" / "tied on 8 days"

    @property
    def more(self) -> str | None:
        """The line that says what was left out (None: nothing was)."""
        on = plural(self.rows[-1].points, self.unit) if self.rows else ""
        return more_line(self.tied, self.below, on)


def cut(scores: Sequence[float], limit: int, room: int = TIE_ROOM) -> int:
    """How many of `scores` (best first; more may follow those given) to show: `limit`,
    or more when the tie at the cut ends within `room` rows past it. `scores` should
    hold `limit + room + 1` of them when the board has that many."""
    if len(scores) <= limit:
        return len(scores)
    last = scores[limit - 1]
    end = limit
    while end < len(scores) and scores[end] == last:
        end += 1
    complete = end < len(scores) or len(scores) < limit + room + 1
    return end if complete and end - limit <= room else limit


def more_line(tied: int, below: int, tied_on: str, noun: str = "member") -> str | None:
    """"…and 12 more members", "…and 4 more members tied on 10 pts", "…and 5 more
    members, 4 of them tied on 100 pts" (None when nothing was left out)."""
    if not tied and not below:
        return None
    everyone = plural(tied + below, f"more {noun}")
    if not tied:
        return f"…and {everyone}"
    if not below:
        return f"…and {everyone} tied on {tied_on}"
    return f"…and {everyone}, {tied} of them tied on {tied_on}"


async def board_top(tx: Tx, period: str, limit: int) -> TopList:
    """The top `limit` members with points on the board `period` (a period key), ranked
    as `/leaderboard` ranks them, with what the cut left out."""
    found = (await tx.session.execute(
        select(Member.display_name, Member.external_id, Standing.points)
        .join(Member, Member.id == Standing.member_id)
        .where(Standing.community_id == tx.community_id, Standing.period == period,
               Standing.points > 0)
        .order_by(Standing.points.desc(), Standing.member_id)
        .limit(limit + TIE_ROOM + 1))).all()
    rows = _ranked(found, limit)
    if len(rows) == len(found):
        return TopList(rows)
    last = rows[-1].points
    at, below = (await tx.session.execute(
        select(func.coalesce(func.sum(case((ScoreCount.points == last, ScoreCount.members),
                                           else_=0)), 0),
               func.coalesce(func.sum(case((ScoreCount.points < last, ScoreCount.members),
                                           else_=0)), 0))
        .where(ScoreCount.community_id == tx.community_id, ScoreCount.period == period,
               ScoreCount.points > 0, ScoreCount.points <= last))).one()
    return TopList(rows, int(at) - sum(1 for r in rows if r.points == last), int(below))


async def streak_top(tx: Tx, minimum: int, limit: int) -> TopList:
    """The longest current streaks of at least `minimum` days, ranked and cut as
    `board_top` does (ties in the order of the member id)."""
    found = (await tx.session.execute(
        select(Member.display_name, Member.external_id, Streak.current)
        .join(Member, Member.id == Streak.member_id)
        .where(Streak.community_id == tx.community_id, Streak.current >= minimum)
        .order_by(Streak.current.desc(), Streak.member_id)
        .limit(limit + TIE_ROOM + 1))).all()
    rows = _ranked(found, limit)
    if len(rows) == len(found):
        return TopList(rows, unit="day")
    last = rows[-1].points
    at, below = (await tx.session.execute(
        select(func.coalesce(func.sum(case((Streak.current == last, 1), else_=0)), 0),
               func.coalesce(func.sum(case((Streak.current < last, 1), else_=0)), 0))
        .where(Streak.community_id == tx.community_id, Streak.current >= minimum,
               Streak.current <= last))).one()
    return TopList(rows, int(at) - sum(1 for r in rows if r.points == last), int(below),
                   unit="day")


def _ranked(found: Sequence[Row[tuple[str | None, str, int]]], limit: int) -> list[Ranked]:
    """The rows `cut` keeps of (display name, platform id, score) rows read best first,
    with their shared ranks."""
    shown = found[:cut([score for _, _, score in found], limit)]
    ranks = shared_ranks([score for _, _, score in shown])
    return [Ranked(rank, name or external_id, int(score))
            for rank, (name, external_id, score) in zip(ranks, shown, strict=True)]
