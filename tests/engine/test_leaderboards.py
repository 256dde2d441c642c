"""Leaderboards: competition ranking, own rank off the page, local periods, rank indexes."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from config.catalog import load_default_achievements
from engine.achievements import Catalog
from engine.clock import FixedClock
from engine.errors import InvalidInput
from engine.periods import period_key
from engine.ranking import MemoryRankIndex, SqlRankIndex
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Member, Standing
from tests.conftest import member
from tests.engine.helpers import (
    open_voting,
    select_all,
    setup_community,
    submission_challenge,
    submit_and_post,
)

LA = ZoneInfo("America/Los_Angeles")


async def _award(engine: Engine, guild: CommunityRef, points: dict[str, int]) -> None:
    mod = member(guild, "mod", mod=True)
    for name, amount in points.items():
        await engine.award_points(mod, member(guild, name), amount, "seeding the board")


def _rows(board) -> list[tuple[int, str, float]]:  # type: ignore[no-untyped-def]
    return [(r.rank, r.member_external_id, r.points) for r in board.rows]


async def test_ties_share_a_rank_and_the_next_rank_skips(
    engine: Engine, guild: CommunityRef
) -> None:
    await setup_community(engine, guild)
    await _award(engine, guild, {"ann": 300, "bo": 200, "cat": 200, "dan": 100, "eli": 50})

    board = await engine.leaderboard(member(guild, "cat"))

    assert _rows(board) == [(1, "ann", 300), (2, "bo", 200), (2, "cat", 200), (4, "dan", 100),
                            (5, "eli", 50)]
    assert board.viewer is not None and board.viewer.rank == 2
    assert (board.members, board.average, board.median) == (5, 170, 200)


async def test_average_and_median_of_an_even_board(engine: Engine, guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    await _award(engine, guild, {"a": 10, "b": 20, "c": 30, "d": 100})
    board = await engine.leaderboard(member(guild, "a"))
    assert (board.average, board.median) == (40, 25)


@pytest.fixture
async def big_board(engine: Engine, guild: CommunityRef) -> None:
    """25 members: m00 has 250 points, m01 240, ... m24 10; m08..m11 all tie on 160."""
    await setup_community(engine, guild)
    points = {f"m{i:02d}": 250 - 10 * i for i in range(25)}
    points.update({f"m{i:02d}": 160 for i in range(8, 12)})
    await _award(engine, guild, points)


async def test_own_rank_and_percentile_when_off_the_page(
    engine: Engine, guild: CommunityRef, big_board: None
) -> None:
    board = await engine.leaderboard(member(guild, "m22"))

    assert len(board.rows) == 10 and board.pages == 3
    assert "m22" not in {r.member_external_id for r in board.rows}
    assert board.viewer is not None
    assert (board.viewer.rank, board.viewer.points, board.viewer.members) == (23, 30, 25)
    assert board.viewer.top_percent == 92.0


async def test_pages_continue_ranks_across_a_tie(
    engine: Engine, guild: CommunityRef, big_board: None
) -> None:
    first = await engine.leaderboard(member(guild, "m00"), page=1)
    second = await engine.leaderboard(member(guild, "m00"), page=2)
    third = await engine.leaderboard(member(guild, "m00"), page=3)

    assert _rows(first)[-3:] == [(8, "m07", 180), (9, "m08", 160), (9, "m09", 160)]
    assert _rows(second)[:3] == [(9, "m10", 160), (9, "m11", 160), (13, "m12", 130)]
    assert [r[0] for r in _rows(third)] == [21, 22, 23, 24, 25]
    everyone = [r[1] for b in (first, second, third) for r in _rows(b)]
    assert everyone == [f"m{i:02d}" for i in range(25)]


async def test_page_past_the_end_is_a_clear_error(
    engine: Engine, guild: CommunityRef, big_board: None
) -> None:
    with pytest.raises(InvalidInput, match="The board has 3 pages"):
        await engine.leaderboard(member(guild, "m00"), page=4)
    with pytest.raises(InvalidInput, match="Pages start at 1"):
        await engine.leaderboard(member(guild, "m00"), page=0)
    with pytest.raises(InvalidInput, match="Unknown period"):
        await engine.leaderboard(member(guild, "m00"), period="year")


async def test_empty_board(engine: Engine, guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    board = await engine.leaderboard(member(guild, "nobody"))
    assert (board.rows, board.pages, board.members, board.viewer) == ([], 1, 0, None)


async def test_week_board_uses_the_community_week(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    """Sunday 23:30 in Los Angeles is already Monday in UTC: the points still count for
    the local week that is ending."""
    await setup_community(engine, guild, tz="America/Los_Angeles")
    clock.set(datetime(2026, 3, 8, 23, 30, tzinfo=LA))
    await _award(engine, guild, {"owl": 40})

    sunday = await engine.leaderboard(member(guild, "owl"), period="week")
    assert _rows(sunday) == [(1, "owl", 40)]
    assert sunday.label == "week 10 of 2026"

    clock.set(datetime(2026, 3, 9, 0, 30, tzinfo=LA))  # the new local week
    monday = await engine.leaderboard(member(guild, "owl"), period="week")
    assert (_rows(monday), monday.viewer, monday.label) == ([], None, "week 11 of 2026")
    assert _rows(await engine.leaderboard(member(guild, "owl"))) == [(1, "owl", 40)]


async def test_month_board_uses_the_community_month(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild, tz="America/Los_Angeles")
    clock.set(datetime(2026, 3, 31, 23, 30, tzinfo=LA))  # April 1st in UTC
    await _award(engine, guild, {"owl": 40})
    march = await engine.leaderboard(member(guild, "owl"), period="month")
    assert (_rows(march), march.label) == ([(1, "owl", 40)], "March 2026")

    clock.set(datetime(2026, 4, 1, 0, 30, tzinfo=LA))
    april = await engine.leaderboard(member(guild, "owl"), period="month")
    assert (_rows(april), april.label) == ([], "April 2026")


async def _compare_indexes(db: Database, memory: MemoryRankIndex, community_id: int,
                           keys: list[str]) -> None:
    sql = SqlRankIndex()
    async with db.session() as session:
        for key in keys:
            scores = sorted((s.points for s in await select_all(
                db, Standing, Standing.community_id == community_id, Standing.period == key)),
                reverse=True)
            assert await memory.stats(session, community_id, key) == \
                await sql.stats(session, community_id, key), key
            for probe in {*scores, -1, 0, 10_000}:
                assert await memory.count_above(session, community_id, key, probe) == \
                    await sql.count_above(session, community_id, key, probe) == \
                    sum(1 for s in scores if s > probe), (key, probe)
            for position in range(len(scores) + 1):
                assert await memory.points_at(session, community_id, key, position) == \
                    await sql.points_at(session, community_id, key, position), (key, position)


async def test_memory_rank_index_agrees_with_the_database(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Random awards and deductions over a month; the in-process index, kept current
    after each commit, answers exactly as the SQL index, also after a rebuild."""
    engine = Engine(db, clock, rank_index="memory")
    assert isinstance(engine.ranks, MemoryRankIndex)
    await setup_community(engine, guild)
    community_id = (await engine.community(guild)).id
    mod = member(guild, "mod", mod=True)
    rng = random.Random(20260302)
    balances: dict[str, int] = {}
    keys: set[str] = {"all"}
    for step in range(90):
        if step % 15 == 0:  # read every board so the index holds them while they change
            for period in ("all", "week", "month"):
                await engine.leaderboard(mod, period=period)
        name = f"p{rng.randrange(20)}"
        have = balances.get(name, 0)
        amount = rng.choice([rng.randint(1, 60), -rng.randint(1, have)]) if have else \
            rng.randint(1, 60)
        await engine.award_points(mod, member(guild, name), amount, f"step {step}")
        balances[name] = have + amount
        keys |= {period_key(p, clock.now(), ZoneInfo("UTC")) for p in ("week", "month")}
        clock.advance(timedelta(hours=rng.randint(2, 9)))

    assert len(keys) >= 4  # several weeks and months took points
    await _compare_indexes(db, engine.ranks, community_id, sorted(keys))

    await engine.recompute(guild)
    await _compare_indexes(db, engine.ranks, community_id, sorted(keys))
    sql_engine = Engine(db, clock, rank_index="sql")
    for period in ("all", "week", "month"):
        for viewer in ("p0", "p19"):
            pages = (await engine.leaderboard(member(guild, viewer), period=period)).pages
            for page in range(1, pages + 1):
                assert await engine.leaderboard(member(guild, viewer), period, page) == \
                    await sql_engine.leaderboard(member(guild, viewer), period, page)


async def test_recompute_repairs_drifted_standings_under_a_memory_index(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """The rebuild recompute exists for: a standing that no longer matches the ledger,
    while the in-process index holds the wrong figure and an achievement is granted."""
    engine = Engine(db, clock, rank_index="memory")
    await setup_community(engine, guild)
    await _award(engine, guild, {"ann": 30, "bo": 20})
    async with db.transaction() as s:  # drift: bo's standing no longer matches the ledger
        bo = (await select_all(db, Member, Member.external_id == "bo"))[0]
        await s.execute(update(Standing).where(Standing.member_id == bo.id)
                        .values(points=999))
    board = await engine.leaderboard(member(guild, "bo"))
    assert _rows(board)[0] == (1, "bo", 999)
    engine.catalog = Catalog.from_data([*load_default_achievements(), {
        "key": "points_15", "name": "Fifteen", "description": "Reach 15 points.",
        "kind": "threshold", "target": 15, "points": 5}])

    await engine.recompute(guild)

    board = await engine.leaderboard(member(guild, "bo"))
    assert _rows(board) == [(1, "ann", 35), (2, "bo", 25)]


async def test_challenge_standings_share_ranks_and_clamp_pages(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    msgs = {n: (await submit_and_post(engine, member(guild, n), c.slug, f"{n}'s"))[1]
            for n in ("ann", "bo", "cat")}
    await open_voting(engine, clock)
    for voter in ("x", "y"):
        await engine.cast_vote(member(guild, voter), msgs["bo"], "👍")
        await engine.cast_vote(member(guild, voter), msgs["cat"], "👍")

    standings = await engine.standings(guild, c.slug)
    assert [(r.rank, r.member_external_id, r.points) for r in standings.rows] == [
        (1, "bo", 2), (1, "cat", 2), (3, "ann", 0)]
    late = await engine.standings(guild, c.slug, page=9)
    assert (late.page, late.pages, [r.member_external_id for r in late.rows]) == (
        1, 1, ["bo", "cat", "ann"])
