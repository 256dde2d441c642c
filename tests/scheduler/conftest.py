"""Scheduler fixtures: a database other processes can open too.

`shared_db` is a SQLite file (LAURELS_TEST_DB unset, sqlite or sqlite-file) or a fresh
PostgreSQL database (LAURELS_TEST_DB=postgres): the crash and two-process tests start
real worker processes on it. `db` on PostgreSQL empties the tables instead of rebuilding
them, as in tests/engine.
"""

from __future__ import annotations

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


@pytest.fixture
async def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if BACKEND == "postgres":
        database = await fresh_database(request.getfixturevalue("pg_url"))
    else:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}")
        await database.create_all()
    yield database
    await database.dispose()

