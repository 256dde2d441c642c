"""Hot-path statements as plain SQL on the session's connection.

The ORM's `session.execute()` of an INSERT/UPDATE entity statement costs far more Python
than the database spends on the row (entity setup, RETURNING bookkeeping, synchronising
loaded objects), and SQLAlchemy does not cache the compiled form of `ON CONFLICT`
statements. The few statements every vote and award runs are written here once, in the
SQL that SQLite (3.35+) and PostgreSQL share, and run on the session's connection, inside
the caller's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Dialect, TextClause, bindparam, text
from sqlalchemy.engine import Result
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sqlite_inline import InlineConnection
from storage.types import UTCDateTime

__all__ = [
    "INSERT_VOTE",
    "LEDGER_COLUMNS",
    "board_page",
    "bump_entry_votes",
    "execute",
    "existing_standings",
    "fetch",
    "get_streak",
    "insert_ledger_rows",
    "member_id",
    "others_above",
    "paid_votes",
    "put_streak",
    "standing_points",
    "top_scores",
    "upsert_add",
    "used_keys",
]

INSERT_VOTE = text(
    "INSERT INTO votes (community_id, challenge_id, entry_id, voter_id, cast_at) "
    "VALUES (:community_id, :challenge_id, :entry_id, :voter_id, :cast_at) "
    "ON CONFLICT (entry_id, voter_id) DO NOTHING RETURNING id"
).bindparams(bindparam("cast_at", type_=UTCDateTime()))

# Only while the entry stands: a disqualification committed by another process since the
# entry was read turns the vote down (the UPDATE re-reads the row it waited for).
_BUMP_ENTRY = text("UPDATE entries SET votes = votes + 1 "
                   "WHERE id = :id AND disqualified_reason IS NULL RETURNING votes")

LEDGER_COLUMNS = ("community_id", "member_id", "delta", "balance_after", "reason", "reference",
                  "note", "awarded_by", "idempotency_key", "period_at", "created_at")
_TIMES = ("period_at", "created_at")


async def execute(session: AsyncSession, statement: Any, params: Mapping[str, Any] | None = None
                  ) -> Result[Any]:
    """Run a Core statement on the session's connection (no ORM processing)."""
    conn = await session.connection()
    return await conn.execute(statement, params or {})


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    names: tuple[str, ...]
    processors: dict[str, Callable[[Any], Any]]


_prepared: dict[tuple[TextClause, str], _Prepared] = {}

# Called with (sql, parameters) before each `fetch`: how the benchmarks EXPLAIN these too.
statement_listeners: list[Callable[[str, Sequence[Any]], None]] = []


def _prepare(statement: TextClause, dialect: Dialect) -> _Prepared:
    key = (statement, dialect.name)
    found = _prepared.get(key)
    if found is None:
        compiled = statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        processors = {}
        for name in names:
            proc = compiled.binds[name].type._cached_bind_processor(dialect)
            if proc is not None:
                processors[name] = proc
        found = _prepared[key] = _Prepared(compiled.string, names, processors)
    return found


async def fetch(session: AsyncSession, statement: TextClause,
                params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Run a plain-SQL statement with the driver itself; returns its rows as tuples.

    Parameters still go through their column types (times as the ORM stores them). On
    SQLite's inline connection this is one sqlite3 call (microseconds); elsewhere the
    driver-level execute, which skips SQLAlchemy's statement and result machinery.
    """
    conn = await session.connection()
    prepared = _prepare(statement, conn.dialect)
    values = params or {}
    args = [prepared.processors[n](values[n]) if n in prepared.processors else values[n]
            for n in prepared.names]
    for listener in statement_listeners:
        listener(prepared.sql, args)
    raw = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    if isinstance(raw, InlineConnection):
        try:
            return raw.run(prepared.sql, args)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(prepared.sql, args, exc, sqlite3.Error) from exc
    result = await conn.exec_driver_sql(prepared.sql, tuple(args))
    return [tuple(r) for r in result.all()] if result.returns_rows else []


async def bump_entry_votes(session: AsyncSession, entry_id: int) -> int | None:
    """The entry's new vote count, or None when it has been disqualified."""
    rows = await fetch(session, _BUMP_ENTRY, {"id": entry_id})
    return int(rows[0][0]) if rows else None


@lru_cache(maxsize=64)
def _upsert_add(table: str, keys: tuple[str, ...], value: str, rows: int) -> TextClause:
    cols = (*keys, value)
    values = ", ".join("(" + ", ".join(f":{c}_{i}" for c in cols) + ")" for i in range(rows))
    return text(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES {values} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {value} = {table}.{value} + "
        f"excluded.{value} RETURNING {', '.join(keys)}, {value}")


async def upsert_add(session: AsyncSession, table: str, keys: tuple[str, ...], value: str,
                     rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Add each row's last value to the row with its keys (created when missing), in one
    statement; returns (keys..., new value) per row. Rows must have distinct keys."""
    cols = (*keys, value)
    params = {f"{c}_{i}": v for i, row in enumerate(rows) for c, v in zip(cols, row, strict=True)}
    return await fetch(session, _upsert_add(table, keys, value, len(rows)), params)


@lru_cache(maxsize=32)
def _insert_ledger(rows: int) -> TextClause:
    values = ", ".join("(" + ", ".join(f":{c}_{i}" for c in LEDGER_COLUMNS) + ")"
                       for i in range(rows))
    return text(
        f"INSERT INTO ledger ({', '.join(LEDGER_COLUMNS)}) VALUES {values} "
        "RETURNING id, idempotency_key"
    ).bindparams(*(bindparam(f"{c}_{i}", type_=UTCDateTime()) for i in range(rows)
                   for c in _TIMES))


async def insert_ledger_rows(session: AsyncSession, rows: Sequence[Mapping[str, Any]]
                             ) -> dict[str, int]:
    """Insert ledger rows in one statement; returns each row's id by idempotency key."""
    params = {f"{c}_{i}": row[c] for i, row in enumerate(rows) for c in LEDGER_COLUMNS}
    result = await fetch(session, _insert_ledger(len(rows)), params)
    return {key: int(row_id) for row_id, key in result}


_PAID_VOTES = text(
    "SELECT coalesce(sum(CASE WHEN delta > 0 THEN 1 ELSE -1 END), 0) FROM ledger "
    "WHERE community_id = :community_id AND member_id = :member_id AND reason = 'vote_cast' "
    "AND period_at >= :start AND period_at < :end"
).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))


async def paid_votes(session: AsyncSession, community_id: int, member_id: int, start: Any,
                     end: Any) -> int:
    """Vote points paid to a member in [start, end): payments less their reversals."""
    rows = await fetch(session, _PAID_VOTES, {"community_id": community_id,
                                              "member_id": member_id, "start": start,
                                              "end": end})
    return int(rows[0][0] or 0)


@lru_cache(maxsize=64)
def _used_keys(n: int) -> TextClause:
    keys = ", ".join(f":k_{i}" for i in range(n))
    return text("SELECT idempotency_key FROM ledger WHERE community_id = :community_id "
                f"AND idempotency_key IN ({keys})")


async def used_keys(session: AsyncSession, community_id: int, keys: Sequence[str]) -> set[str]:
    """Which of these idempotency keys the community's ledger already holds."""
    params: dict[str, Any] = {f"k_{i}": k for i, k in enumerate(keys)}
    params["community_id"] = community_id
    return {r[0] for r in await fetch(session, _used_keys(len(keys)), params)}


@lru_cache(maxsize=64)
def _existing_standings(members: int, periods: int) -> TextClause:
    m = ", ".join(f":m_{i}" for i in range(members))
    p = ", ".join(f":p_{i}" for i in range(periods))
    return text("SELECT member_id, period FROM standings WHERE community_id = :community_id "
                f"AND member_id IN ({m}) AND period IN ({p})")


async def existing_standings(session: AsyncSession, community_id: int, members: Sequence[int],
                             periods: Sequence[str]) -> set[tuple[int, str]]:
    """The (member, period) standings rows that exist among these."""
    params: dict[str, Any] = {f"m_{i}": m for i, m in enumerate(members)}
    params.update({f"p_{i}": p for i, p in enumerate(periods)})
    params["community_id"] = community_id
    rows = await fetch(session, _existing_standings(len(members), len(periods)), params)
    return {(int(m), p) for m, p in rows}


_STREAK_GET = text("SELECT current, longest, last_day FROM streaks "
                   "WHERE community_id = :community_id AND member_id = :member_id")
_STREAK_PUT = text(
    "INSERT INTO streaks (community_id, member_id, current, longest, last_day) "
    "VALUES (:community_id, :member_id, :current, :longest, :last_day) "
    "ON CONFLICT (community_id, member_id) DO UPDATE SET current = excluded.current, "
    "longest = excluded.longest, last_day = excluded.last_day"
).bindparams(bindparam("last_day", type_=Date()))


async def get_streak(session: AsyncSession, community_id: int, member_id: int
                     ) -> tuple[int, int, date | None] | None:
    """(current, longest, last day) of a member's streak, or None before their first."""
    rows = await fetch(session, _STREAK_GET, {"community_id": community_id,
                                              "member_id": member_id})
    if not rows:
        return None
    current, longest, last_day = rows[0]
    if isinstance(last_day, str):  # SQLite stores dates as ISO text
        last_day = date.fromisoformat(last_day)
    return int(current), int(longest), last_day


async def put_streak(session: AsyncSession, community_id: int, member_id: int, current: int,
                     longest: int, last_day: date) -> None:
    await fetch(session, _STREAK_PUT, {"community_id": community_id, "member_id": member_id,
                                       "current": current, "longest": longest,
                                       "last_day": last_day})


_MEMBER_ID = text("SELECT id FROM members WHERE community_id = :community_id "
                  "AND external_id = :external_id")
_POINTS = text("SELECT points FROM standings WHERE community_id = :community_id "
               "AND period = :period AND member_id = :member_id")
_PAGE = ("SELECT s.points, m.external_id, m.display_name FROM standings s "
         "JOIN members m ON m.id = s.member_id "
         "WHERE s.community_id = :community_id AND s.period = :period{} "
         "ORDER BY s.points DESC, s.member_id LIMIT :limit OFFSET :offset")
_PAGE_TOP = text(_PAGE.format(""))
_PAGE_FROM = text(_PAGE.format(" AND s.points <= :first"))


async def member_id(session: AsyncSession, community_id: int, external_id: str) -> int | None:
    rows = await fetch(session, _MEMBER_ID, {"community_id": community_id,
                                             "external_id": external_id})
    return int(rows[0][0]) if rows else None


async def standing_points(session: AsyncSession, community_id: int, period: str,
                          member: int) -> int | None:
    rows = await fetch(session, _POINTS, {"community_id": community_id, "period": period,
                                          "member_id": member})
    return int(rows[0][0]) if rows else None


async def board_page(session: AsyncSession, community_id: int, period: str, limit: int,
                     offset: int, first: int | None = None) -> list[tuple[Any, ...]]:
    """(points, external id, display name) from `offset`, best first, ties by member id;
    with `first`, only rows scoring at most `first` (the offset counts from there)."""
    params = {"community_id": community_id, "period": period, "limit": limit,
              "offset": offset}
    if first is None:
        return await fetch(session, _PAGE_TOP, params)
    return await fetch(session, _PAGE_FROM, {**params, "first": first})


_TOP_SCORES = text("SELECT points FROM standings WHERE community_id = :community_id "
                   "AND period = 'all' ORDER BY points DESC LIMIT :limit")
_ABOVE = text("SELECT count(*) FROM (SELECT 1 FROM standings WHERE community_id = "
              ":community_id AND period = 'all' AND points > :points AND member_id <> "
              ":member_id LIMIT :limit) AS above")


async def top_scores(session: AsyncSession, community_id: int, limit: int) -> list[int]:
    """The best `limit` all-time balances, best first (an index walk of `limit` rows)."""
    rows = await fetch(session, _TOP_SCORES, {"community_id": community_id, "limit": limit})
    return [int(r[0]) for r in rows]


async def others_above(session: AsyncSession, community_id: int, member: int, points: int,
                       limit: int) -> int:
    """How many other members have more than `points` all time, counting at most `limit`."""
    rows = await fetch(session, _ABOVE, {"community_id": community_id, "points": points,
                                         "member_id": member, "limit": limit})
    return int(rows[0][0])
