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
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Dialect, TextClause, bindparam, text
from sqlalchemy.engine import Result
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from engine.clock import ensure_utc
from storage.plain_reads import PlainReader
from storage.sqlite_inline import InlineConnection
from storage.tables import Community
from storage.types import UTCDateTime

__all__ = [
    "INSERT_VOTE",
    "LEDGER_COLUMNS",
    "Source",
    "achievements_of",
    "balances_of",
    "board_page",
    "board_scores",
    "bump_entries_votes",
    "bump_entry_votes",
    "community_row",
    "execute",
    "existing_standings",
    "fetch",
    "get_streak",
    "insert_ledger_rows",
    "insert_votes",
    "lock_members",
    "member_id",
    "others_above",
    "paid_votes",
    "paid_votes_of",
    "put_streak",
    "put_streaks",
    "queued_keys",
    "standing_points",
    "stats_of",
    "streaks_of",
    "top_members",
    "top_scores",
    "upsert_add",
    "used_keys",
]

INSERT_VOTE = text(
    "INSERT INTO votes (community_id, challenge_id, entry_id, voter_id, cast_at) "
    "VALUES (:community_id, :challenge_id, :entry_id, :voter_id, :cast_at) "
    "ON CONFLICT (entry_id, voter_id) DO NOTHING RETURNING id"
).bindparams(bindparam("cast_at", type_=UTCDateTime()))

_BUMP_ENTRY = text("UPDATE vote_counts SET votes = votes + 1 WHERE entry_id = :id "
                   "RETURNING votes")

LEDGER_COLUMNS = ("community_id", "member_id", "delta", "balance_after", "reason", "reference",
                  "note", "awarded_by", "idempotency_key", "period_at", "created_at")
_TIMES = ("period_at", "created_at")


async def execute(session: AsyncSession, statement: Any, params: Mapping[str, Any] | None = None
                  ) -> Result[Any]:
    """Run a Core statement on the session's connection (no ORM processing)."""
    conn = await _connection(session)
    return await conn.execute(statement, params or {})


# Where a plain read runs: a session's connection, or a session-less reader (SQLite files).
Source = AsyncSession | PlainReader


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


async def fetch(session: Source, statement: TextClause,
                params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Run a plain-SQL statement with the driver itself; returns its rows as tuples.

    Parameters still go through their column types (times as the ORM stores them). On
    SQLite's inline connection or a plain reader this is one sqlite3 call (microseconds);
    elsewhere the driver-level execute, which skips SQLAlchemy's statement and result
    machinery.
    """
    values = params or {}
    if isinstance(session, PlainReader):
        prepared = _prepare(statement, session.dialect)
        return _run_now(session.run, prepared.sql, _args(prepared, values))
    conn = await _connection(session)
    prepared = _prepare(statement, conn.dialect)
    return await _run_sql(conn, prepared.sql, _args(prepared, values))


def _args(prepared: _Prepared, values: Mapping[str, Any]) -> list[Any]:
    return [prepared.processors[n](values[n]) if n in prepared.processors else values[n]
            for n in prepared.names]


async def _connection(session: AsyncSession) -> AsyncConnection:
    """The session's connection, remembered for its current (nested) transaction: asking
    the session each time costs a greenlet switch per statement, more than a small SQLite
    statement. Asked again in a new savepoint, whose SAVEPOINT the asking emits."""
    sync = session.sync_session
    current = (sync.get_transaction(), sync.get_nested_transaction())
    known = session.info.get("fastsql.connection")
    # An inactive transaction (a failed flush) goes back to the session, which says so.
    if known is not None and current[0] is not None and current[0].is_active \
            and known[0] == current:
        return known[1]  # type: ignore[no-any-return]
    conn = await session.connection()
    session.info["fastsql.connection"] = ((sync.get_transaction(),
                                           sync.get_nested_transaction()), conn)
    return conn


def _run_now(run: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]], sql: str,
             args: list[Any]) -> list[tuple[Any, ...]]:
    """A sqlite3 statement run at once, its errors raised as SQLAlchemy raises them."""
    for listener in statement_listeners:
        listener(sql, args)
    try:
        return run(sql, args)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, args, exc, sqlite3.Error) from exc


async def _run_sql(conn: AsyncConnection, sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
    raw = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    if isinstance(raw, InlineConnection):
        return _run_now(raw.run, sql, args)
    for listener in statement_listeners:
        listener(sql, args)
    result = await conn.exec_driver_sql(sql, tuple(args))
    return [tuple(r) for r in result.all()] if result.returns_rows else []


# -- Statements of many rows, written for the driver directly ---------------------------
#
# A multi-row statement has one text per row count; compiling each through SQLAlchemy
# (a regular-expression pass and a bind parameter object per value) cost far more than
# running it. These are built as strings, once per row count and paramstyle, with `\x00`
# marking each parameter, and their values go through the column types' bind processors.

_MARK = "\x00"


@lru_cache(maxsize=2048)
def _styled(sql: str, paramstyle: str) -> str:
    if paramstyle == "qmark":
        return sql.replace(_MARK, "?")
    if paramstyle in ("numeric_dollar", "format", "pyformat"):
        parts = sql.split(_MARK)
        out = [parts[0]]
        for i, part in enumerate(parts[1:], start=1):
            out.append(f"${i}" if paramstyle == "numeric_dollar" else "%s")
            out.append(part)
        return "".join(out)
    raise NotImplementedError(f"paramstyle {paramstyle}")


def _processor(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    key = (type(type_), dialect.name)
    if key not in _processors:
        _processors[key] = type_._cached_bind_processor(dialect)
    return _processors[key]


_processors: dict[tuple[type, str], Callable[[Any], Any] | None] = {}


def _marks(n: int) -> str:
    return ", ".join([_MARK] * n)


def _rows_sql(columns: int, rows: int) -> str:
    return ", ".join([f"({_marks(columns)})"] * rows)


async def _fetch_rows(session: AsyncSession, sql: str, rows: Sequence[Sequence[Any]],
                      types: Mapping[int, Any] | None = None, extra: Sequence[Any] = ()
                      ) -> list[tuple[Any, ...]]:
    """Run `sql` (parameters marked) with each row's values in order, then `extra`;
    `types` maps a column position to the type whose bind processor it goes through."""
    conn = await _connection(session)
    procs = {i: _processor(t, conn.dialect) for i, t in (types or {}).items()}
    procs = {i: p for i, p in procs.items() if p is not None}
    args: list[Any] = []
    if not procs:
        for row in rows:
            args.extend(row)
    else:
        # A batch's rows share a few distinct typed values (one vote time): converting
        # each once was a tenth of a vote batch's Python.
        done: dict[tuple[Any, ...], Any] = {}
        for row in rows:
            row = list(row)
            for i, process in procs.items():
                row[i] = _converted(done, i, row[i], process)
            args.extend(row)
    args.extend(extra)
    return await _run_sql(conn, _styled(sql, conn.dialect.paramstyle), args)


def _converted(done: dict[tuple[Any, ...], Any], column: int, value: Any,
               process: Callable[[Any], Any]) -> Any:
    try:
        # Equal values of other types (1 and True) or times apart by a fold convert apart.
        key = (column, type(value), value, getattr(value, "fold", 0))
        if key not in done:
            done[key] = process(value)
        return done[key]
    except TypeError:  # unhashable (a JSON payload)
        return process(value)


# A vote counts only while its entry stands. A disqualification holds the entry row (and
# its count row) until it commits, and a vote's insert waits for it there (the foreign
# key's key share), so once a bump is done, a disqualification committed meanwhile by
# another process shows in the next statement (PostgreSQL's read committed). SQLite has
# one writer: what the batch read when it began still holds.
@lru_cache(maxsize=2048)
def _disqualified(entries: int) -> str:
    return (f"SELECT id FROM entries WHERE id IN ({_marks(entries)}) "
            "AND disqualified_reason IS NOT NULL")


async def _disqualified_meanwhile(session: AsyncSession, entry_ids: Sequence[int]
                                  ) -> set[int]:
    if not entry_ids or (await _connection(session)).dialect.name == "sqlite":
        return set()
    rows = await _fetch_rows(session, _disqualified(len(entry_ids)), [], extra=entry_ids)
    return {int(entry_id) for (entry_id,) in rows}


async def bump_entry_votes(session: AsyncSession, entry_id: int) -> int | None:
    """The entry's new vote count, or None when it has been disqualified."""
    rows = await fetch(session, _BUMP_ENTRY, {"id": entry_id})
    if not rows or await _disqualified_meanwhile(session, [entry_id]):
        return None
    return int(rows[0][0])


@lru_cache(maxsize=2048)
def _upsert_add(table: str, keys: tuple[str, ...], value: str, rows: int) -> str:
    cols = (*keys, value)
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES {_rows_sql(len(cols), rows)} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {value} = {table}.{value} + "
        f"excluded.{value} RETURNING {', '.join(keys)}, {value}")


async def upsert_add(session: AsyncSession, table: str, keys: tuple[str, ...], value: str,
                     rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Add each row's last value to the row with its keys (created when missing), in one
    statement; returns (keys..., new value) per row. Rows must have distinct keys."""
    for row in rows:
        if len(row) != len(keys) + 1:
            raise ValueError(f"upsert_add: a row of {len(row)} values for {len(keys) + 1}")
    return await _fetch_rows(session, _upsert_add(table, keys, value, len(rows)), rows)


@lru_cache(maxsize=2048)
def _insert_ledger(rows: int) -> str:
    return (f"INSERT INTO ledger ({', '.join(LEDGER_COLUMNS)}) VALUES "
            f"{_rows_sql(len(LEDGER_COLUMNS), rows)} RETURNING id, idempotency_key")


_LEDGER_TYPES = {LEDGER_COLUMNS.index(c): UTCDateTime() for c in _TIMES}


async def insert_ledger_rows(session: AsyncSession, rows: Sequence[Mapping[str, Any]]
                             ) -> dict[str, int]:
    """Insert ledger rows in one statement; returns each row's id by idempotency key."""
    values = [[row[c] for c in LEDGER_COLUMNS] for row in rows]
    result = await _fetch_rows(session, _insert_ledger(len(rows)), values, _LEDGER_TYPES)
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


@lru_cache(maxsize=2048)
def _used_keys(n: int) -> str:
    return (f"SELECT idempotency_key FROM ledger WHERE idempotency_key IN ({_marks(n)}) "
            f"AND community_id = {_MARK}")


async def used_keys(session: AsyncSession, community_id: int, keys: Sequence[str]) -> set[str]:
    """Which of these idempotency keys the community's ledger already holds."""
    rows = await _fetch_rows(session, _used_keys(len(keys)), [keys], extra=[community_id])
    return {r[0] for r in rows}


@lru_cache(maxsize=2048)
def _existing_standings(members: int, periods: int) -> str:
    return ("SELECT member_id, period FROM standings WHERE "
            f"member_id IN ({_marks(members)}) "
            f"AND period IN ({_marks(periods)}) AND community_id = {_MARK}")


async def existing_standings(session: AsyncSession, community_id: int, members: Sequence[int],
                             periods: Sequence[str]) -> set[tuple[int, str]]:
    """The (member, period) standings rows that exist among these."""
    rows = await _fetch_rows(session, _existing_standings(len(members), len(periods)),
                             [members, periods], extra=[community_id])
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


# Every column, so any change to the row is seen (a column added later included).
_COMMUNITY_ROW = text(f"SELECT {', '.join(c.name for c in Community.__table__.columns)} "
                      "FROM communities WHERE id = :id")
_MEMBER_ID = text("SELECT id FROM members WHERE community_id = :community_id "
                  "AND external_id = :external_id")
_POINTS = text("SELECT points FROM standings WHERE community_id = :community_id "
               "AND period = :period AND member_id = :member_id")
_PAGE_FROM = text("SELECT s.points, m.external_id, m.display_name FROM standings s "
                  "JOIN members m ON m.id = s.member_id "
                  "WHERE s.community_id = :community_id AND s.period = :period "
                  "AND s.points <= :first AND s.points >= :last "
                  "ORDER BY s.points DESC, s.member_id LIMIT :limit")


async def community_row(session: Source, community_id: int) -> tuple[Any, ...] | None:
    """The community's columns as the driver returns them (compared, not interpreted)."""
    rows = await fetch(session, _COMMUNITY_ROW, {"id": community_id})
    return rows[0] if rows else None


async def member_id(session: Source, community_id: int, external_id: str) -> int | None:
    rows = await fetch(session, _MEMBER_ID, {"community_id": community_id,
                                             "external_id": external_id})
    return int(rows[0][0]) if rows else None


async def standing_points(session: Source, community_id: int, period: str,
                          member: int) -> int | None:
    rows = await fetch(session, _POINTS, {"community_id": community_id, "period": period,
                                          "member_id": member})
    return int(rows[0][0]) if rows else None


async def board_page(session: Source, community_id: int, period: str, first: int,
                     last: int, limit: int) -> list[tuple[Any, ...]]:
    """(points, external id, display name) of the first `limit` members scoring from
    `first` down to `last`, best first, ties by member id: one range of the index, the
    members of each score in it sorted (keep ties small). The lower bound tells
    PostgreSQL's planner how small the range is (without it, it plans parallel workers)."""
    return await fetch(session, _PAGE_FROM, {"community_id": community_id,
                                             "period": period, "first": first,
                                             "last": last, "limit": limit})


_BOARD_SCORES = text("SELECT points FROM standings WHERE community_id = :community_id "
                     "AND period = :period")


async def board_scores(session: Source, community_id: int, period: str) -> list[int]:
    """Every score on a board, in no order (an in-process rank index loads it)."""
    rows = await fetch(session, _BOARD_SCORES, {"community_id": community_id,
                                                "period": period})
    return [r[0] for r in rows]  # integer columns: the drivers return ints


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


# -- The standings histogram (`standings_histogram`: members per score of each board) ---

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


_HIST = "FROM standings_histogram WHERE community_id = :community_id AND period = :period"
_COUNT_ABOVE = text(f"SELECT coalesce(sum(members), 0) {_HIST} AND points > :points")
# The two middle scores: walking up from the lowest score, the first whose running count
# passes the lower middle position, and the next (`t`: the board's size and sum).
_MEDIAN_WALK = (f"SELECT points, cum FROM (SELECT points, sum(members) OVER (ORDER BY points) "
                f"AS cum {_HIST}) AS lo WHERE cum > ((SELECT n FROM t) - 1) / 2 "
                "ORDER BY points LIMIT 2")
_TOTALS = (f"t AS (SELECT coalesce(sum(members), 0) AS n, "
           f"coalesce(sum(CAST(points AS BIGINT) * members), 0) AS w {_HIST})")
_BOARD_STATS = text(f"WITH {_TOTALS} SELECT m.points, m.cum, (SELECT n FROM t), "
                    f"(SELECT w FROM t) FROM ({_MEDIAN_WALK}) AS m")
_SCORE_GROUPS = text(
    "SELECT points, members, cum FROM (SELECT points, members, "
    f"sum(members) OVER (ORDER BY points DESC) AS cum {_HIST}) AS h "
    "WHERE cum > :offset ORDER BY points DESC LIMIT :limit")


async def count_scores_above(session: Source, community_id: int, period: str,
                             points: int) -> int:
    """Members of the board with more than `points` (one row read per distinct score)."""
    rows = await fetch(session, _COUNT_ABOVE, {"community_id": community_id,
                                               "period": period, "points": points})
    return int(rows[0][0])


async def score_stats(session: Source, community_id: int, period: str
                      ) -> tuple[int, int, float]:
    """(members, sum of points, median) of a board from its histogram; zeros when empty."""
    rows = await fetch(session, _BOARD_STATS, {"community_id": community_id,
                                               "period": period})
    if not rows:
        return 0, 0, 0.0
    n, total = int(rows[0][2]), int(rows[0][3])
    low = int(rows[0][0])
    high = low if int(rows[0][1]) > n // 2 else int(rows[1][0])
    return n, total, (low + high) / 2


async def score_groups(session: Source, community_id: int, period: str, offset: int,
                       limit: int) -> list[tuple[int, int, int]]:
    """(points, members, members at or above) of the distinct scores from the one at
    0-based `offset` from the top, best first, at most `limit` of them."""
    rows = await fetch(session, _SCORE_GROUPS, {"community_id": community_id,
                                                "period": period, "offset": offset,
                                                "limit": limit})
    return [(int(p), int(m), int(c)) for p, m, c in rows]


SMALL_GROUP = 64  # members of one score that a page read may sort


@lru_cache(maxsize=512)
def _group_page(backwards: tuple[bool, ...]) -> TextClause:
    parts = " UNION ALL ".join(
        f"SELECT * FROM (SELECT points, member_id FROM standings WHERE community_id = "
        f":community_id AND period = :period AND points = :s_{i} ORDER BY member_id"
        f"{' DESC' if back else ''} LIMIT :l_{i} OFFSET :o_{i}) AS g{i}"
        for i, back in enumerate(backwards))
    return text(f"SELECT g.points, m.external_id, m.display_name FROM ({parts}) AS g "
                "JOIN members m ON m.id = g.member_id ORDER BY g.points DESC, g.member_id")


async def board_groups(session: Source, community_id: int, period: str,
                       groups: Sequence[tuple[int, int, int, int]]) -> list[tuple[Any, ...]]:
    """(points, external id, display name) of a page given as score groups: for each
    (points, members, skip, take), the members holding exactly that score in member id
    order, skipping `skip` and taking `take`. Each group is an index range read, walked
    from whichever end of the group is nearer: no sort of a group, however many members
    share its score, and at most half of it skipped."""
    if not groups:
        return []
    if groups[0][2] == 0 and all(members <= SMALL_GROUP for _, members, _, _ in groups):
        # Small groups from a group's start (the top of a board, usually): one range of
        # the index, its few tied members sorted, instead of one read per group.
        return await board_page(session, community_id, period, groups[0][0], groups[-1][0],
                                sum(take for _, _, _, take in groups))
    params: dict[str, Any] = {"community_id": community_id, "period": period}
    backwards = []
    for i, (points, members, skip, take) in enumerate(groups):
        from_end = members - skip - take
        backwards.append(from_end < skip)
        params.update({f"s_{i}": points, f"o_{i}": min(skip, from_end), f"l_{i}": take})
    return await fetch(session, _group_page(tuple(backwards)), params)


__all__ += ["board_groups", "bump_score_counts", "count_scores_above", "score_groups",
            "score_stats", "upsert_standings_pg"]


# -- a batch of votes as a handful of statements (engine/votes.py `cast_batch`) ------------
#
# IN lists are padded to a power of two (repeating the last value) so a few compiled and
# prepared statements serve every batch size; multi-row inserts cannot be padded and are
# cached per row count.

def _bucket(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _in_list(prefix: str, n: int) -> str:
    return ", ".join(f":{prefix}_{i}" for i in range(n))


def _in_params(prefix: str, values: Sequence[Any]) -> dict[str, Any]:
    size = _bucket(len(values))
    padded = [*values, *[values[-1]] * (size - len(values))]
    return {f"{prefix}_{i}": v for i, v in enumerate(padded)}


_VOTE_COLUMNS = ("community_id", "challenge_id", "entry_id", "voter_id", "cast_at")


@lru_cache(maxsize=2048)
def _insert_votes(rows: int) -> str:
    return (f"INSERT INTO votes ({', '.join(_VOTE_COLUMNS)}) VALUES "
            f"{_rows_sql(len(_VOTE_COLUMNS), rows)} "
            "ON CONFLICT (entry_id, voter_id) DO NOTHING RETURNING id, entry_id, voter_id")


_VOTE_TYPES = {_VOTE_COLUMNS.index("cast_at"): UTCDateTime()}


async def insert_votes(session: AsyncSession, rows: Sequence[Sequence[Any]]
                       ) -> dict[tuple[int, int], int]:
    """Insert votes (community, challenge, entry, voter, cast at) in one statement, in
    order; returns the id of each inserted vote by (entry, voter). Existing pairs are
    skipped (absent from the result)."""
    result = await _fetch_rows(session, _insert_votes(len(rows)), rows, _VOTE_TYPES)
    return {(int(e), int(v)): int(vote_id) for vote_id, e, v in result}


@lru_cache(maxsize=2048)
def _bump_entries(rows: int) -> str:
    cases = " ".join([f"WHEN {_MARK} THEN {_MARK}"] * rows)
    return (f"UPDATE vote_counts SET votes = votes + CASE entry_id {cases} ELSE 0 END "
            f"WHERE entry_id IN ({_marks(rows)}) RETURNING entry_id, votes")


async def bump_entries_votes(session: AsyncSession, added: Mapping[int, int]) -> dict[int, int]:
    """Add `added[entry]` votes to each entry's count in one statement; returns the new
    counts of the entries still standing (one disqualified meanwhile is absent)."""
    ids = sorted(added)
    rows = [[entry_id, added[entry_id]] for entry_id in ids]
    result = await _fetch_rows(session, _bump_entries(len(ids)), rows, extra=ids)
    gone = await _disqualified_meanwhile(session, ids)
    return {int(entry_id): int(votes) for entry_id, votes in result if entry_id not in gone}


@lru_cache(maxsize=16)
def _paid_votes_of(members: int) -> TextClause:
    return text(
        "SELECT member_id, coalesce(sum(CASE WHEN delta > 0 THEN 1 ELSE -1 END), 0) FROM ledger "
        "WHERE community_id = :community_id AND reason = 'vote_cast' "
        f"AND member_id IN ({_in_list('m', members)}) "
        "AND period_at >= :start AND period_at < :end GROUP BY member_id"
    ).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))


async def paid_votes_of(session: AsyncSession, community_id: int, members: Sequence[int],
                        start: Any, end: Any) -> dict[int, int]:
    """`paid_votes` for several members at once (members paid nothing are absent)."""
    if not members:
        return {}
    rows = await fetch(session, _paid_votes_of(_bucket(len(members))), {
        **_in_params("m", members), "community_id": community_id, "start": start, "end": end})
    return {int(m): int(n or 0) for m, n in rows}


@lru_cache(maxsize=16)
def _balances_of(members: int) -> TextClause:
    return text("SELECT member_id, points FROM standings WHERE community_id = :community_id "
                f"AND period = 'all' AND member_id IN ({_in_list('m', members)})")


async def balances_of(session: AsyncSession, community_id: int, members: Sequence[int]
                      ) -> dict[int, int]:
    """All-time balances of these members (members with no standing are absent)."""
    rows = await fetch(session, _balances_of(_bucket(len(members))),
                       {**_in_params("m", members), "community_id": community_id})
    return {int(m): int(p) for m, p in rows}


_TOP_MEMBERS = text("SELECT member_id, points FROM standings WHERE community_id = :community_id "
                    "AND period = 'all' ORDER BY points DESC LIMIT :limit")


async def top_members(session: AsyncSession, community_id: int, limit: int
                      ) -> list[tuple[int, int]]:
    """(member, points) of `limit` best all-time balances (ties in no particular order)."""
    rows = await fetch(session, _TOP_MEMBERS, {"community_id": community_id, "limit": limit})
    return [(int(m), int(p)) for m, p in rows]


@lru_cache(maxsize=16)
def _stats_of(members: int) -> TextClause:
    return text("SELECT member_id, stat, value FROM member_stats WHERE community_id = "
                f":community_id AND member_id IN ({_in_list('m', members)})")


async def stats_of(session: AsyncSession, community_id: int, members: Sequence[int]
                   ) -> dict[tuple[int, str], float]:
    """Every counter of these members, by (member, stat)."""
    rows = await fetch(session, _stats_of(_bucket(len(members))),
                       {**_in_params("m", members), "community_id": community_id})
    return {(int(m), s): float(v) for m, s, v in rows}


@lru_cache(maxsize=16)
def _achievements_of(members: int) -> TextClause:
    return text("SELECT member_id, key, times FROM achievements WHERE community_id = "
                f":community_id AND member_id IN ({_in_list('m', members)})")


async def achievements_of(session: AsyncSession, community_id: int, members: Sequence[int]
                          ) -> dict[tuple[int, str], int]:
    """How many times each of these members earned each achievement, by (member, key)."""
    rows = await fetch(session, _achievements_of(_bucket(len(members))),
                       {**_in_params("m", members), "community_id": community_id})
    return {(int(m), k): int(t) for m, k, t in rows}


@lru_cache(maxsize=16)
def _streaks_of(members: int) -> TextClause:
    return text("SELECT member_id, current, longest, last_day FROM streaks WHERE community_id = "
                f":community_id AND member_id IN ({_in_list('m', members)})")


async def streaks_of(session: AsyncSession, community_id: int, members: Sequence[int]
                     ) -> dict[int, tuple[int, int, date | None]]:
    """`get_streak` for several members (members with no streak are absent)."""
    rows = await fetch(session, _streaks_of(_bucket(len(members))),
                       {**_in_params("m", members), "community_id": community_id})
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
            f"{_rows_sql(len(_STREAK_COLUMNS), rows)} "
            "ON CONFLICT (community_id, member_id) DO UPDATE SET current = excluded.current, "
            "longest = excluded.longest, last_day = excluded.last_day")


_STREAK_TYPES = {_STREAK_COLUMNS.index("last_day"): Date()}


async def put_streaks(session: AsyncSession, rows: Sequence[tuple[int, int, int, int, date]]
                      ) -> None:
    """`put_streak` for several members (community, member, current, longest, last day)
    in one statement; members must be distinct."""
    await _fetch_rows(session, _put_streaks(len(rows)), rows, _STREAK_TYPES)


@lru_cache(maxsize=16)
def _lock_members(members: int) -> TextClause:
    return text(f"SELECT id FROM members WHERE id IN ({_in_list('m', members)}) "
                "ORDER BY id FOR NO KEY UPDATE")


async def lock_members(session: AsyncSession, members: Sequence[int]) -> None:
    """`engine.members.lock_member` for several members, in id order (PostgreSQL only)."""
    await fetch(session, _lock_members(_bucket(len(members))),
                _in_params("m", sorted(members)))


# Everything a board read needs from the histogram, in one statement (one round trip, one
# snapshot). Rows by kind: 0 (members, sum of points); 5 (the viewer's points); 1 the two
# middle scores (points, running count from the lowest); 2 (members above the viewer),
# counted from whichever side of the median the viewer is on; 3 or 4 the page's score
# groups (points, members, running count), walked from the top for the upper half of the
# board and from the bottom for the lower half (the other branch is not run).
_BOARD_READ = text(
    f"WITH {_TOTALS}, "
    "v AS (SELECT points FROM standings WHERE community_id = :community_id "
    "AND period = :period AND member_id = :member_id) "
    "SELECT 0 AS kind, n AS a, w AS b, 0 AS c FROM t "
    "UNION ALL SELECT 5, points, 0, 0 FROM v "
    f"UNION ALL SELECT * FROM (SELECT 1, points, cum, 0 FROM ({_MEDIAN_WALK}) AS m1) AS m "
    "UNION ALL SELECT 2, CASE WHEN (SELECT points FROM v) IS NULL THEN 0 "
    f"WHEN (SELECT points FROM v) < (SELECT min(points) FROM ({_MEDIAN_WALK}) AS m2) "
    f"THEN (SELECT n FROM t) - (SELECT coalesce(sum(members), 0) {_HIST} "
    "AND points <= (SELECT points FROM v)) "
    f"ELSE (SELECT coalesce(sum(members), 0) {_HIST} AND points > (SELECT points FROM v)) END, "
    "0, 0 "
    "UNION ALL SELECT * FROM (SELECT 3, points, members, cum FROM (SELECT points, members, "
    f"sum(members) OVER (ORDER BY points DESC) AS cum {_HIST}) AS d "
    "WHERE 2 * :offset < (SELECT n FROM t) AND cum > :offset "
    "ORDER BY points DESC LIMIT :limit) AS g3 "
    "UNION ALL SELECT * FROM (SELECT 4, points, members, cum FROM (SELECT points, members, "
    f"sum(members) OVER (ORDER BY points) AS cum {_HIST}) AS u "
    "WHERE 2 * :offset >= (SELECT n FROM t) AND cum > (SELECT n FROM t) - :offset - :limit "
    "ORDER BY points LIMIT :limit) AS g4")


@dataclass(frozen=True, slots=True)
class BoardRead:
    """What one leaderboard read needs, from the histogram in one statement."""

    members: int
    total: int
    median: float
    points: int | None              # the viewer's points (None: not on the board)
    above: int                      # members above the viewer
    groups: list[tuple[int, int, int]]  # (points, members, members at or above) from the top


async def board_read(session: Source, community_id: int, period: str,
                     member: int | None, offset: int, limit: int) -> BoardRead:
    """A board's size, total and median, a member's points and how many are above them,
    and the distinct scores holding positions [offset, offset + limit), in one statement
    that reads histogram rows only (and the member's own standing)."""
    rows = await fetch(session, _BOARD_READ, {
        "community_id": community_id, "period": period, "member_id": member,
        "offset": offset, "limit": limit})
    by_kind: dict[int, list[tuple[Any, ...]]] = {}
    for kind, *values in rows:
        by_kind.setdefault(int(kind), []).append(tuple(values))
    n, total = int(by_kind[0][0][0]), int(by_kind[0][0][1])
    median = 0.0
    if n:
        (low, cum), *rest = [(int(p), int(c)) for p, c, _ in by_kind[1]]
        high = low if cum > n // 2 else int(rest[0][0])
        median = (low + high) / 2
    viewer = by_kind.get(5)
    points = int(viewer[0][0]) if viewer and viewer[0][0] is not None else None
    above = int(by_kind[2][0][0]) if points is not None else 0
    groups = [(int(p), int(m), int(c)) for p, m, c in by_kind.get(3, [])]
    if 4 in by_kind:  # walked up from the bottom: running counts from the lowest
        groups = sorted(((int(p), int(m), n - int(c) + int(m)) for p, m, c in by_kind[4]),
                        reverse=True)
        groups = [g for g in groups if g[2] > offset]
    return BoardRead(n, total, median, points, above, groups)


__all__ += ["BoardRead", "board_read"]


@lru_cache(maxsize=16)
def _queued(keys: int) -> TextClause:
    return text("SELECT dedupe_key FROM outbox WHERE community_id = :community_id "
                f"AND dedupe_key IN ({_in_list('k', keys)})")


async def queued_keys(session: AsyncSession, community_id: int, keys: Sequence[str]) -> set[str]:
    """Which of these announcement dedupe keys the community's outbox already holds."""
    if not keys:
        return set()
    rows = await fetch(session, _queued(_bucket(len(keys))),
                       {**_in_params("k", keys), "community_id": community_id})
    return {r[0] for r in rows}


_OUTBOX_COLUMNS = ("community_id", "kind", "channel_id", "member_external_id", "body",
                   "dedupe_key", "entry_id", "status", "attempts", "next_attempt_at",
                   "created_at")


@lru_cache(maxsize=256)
def _insert_outbox(rows: int) -> str:
    return (f"INSERT INTO outbox ({', '.join(_OUTBOX_COLUMNS)}) VALUES "
            f"{_rows_sql(len(_OUTBOX_COLUMNS), rows)} "
            "ON CONFLICT (community_id, dedupe_key) DO NOTHING")


def _outbox_types() -> dict[int, Any]:
    from storage.tables import OutboxRow

    columns = OutboxRow.__table__.c
    return {_OUTBOX_COLUMNS.index(c): columns[c].type
            for c in ("body", "next_attempt_at", "created_at")}


async def insert_outbox_rows(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """`engine.outbox.enqueue` for several rows (values by column name) in one statement,
    in order; a row whose dedupe key the community has used already is skipped."""
    values = [[row[c] for c in _OUTBOX_COLUMNS] for row in rows]
    await _fetch_rows(session, _insert_outbox(len(rows)), values, _outbox_types())


__all__ += ["insert_outbox_rows"]


# -- votes waiting for their points (engine/vote_points.py) -------------------------------

__all__ += ["UnsettledRow", "claim_unsettled", "communities_unsettled", "has_unsettled",
            "insert_unsettled"]


@lru_cache(maxsize=2048)
def _insert_unsettled(rows: int) -> str:
    return f"INSERT INTO unsettled_votes (vote_id, community_id) VALUES {_rows_sql(2, rows)}"


async def insert_unsettled(session: AsyncSession, community_id: int, vote_ids: Sequence[int]
                           ) -> None:
    """Mark votes just counted as waiting for their points."""
    if vote_ids:
        await _fetch_rows(session, _insert_unsettled(len(vote_ids)),
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
    cast_at: Any
    entry_disqualified: bool


_OLDEST_UNSETTLED = text(
    "SELECT u.vote_id, v.voter_id, v.entry_id, e.member_id, v.cast_at, "
    "e.disqualified_reason IS NOT NULL FROM unsettled_votes u "
    "JOIN votes v ON v.id = u.vote_id JOIN entries e ON e.id = v.entry_id "
    "WHERE u.community_id = :c ORDER BY u.vote_id LIMIT :n")


@lru_cache(maxsize=16)
def _claim(rows: int) -> TextClause:
    return text(f"DELETE FROM unsettled_votes WHERE vote_id IN ({_in_list('v', rows)}) "
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
        session, _claim(_bucket(len(found))), _in_params("v", [int(r[0]) for r in found]))}
    return [UnsettledRow(int(v), int(voter), int(entry), int(author), _utc(at), bool(dq))
            for v, voter, entry, author, at, dq in found if int(v) in taken]


def _utc(value: Any) -> datetime:
    """A stored time as the ORM returns it (SQLite's driver gives the text)."""
    return ensure_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


# -- what a batch of votes reads (engine/votes.py `prefetch`) -----------------------------

__all__ += ["vote_entries", "vote_members"]


@lru_cache(maxsize=16)
def _vote_members(n: int) -> TextClause:
    return text("SELECT id, external_id, display_name, is_bot FROM members "
                f"WHERE community_id = :c AND external_id IN ({_in_list('m', n)})")


async def vote_members(session: AsyncSession, community_id: int, external_ids: Sequence[str]
                       ) -> list[tuple[Any, ...]]:
    """(id, external id, display name, is bot) of the members among `external_ids`."""
    if not external_ids:
        return []
    return await fetch(session, _vote_members(_bucket(len(external_ids))),
                       {"c": community_id, **_in_params("m", list(external_ids))})


@lru_cache(maxsize=32)
def _vote_entries(n: int, share_lock: bool) -> TextClause:
    return text(
        "SELECT e.id, e.member_id, e.disqualified_reason, n.votes, e.channel_id, "
        "e.message_id, c.id, c.name, c.phase, c.vote_emoji, c.early_votes, "
        "c.voting_close_at, c.submissions_close_at FROM entries e "
        "JOIN challenges c ON c.id = e.challenge_id "
        "JOIN vote_counts n ON n.entry_id = e.id "
        f"WHERE e.community_id = :c AND e.message_id IN ({_in_list('m', n)}) ORDER BY e.id"
        + (" FOR SHARE OF c" if share_lock else ""))


async def vote_entries(session: AsyncSession, community_id: int, message_ids: Sequence[str]
                       ) -> list[tuple[Any, ...]]:
    """The entries posted as these messages with their challenges' voting rules; on
    PostgreSQL the challenges are share-locked (a tally locks them exclusively), so votes
    and the close of voting never interleave. Times come back as aware UTC datetimes."""
    if not message_ids:
        return []
    conn = await _connection(session)
    rows = await fetch(session, _vote_entries(_bucket(len(message_ids)),
                                              conn.dialect.name != "sqlite"),
                       {"c": community_id, **_in_params("m", list(message_ids))})
    times: dict[Any, datetime | None] = {None: None}  # a few challenges' times, many rows
    for r in rows:
        for at in r[11:13]:
            if at not in times:
                times[at] = _utc(at)
    return [(*r[:11], times[r[11]], times[r[12]]) for r in rows]
