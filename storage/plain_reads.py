"""Reads on a SQLite file without an ORM session.

Opening a session, checking out its connection and rolling it back costs about 0.2 ms of
Python, several times what the statements of a leaderboard read cost. A hot read that only
runs plain statements (storage/sql) takes a `PlainReader` instead: a sqlite3
connection of its own, used on the event loop's thread like the engine's inline driver,
its statements in one read transaction so they see one snapshot.

Only SQLite files get readers: an in-memory database is one shared connection, and
PostgreSQL reads keep their sessions (a pooled connection costs little there next to the
round trip).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Dialect

__all__ = ["BUSY_MS", "PlainReader", "ReaderPool"]

# Milliseconds a read waits for a lock on the loop's thread. Readers of a WAL database
# never wait for writers; only a moment of another connection's checkpoint or recovery
# can make them, and then briefly.
BUSY_MS = 20


class PlainReader:
    """One read transaction's connection: `run` executes a statement and fetches it."""

    __slots__ = ("_conn", "dialect")

    def __init__(self, conn: sqlite3.Connection, dialect: Dialect) -> None:
        self._conn = conn
        self.dialect = dialect

    def run(self, sql: str, parameters: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, parameters).fetchall()

    def restart(self) -> None:
        """End the read transaction and begin another, whose snapshot is taken by its
        first statement: called before waiting for something that may see newer commits
        (an in-process index loading a board), so no old snapshot is held while waiting
        and the statements after it see at least what the index saw."""
        self._end()
        self._conn.execute("BEGIN")

    def _end(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")


class ReaderPool:
    """Idle reader connections of one database file, opened as reads need them."""

    def __init__(self, path: str, dialect: Dialect, max_idle: int = 4) -> None:
        self._path = path
        self._dialect = dialect
        self._idle: list[PlainReader] = []
        self._max_idle = max_idle
        self._open: list[sqlite3.Connection] = []

    def _connect(self) -> PlainReader:
        # Autocommit: the read transaction is begun and ended here, explicitly.
        conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA query_only=ON")  # a reader that writes is a bug: fail loudly
            conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        except BaseException:
            conn.close()
            raise
        self._open.append(conn)
        return PlainReader(conn, self._dialect)

    @contextmanager
    def read(self) -> Iterator[PlainReader]:
        """A reader inside a read transaction, rolled back and kept for the next read."""
        reader = self._idle.pop() if self._idle else self._connect()
        try:
            reader._conn.execute("BEGIN")
            yield reader
        finally:
            self._put_back(reader)

    def _put_back(self, reader: PlainReader) -> None:
        try:
            reader._end()
        except sqlite3.Error:  # a connection in doubt is not reused
            self._drop(reader)
            return
        if len(self._idle) < self._max_idle:
            self._idle.append(reader)
        else:
            self._drop(reader)

    def _drop(self, reader: PlainReader) -> None:
        if reader._conn in self._open:
            self._open.remove(reader._conn)
        reader._conn.close()

    def close(self) -> None:
        for conn in self._open:
            conn.close()
        self._open.clear()
        self._idle.clear()
