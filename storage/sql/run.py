"""Running plain SQL on a session's connection, without the ORM's per-statement cost.

The ORM's `session.execute()` of an INSERT/UPDATE entity statement costs far more Python
than the database spends on the row, and SQLAlchemy does not cache the compiled form of
`ON CONFLICT` statements. The few statements every vote and award runs are written in the
sibling modules (one per aggregate) in the SQL that SQLite (3.35+) and PostgreSQL share,
and run here on the session's connection, inside the caller's transaction.

Everything here is plumbing: no rule of Laurels lives in `storage/`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect, TextClause
from sqlalchemy.engine import Result
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.types import TypeEngine

from storage.plain_reads import PlainReader
from storage.sqlite_inline import InlineConnection, on_worker_thread
from storage.types import ensure_utc

__all__ = [
    "Source",
    "bind_processor",
    "bucket",
    "dialect_of",
    "execute",
    "fetch",
    "fetch_rows",
    "in_list",
    "in_params",
    "marks",
    "off_loop",
    "rows_sql",
    "statement_listeners",
    "utc",
]

# Where a plain read runs: a session's connection, or a session-less reader (SQLite files).
Source = AsyncSession | PlainReader

# Called with (sql, parameters) before each statement: how the benchmarks EXPLAIN these.
statement_listeners: list[Callable[[str, Sequence[Any]], None]] = []


def bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The function converting a Python value for `type_` on `dialect`, cached per type
    and dialect (`TypeEngine.bind_processor` is public and builds a new one each call)."""
    key = (type(type_), dialect.name)
    if key not in _processors:
        _processors[key] = type_.bind_processor(dialect)
    return _processors[key]


_processors: dict[tuple[type, str], Callable[[Any], Any] | None] = {}


async def execute(session: AsyncSession, statement: Any, params: Mapping[str, Any] | None = None
                  ) -> Result[Any]:
    """Run a Core statement on the session's connection (no ORM processing)."""
    conn = await _connection(session)
    return await conn.execute(statement, params or {})


async def dialect_of(session: Source) -> str:
    """'sqlite' or 'postgresql'."""
    if isinstance(session, PlainReader):
        return str(session.dialect.name)
    return str((await _connection(session)).dialect.name)


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    names: tuple[str, ...]
    processors: dict[str, Callable[[Any], Any]]


_prepared: dict[tuple[TextClause, str], _Prepared] = {}


def _prepare(statement: TextClause, dialect: Dialect) -> _Prepared:
    key = (statement, dialect.name)
    found = _prepared.get(key)
    if found is None:
        compiled = statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        processors = {}
        for name in names:
            proc = bind_processor(compiled.binds[name].type, dialect)
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


@asynccontextmanager
async def off_loop(session: AsyncSession) -> AsyncIterator[None]:
    """Run the session's statements in this block on a worker thread (a SQLite file on
    the inline driver), for statements known to take long: a tally ranking 100,000
    entries, a board of a million scores loading. Elsewhere statements do not block
    the loop anyway (asyncpg), or must stay on it (in-memory SQLite: one shared
    connection), and nothing changes."""
    conn = await _connection(session)
    raw = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    if not isinstance(raw, InlineConnection) or not raw.can_thread or raw.threaded:
        yield
        return
    raw.threaded = True
    try:
        yield
    finally:
        raw.threaded = False


def _args(prepared: _Prepared, values: Mapping[str, Any]) -> list[Any]:
    return [prepared.processors[n](values[n]) if n in prepared.processors else values[n]
            for n in prepared.names]


async def _connection(session: AsyncSession) -> AsyncConnection:
    """The session's connection, remembered for its current (nested) transaction: asking
    the session each time costs a greenlet switch per statement, more than a small SQLite
    statement. Asked again in a new savepoint, whose SAVEPOINT the asking emits."""
    sync = session.sync_session
    current = (sync.get_transaction(), sync.get_nested_transaction())
    known = session.info.get("sql.connection")
    # An inactive transaction (a failed flush) goes back to the session, which says so.
    if known is not None and current[0] is not None and current[0].is_active \
            and known[0] == current:
        return known[1]  # type: ignore[no-any-return]
    conn = await session.connection()
    session.info["sql.connection"] = ((sync.get_transaction(),
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
        if raw.threaded:
            return await on_worker_thread(_run_now, raw.run, sql, args)
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
    raise ValueError(f"unsupported paramstyle {paramstyle}")


def marks(n: int) -> str:
    """`n` parameter marks separated by commas."""
    return ", ".join([_MARK] * n)


def rows_sql(columns: int, rows: int) -> str:
    """The VALUES list of `rows` rows of `columns` parameters each."""
    return ", ".join([f"({marks(columns)})"] * rows)


async def fetch_rows(session: AsyncSession, sql: str, rows: Sequence[Sequence[Any]],
                     types: Mapping[int, Any] | None = None, extra: Sequence[Any] = ()
                     ) -> list[tuple[Any, ...]]:
    """Run `sql` (parameters marked with `marks`) with each row's values in order, then
    `extra`; `types` maps a column position to the type whose bind processor it goes
    through."""
    conn = await _connection(session)
    procs = {i: bind_processor(t, conn.dialect) for i, t in (types or {}).items()}
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


# -- IN lists ---------------------------------------------------------------------------
#
# IN lists are padded to a power of two (repeating the last value) so a few compiled and
# prepared statements serve every batch size; multi-row inserts cannot be padded and are
# cached per row count.

def bucket(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def in_list(prefix: str, n: int) -> str:
    return ", ".join(f":{prefix}_{i}" for i in range(n))


def in_params(prefix: str, values: Sequence[Any]) -> dict[str, Any]:
    size = bucket(len(values))
    padded = [*values, *[values[-1]] * (size - len(values))]
    return {f"{prefix}_{i}": v for i, v in enumerate(padded)}


def utc(value: Any) -> datetime:
    """A stored time as the ORM returns it (SQLite's driver gives the text)."""
    return ensure_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)
