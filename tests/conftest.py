"""Shared fixtures. LAURELS_TEST_DB picks the backend: sqlite (default), sqlite-file, postgres."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Base

BACKEND = os.environ.get("LAURELS_TEST_DB", "sqlite")
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    from storage.pgcluster import throwaway_cluster

    with throwaway_cluster() as url:
        yield url


async def fresh_postgres(url: str) -> Database:
    """The throwaway cluster's database with an empty schema."""
    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    return database


@pytest.fixture
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if BACKEND == "postgres":
        database = await fresh_postgres(request.getfixturevalue("pg_url"))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}" if BACKEND == "sqlite-file" \
            else "sqlite+aiosqlite://"
        database = Database(url)
        await database.create_all()
    yield database
    if BACKEND == "postgres":
        async with database.engine.begin() as conn:
            await conn.execute(text("SELECT 1"))
    await database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def engine(db: Database, clock: FixedClock) -> Engine:
    return Engine(db, clock)


@pytest.fixture
def guild() -> CommunityRef:
    return CommunityRef("console", "guild-1", "Test Guild")


def member(community: CommunityRef, name: str, *, mod: bool = False, bot: bool = False
           ) -> MemberRef:
    return MemberRef(community, name, name.title(), is_bot=bot, is_admin=mod)
