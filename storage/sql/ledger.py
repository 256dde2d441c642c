"""Plain statements on the ledger, the standings it feeds and their score histogram."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.progress import upsert_add
from storage.sql.run import bucket, fetch, fetch_rows, in_list, in_params, marks, rows_sql
from storage.types import UTCDateTime

__all__ = ["LEDGER_COLUMNS", "balances_of", "bump_score_counts", "existing_standings",
           "insert_ledger_rows", "signed_counts", "upsert_standings_pg", "used_keys"]

LEDGER_COLUMNS = ("community_id", "member_id", "delta", "balance_after", "reason", "reference",
                  "note", "awarded_by", "idempotency_key", "period_at", "created_at")
_TIMES = ("period_at", "created_at")


@lru_cache(maxsize=2048)
def _insert_ledger(rows: int) -> str:
    return (f"INSERT INTO ledger ({', '.join(LEDGER_COLUMNS)}) VALUES "
            f"{rows_sql(len(LEDGER_COLUMNS), rows)} RETURNING id, idempotency_key")


_LEDGER_TYPES = {LEDGER_COLUMNS.index(c): UTCDateTime() for c in _TIMES}


async def insert_ledger_rows(session: AsyncSession, rows: Sequence[Mapping[str, Any]]
                             ) -> dict[str, int]:
    """Insert ledger rows in one statement; returns each row's id by idempotency key."""
    values = [[row[c] for c in LEDGER_COLUMNS] for row in rows]
    result = await fetch_rows(session, _insert_ledger(len(rows)), values, _LEDGER_TYPES)
    return {key: int(row_id) for row_id, key in result}


@lru_cache(maxsize=16)
def _signed_counts(members: int) -> TextClause:
    return text(
        "SELECT member_id, sum(CASE WHEN delta > 0 THEN 1 ELSE 0 END), "
        "sum(CASE WHEN delta < 0 THEN 1 ELSE 0 END) FROM ledger "
        "WHERE community_id = :community_id AND reason = :reason "
        f"AND member_id IN ({in_list('m', members)}) "
        "AND period_at >= :start AND period_at < :end GROUP BY member_id"
    ).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))


async def signed_counts(session: AsyncSession, community_id: int, reason: str,
                        members: Sequence[int], start: datetime, end: datetime
                        ) -> dict[int, tuple[int, int]]:
    """For each of these members, how many of their ledger rows with `reason` in
    [start, end) added points and how many took points away (members with none absent)."""
    if not members:
        return {}
    rows = await fetch(session, _signed_counts(bucket(len(members))), {
        **in_params("m", members), "community_id": community_id, "reason": reason,
        "start": start, "end": end})
    return {int(m): (int(up or 0), int(down or 0)) for m, up, down in rows}


@lru_cache(maxsize=2048)
def _used_keys(n: int) -> str:
    return (f"SELECT idempotency_key FROM ledger WHERE idempotency_key IN ({marks(n)}) "
            f"AND community_id = {marks(1)}")


async def used_keys(session: AsyncSession, community_id: int, keys: Sequence[str]) -> set[str]:
    """Which of these idempotency keys the community's ledger already holds."""
    rows = await fetch_rows(session, _used_keys(len(keys)), [keys], extra=[community_id])
    return {r[0] for r in rows}


@lru_cache(maxsize=2048)
def _existing_standings(members: int, periods: int) -> str:
    return ("SELECT member_id, period FROM standings WHERE "
            f"member_id IN ({marks(members)}) "
            f"AND period IN ({marks(periods)}) AND community_id = {marks(1)}")


async def existing_standings(session: AsyncSession, community_id: int, members: Sequence[int],
                             periods: Sequence[str]) -> set[tuple[int, str]]:
    """The (member, period) standings rows that exist among these."""
    rows = await fetch_rows(session, _existing_standings(len(members), len(periods)),
                            [members, periods], extra=[community_id])
    return {(int(m), p) for m, p in rows}


@lru_cache(maxsize=512)
def _upsert_standings_pg(rows: int) -> TextClause:
    values = ", ".join(f"(:community_id, :p_{i}, :m_{i}, :d_{i})" for i in range(rows))
    # `xmax = 0` holds for a row this statement inserted and not for one it updated (the
    # update leaves the updater's id there): whether the standing is new, race-free, where
    # a read beforehand could miss a row another transaction is inserting.
    return text(
        f"INSERT INTO standings (community_id, period, member_id, points) VALUES {values} "
        "ON CONFLICT (community_id, period, member_id) DO UPDATE SET points = "
        "standings.points + excluded.points RETURNING period, member_id, points, xmax = 0")


async def upsert_standings_pg(session: AsyncSession, community_id: int,
                              rows: Sequence[tuple[str, int, int]]
                              ) -> list[tuple[str, int, int, bool]]:
    """PostgreSQL: add each (period, member, delta) to its standing in one statement;
    returns (period, member, new points, created) per row. Rows must have distinct keys."""
    params: dict[str, Any] = {"community_id": community_id}
    for i, (period, member, delta) in enumerate(rows):
        params.update({f"p_{i}": period, f"m_{i}": member, f"d_{i}": delta})
    result = await fetch(session, _upsert_standings_pg(len(rows)), params)
    return [(p, int(m), int(points), bool(created)) for p, m, points, created in result]


@lru_cache(maxsize=512)
def _drop_empty_scores(n: int) -> TextClause:
    pairs = " OR ".join(f"(period = :p_{i} AND points = :s_{i})" for i in range(n))
    return text("DELETE FROM standings_histogram WHERE community_id = :community_id "
                f"AND members = 0 AND ({pairs})")


async def bump_score_counts(session: AsyncSession, community_id: int,
                            changes: Mapping[tuple[str, int], int]) -> None:
    """Add each (period, points) → members change to the histogram in one upsert, then
    delete the scores nobody holds any more (a second statement, only when some emptied).
    Changes are applied in key order, so concurrent transactions lock rows in one order."""
    keys = sorted(k for k, v in changes.items() if v)
    if not keys:
        return
    rows = [(community_id, period, points, changes[(period, points)])
            for period, points in keys]
    after = await upsert_add(session, "standings_histogram",
                             ("community_id", "period", "points"), "members", rows)
    empty = [(p, s) for _, p, s, members in after if members == 0]
    if empty:
        params: dict[str, Any] = {"community_id": community_id}
        for i, (period, points) in enumerate(empty):
            params.update({f"p_{i}": period, f"s_{i}": points})
        await fetch(session, _drop_empty_scores(len(empty)), params)


@lru_cache(maxsize=16)
def _balances_of(members: int) -> TextClause:
    return text("SELECT member_id, points FROM standings WHERE community_id = :community_id "
                f"AND period = :period AND member_id IN ({in_list('m', members)})")


async def balances_of(session: AsyncSession, community_id: int, period: str,
                      members: Sequence[int]) -> dict[int, int]:
    """These members' points on the board `period` (members with no standing are absent)."""
    if not members:
        return {}
    rows = await fetch(session, _balances_of(bucket(len(members))),
                       {**in_params("m", members), "community_id": community_id,
                        "period": period})
    return {int(m): int(p) for m, p in rows}
