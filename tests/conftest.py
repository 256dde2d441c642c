"""Shared fixtures, and the one database fixture every suite uses.

`LAURELS_TEST_DB` names the backends the `db` fixture is parametrised over, separated by
commas: `memory` (in-memory SQLite, the default), `file` (a SQLite file, the production
default) and `postgres` (a throwaway PostgreSQL 15 cluster the suite starts itself).
`LAURELS_TEST_DB=memory,file,postgres pytest tests/engine` runs the engine suite on all
three; `scripts/test` runs the legs CI runs.

A test that only means something on some backends says so with a mark, and is left out
(deselected, not skipped) of the other legs: `sqlite_only` (one writer in one process),
`file_only` (a SQLite file: its disk, its other processes) or `postgres_only` (several
processes or connections sharing the database, the server itself).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Base

_ALIASES = {"sqlite": "memory", "sqlite-file": "file", "pg": "postgres"}
BACKENDS = tuple(dict.fromkeys(
    _ALIASES.get(b.strip(), b.strip())
    for b in os.environ.get("LAURELS_TEST_DB", "memory").split(",") if b.strip()))
_KNOWN = ("memory", "file", "postgres")
if unknown := [b for b in BACKENDS if b not in _KNOWN]:
    raise pytest.UsageError(f"LAURELS_TEST_DB: unknown backend(s) {unknown}; use {_KNOWN}")
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the backends a test does not apply to (`sqlite_only`, `postgres_only`)."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        wrong = ((backend == "postgres" and item.get_closest_marker("sqlite_only"))
                 or (backend in ("memory", "file") and item.get_closest_marker("postgres_only"))
                 or (backend in ("memory", "postgres") and item.get_closest_marker("file_only")))
        (drop if wrong else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    from storage.pgcluster import throwaway_cluster

    with throwaway_cluster() as url:
        yield url


async def fresh_postgres(url: str) -> Database:
    """A `Database` on `url` whose tables match the models and hold no rows."""
    from tests.storage.reset import fresh_database

    return await fresh_database(url)


async def test_database(request: pytest.FixtureRequest, path: Path,
                        backend: str | None = None) -> Database:
    """An empty database with the schema on `backend` (the test's own by default);
    `path`: where a SQLite file goes."""
    backend = backend or request.getfixturevalue("backend")
    if backend == "postgres":
        return await fresh_postgres(request.getfixturevalue("pg_url"))
    if backend == "file":
        path.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (a test directory)
        database = Database(f"sqlite+aiosqlite:///{path / 'test.db'}")
    else:
        database = Database("sqlite+aiosqlite://")
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return database


test_database.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def db(request: pytest.FixtureRequest, backend: str, tmp_path: Path
             ) -> AsyncIterator[Database]:
    database = await test_database(request, tmp_path / "db", backend)
    yield database
    await database.dispose()


@pytest.fixture
async def shared_db(request: pytest.FixtureRequest, backend: str, tmp_path: Path
                    ) -> AsyncIterator[Database]:
    """A database other processes can open too: a SQLite file, or PostgreSQL."""
    database = await test_database(request, tmp_path / "shared",
                                   "postgres" if backend == "postgres" else "file")
    yield database
    await database.dispose()


@pytest.fixture
async def pg_db(pg_url: str) -> AsyncIterator[Database]:
    """PostgreSQL whatever leg the suite runs: for what only several connections holding
    row locks can show (SQLite has one writer)."""
    database = await fresh_postgres(pg_url)
    yield database
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
