"""How rare each achievement is: the share of a community's ranked members who earned it.

Counting a community's achievements reads one row per member and achievement held, so
the counts are kept for a minute per community: pages show them, no rule depends on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import func, select

from engine.context import Tx
from storage.tables import Achievement

__all__ = ["Rarity"]

KEEP_FOR = 60.0  # seconds


class Rarity:
    """Per community, how many members hold each achievement (counted at most once a
    minute)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[int, tuple[float, dict[str, int]]] = {}

    async def counts(self, tx: Tx) -> dict[str, int]:
        known = self._counts.get(tx.community_id)
        if known is not None and self._clock() - known[0] < KEEP_FOR:
            return known[1]
        rows = (await tx.session.execute(
            select(Achievement.key, func.count())
            .where(Achievement.community_id == tx.community_id, Achievement.times > 0)
            .group_by(Achievement.key))).all()
        counts = {str(k): int(n) for k, n in rows}
        self._counts[tx.community_id] = (self._clock(), counts)
        return counts

    def forget(self, community_id: int) -> None:
        self._counts.pop(community_id, None)

    @staticmethod
    def percent(holders: int, members: int) -> float:
        """Holders as a share of the members, in percent (0 with no members)."""
        return round(100.0 * holders / members, 1) if members else 0.0
