"""Rank indexes: "how many members score higher than X" without counting every member.

The ledger and the standings table stay the truth; an index only answers rank questions.
`MemoryRankIndex` keeps one sorted multiset of scores per board in process (SQLite, one
bot process) and answers in O(log n); `SqlRankIndex` asks the database each time (several
processes sharing PostgreSQL).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sortedcontainers import SortedList
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engine.context import RankChange
from storage.db import Database
from storage.tables import Standing

__all__ = ["BoardStats", "MemoryRankIndex", "RankIndex", "SqlRankIndex"]


@dataclass(frozen=True, slots=True)
class BoardStats:
    members: int
    average: float
    median: float


class RankIndex(Protocol):
    async def count_above(
        self, session: AsyncSession, community_id: int, period: str, points: int
    ) -> int: ...

    async def stats(self, session: AsyncSession, community_id: int, period: str) -> BoardStats: ...

    async def points_at(
        self, session: AsyncSession, community_id: int, period: str, position: int
    ) -> int | None:
        """The score at 0-based `position` from the top (None past the end)."""
        ...

    def apply(self, changes: Iterable[RankChange]) -> None:
        """Called after a commit with the standings that moved."""
        ...


def _board_query(community_id: int, period: str):  # type: ignore[no-untyped-def]
    return select(Standing.points).where(
        Standing.community_id == community_id, Standing.period == period
    )


class SqlRankIndex:
    async def count_above(
        self, session: AsyncSession, community_id: int, period: str, points: int
    ) -> int:
        n = await session.scalar(
            select(func.count()).where(
                Standing.community_id == community_id,
                Standing.period == period,
                Standing.points > points,
            )
        )
        return int(n or 0)

    async def stats(self, session: AsyncSession, community_id: int, period: str) -> BoardStats:
        n, total = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(Standing.points), 0)).where(
                    Standing.community_id == community_id, Standing.period == period
                )
            )
        ).one()
        if not n:
            return BoardStats(0, 0.0, 0.0)
        mid = (n - 1) // 2
        rows = (
            await session.scalars(
                _board_query(community_id, period)
                .order_by(Standing.points).offset(mid).limit(2 - n % 2)
            )
        ).all()
        return BoardStats(int(n), float(total) / n, sum(rows) / len(rows))

    async def points_at(
        self, session: AsyncSession, community_id: int, period: str, position: int
    ) -> int | None:
        return await session.scalar(
            _board_query(community_id, period)
            .order_by(Standing.points.desc()).offset(position).limit(1)
        )

    def apply(self, changes: Iterable[RankChange]) -> None:
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

    async def _board(self, _session: AsyncSession, community_id: int, period: str) -> _Board:
        key = (community_id, period)
        board = self._boards.get(key)
        if board is None:
            # Load under the write lock in a fresh session: no commit can land between
            # the snapshot and the board going live, so none is missed or applied twice.
            async with self._db.write_lock(), self._db.session() as session:
                board = self._boards.get(key)
                if board is None:
                    scores = (await session.scalars(_board_query(community_id, period))).all()
                    board = self._boards[key] = _Board(scores)
            while len(self._boards) > self._max:
                self._boards.popitem(last=False)
        self._boards.move_to_end(key)
        return board

    async def count_above(
        self, session: AsyncSession, community_id: int, period: str, points: int
    ) -> int:
        board = await self._board(session, community_id, period)
        return int(board.scores.bisect_left(-points))

    async def stats(self, session: AsyncSession, community_id: int, period: str) -> BoardStats:
        board = await self._board(session, community_id, period)
        n = len(board.scores)
        if not n:
            return BoardStats(0, 0.0, 0.0)
        mid = n // 2
        median = -board.scores[mid] if n % 2 else -(board.scores[mid - 1] + board.scores[mid]) / 2
        return BoardStats(n, board.total / n, float(median))

    async def points_at(
        self, session: AsyncSession, community_id: int, period: str, position: int
    ) -> int | None:
        board = await self._board(session, community_id, period)
        return -board.scores[position] if 0 <= position < len(board.scores) else None

    def apply(self, changes: Iterable[RankChange]) -> None:
        for ch in changes:
            key = (ch.community_id, ch.period)
            board = self._boards.get(key)
            if board is None:
                continue  # not loaded: it will be read fresh when first asked
            if ch.old is not None:
                if -ch.old not in board.scores:
                    # The board disagrees with the database (standings rebuilt under it):
                    # drop it so the next read loads the truth.
                    del self._boards[key]
                    continue
                board.scores.remove(-ch.old)
                board.total -= ch.old
            board.scores.add(-ch.new)
            board.total += ch.new

    def forget(self, community_id: int) -> None:
        for key in [k for k in self._boards if k[0] == community_id]:
            del self._boards[key]
