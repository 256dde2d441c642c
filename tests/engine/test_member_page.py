"""The web member page's read model: every part of it from what the member did, as stored
(ledger, progress logs, entries, joins, badges, achievements)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.clock import FixedClock
from engine.errors import NotFound
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.sql import run as sql_run
from storage.tables import Achievement, AchievementHolders
from tests.conftest import member
from tests.engine.helpers import (
    goal_challenge,
    ledger_of,
    select_all,
    setup_community,
    submission_challenge,
)


async def test_the_member_page_shows_what_the_member_did(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    alice, bob = member(guild, "alice"), member(guild, "bob")
    run = await goal_challenge(engine, guild, clock, goal=50, unit="km")
    dreams = await submission_challenge(engine, guild, clock)
    day1 = clock.now().date()

    # Day 1: joins, logs 30 km, enters; bob only gets points (on the board, no entry).
    await engine.join(alice, run.slug)
    await engine.log_progress(alice, run.slug, 30)
    await engine.submit_entry(alice, dreams.slug, "Harbour at dawn")
    await engine.award_points(mod, bob, 3, "Welcome")
    # Day 2: an award and a badge only: neither is activity toward a streak.
    clock.advance(timedelta(days=1))
    await engine.award_points(mod, alice, 7, "Helpful answer")
    await engine.award_badge(mod, alice, "Star helper", "Answered everyone")
    # Day 3: 15 km more (45 km: the secret marathoner achievement, 42 of one unit).
    clock.advance(timedelta(days=1))
    await engine.log_progress(alice, run.slug, 15)
    day3 = clock.now().date()

    page = await engine.dashboard.member_page(guild, "alice")
    rows = await ledger_of(db, "alice")
    assert (page.external_id, page.name) == ("alice", "Alice")
    assert page.points == rows[-1].balance_after > 0
    assert page.rank is not None and (page.rank.rank, page.rank.members) == (1, 2)
    assert page.active_days == [day1, day3]
    assert (page.first_day, page.last_day) == (day3 - timedelta(days=364), day3)
    profile = await engine.profile(alice, None)
    assert (page.streak, page.longest_streak) == (profile.streak, profile.longest_streak)

    # Points at the end of each day with a change, as the ledger says.
    by_day = {r.created_at.date(): r.balance_after for r in rows}
    assert page.balance == sorted(by_day.items()) and len(page.balance) == 3
    # The newest lines first, the moderator's award with their name.
    assert [(line.id, line.delta, line.balance_after, line.reason) for line in page.recent] \
        == [(r.id, r.delta, r.balance_after, r.reason) for r in reversed(rows)]
    assert [line.awarded_by for line in page.recent if line.reason == "award"] == ["Mod"]
    assert all(line.awarded_by is None for line in page.recent if line.reason != "award")
    assert [line.note for line in page.recent if line.reason == "award"] == ["Helpful answer"]

    assert [(c.slug, status) for c, status in page.challenges] == [
        (dreams.slug, "1 entry"), (run.slug, "45/50 km")]

    progress = {p.definition.key: p for p in page.achievements}
    assert (progress["first_entry"].unlocked, progress["first_entry"].value) == (True, 1)
    assert progress["points_100"].value == page.points
    assert progress["streak_7"].value == page.longest_streak
    assert (progress["marathoner"].unlocked, progress["marathoner"].value) == (True, 45)
    assert "editors_pick" not in progress  # secret and not earned

    badges = {b.badge.name: b for b in page.badges}
    assert badges["Star helper"].badge.reason == "Answered everyone"
    assert (badges["Star helper"].rarity, badges["Star helper"].earned_by) == (None, None)
    # Earned by alice alone of the two members on the board.
    assert (badges["First Light"].rarity, badges["First Light"].earned_by) == ("common", 50.0)


async def test_a_member_without_history_and_an_unknown_one(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    await engine.award_points(member(guild, "mod", mod=True), member(guild, "bob"), 1,
                              "Hello")
    page = await engine.dashboard.member_page(guild, "bob")
    assert page.active_days == [] and page.challenges == [] and page.badges == []
    assert [line.reason for line in page.recent] == ["award"]
    with pytest.raises(NotFound):
        await engine.dashboard.member_page(guild, "nobody")


async def test_rarity_follows_each_new_holder_at_once(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """An achievement's rarity counts its holders as they unlock it: the next page shows
    the new share, and the aggregate equals a count of the achievements held."""
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    alice, bob, carol = member(guild, "alice"), member(guild, "bob"), member(guild, "carol")
    dreams = await submission_challenge(engine, guild, clock)
    for who in (bob, carol):
        await engine.award_points(mod, who, 1, "Welcome")
    await engine.submit_entry(alice, dreams.slug, "Harbour at dawn")

    async def first_light(who: str) -> float | None:
        page = await engine.dashboard.member_page(guild, who)
        return {b.badge.name: b.earned_by for b in page.badges}["First Light"]

    assert await first_light("alice") == 33.3  # 1 of 3 members on the board
    await engine.submit_entry(bob, dreams.slug, "Lighthouse")
    assert await first_light("alice") == await first_light("bob") == 66.7
    # A second entry unlocks nothing new: still two holders.
    await engine.submit_entry(bob, dreams.slug, "Lighthouse at night")
    assert await first_light("bob") == 66.7
    catalog = {i.key: i for i in await engine.dashboard.achievement_catalog(guild)}
    assert catalog["first_entry"].earned_by == 66.7

    held = await select_all(db, Achievement, Achievement.times > 0)
    counted = {r.key: sum(1 for a in held if a.key == r.key) for r in held}
    stored = {h.key: h.holders for h in await select_all(db, AchievementHolders)}
    assert stored == counted and stored["first_entry"] == 2


async def test_the_pages_statements_read_index_ranges_of_the_member(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """No statement of the member page scans a table: each reads the member's own rows
    through an index (SQLite's plans; the page must not grow with the community)."""
    if not db.is_sqlite:
        # The same indexes serve PostgreSQL (migration 0013); its plans read differently.
        pytest.skip("the check reads SQLite's EXPLAIN QUERY PLAN output")
    await setup_community(engine, guild)
    alice = member(guild, "alice")
    run = await goal_challenge(engine, guild, clock)
    dreams = await submission_challenge(engine, guild, clock)
    await engine.join(alice, run.slug)
    await engine.log_progress(alice, run.slug, 5)
    await engine.submit_entry(alice, dreams.slug, "Harbour at dawn")

    seen: list[tuple[str, list[object]]] = []

    def note(sql: str, args: object) -> None:
        seen.append((sql, list(args)))  # type: ignore[call-overload]

    sql_run.statement_listeners.append(note)
    try:
        await engine.dashboard.member_page(guild, "alice")
    finally:
        sql_run.statement_listeners.remove(note)
    assert len(seen) >= 8
    scans = []
    async with db.engine.connect() as conn:
        for sql, args in seen:
            plan = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, tuple(args))).all()
            scans += [(sql, step[3]) for step in plan if str(step[3]).startswith("SCAN")]
    assert scans == []
