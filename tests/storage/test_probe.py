"""`Database.probe`: whether the database answers and takes writes (`/readyz` asks it).
A PostgreSQL server stopped and started again is in tests/bot/http/test_readiness.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import func, select

from storage.db import Database
from storage.tables import Community
from tests.storage.read_only import read_only_file


async def test_the_suites_database_answers_and_takes_writes(db: Database) -> None:
    assert await db.probe() is None
    # The write it tries is never committed.
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Community)) == 0
        tables = await session.run_sync(lambda s: s.connection().dialect.get_table_names(
            s.connection()))
    assert "laurels_probe" not in tables


async def test_a_read_only_sqlite_file_is_reported_until_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "laurels.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.create_all()
        assert await db.probe() is None

        with read_only_file(path):
            reason = await db.probe()
            assert reason == (f"the SQLite file {path} is read-only: make it writable, then "
                              "restart Laurels")
        # Connections opened meanwhile stay read-only: only a restart recovers.
        assert await db.probe() == reason
    finally:
        await db.dispose()
    restarted = Database(f"sqlite+aiosqlite:///{path}")
    try:
        assert await restarted.probe() is None
    finally:
        await restarted.dispose()


async def test_a_read_only_connection_fails_the_write_check(tmp_path: Path) -> None:
    """The file is writable, but SQLite opened it read-only (as it does, silently, for
    a connection opened while the file was not writable)."""
    path = tmp_path / "laurels.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    db = Database(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    try:
        reason = await db.probe()
    finally:
        await db.dispose()
    assert reason is not None and "read-only" in reason and "restart" in reason


async def test_an_in_memory_database_takes_writes() -> None:
    db = Database("sqlite+aiosqlite://")
    try:
        assert await db.probe() is None
    finally:
        await db.dispose()
