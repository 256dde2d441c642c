"""SQLite for the async engine without a thread hop per call.

aiosqlite runs every call on a worker thread and wakes the event loop for each result:
four thread hops per statement (cursor, execute, fetch, close), which on a busy two-core
machine cost far more than SQLite's own work (a few microseconds per indexed statement).
This module gives SQLAlchemy's aiosqlite dialect a connection with the same interface
whose coroutines run the sqlite3 call at once, on the event loop's thread.

The trade: a statement blocks the loop while it runs. SQLite statements on indexed data
are microseconds, so statements stay on the loop; what can take long does not:
- a commit of a database file (an fsync, and now and then an automatic checkpoint that
  copies the write-ahead log back) runs on a worker thread while the loop goes on;
- waiting for another process's lock: connections have a busy timeout of milliseconds
  (`storage.db.SQLITE_BUSY_MS`), and a transaction that finds the database locked is
  retried after an asynchronous sleep (`Database.run`).
Set LAURELS_SQLITE_DRIVER=thread to use aiosqlite's worker thread for everything instead.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

__all__ = ["InlineConnection", "connect", "on_worker_thread"]

T = TypeVar("T")


async def on_worker_thread(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` on a worker thread, waited for to the end even when the caller
    is cancelled (a platform stopping, a timeout): the call is running on the connection,
    which must not be rolled back, reused or closed under it. The cancellation is raised
    once the call has returned."""
    future = asyncio.get_running_loop().run_in_executor(None, function, *args)
    cancelled = False
    while not future.done():
        try:
            await asyncio.wait([future])  # unlike awaiting it, never cancels the call
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return future.result()


class _Cursor:
    __slots__ = ("_cursor", "_owner")

    def __init__(self, cursor: sqlite3.Cursor, owner: InlineConnection) -> None:
        self._cursor = cursor
        self._owner = owner

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        if self._owner.threaded:
            await on_worker_thread(self._cursor.execute, sql, parameters)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> _Cursor:
        if self._owner.threaded:
            await on_worker_thread(self._cursor.executemany, sql, parameters)
        else:
            self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def fetchall(self) -> list[Any]:
        if self._owner.threaded:
            return await on_worker_thread(self._cursor.fetchall)
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _RunNow:
    """Stands in for aiosqlite's request queue (SQLAlchemy sets isolation levels through
    it): runs the function at once and resolves its future."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class InlineConnection:
    """The part of `aiosqlite.Connection` SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, conn: sqlite3.Connection, *, commit_off_loop: bool) -> None:
        self._conn = conn
        self._tx = _RunNow()
        # An in-memory database is one connection shared by every session: its commits
        # (no fsync) and statements stay on the loop, never beside another session's.
        self._commit_off_loop = commit_off_loop
        # Set while statements known to be long run (`storage.sql.run.off_loop`): they go
        # to a worker thread too.
        self.threaded = False

    @property
    def can_thread(self) -> bool:
        return self._commit_off_loop

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def cursor(self) -> _Cursor:
        return _Cursor(self._conn.cursor(), self)

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        return await _Cursor(self._conn.cursor(), self).execute(sql, parameters)

    async def commit(self) -> None:
        if self._commit_off_loop and self._conn.in_transaction:
            await on_worker_thread(self._conn.commit)
        else:
            self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()

    def run(self, sql: str, parameters: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Execute and fetch in one synchronous call (storage/sql's hot path)."""
        return self._conn.execute(sql, parameters).fetchall()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


def connect(database: str) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine("sqlite+aiosqlite://...")`."""
    async def creator() -> InlineConnection:
        return InlineConnection(sqlite3.connect(database, check_same_thread=False),
                                commit_off_loop=database != ":memory:")

    return creator
