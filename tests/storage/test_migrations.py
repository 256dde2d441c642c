"""Alembic builds the whole schema from empty, matching the models exactly, and each
migration keeps the rows already there."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database
from storage.migrate import upgrade_async
from storage.tables import Base, Challenge, LedgerRow, Member, Vote


async def _url(tmp_path: Path, request) -> str:  # type: ignore[no-untyped-def]
    if os.environ.get("LAURELS_TEST_DB") == "postgres":
        url: str = request.getfixturevalue("pg_url")
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await db.dispose()
        return url
    return f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"


async def _community(conn: AsyncConnection) -> None:
    """Community 1, in plain SQL: the tables are an older revision's, not the models'."""
    await conn.execute(text(
        "INSERT INTO communities (id, platform, external_id, name, timezone, point_rules, "
        "settings, created_at) VALUES (1, 'console', 'g', 'G', 'UTC', '{}', '{}', "
        "'2026-03-02 12:00:00')"))


async def _members(conn: AsyncConnection, n: int) -> None:
    """Members 1 to `n` of community 1 (external ids u1, u2, ...), in plain SQL."""
    await conn.execute(text(
        "INSERT INTO members (id, community_id, external_id, display_name, is_bot, "
        "is_moderator, showcase, created_at) VALUES (:id, 1, :ext, '', false, false, "
        "'{}', '2026-03-02 12:00:00')"), [{"id": i, "ext": f"u{i}"} for i in range(1, n + 1)])


async def test_upgrade_from_empty_matches_models(tmp_path: Path, request) -> None:  # type: ignore[no-untyped-def]
    url = await _url(tmp_path, request)
    await upgrade_async(url)
    db = Database(url)
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    await db.dispose()
    assert diff == []
    assert version == "0013"
    # a second upgrade is a no-op
    await upgrade_async(url)


async def test_upgrade_backfills_the_standings_histogram(tmp_path: Path, request) -> None:  # type: ignore[no-untyped-def]
    """A database at 0001 with standings gets one histogram row per board and score."""
    url = await _url(tmp_path, request)
    await upgrade_async(url, "0001")
    db = Database(url)
    async with db.engine.begin() as conn:
        await _community(conn)
        await _members(conn, 5)
        await conn.execute(text(
            "INSERT INTO standings (community_id, period, member_id, points) "
            "VALUES (1, :period, :member, :points)"),
            [{"period": "all", "member": 1, "points": 30},
             {"period": "all", "member": 2, "points": 10},
             {"period": "all", "member": 3, "points": 30},
             {"period": "all", "member": 4, "points": -2},
             {"period": "w2026-10", "member": 5, "points": 0}])
    await db.dispose()

    await upgrade_async(url)

    db = Database(url)
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT period, points, members FROM standings_histogram WHERE community_id = 1 "
            "ORDER BY period, points"))).all()
    await db.dispose()
    assert [tuple(r) for r in rows] == [("all", -2, 1), ("all", 10, 1), ("all", 30, 2),
                                        ("w2026-10", 0, 1)]


async def test_placements_keep_their_rows_and_only_the_challenge_key(tmp_path: Path, request  # type: ignore[no-untyped-def]
                                                                    ) -> None:
    """0003 drops the per-row checks of placements against members, entries, teams and the
    community; the rows stay, and deleting the challenge still removes them."""
    url = await _url(tmp_path, request)
    await upgrade_async(url, "0002")
    db = Database(url)
    async with db.engine.begin() as conn:
        await _community(conn)
        await conn.execute(text(
            "INSERT INTO challenges (id, community_id, slug, name, kind, phase, prompt, "
            "description, starts_at, max_entries, vote_emoji, early_votes, team_mode, "
            "created_at) VALUES (1, 1, 'c', 'C', 'submission', 'completed', '', '', "
            "'2026-03-02 12:00:00', 3, 'thumbsup', false, 'individual', "
            "'2026-03-02 12:00:00')"))
        await conn.execute(text(
            "INSERT INTO placements (community_id, challenge_id, place, subject, score, label) "
            "VALUES (1, 1, :place, :subject, 1.0, 'x')"),
            [{"place": 1, "subject": "entry:7"}, {"place": 2, "subject": "entry:8"}])
    await db.dispose()

    await upgrade_async(url)

    db = Database(url)
    async with db.engine.begin() as conn:
        keys = await conn.run_sync(
            lambda sync: inspect(sync).get_foreign_keys("placements"))
        kept = (await conn.execute(text(
            "SELECT place, subject FROM placements ORDER BY place"))).all()
        await conn.execute(text("DELETE FROM challenges WHERE id = 1"))
        left = (await conn.execute(text("SELECT count(*) FROM placements"))).scalar()
    await db.dispose()
    assert [(k["referred_table"], k["constrained_columns"]) for k in keys] == [
        ("challenges", ["challenge_id"])]
    assert [tuple(r) for r in kept] == [(1, "entry:7"), (2, "entry:8")]
    assert left == 0


async def test_vote_numbers_are_never_reused_after_0004(tmp_path: Path, request  # type: ignore[no-untyped-def]
                                                          ) -> None:
    """Votes written before 0004 stay; after it, deleting the newest vote does not hand
    its number to the next (its ledger keys would look used), nor does a number the ledger
    names from a vote retracted before the migration."""
    url = await _url(tmp_path, request)
    await upgrade_async(url, "0003")
    at = datetime(2026, 3, 2, 12, 0)
    db = Database(url)
    async with db.engine.begin() as conn:
        await _community(conn)
        await conn.execute(insert(Member.__table__), [
            {"id": i, "community_id": 1, "external_id": f"u{i}", "created_at": at}
            for i in range(1, 5)])
        await conn.execute(insert(Challenge.__table__).values(
            id=1, community_id=1, slug="c", kind="submission", name="C", phase="voting",
            starts_at=at, created_at=at))
        # In plain SQL: the entry's vote count was a column of entries before 0006.
        await conn.execute(text(
            "INSERT INTO entries (id, community_id, challenge_id, member_id, title, "
            "submitted_at, votes, featured) VALUES (1, 1, 1, 1, 'E', :at, 2, false)"),
            {"at": at})
        await conn.execute(insert(Vote.__table__), [
            {"community_id": 1, "challenge_id": 1, "entry_id": 1, "voter_id": v, "cast_at": at}
            for v in (2, 3)])
        if db.is_sqlite:  # vote 7 was retracted: its row is gone, its ledger rows are not
            await conn.execute(insert(LedgerRow.__table__).values(
                community_id=1, member_id=1, delta=2, balance_after=2, reason="vote_received",
                reference="vote:7", idempotency_key="vote:7:received", period_at=at,
                created_at=at))
    sqlite = db.is_sqlite
    await db.dispose()

    await upgrade_async(url)

    db = Database(url)
    async with db.engine.begin() as conn:
        kept = (await conn.execute(text("SELECT id, voter_id FROM votes ORDER BY id"))).all()
        counts = (await conn.execute(text(
            "SELECT entry_id, community_id, votes FROM vote_counts"))).all()
        await conn.execute(text("DELETE FROM votes WHERE id = 2"))
        new_id = (await conn.execute(insert(Vote.__table__).values(
            community_id=1, challenge_id=1, entry_id=1, voter_id=4, cast_at=at)
            .returning(Vote.__table__.c.id))).scalar()
    await db.dispose()
    assert [tuple(r) for r in kept] == [(1, 2), (2, 3)]
    assert [tuple(r) for r in counts] == [(1, 1, 2)]  # 0006 moved the count over
    assert new_id == (8 if sqlite else 3)


async def test_existing_communities_get_distinct_public_ids(tmp_path: Path, request) -> None:  # type: ignore[no-untyped-def]
    """0008 gives each community already there its own unguessable web id."""
    url = await _url(tmp_path, request)
    await upgrade_async(url, "0007")
    db = Database(url)
    async with db.engine.begin() as conn:
        await _community(conn)
        await conn.execute(text(
            "INSERT INTO communities (id, platform, external_id, name, timezone, point_rules, "
            "settings, created_at) VALUES (2, 'console', 'h', 'H', 'UTC', '{}', '{}', "
            "'2026-03-02 12:00:00')"))
    await db.dispose()

    await upgrade_async(url)

    db = Database(url)
    async with db.engine.connect() as conn:
        ids = [r[0] for r in (await conn.execute(text(
            "SELECT public_id FROM communities ORDER BY id"))).all()]
    await db.dispose()
    assert len(set(ids)) == 2
    assert all(len(i) >= 20 for i in ids)


async def test_upgrade_counts_the_holders_of_each_achievement(tmp_path: Path, request) -> None:  # type: ignore[no-untyped-def]
    """A database at 0011 with achievements gets one holders row per community and
    achievement held (a row with times 0 holds nothing)."""
    url = await _url(tmp_path, request)
    await upgrade_async(url, "0011")
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO communities (id, platform, external_id, name, timezone, point_rules, "
            "settings, created_at, public_id) VALUES (1, 'console', 'g', 'G', 'UTC', '{}', "
            "'{}', '2026-03-02 12:00:00', 'g-public')"))
        await _members(conn, 3)
        await conn.execute(text(
            "INSERT INTO achievements (community_id, member_id, key, times) "
            "VALUES (1, :member, :key, :times)"),
            [{"member": 1, "key": "first_entry", "times": 1},
             {"member": 2, "key": "first_entry", "times": 3},
             {"member": 3, "key": "first_entry", "times": 0},
             {"member": 3, "key": "points_100", "times": 1}])
    await db.dispose()

    await upgrade_async(url)

    db = Database(url)
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT community_id, key, holders FROM achievement_holders ORDER BY key"))).all()
    await db.dispose()
    assert [tuple(r) for r in rows] == [(1, "first_entry", 2), (1, "points_100", 1)]
