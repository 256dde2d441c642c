"""Plain statements on the queues: votes waiting for their points, the outbox."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.run import bucket, fetch, fetch_rows, in_list, in_params, rows_sql, utc
from storage.tables import OutboxRow

__all__ = ["UnsettledRow", "claim_unsettled", "communities_unsettled", "has_unsettled",
           "insert_outbox_rows", "insert_unsettled", "queued_keys"]


@lru_cache(maxsize=16)
def _queued(keys: int) -> TextClause:
    return text("SELECT dedupe_key FROM outbox WHERE community_id = :community_id "
                f"AND dedupe_key IN ({in_list('k', keys)})")


async def queued_keys(session: AsyncSession, community_id: int, keys: Sequence[str]) -> set[str]:
    """Which of these announcement dedupe keys the community's outbox already holds."""
    if not keys:
        return set()
    rows = await fetch(session, _queued(bucket(len(keys))),
                       {**in_params("k", keys), "community_id": community_id})
    return {r[0] for r in rows}


_OUTBOX_COLUMNS = ("community_id", "kind", "channel_id", "member_external_id", "body",
                   "dedupe_key", "entry_id", "status", "attempts", "next_attempt_at",
                   "created_at")
_OUTBOX_TYPES = {_OUTBOX_COLUMNS.index(c): OutboxRow.__table__.c[c].type
                 for c in ("body", "next_attempt_at", "created_at")}


@lru_cache(maxsize=256)
def _insert_outbox(rows: int) -> str:
    return (f"INSERT INTO outbox ({', '.join(_OUTBOX_COLUMNS)}) VALUES "
            f"{rows_sql(len(_OUTBOX_COLUMNS), rows)} "
            "ON CONFLICT (community_id, dedupe_key) DO NOTHING")


async def insert_outbox_rows(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Outbox rows (values by column name) in one statement, in order; a row whose dedupe
    key the community has used already is skipped."""
    if rows:
        values = [[row[c] for c in _OUTBOX_COLUMNS] for row in rows]
        await fetch_rows(session, _insert_outbox(len(rows)), values, _OUTBOX_TYPES)


@lru_cache(maxsize=2048)
def _insert_unsettled(rows: int) -> str:
    return f"INSERT INTO unsettled_votes (vote_id, community_id) VALUES {rows_sql(2, rows)}"


async def insert_unsettled(session: AsyncSession, community_id: int, vote_ids: Sequence[int]
                           ) -> None:
    """Queue votes just counted for their points."""
    if vote_ids:
        await fetch_rows(session, _insert_unsettled(len(vote_ids)),
                         [(v, community_id) for v in vote_ids])


_HAS_UNSETTLED = text("SELECT 1 FROM unsettled_votes WHERE community_id = :c LIMIT 1")


async def has_unsettled(session: AsyncSession, community_id: int) -> bool:
    return bool(await fetch(session, _HAS_UNSETTLED, {"c": community_id}))


_UNSETTLED_COMMUNITIES = text("SELECT DISTINCT community_id FROM unsettled_votes")


async def communities_unsettled(session: AsyncSession) -> list[int]:
    """Communities with votes waiting for their points (after a restart)."""
    return [int(c) for (c,) in await fetch(session, _UNSETTLED_COMMUNITIES)]


@dataclass(frozen=True, slots=True)
class UnsettledRow:
    vote_id: int
    voter_id: int
    entry_id: int
    author_id: int
    cast_at: datetime
    entry_disqualified: bool


_OLDEST_UNSETTLED = text(
    "SELECT u.vote_id, v.voter_id, v.entry_id, e.member_id, v.cast_at, "
    "e.disqualified_reason IS NOT NULL FROM unsettled_votes u "
    "JOIN votes v ON v.id = u.vote_id JOIN entries e ON e.id = v.entry_id "
    "WHERE u.community_id = :c ORDER BY u.vote_id LIMIT :n")


@lru_cache(maxsize=16)
def _claim(rows: int) -> TextClause:
    return text(f"DELETE FROM unsettled_votes WHERE vote_id IN ({in_list('v', rows)}) "
                "RETURNING vote_id")


async def claim_unsettled(session: AsyncSession, community_id: int, limit: int
                          ) -> list[UnsettledRow]:
    """Take the community's oldest votes waiting for their points, in vote order. The
    rows are deleted here: another transaction claiming the same votes waits for this
    one and then finds them gone (PostgreSQL), so each vote is claimed once."""
    found = await fetch(session, _OLDEST_UNSETTLED, {"c": community_id, "n": limit})
    if not found:
        return []
    taken = {int(v) for (v,) in await fetch(
        session, _claim(bucket(len(found))), in_params("v", [int(r[0]) for r in found]))}
    return [UnsettledRow(int(v), int(voter), int(entry), int(author), utc(at), bool(dq))
            for v, voter, entry, author, at, dq in found if int(v) in taken]
