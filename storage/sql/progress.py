"""Plain statements on what members accumulate: counters, achievements, streaks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.run import bucket, fetch, fetch_rows, in_list, in_params, rows_sql

__all__ = ["achievements_of", "put_streaks", "stats_of", "streaks_of", "upsert_add"]


@lru_cache(maxsize=2048)
def _upsert_add(table: str, keys: tuple[str, ...], value: str, rows: int) -> str:
    cols = (*keys, value)
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES {rows_sql(len(cols), rows)} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {value} = {table}.{value} + "
        f"excluded.{value} RETURNING {', '.join(keys)}, {value}")


async def upsert_add(session: AsyncSession, table: str, keys: tuple[str, ...], value: str,
                     rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Add each row's last value to the row with its keys (created when missing), in one
    statement; returns (keys..., new value) per row. Rows must have distinct keys."""
    for row in rows:
        if len(row) != len(keys) + 1:
            raise ValueError(f"upsert_add: a row of {len(row)} values for {len(keys) + 1}")
    return await fetch_rows(session, _upsert_add(table, keys, value, len(rows)), rows)


@lru_cache(maxsize=16)
def _stats_of(members: int) -> TextClause:
    return text("SELECT member_id, stat, value FROM member_stats WHERE community_id = "
                f":community_id AND member_id IN ({in_list('m', members)})")


async def stats_of(session: AsyncSession, community_id: int, members: Sequence[int]
                   ) -> dict[tuple[int, str], float]:
    """Every counter of these members, by (member, stat)."""
    if not members:
        return {}
    rows = await fetch(session, _stats_of(bucket(len(members))),
                       {**in_params("m", members), "community_id": community_id})
    return {(int(m), s): float(v) for m, s, v in rows}


@lru_cache(maxsize=16)
def _achievements_of(members: int) -> TextClause:
    return text("SELECT member_id, key, times FROM achievements WHERE community_id = "
                f":community_id AND member_id IN ({in_list('m', members)})")


async def achievements_of(session: AsyncSession, community_id: int, members: Sequence[int]
                          ) -> dict[tuple[int, str], int]:
    """How many times each of these members earned each achievement, by (member, key)."""
    if not members:
        return {}
    rows = await fetch(session, _achievements_of(bucket(len(members))),
                       {**in_params("m", members), "community_id": community_id})
    return {(int(m), k): int(t) for m, k, t in rows}


@lru_cache(maxsize=16)
def _streaks_of(members: int) -> TextClause:
    return text("SELECT member_id, current, longest, last_day FROM streaks WHERE community_id = "
                f":community_id AND member_id IN ({in_list('m', members)})")


async def streaks_of(session: AsyncSession, community_id: int, members: Sequence[int]
                     ) -> dict[int, tuple[int, int, date | None]]:
    """(current, longest, last day) of these members' streaks (members with none absent)."""
    if not members:
        return {}
    rows = await fetch(session, _streaks_of(bucket(len(members))),
                       {**in_params("m", members), "community_id": community_id})
    found: dict[int, tuple[int, int, date | None]] = {}
    for m, current, longest, last_day in rows:
        if isinstance(last_day, str):  # SQLite stores dates as ISO text
            last_day = date.fromisoformat(last_day)
        found[int(m)] = (int(current), int(longest), last_day)
    return found


_STREAK_COLUMNS = ("community_id", "member_id", "current", "longest", "last_day")


@lru_cache(maxsize=2048)
def _put_streaks(rows: int) -> str:
    return (f"INSERT INTO streaks ({', '.join(_STREAK_COLUMNS)}) VALUES "
            f"{rows_sql(len(_STREAK_COLUMNS), rows)} "
            "ON CONFLICT (community_id, member_id) DO UPDATE SET current = excluded.current, "
            "longest = excluded.longest, last_day = excluded.last_day")


_STREAK_TYPES = {_STREAK_COLUMNS.index("last_day"): Date()}


async def put_streaks(session: AsyncSession, rows: Sequence[tuple[int, int, int, int, date]]
                      ) -> None:
    """Write streaks (community, member, current, longest, last day) in one statement;
    members must be distinct."""
    if rows:
        await fetch_rows(session, _put_streaks(len(rows)), rows, _STREAK_TYPES)
