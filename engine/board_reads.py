"""The web leaderboard: a page of a board with each member's movement since last week,
and finding a member's page.

A page reads through the rank index like `/leaderboard` (`leaderboards.leaderboard`).
Movement compares each row's rank with the rank the member held:
- all time and this month: on the same board as it stood when this week began (its
  points less this week's, ranked against everyone's points at that moment, from a
  sorted copy built once per week and board, off the event loop);
- this week: on last week's board (its final standings, through the rank index).
"""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict
from datetime import timedelta

from sortedcontainers import SortedList

from engine import leaderboards
from engine.context import Tx, View
from engine.errors import InvalidInput
from engine.periods import period_bounds, period_key
from engine.ranking import RankIndex
from engine.views import BoardPage, MemberMatch, RankedRow
from storage.db import Database
from storage.plain_reads import PlainReader
from storage.sql.members import members_by_external_id
from storage.sql.run import off_loop
from storage.sql.web import find_members, points_before_period, standings_of_members, tied_before

__all__ = ["PAGE_SIZE", "WeekStartBoards", "board_page", "find_on_board"]

PAGE_SIZE = 100
MAX_SEARCH = 10


class WeekStartBoards:
    """Boards as they stood when this week began: sorted points, one copy per board and
    week, loaded when first asked (a million members take a second or two, read and
    sorted off the event loop), dropped oldest first."""

    def __init__(self, db: Database, max_boards: int = 16) -> None:
        self._db = db
        self._boards: OrderedDict[tuple[int, str, str], SortedList] = OrderedDict()
        self._max = max_boards
        self._lock = asyncio.Lock()

    async def rank_of(self, source: object, community_id: int, board: str, week: str,
                      points: int) -> int:
        """1 + how many members held more than `points` on `board` when `week` began."""
        key = (community_id, board, week)
        scores = self._boards.get(key)
        if scores is None:
            if isinstance(source, PlainReader):
                source.restart()  # hold no old snapshot while the copy loads
            async with self._lock:
                scores = self._boards.get(key)
                if scores is None:
                    async with self._db.session() as session, off_loop(session):
                        found = await points_before_period(session, community_id, board,
                                                           week)
                    scores = await asyncio.to_thread(SortedList, (-p for p in found))
                    self._boards[key] = scores
                    while len(self._boards) > self._max:
                        self._boards.popitem(last=False)
        self._boards.move_to_end(key)
        return int(scores.bisect_left(-points)) + 1


async def board_page(ctx: Tx | View, ranks: RankIndex, week_start: WeekStartBoards,
                     period: str, page: int, viewer_id: int | None) -> BoardPage:
    """One page of `period`'s board (PAGE_SIZE rows), each row with its movement."""
    board = await leaderboards.leaderboard(ctx, ranks, period, page, PAGE_SIZE, viewer_id)
    key = period_key(period, ctx.now, ctx.tz)
    week = period_key("week", ctx.now, ctx.tz)
    ids = await members_by_external_id(ctx.source, ctx.community_id,
                                       [r.member_external_id for r in board.rows
                                        if r.member_external_id])
    member_of = {ext: row[0] for ext, row in ids.items()}
    rows: list[RankedRow] = []
    if period == "week":
        last_week = period_key("week", ctx.now - timedelta(days=7), ctx.tz)
        before = await standings_of_members(ctx.source, ctx.community_id, [last_week],
                                            list(member_of.values()))
        compared = "last week's final board"
        for r in board.rows:
            m = member_of.get(r.member_external_id or "")
            old = before.get((m, last_week)) if m is not None else None
            if old is None:
                rows.append(_row(r, None, True))
                continue
            was = await ranks.count_above(ctx.source, ctx.community_id, last_week, old) + 1
            rows.append(_row(r, was - r.rank, False))
    else:
        compared = "the start of this week"
        bounds = period_bounds(period, ctx.now, ctx.tz)
        week_bounds = period_bounds("week", ctx.now, ctx.tz)
        assert week_bounds is not None
        if bounds is not None and bounds[0] >= week_bounds[0]:
            # This month began this week: there was no board to move on yet.
            return _page(board, [_row(r, None, True) for r in board.rows],
                         "the start of this month")
        found = await standings_of_members(ctx.source, ctx.community_id, [key, week],
                                           list(member_of.values()))
        for r in board.rows:
            m = member_of.get(r.member_external_id or "")
            now_points = found.get((m, key)) if m is not None else None
            this_week = found.get((m, week), 0) if m is not None else 0
            if now_points is None or (this_week and this_week == now_points):
                rows.append(_row(r, None, True))
                continue
            was = await week_start.rank_of(ctx.source, ctx.community_id, key, week,
                                           now_points - this_week)
            rows.append(_row(r, was - r.rank, False))
    return _page(board, rows, compared)


def _row(r: leaderboards.BoardRow, moved: int | None, new: bool) -> RankedRow:
    return RankedRow(r.rank, r.name, r.points, r.member_external_id, moved, new,
                     r.avatar_url)


def _page(board: leaderboards.Board, rows: list[RankedRow], compared: str) -> BoardPage:
    return BoardPage(board.period, board.label, rows, board.page, board.pages, board.members,
                     board.average, board.median, board.viewer, PAGE_SIZE, compared)


async def find_on_board(ctx: Tx | View, ranks: RankIndex, period: str, typed: str
                        ) -> list[MemberMatch]:
    """Members whose name starts with `typed` (or whose platform id it is), best first,
    each with their rank and the page of `period`'s board that shows them."""
    typed = (typed or "").strip()
    if not typed:
        raise InvalidInput("Type a name to look for.")
    if len(typed) > 100:
        raise InvalidInput("Names have 100 characters at most.")
    key = period_key(period, ctx.now, ctx.tz)
    matches = []
    for member_id, external_id, name, points in await find_members(
            ctx.source, ctx.community_id, key, typed, MAX_SEARCH):
        if points is None:
            matches.append(MemberMatch(external_id, name, 0, None, None))
            continue
        above = await ranks.count_above(ctx.source, ctx.community_id, key, points)
        # A score's members are listed in id order: those tied ahead come first.
        position = above + await tied_before(ctx.source, ctx.community_id, key, points,
                                              member_id)
        matches.append(MemberMatch(external_id, name, points, above + 1,
                                   math.floor(position / PAGE_SIZE) + 1))
    return matches
