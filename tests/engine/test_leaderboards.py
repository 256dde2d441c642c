"""Leaderboards: competition ranking, own rank off the page, local periods, rank indexes."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, update

from config.catalog import load_default_achievements
from engine import leaderboards
from engine.achievements import Catalog
from engine.clock import FixedClock
from engine.errors import InvalidInput, LaurelsError
from engine.ledger import Posting, post, rebuild_standings, reverse
from engine.members import ensure_member
from engine.periods import period_key
from engine.ranking import MemoryRankIndex, ScoreGroup, SqlRankIndex
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.sql import boards
from storage.tables import Member, ScoreCount, Standing
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


async def test_pages_through_a_tie_too_large_to_sort(
    engine: Engine, guild: CommunityRef
) -> None:
    """A tie of more members than a page read sorts (`boards.SMALL_GROUP`): every page,
    whether it starts at a group or inside one, near either end of the tie, lists the
    board in order (points, then who joined first) with shared ranks."""
    await setup_community(engine, guild)
    points = {"lead1": 90, "lead2": 80}
    points |= {f"t{i:03d}": 50 for i in range(boards.SMALL_GROUP + 36)}
    points |= {f"z{i}": 10 - i for i in range(7)}
    await _award(engine, guild, points)
    expected, rank = [], 0
    for i, (name, pts) in enumerate(points.items()):  # awarded in board order already
        rank = rank if expected and expected[-1][2] == pts else i + 1
        expected.append((rank, name, pts))

    pages = -(-len(points) // 10)
    seen = [row for page in range(1, pages + 1)
            for row in _rows(await engine.leaderboard(member(guild, "lead1"), page=page))]

    assert seen == expected


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


def _brute_board(scores: dict[int, int]) -> tuple[list[tuple[int, int, int]], float, float]:
    """(rank, member id, points) best first (ties by member id), average and median,
    counted the slow way from every standing."""
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [(1 + sum(1 for s in scores.values() if s > pts), m, pts) for m, pts in ordered]
    values = sorted(scores.values())
    n = len(values)
    if not n:
        return rows, 0.0, 0.0
    return rows, sum(values) / n, (values[(n - 1) // 2] + values[n // 2]) / 2


def _brute_groups(rows: list[tuple[int, int, int]], offset: int, limit: int
                  ) -> list[ScoreGroup]:
    groups: list[ScoreGroup] = []
    for position in range(offset, min(offset + limit, len(rows))):
        rank, _, points = rows[position]
        if groups and groups[-1].points == points:
            g = groups[-1]
            groups[-1] = ScoreGroup(points, g.members, g.above, g.skip, g.take + 1)
        else:
            size = sum(1 for r in rows if r[2] == points)
            groups.append(ScoreGroup(points, size, rank - 1, position - (rank - 1), 1))
    return groups


async def _check_against_brute_force(db: Database, engines: list[Engine], guild: CommunityRef,
                                     community_id: int, keys: list[str]) -> None:
    names = {m.id: m.external_id for m in await select_all(db, Member)}
    histogram = {(h.period, h.points): h.members for h in await select_all(
        db, ScoreCount, ScoreCount.community_id == community_id)}
    standings = await select_all(db, Standing, Standing.community_id == community_id)
    # The histogram is exactly the standings counted by score, with no empty scores.
    assert histogram == Counter((s.period, s.points) for s in standings)
    for key in keys:
        scores = {s.member_id: s.points for s in standings if s.period == key}
        rows, average, median = _brute_board(scores)
        async with db.session() as session:
            for ranks in (engines[0].ranks, engines[1].ranks):
                stats = await ranks.stats(session, community_id, key)
                assert (stats.members, stats.average, stats.median) == \
                    (len(scores), average, median), key
                for probe in {*scores.values(), -7, 0, 10_000}:
                    assert await ranks.count_above(session, community_id, key, probe) == \
                        sum(1 for s in scores.values() if s > probe), (key, probe)
                for offset in range(len(rows) + 1):
                    expected = rows[offset][2] if offset < len(rows) else None
                    assert await ranks.points_at(session, community_id, key, offset) == \
                        expected, (key, offset)
                    who = rows[offset][1] if offset < len(rows) else None
                    for limit in (1, 4):
                        read = await ranks.read(session, community_id, key, who, offset, limit)
                        assert read.stats == stats, (key, offset)
                        assert read.groups == _brute_groups(rows, offset, limit), (key, offset)
                        mine = [r for r in rows if r[1] == who]
                        assert (read.points, read.above + 1 if mine else None) == (
                            (mine[0][2], mine[0][0]) if mine else (None, None)), (key, who)
        period = {"a": "all", "w": "week", "m": "month"}[key[0]]
        if key != period_key(period, engines[0].clock.now(), ZoneInfo("UTC")):
            continue  # only the current week and month have a board to read
        for viewer_id in {*list(scores)[:3], *list(scores)[-2:]}:
            viewer = member(guild, names[viewer_id])
            pages = max(1, -(-len(rows) // 3))
            for page in range(1, pages + 1):
                boards = [await e.leaderboard(viewer, period, page, page_size=3)
                          for e in engines]
                assert boards[0] == boards[1], (key, page)
                board = boards[0]
                assert [(r.rank, r.member_external_id, r.points) for r in board.rows] == \
                    [(rank, names[m], pts) for rank, m, pts in rows[(page - 1) * 3:page * 3]]
                assert (board.members, board.average, board.median) == \
                    (len(scores), average, median)
                mine = next(r for r in rows if r[1] == viewer_id)
                assert board.viewer is not None
                assert (board.viewer.rank, board.viewer.points) == (mine[0], mine[2])
                assert board.viewer.top_percent == max(
                    0.1, math.ceil(1000 * mine[0] / len(scores)) / 10)


async def test_rank_indexes_agree_with_brute_force_after_random_history(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Random awards, deductions (to zero and below zero on week and month boards),
    reversals, votes and their retractions, and rebuilds: the SQL index (score histogram),
    the in-process index and a count of every standing agree on every rank, page,
    percentile, average and median; the histogram matches the standings exactly."""
    await _random_history(db, guild, clock)


@pytest.mark.sqlite_only
async def test_session_less_reads_agree_on_a_sqlite_file(
    tmp_path: Path, guild: CommunityRef, clock: FixedClock
) -> None:
    """The same history on a SQLite file, where leaderboards are read on a session-less
    reader (storage/plain_reads.py): every board it shows agrees with the brute force."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'boards.db'}")
    try:
        await db.create_all()
        checkouts = _count_checkouts(db)
        await _random_history(db, guild, clock)
        engine = Engine(db, clock, rank_index="memory")
        await engine.leaderboard(member(guild, "p1"))  # loads the community's copy
        before = checkouts[0]
        board = await engine.leaderboard(member(guild, "p1"))
        assert checkouts[0] == before  # no session was opened for it
        assert board.viewer is not None and board.rows
    finally:
        await db.dispose()


@pytest.mark.sqlite_only
async def test_a_read_waiting_for_its_board_sees_what_the_board_holds(
    tmp_path: Path, guild: CommunityRef, clock: FixedClock
) -> None:
    """A session-less read that waits to load its board while another writer commits
    shows the page of the board it loaded, not of the snapshot it started with."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'boards.db'}")
    try:
        await db.create_all()
        engine = Engine(db, clock, rank_index="memory")
        await setup_community(engine, guild)
        await _award(engine, guild, {"a": 10, "b": 5, "c": 1})
        await engine.leaderboard(member(guild, "a"))  # the community's copy is loaded
        community_id = (await engine.community(guild)).id
        engine.ranks.forget(community_id)  # type: ignore[attr-defined]

        async def writer() -> None:  # holds the write lock while the read starts
            async with db.write_lock():
                await asyncio.sleep(0.05)
                async with db.sessions() as session, session.begin():
                    await session.execute(update(Standing).where(
                        Standing.community_id == community_id, Standing.period == "all",
                        Standing.member_id == select(Member.id).where(
                            Member.external_id == "c").scalar_subquery()
                    ).values(points=20))

        task = asyncio.create_task(writer())
        await asyncio.sleep(0)
        board = await engine.leaderboard(member(guild, "a"))
        await task
        assert _rows(board) == [(1, "c", 20), (2, "a", 10), (3, "b", 5)]
        assert board.viewer is not None and board.viewer.rank == 2
    finally:
        await db.dispose()


def _count_checkouts(db: Database) -> list[int]:
    count = [0]

    def checkout(*_: object) -> None:
        count[0] += 1

    event.listen(db.engine.sync_engine.pool, "checkout", checkout)
    return count


async def _random_history(db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    memory = Engine(db, clock, rank_index="memory")
    sql = Engine(db, clock, rank_index="sql")
    engines = [memory, sql]
    await setup_community(memory, guild)
    community_id = (await memory.community(guild)).id
    mod = member(guild, "mod", mod=True)
    c = await submission_challenge(memory, guild, clock)
    entries = {n: (await submit_and_post(memory, member(guild, n), c.slug, f"{n}'s"))[1]
               for n in ("p1", "p2", "p3")}
    await open_voting(memory, clock)
    rng = random.Random(20261202)
    references: list[str] = []
    keys: set[str] = {"all"}
    for step in range(160):
        if step % 40 == 0:  # the memory index holds the boards while they change
            for period in ("all", "week", "month"):
                await memory.leaderboard(mod, period=period)
        name = f"p{rng.randrange(12)}"
        who = await memory.uow.write(guild, lambda tx, n=name: ensure_member(tx, member(guild, n)))
        roll = rng.random()
        if roll < 0.45:
            amount = rng.choice([rng.randint(1, 5), rng.randint(1, 40), 3])
            await memory.award_points(mod, member(guild, name), amount, f"step {step}")
        elif roll < 0.65:  # any amount, also below zero, straight through the ledger
            ref = f"test:{step}"
            references.append(ref)
            delta = rng.choice([-rng.randint(1, 30), rng.randint(1, 30), -3])
            await memory.uow.write(guild, lambda tx, m=who.id, d=delta, r=ref: post(
                tx, [Posting(m, d, "award", r, reference=r)]))
        elif roll < 0.75 and references:
            ref = rng.choice(references)
            await memory.uow.write(guild, lambda tx, r=ref: reverse(tx, r))
        elif roll < 0.9:
            with contextlib.suppress(LaurelsError):  # one's own entry
                await memory.cast_vote(member(guild, name),
                                       rng.choice(list(entries.values())), "👍")
        else:
            await memory.retract_vote(member(guild, name),
                                      rng.choice(list(entries.values())), "👍")
        if step % 53 == 52:
            await memory.uow.write(guild, rebuild_standings)
            memory.ranks.forget(community_id)  # type: ignore[attr-defined]
        keys |= {period_key(p, clock.now(), ZoneInfo("UTC")) for p in ("week", "month")}
        clock.advance(timedelta(hours=rng.randint(1, 14)))
        if step % 40 == 39:
            await _check_against_brute_force(db, engines, guild, community_id, sorted(keys))

    negative = [s for s in await select_all(db, Standing) if s.points < 0]
    zero = [s for s in await select_all(db, Standing) if s.points == 0]
    assert negative and zero  # the history did reach both
    await memory.recompute(guild)
    await _check_against_brute_force(db, engines, guild, community_id, sorted(keys))


async def test_histogram_stays_exact_under_concurrent_awards(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Awards racing each other, many of them creating a member's first standing at once
    (on PostgreSQL: concurrent transactions inserting the same standings rows), leave the
    histogram equal to the standings counted by score."""
    engine = Engine(db, clock, rank_index="sql")
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    community_id = (await engine.community(guild)).id
    rng = random.Random(7)
    names = [f"c{i}" for i in range(8)]
    for name in names:  # members exist; their standings do not yet
        await engine.uow.write(guild, lambda tx, n=name: ensure_member(tx, member(guild, n)))

    async def award(name: str, amount: int) -> None:
        await engine.award_points(mod, member(guild, name), amount, "race")

    for _ in range(3):
        await asyncio.gather(*(award(rng.choice(names), rng.randint(1, 4)) for _ in range(24)))
        histogram = {(h.period, h.points): h.members for h in await select_all(
            db, ScoreCount, ScoreCount.community_id == community_id)}
        standings = await select_all(db, Standing, Standing.community_id == community_id)
        assert histogram == Counter((s.period, s.points) for s in standings)
        assert sum(n for (p, _), n in histogram.items() if p == "all") == len(
            {s.member_id for s in standings})
        clock.advance(timedelta(days=8))  # a new week: first standings again


async def test_points_paid_between_the_index_read_and_the_rows_read_again(
    engine: Engine, guild: CommunityRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's ranks come from the rank index and its rows from the standings: points
    paid between the two reads give a row a score the index did not have. The page is
    read again instead of failing (a `/leaderboard` during a burst of votes did)."""
    await setup_community(engine, guild)
    await _award(engine, guild, {"ann": 300, "bo": 200, "cat": 100})
    real = leaderboards.board_groups
    reads = 0

    async def paid_meanwhile(*args: object) -> list[tuple[object, ...]]:
        nonlocal reads
        reads += 1
        rows = await real(*args)  # type: ignore[arg-type]
        if reads == 1:  # cat was paid 50 points after the index was read
            rows = [*rows[:-1], (150, *rows[-1][1:])]
        return rows

    monkeypatch.setattr(leaderboards, "board_groups", paid_meanwhile)
    board = await engine.leaderboard(member(guild, "ann"))

    assert _rows(board) == [(1, "ann", 300), (2, "bo", 200), (3, "cat", 100)]
    assert reads == 2


async def test_a_page_never_shows_a_rank_it_does_not_know(
    engine: Engine, guild: CommunityRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the reads never to agree, the row the index cannot rank is left off the page
    rather than shown with a made-up rank."""
    await setup_community(engine, guild)
    await _award(engine, guild, {"ann": 300, "bo": 200, "cat": 100})
    real = leaderboards.board_groups

    async def always_ahead(*args: object) -> list[tuple[object, ...]]:
        rows = await real(*args)  # type: ignore[arg-type]
        return [*rows[:-1], (150, *rows[-1][1:])]

    monkeypatch.setattr(leaderboards, "board_groups", always_ahead)
    board = await engine.leaderboard(member(guild, "ann"))

    assert _rows(board) == [(1, "ann", 300), (2, "bo", 200)]
