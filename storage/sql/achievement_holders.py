"""How many members of a community hold each achievement: a small aggregate of
`achievements`, kept in step with it in the transaction that unlocks one for the first
time (`add_holder`), so rarity reads one row per achievement, not one per member."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.progress import upsert_add
from storage.sql.run import Source, fetch

__all__ = ["add_holder", "holders"]

_HOLDERS = text("SELECT key, holders FROM achievement_holders WHERE community_id = :c")


async def add_holder(session: AsyncSession, community_id: int, key: str) -> None:
    """One more member holds the achievement `key`."""
    await upsert_add(session, "achievement_holders", ("community_id", "key"), "holders",
                     [(community_id, key, 1)])


async def holders(source: Source, community_id: int) -> dict[str, int]:
    """Members holding each achievement held by anyone in the community."""
    rows = await fetch(source, _HOLDERS, {"c": community_id})
    return {str(k): int(n) for k, n in rows if n}
