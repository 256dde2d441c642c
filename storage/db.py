"""Engines, sessions and transactions for SQLite (default) and PostgreSQL.

Two kinds of failure are told apart here, the only place that knows drivers' errors:
- a *race* (`is_race`): a deadlock, a serialization failure, two transactions inserting
  the same key, SQLite's lock held by another process for a moment. Running the whole
  transaction again succeeds: `Database.run` does so, with jittered backoff.
- a *fault* (`is_fault`): the database is unreachable, restarting, read-only or out of
  space. Nothing succeeds until it clears; callers that must not lose work (a vote the
  platform delivered) wait with patience, others report it.

The event loop never waits on another process's lock: SQLite connections run with a short
busy timeout, and a transaction that finds the database locked is retried after an
asynchronous sleep instead of blocking in the driver.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from storage.plain_reads import PlainReader, ReaderPool
from storage.sql.run import fetch, off_loop

__all__ = ["RACE_PATIENCE", "SQLITE_BUSY_MS", "Database", "is_fault", "is_race",
           "make_engine"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# PostgreSQL errors after which the whole unit of work can simply run again.
_RACE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
# PostgreSQL errors of an unavailable server: connection exceptions (class 08), shutdown
# and start-up (57P01-57P03), out of resources (class 53, e.g. disk full), system errors
# (class 58), a read-only transaction (25006: a standby, or the server set read-only).
_FAULT_SQLSTATE_CLASSES = ("08", "53", "58")
_FAULT_SQLSTATES = {"57P01", "57P02", "57P03", "25006"}
# SQLite result codes of a database that cannot be written now.
_SQLITE_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_SQLITE_FAULTS = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY,
                  sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_CORRUPT}
# Milliseconds SQLite itself waits for a lock: short, since it waits on the loop's thread.
SQLITE_BUSY_MS = 20
# Seconds a transaction keeps retrying races (another process holding SQLite's write
# lock, a migration say) before the error is raised.
RACE_PATIENCE = 10.0


def _inline_sqlite_file(url: str) -> str | None:
    """The file path when `url` is a SQLite file on the inline driver (see make_engine)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.query \
            or os.environ.get("LAURELS_SQLITE_DRIVER", "inline") == "thread":
        return None
    return None if parsed.database in (None, "", ":memory:") else str(parsed.database)


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys, a busy timeout and full sync."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10)
    memory = parsed.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"echo": echo}
    if memory:
        # One shared connection, or every session would see its own empty database.
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    if os.environ.get("LAURELS_SQLITE_DRIVER", "inline") != "thread" and not parsed.query:
        # sqlite3 calls on the loop's thread: no thread hop per statement (see the module).
        from storage.sqlite_inline import connect

        kwargs["async_creator"] = connect(":memory:" if memory else str(parsed.database))
    if not memory:
        kwargs["pool_use_lifo"] = True
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    return engine


_BEGIN_IMMEDIATE = text("BEGIN IMMEDIATE")
_NO_WAITING = text("PRAGMA busy_timeout = 0")
_WAITING = text(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")


async def _take_sqlite_write_lock(session: AsyncSession) -> None:
    """Start the transaction holding SQLite's write lock.

    Python's sqlite3 would begin only before the first write, and a transaction that read
    first could then fail to upgrade its lock; taken at the start, the lock is the only
    thing a write waits for. It is tried at once on the loop, without waiting (a free
    lock is the rule: this process's writers queue for `Database.write_lock` first);
    held by another process, it is waited for on a worker thread, where waiting costs
    the loop nothing, then `Database.run` backs off asynchronously. (Always taking it on
    a worker thread cost votes/s: the batch holds the in-process lock while the loop
    gets round to resuming it.)"""
    await fetch(session, _NO_WAITING)
    try:
        await fetch(session, _BEGIN_IMMEDIATE)
        return
    except DBAPIError as exc:
        if not is_race(exc):
            raise
    finally:
        await fetch(session, _WAITING)
    async with off_loop(session):
        await fetch(session, _BEGIN_IMMEDIATE)


class Database:
    """Owns the engine and hands out transactions; the caller decides when to commit."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.dialect = self.engine.dialect.name
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        # SQLite has one writer; queueing writers in-process avoids busy errors and
        # deferred transactions failing to upgrade their lock.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        path = _inline_sqlite_file(url)
        self._readers = None if path is None else ReaderPool(path, self.engine.dialect)
        self._read_only: str | None = None  # set for good once the SQLite file was read-only

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read session: rolled back at the end, never commits."""
        if self._readers is None:
            async with self.sessions() as session:
                yield session
            return
        # A SQLite file on the inline driver: closing runs on the loop's thread without
        # waiting, so nothing can cancel it partway, and it is closed here. SQLAlchemy's
        # context manager closes in a task of its own (cancellation-safe for drivers that
        # wait), which made every read yield the loop three times: with 16 readers, each
        # read's time then included the other 15 (docs/performance.md, the member page).
        session = self.sessions()
        try:
            yield session
        finally:
            await session.close()

    @contextmanager
    def plain_read(self) -> Iterator[PlainReader | None]:
        """A session-less reader in its own read transaction (storage/plain_reads.py);
        None where there is none (PostgreSQL, in-memory SQLite): read with a session."""
        if self._readers is None:
            yield None
            return
        with self._readers.read() as reader:
            yield reader

    @asynccontextmanager
    async def write_lock(self) -> AsyncIterator[None]:
        """Held by every SQLite write; a no-op on PostgreSQL, where rows are locked instead."""
        if self._write_lock is None:
            yield
            return
        async with self._write_lock:
            yield

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction, committed when the block ends without error."""
        async with self.write_lock(), self.sessions() as session, session.begin():
            yield session

    async def run(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        after_commit: Callable[[T], None] | None = None,
        patience: float = RACE_PATIENCE,
    ) -> T:
        """Run `work` in one transaction, run again whole after a race (`is_race`) for up
        to `patience` seconds, with jittered backoff.

        `after_commit` runs once the commit succeeded, still under the write lock, so
        in-process caches see commits in the order they happened.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        key_races = 0
        for attempt in itertools.count(1):
            try:
                async with self.write_lock():
                    async with self.sessions() as session, session.begin():
                        if self.is_sqlite:
                            await _take_sqlite_write_lock(session)
                        result = await work(session)
                    if after_commit is not None:
                        after_commit(result)
                    return result
            except (IntegrityError, DBAPIError) as exc:
                key_races += isinstance(exc, IntegrityError)
                # A key race is over once the winner committed: a few tries; a key that
                # still clashes is a real error.
                if not is_race(exc) or key_races >= 5 or loop.time() >= deadline:
                    raise
                log.debug("running a transaction again after %s", _name(exc))
                await asyncio.sleep(_backoff(attempt))
        raise AssertionError("unreachable")

    async def probe(self, within: float = 2.0) -> str | None:
        """None when the database answers and takes writes; else a short reason (for
        `/readyz`). Takes SQLite's write lock for a moment only. A SQLite file found
        read-only stays reported: connections opened meanwhile stay read-only, so only a
        restart recovers."""
        if self._read_only is not None:
            return self._read_only
        for attempt in (1, 2):
            try:
                async with asyncio.timeout(within):
                    if self.is_sqlite:
                        return await self._probe_sqlite()
                    return await self._probe_server()
            except TimeoutError:
                return f"the database did not answer within {within:g} s"
            except Exception as exc:  # whatever the driver raises is the answer
                if self.is_sqlite and "readonly" in str(exc).replace("read-only", "readonly"):
                    return self._found_read_only()
                if attempt == 1 and getattr(exc, "connection_invalidated", False):
                    continue  # a connection from before a server restart: try a fresh one
                orig = getattr(exc, "orig", None) or exc
                reason = (str(orig).splitlines() or [type(orig).__name__])[0][:200]
                return f"the database is unreachable ({reason})"
        raise AssertionError("unreachable")

    async def _probe_sqlite(self) -> str | None:
        path = make_url(self.url).database
        if path not in (None, "", ":memory:") and not os.access(str(path), os.W_OK):
            return self._found_read_only()
        # A write that is never committed: fails on a read-only connection.
        async with self.write_lock(), self.sessions() as session:
            await _take_sqlite_write_lock(session)
            try:
                await session.execute(text("CREATE TABLE laurels_probe (x)"))
            finally:
                await session.rollback()
        return None

    async def _probe_server(self) -> str | None:
        async with self.engine.connect() as conn:
            standby, read_only = (await conn.exec_driver_sql(
                "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')")).one()
        if standby:
            return "PostgreSQL is a standby, read-only: LAURELS_DATABASE_URL must name the primary"
        if read_only == "on":
            return "PostgreSQL is read-only (default_transaction_read_only is on)"
        return None

    def _found_read_only(self) -> str:
        self._read_only = (f"the SQLite file {make_url(self.url).database} is read-only: make "
                           "it writable, then restart Laurels")
        return self._read_only

    async def create_all(self) -> None:
        """Create the schema directly (tests); deployments use `laurels db upgrade`."""
        from storage.tables import Base

        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def dispose(self) -> None:
        if self._readers is not None:
            self._readers.close()
        await self.engine.dispose()


def _backoff(attempt: int) -> float:
    """Seconds to wait before attempt `attempt + 1`: growing, jittered, at most 0.25 s."""
    return random.uniform(0.5, 1.0) * min(0.25, 0.004 * 2 ** min(attempt, 10))


def _name(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return type(orig if orig is not None else exc).__name__


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", exc)
    found = getattr(orig, "sqlstate", None) or getattr(
        getattr(orig, "__cause__", None), "sqlstate", None)
    return str(found) if found else None


def _sqlite_code(exc: BaseException) -> int | None:
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF  # the primary result code


def is_race(exc: BaseException) -> bool:
    """Whether running the whole transaction again can succeed at once: a deadlock, a
    serialization failure, a key two transactions inserted at once, SQLite locked."""
    if isinstance(exc, IntegrityError):
        return True
    return _sqlstate(exc) in _RACE_SQLSTATES or _sqlite_code(exc) in _SQLITE_BUSY


def is_fault(exc: BaseException) -> bool:
    """Whether the database is unavailable (unreachable, restarting, read-only, full):
    nothing succeeds until the fault clears."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OSError | ConnectionError):
        return True
    state = _sqlstate(exc)
    if state is not None and (state in _FAULT_SQLSTATES
                              or state.startswith(_FAULT_SQLSTATE_CLASSES)):
        return True
    if _sqlite_code(exc) in _SQLITE_FAULTS:
        return True
    orig = getattr(exc, "orig", None)
    # asyncpg's errors for a connection that went away carry no SQLSTATE.
    return type(orig).__name__ in ("ConnectionDoesNotExistError", "InterfaceError",
                                   "ConnectionFailureError", "CannotConnectNowError")
