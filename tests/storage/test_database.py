"""The storage layer's promises: constraints enforced, UTC times, retried units of work."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.tables import Base, Community, Member, Vote
from tests.conftest import START


async def _community(db: Database, external_id: str = "g") -> int:
    async with db.transaction() as s:
        row = Community(platform="console", external_id=external_id, name="", timezone="UTC",
                        point_rules={}, settings={}, created_at=START)
        s.add(row)
        await s.flush()
        return row.id


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            s.add(Member(community_id=999, external_id="ghost", display_name="", showcase={},
                         created_at=START))


async def test_one_vote_per_voter_per_entry_is_a_database_rule(db: Database) -> None:
    cid = await _community(db)
    async with db.transaction() as s:
        await s.execute(text(
            "INSERT INTO members (id, community_id, external_id, display_name, is_bot, "
            "is_moderator, showcase, created_at) VALUES (1, :c, 'a', '', false, false, '{}', "
            ":t), (2, :c, 'b', '', false, false, '{}', :t)"), {"c": cid, "t": START})
        await s.execute(text(
            "INSERT INTO challenges (id, community_id, slug, kind, name, prompt, description, "
            "phase, starts_at, max_entries, vote_emoji, early_votes, team_mode, created_at) "
            "VALUES (1, :c, 's', 'submission', 'S', '', '', 'voting', :t, 3, 'x', false, "
            "'individual', :t)"), {"c": cid, "t": START})
        await s.execute(text(
            "INSERT INTO entries (id, community_id, challenge_id, member_id, title, "
            "submitted_at, featured) VALUES (1, :c, 1, 1, 'e', :t, false)"),
            {"c": cid, "t": START})
    vote = {"community_id": cid, "challenge_id": 1, "entry_id": 1, "voter_id": 2,
            "cast_at": START}
    async with db.transaction() as s:
        await s.execute(insert(Vote).values(**vote))
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            await s.execute(insert(Vote).values(**vote))


@pytest.mark.parametrize("given", [
    datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
    datetime(2026, 3, 2, 4, 0, tzinfo=timezone(timedelta(hours=-8))),
    datetime(2026, 3, 2, 12, 0),  # naive: taken as UTC
])
async def test_times_come_back_as_aware_utc(db: Database, given: datetime) -> None:
    async with db.transaction() as s:
        s.add(Community(platform="console", external_id="t", name="", timezone="UTC",
                        point_rules={}, settings={}, created_at=given))
    async with db.session() as s:
        stored = await s.scalar(select(Community.created_at))
    assert stored == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert stored is not None and stored.utcoffset() == timedelta(0)


async def test_a_unit_of_work_losing_a_key_race_runs_again(pg_db: Database) -> None:
    """The first attempt collides with a row another writer just committed; the retry
    sees it and the after-commit hook runs once, with the retry's result. (PostgreSQL:
    a SQLite write holds the write lock from its start, so no other writer commits inside
    it, as the next test shows.)"""
    db = pg_db
    cid = await _community(db)
    attempts: list[int] = []
    committed: list[str] = []

    async def work(session) -> str:  # type: ignore[no-untyped-def]
        attempts.append(1)
        existing = await session.scalar(select(Member.id).where(Member.external_id == "x"))
        if existing is None and len(attempts) == 1:
            async with db.engine.begin() as other:  # the other writer wins the race
                await other.execute(insert(Member).values(
                    community_id=cid, external_id="x", display_name="", is_bot=False,
                    is_moderator=False, showcase={}, created_at=START))
            session.add(Member(community_id=cid, external_id="x", display_name="",
                               showcase={}, created_at=START))
            await session.flush()
        return "found" if existing is not None else "created"

    result = await db.run(work, after_commit=committed.append)

    assert (len(attempts), result, committed) == (2, "found", ["found"])


async def test_no_other_writer_commits_inside_a_sqlite_write(tmp_path: Path) -> None:
    """A write on a SQLite file takes the write lock as it starts (`BEGIN IMMEDIATE`):
    another writer is kept out until it ends, so a write never finds what it read
    outdated when it comes to write, and it commits on its first attempt."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    await db.create_all()
    cid = await _community(db)
    attempts: list[int] = []
    refused: list[str] = []

    async def work(session) -> str:  # type: ignore[no-untyped-def]
        attempts.append(1)
        existing = await session.scalar(select(Member.id).where(Member.external_id == "x"))
        other = sqlite3.connect(tmp_path / "w.db", timeout=0.05)  # another process
        try:
            other.execute("INSERT INTO members (community_id, external_id, display_name, "
                          "is_bot, is_moderator, showcase, created_at) "
                          "VALUES (?, 'x', '', 0, 0, '{}', '2026-03-02 12:00:00')", (cid,))
        except sqlite3.OperationalError as exc:
            refused.append(str(exc))
        finally:
            other.close()
        session.add(Member(community_id=cid, external_id="x", display_name="",
                           showcase={}, created_at=START))
        await session.flush()
        return "found" if existing is not None else "created"

    try:
        assert await db.run(work) == "created"
    finally:
        await db.dispose()
    assert (len(attempts), refused) == (1, ["database is locked"])


@pytest.fixture
async def file_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite file with the schema, whatever backend the suite runs on."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'file.db'}")
    await db.create_all()
    yield db
    await db.dispose()


async def test_sqlite_file_uses_wal(file_db: Database) -> None:
    async with file_db.session() as s:
        assert (await s.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await s.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_plain_reads_see_one_snapshot_and_never_write(file_db: Database) -> None:
    await _community(file_db, "first")
    with file_db.plain_read() as reader:
        assert reader is not None
        count = "SELECT count(*) FROM communities"
        assert reader.run(count, ()) == [(1,)]
        await _community(file_db, "second")  # committed while the read is open
        assert reader.run(count, ()) == [(1,)]  # the read keeps its snapshot
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.run("DELETE FROM communities", ())
    with file_db.plain_read() as reader:
        assert reader is not None and reader.run(count, ()) == [(2,)]


async def test_no_plain_reads_without_a_database_file() -> None:
    db = Database("sqlite+aiosqlite://")
    try:
        with db.plain_read() as reader:
            assert reader is None  # one shared in-memory connection: reads take sessions
    finally:
        await db.dispose()


async def test_a_failed_plain_read_leaves_its_reader_usable(file_db: Database) -> None:
    with pytest.raises(sqlite3.OperationalError), file_db.plain_read() as reader:
        assert reader is not None
        reader.run("SELECT nothing FROM nowhere", ())
    with file_db.plain_read() as reader:  # the same connection, its transaction ended
        assert reader is not None
        assert reader.run("SELECT count(*) FROM communities", ()) == [(0,)]


async def test_a_read_on_a_sqlite_file_runs_without_yielding_the_loop(tmp_path: Path) -> None:
    """A read session on a SQLite file (inline driver) opens, reads and closes without
    handing the loop to other tasks: concurrent reads then each take their own time,
    not everyone's. (SQLAlchemy's own context manager closes in a task: 3 yields.)"""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'reads.db'}")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await _community(db)
        ticks = 0
        done = False

        async def ticker() -> None:
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        for _ in range(5):
            async with db.session() as session:
                assert (await session.execute(select(Community.id))).scalar() is not None
        yielded = ticks - before
        done = True
        await task
        assert yielded == 0
        # The session was closed: its connection went back to the pool.
        assert db.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await db.dispose()
