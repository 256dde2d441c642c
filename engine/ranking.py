"""Rank indexes: "how many members score higher than X" without counting every member.

The ledger and the standings table stay the truth; an index only answers rank questions.
`MemoryRankIndex` keeps one sorted multiset of scores per board in process (SQLite, one
bot process) and answers in O(log n); `SqlRankIndex` asks the database each time (several
processes sharing PostgreSQL), reading the board's score histogram (`standings_histogram`:
one row per distinct score, kept in step by the ledger), never the board itself.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from typing import Protocol

from sortedcontainers import SortedList

from engine.context import RankMoved
from storage.db import Database
from storage.plain_reads import PlainReader
from storage.sql.boards import (
    board_read,
    board_scores,
    count_scores_above,
    score_groups,
    score_stats,
    standing_points,
)
from storage.sql.run import Source, off_loop

__all__ = ["BoardRead", "BoardStats", "MemoryRankIndex", "RankIndex", "ScoreGroup",
           "SqlRankIndex"]


@dataclass(frozen=True, slots=True)
class BoardStats:
    members: int
    average: float
    median: float


@dataclass(frozen=True, slots=True)
class ScoreGroup:
    """Part of a page: the `members` holding `points`, `above` of the board ahead of
    them; the page takes `take` of them in member id order after skipping `skip`."""

    points: int
    members: int
    above: int
    skip: int
    take: int

    @property
    def rank(self) -> int:
        return self.above + 1


@dataclass(frozen=True, slots=True)
class BoardRead:
    """One read of a board: its figures, a member's points and rank, a page's groups."""

    stats: BoardStats
    points: int | None  # the member's points (None: not on this board)
    above: int          # members with more points than the member
    groups: list[ScoreGroup]


class RankIndex(Protocol):
    async def count_above(
        self, source: Source, community_id: int, period: str, points: int
    ) -> int: ...

    async def stats(self, source: Source, community_id: int, period: str) -> BoardStats: ...

    async def points_at(
        self, source: Source, community_id: int, period: str, position: int
    ) -> int | None:
        """The score at 0-based `position` from the top (None past the end)."""
        ...

    async def groups(
        self, source: Source, community_id: int, period: str, offset: int, limit: int
    ) -> list[ScoreGroup]:
        """The score groups covering 0-based positions [offset, offset + limit), best
        first (empty past the end)."""
        ...

    async def read(
        self, source: Source, community_id: int, period: str, member_id: int | None,
        offset: int, limit: int,
    ) -> BoardRead:
        """The board's figures, the member's points and rank, and the score groups of
        positions [offset, offset + limit)."""
        ...

    def moved(self, change: RankMoved) -> None:
        """Called after a commit for each standing that moved."""
        ...


def _split(offset: int, limit: int, counts: Iterable[tuple[int, int, int]]) -> list[ScoreGroup]:
    """Score groups of positions [offset, offset + limit) from (points, members, members
    ahead) of consecutive distinct scores, the first holding position `offset`."""
    groups: list[ScoreGroup] = []
    position, end = offset, offset + limit
    for points, members, above in counts:
        if position >= end:
            break
        take = min(above + members, end) - position
        groups.append(ScoreGroup(points, members, above, position - above, take))
        position += take
    return groups


class SqlRankIndex:
    """Reads the score histogram: each answer reads one row per distinct score at most."""

    async def count_above(
        self, source: Source, community_id: int, period: str, points: int
    ) -> int:
        return await count_scores_above(source, community_id, period, points)

    async def stats(self, source: Source, community_id: int, period: str) -> BoardStats:
        n, total, median = await score_stats(source, community_id, period)
        if not n:
            return BoardStats(0, 0.0, 0.0)
        return BoardStats(n, total / n, median)

    async def points_at(
        self, source: Source, community_id: int, period: str, position: int
    ) -> int | None:
        if position < 0:
            return None
        found = await score_groups(source, community_id, period, position, 1)
        return found[0][0] if found else None

    async def groups(
        self, source: Source, community_id: int, period: str, offset: int, limit: int
    ) -> list[ScoreGroup]:
        found = await score_groups(source, community_id, period, offset, limit)
        return _split(offset, limit, ((p, m, cum - m) for p, m, cum in found))

    async def read(
        self, source: Source, community_id: int, period: str, member_id: int | None,
        offset: int, limit: int,
    ) -> BoardRead:
        # One statement, one snapshot: the figures, the rank and the page agree.
        found = await board_read(source, community_id, period, member_id, offset, limit)
        stats = BoardStats(found.members, found.total / found.members, found.median) \
            if found.members else BoardStats(0, 0.0, 0.0)
        groups = _split(offset, limit, ((p, m, cum - m) for p, m, cum in found.groups))
        return BoardRead(stats, found.points, found.above, groups)

    def moved(self, change: RankMoved) -> None:
        return None


class _Board:
    __slots__ = ("scores", "total")

    def __init__(self, scores: Iterable[int]) -> None:
        # Negated so the list runs from the highest score down.
        self.scores: SortedList = SortedList(-s for s in scores)
        self.total = -sum(self.scores)


class MemoryRankIndex:
    """Sorted score multisets, loaded lazily per board and kept current after commits."""

    def __init__(self, db: Database, max_boards: int = 64) -> None:
        self._db = db
        self._boards: OrderedDict[tuple[int, str], _Board] = OrderedDict()
        self._max = max_boards

    async def _board(self, source: Source, community_id: int, period: str) -> _Board:
        key = (community_id, period)
        board = self._boards.get(key)
        if board is None:
            if isinstance(source, PlainReader):
                # Commits may land while the board loads: the reader's next statements
                # must see them too, or its page would not match the board.
                source.restart()
            # Load under the write lock in a fresh session: no commit can land between
            # the snapshot and the board going live, so none is missed or applied twice.
            async with self._db.write_lock(), self._db.session() as session:
                board = self._boards.get(key)
                if board is None:
                    # Plain rows, read and sorted off the event loop: a million scores
                    # take a second or two, which must not stall the bot.
                    async with off_loop(session):
                        scores = await board_scores(session, community_id, period)
                    board = self._boards[key] = await asyncio.to_thread(_Board, scores)
            while len(self._boards) > self._max:
                self._boards.popitem(last=False)
        self._boards.move_to_end(key)
        return board

    async def count_above(
        self, source: Source, community_id: int, period: str, points: int
    ) -> int:
        board = await self._board(source, community_id, period)
        return int(board.scores.bisect_left(-points))

    async def stats(self, source: Source, community_id: int, period: str) -> BoardStats:
        board = await self._board(source, community_id, period)
        n = len(board.scores)
        if not n:
            return BoardStats(0, 0.0, 0.0)
        mid = n // 2
        median = -board.scores[mid] if n % 2 else -(board.scores[mid - 1] + board.scores[mid]) / 2
        return BoardStats(n, board.total / n, float(median))

    async def points_at(
        self, source: Source, community_id: int, period: str, position: int
    ) -> int | None:
        board = await self._board(source, community_id, period)
        return -board.scores[position] if 0 <= position < len(board.scores) else None

    async def groups(
        self, source: Source, community_id: int, period: str, offset: int, limit: int
    ) -> list[ScoreGroup]:
        board = await self._board(source, community_id, period)
        scores = board.scores
        if offset < 0:
            return []
        page = list(scores.islice(offset, offset + limit))
        end = offset + len(page)

        def counts() -> Iterable[tuple[int, int, int]]:
            # Only a group at an edge of the page may reach beyond it; the others are
            # counted from the page itself, which saves two bisections of the board each.
            position = offset
            for negated, run in groupby(page):
                taken = sum(1 for _ in run)
                if position == offset or position + taken == end:
                    above = scores.bisect_left(negated)
                    members = scores.bisect_right(negated) - above
                else:
                    above, members = position, taken
                yield -negated, members, above
                position += taken

        return _split(offset, limit, counts())

    async def read(
        self, source: Source, community_id: int, period: str, member_id: int | None,
        offset: int, limit: int,
    ) -> BoardRead:
        stats = await self.stats(source, community_id, period)
        points = None if member_id is None else await standing_points(
            source, community_id, period, member_id)
        above = 0 if points is None else await self.count_above(
            source, community_id, period, points)
        groups = await self.groups(source, community_id, period, offset, limit)
        return BoardRead(stats, points, above, groups)

    def moved(self, change: RankMoved) -> None:
        key = (change.community_id, change.period)
        board = self._boards.get(key)
        if board is None:
            return  # not loaded: it will be read fresh when first asked
        if change.old is not None:
            if -change.old not in board.scores:
                # The board disagrees with the database (standings rebuilt under it):
                # drop it so the next read loads the truth.
                del self._boards[key]
                return
            board.scores.remove(-change.old)
            board.total -= change.old
        board.scores.add(-change.new)
        board.total += change.new

    def forget(self, community_id: int) -> None:
        for key in [k for k in self._boards if k[0] == community_id]:
            del self._boards[key]
