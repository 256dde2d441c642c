"""How rare each achievement is: the share of a community's ranked members who earned it.

The holders of each achievement are counted as they unlock it (`achievement_holders`,
kept by `achievements._try_unlock` in the unlocking transaction), so a page reads one
row per achievement held, exact at once, however many members the community has.
"""

from __future__ import annotations

from engine.context import Tx
from storage.sql.achievement_holders import holders

__all__ = ["Rarity"]


class Rarity:
    """Per community, how many members hold each achievement."""

    async def counts(self, tx: Tx) -> dict[str, int]:
        return await holders(tx.source, tx.community_id)

    @staticmethod
    def percent(holders: int, members: int) -> float:
        """Holders as a share of the members, in percent (0 with no members)."""
        return round(100.0 * holders / members, 1) if members else 0.0
