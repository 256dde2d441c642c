"""Faster databases for the engine suite, same semantics as the shared `db` fixture.

- PostgreSQL: empty the tables between tests instead of rebuilding the schema. Dropping
  and creating every table costs a few hundred milliseconds per test on a real server;
  TRUNCATE ... RESTART IDENTITY gives each test the same empty, freshly numbered database.
- SQLite file: the database file lives in memory-backed /dev/shm when there is one. It is
  still a real file in WAL mode with one connection per session (the point of this
  backend: true concurrency); only the fsync at each commit, which these tests never
  observe, stops costing a disk flush.
- SQLite in memory keeps the shared fixture.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from tests.conftest import BACKEND
from tests.storage.reset import fresh_database

if BACKEND == "postgres":

    @pytest.fixture
    async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
        database = await fresh_database(request.getfixturevalue("pg_url"))
        yield database
        await database.dispose()

elif BACKEND == "sqlite-file" and Path("/dev/shm").is_dir():

    @pytest.fixture
    async def db() -> AsyncIterator[Database]:
        folder = Path(tempfile.mkdtemp(prefix="laurels-test-", dir="/dev/shm"))
        database = Database(f"sqlite+aiosqlite:///{folder / 'test.db'}")
        try:
            await database.create_all()
            yield database
        finally:
            await database.dispose()
            shutil.rmtree(folder, ignore_errors=True)
