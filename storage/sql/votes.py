"""Plain statements on votes and their counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.run import (
    Source,
    bucket,
    dialect_of,
    fetch,
    fetch_rows,
    in_list,
    in_params,
    marks,
    rows_sql,
    utc,
)
from storage.types import UTCDateTime

__all__ = ["bump_counts", "existing_votes", "insert_votes", "set_reactions", "vote_entries",
           "vote_reactions"]


@lru_cache(maxsize=32)
def _vote_entries(n: int, lock: bool) -> TextClause:
    return text(
        "SELECT e.id, e.member_id, e.disqualified_reason, n.votes, e.channel_id, "
        "e.message_id, c.id, c.name, c.phase, c.vote_emoji, c.early_votes, "
        "c.voting_close_at, c.submissions_close_at FROM entries e "
        "JOIN challenges c ON c.id = e.challenge_id "
        "JOIN vote_counts n ON n.entry_id = e.id "
        f"WHERE e.community_id = :c AND e.message_id IN ({in_list('m', n)}) ORDER BY e.id"
        + (" FOR KEY SHARE OF e FOR SHARE OF c" if lock else ""))


async def vote_entries(session: Source, community_id: int, message_ids: Sequence[str], *,
                       lock: bool = False) -> list[tuple[Any, ...]]:
    """The entries posted as these messages with their challenges' voting rules, in entry
    id order; times come back as aware UTC datetimes. `lock` (PostgreSQL): the challenges
    are share-locked (a tally locks them exclusively) and the entries key-share-locked (a
    disqualification locks them exclusively) until the commit, so what is read holds."""
    if not message_ids:
        return []
    lock = lock and await dialect_of(session) != "sqlite"
    rows = await fetch(session, _vote_entries(bucket(len(message_ids)), lock),
                       {"c": community_id, **in_params("m", list(message_ids))})
    times: dict[Any, datetime | None] = {None: None}  # a few challenges' times, many rows
    for r in rows:
        for at in r[11:13]:
            if at not in times:
                times[at] = utc(at)
    return [(*r[:11], times[r[11]], times[r[12]]) for r in rows]


@lru_cache(maxsize=256)
def _existing(pairs: int) -> str:
    one = f"(entry_id = {marks(1)} AND voter_id = {marks(1)})"
    wanted = " OR ".join([one] * pairs)
    return f"SELECT entry_id, voter_id FROM votes WHERE {wanted}"


async def existing_votes(session: AsyncSession, pairs: Sequence[tuple[int, int]]
                         ) -> set[tuple[int, int]]:
    """Which of these (entry, voter) votes exist."""
    if not pairs:
        return set()
    rows = await fetch_rows(session, _existing(len(pairs)), list(pairs))
    return {(int(e), int(v)) for e, v in rows}


_VOTE_COLUMNS = ("community_id", "challenge_id", "entry_id", "voter_id", "cast_at",
                 "reactions")


@lru_cache(maxsize=2048)
def _insert_votes(rows: int) -> str:
    return (f"INSERT INTO votes ({', '.join(_VOTE_COLUMNS)}) VALUES "
            f"{rows_sql(len(_VOTE_COLUMNS), rows)} "
            "ON CONFLICT (entry_id, voter_id) DO NOTHING RETURNING id, entry_id, voter_id")


_VOTE_TYPES = {_VOTE_COLUMNS.index("cast_at"): UTCDateTime()}


async def insert_votes(session: AsyncSession, rows: Sequence[Sequence[Any]]
                       ) -> dict[tuple[int, int], int]:
    """Insert votes (community, challenge, entry, voter, cast at, reactions) in one
    statement, in order; returns the id of each inserted vote by (entry, voter). Existing
    pairs are skipped (absent from the result)."""
    result = await fetch_rows(session, _insert_votes(len(rows)), rows, _VOTE_TYPES)
    return {(int(e), int(v)): int(vote_id) for vote_id, e, v in result}


@lru_cache(maxsize=256)
def _reactions(pairs: int) -> str:
    one = f"(entry_id = {marks(1)} AND voter_id = {marks(1)})"
    return f"SELECT entry_id, voter_id, reactions FROM votes WHERE {' OR '.join([one] * pairs)}"


async def vote_reactions(session: AsyncSession, pairs: Sequence[tuple[int, int]]
                         ) -> dict[tuple[int, int], str]:
    """The reactions recorded on these (entry, voter) votes (votes that exist only)."""
    if not pairs:
        return {}
    rows = await fetch_rows(session, _reactions(len(pairs)), list(pairs))
    return {(int(e), int(v)): str(r or "") for e, v, r in rows}


_SET_REACTIONS = text("UPDATE votes SET reactions = :reactions WHERE entry_id = :entry "
                      "AND voter_id = :voter")


async def set_reactions(session: AsyncSession, rows: Sequence[tuple[int, int, str]]) -> None:
    """Record the reactions (entry, voter, reactions) of existing votes."""
    for entry, voter, reactions in rows:
        await fetch(session, _SET_REACTIONS, {"entry": entry, "voter": voter,
                                              "reactions": reactions})


@lru_cache(maxsize=2048)
def _bump_counts(rows: int) -> str:
    cases = " ".join([f"WHEN {marks(1)} THEN {marks(1)}"] * rows)
    return (f"UPDATE vote_counts SET votes = votes + CASE entry_id {cases} ELSE 0 END "
            f"WHERE entry_id IN ({marks(rows)}) RETURNING entry_id, votes")


@lru_cache(maxsize=16)
def _lock_counts(rows: int) -> TextClause:
    return text(f"SELECT entry_id FROM vote_counts WHERE entry_id IN ({in_list('e', rows)}) "
                "ORDER BY entry_id FOR NO KEY UPDATE")


async def bump_counts(session: AsyncSession, added: Mapping[int, int]) -> dict[int, int]:
    """Add `added[entry]` to each entry's vote count; returns the new counts. The rows
    are locked in entry id order first (PostgreSQL): an UPDATE locks rows in the order
    its plan meets them, which two concurrent batches need not share."""
    ids = sorted(added)
    if not ids:
        return {}
    if await dialect_of(session) != "sqlite":
        await fetch(session, _lock_counts(bucket(len(ids))), in_params("e", ids))
    rows = [[entry_id, added[entry_id]] for entry_id in ids]
    result = await fetch_rows(session, _bump_counts(len(ids)), rows, extra=ids)
    return {int(entry_id): int(votes) for entry_id, votes in result}
