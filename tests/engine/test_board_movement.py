"""The web leaderboard's movement since last week: each row's rank against the rank the
member held on last week's final board (this week's board), or on the same board as this
week began (all time, this month); members who were not on it are new."""

from __future__ import annotations

from datetime import timedelta

from engine.clock import FixedClock
from engine.refs import CommunityRef
from engine.service import Engine
from tests.conftest import member


def _moves(page) -> list[tuple[int, str, float, int | None, bool]]:  # type: ignore[no-untyped-def]
    return [(r.rank, r.member_external_id, r.points, r.moved, r.new) for r in page.rows]


async def _two_weeks(engine: Engine, clock: FixedClock, guild: CommunityRef) -> None:
    """Week 10: a 50, b 40, c 40, d 10. Week 11 (still March): d +45, e +20 (all of
    e's points), b +1."""
    mod = member(guild, "mod", mod=True)

    async def award(name: str, amount: int) -> None:
        await engine.award_points(mod, member(guild, name), amount, "seed")

    for name, amount in (("a", 50), ("b", 40), ("c", 40), ("d", 10)):
        await award(name, amount)
    clock.advance(timedelta(days=7))
    for name, amount in (("d", 45), ("e", 20), ("b", 1)):
        await award(name, amount)


async def test_all_time_and_this_month_move_against_the_start_of_the_week(
        engine: Engine, clock: FixedClock, guild: CommunityRef) -> None:
    await _two_weeks(engine, clock, guild)
    # As the week began: a 1st, b and c 2nd (tied), d 4th; e was not on the board.
    expected = [(1, "d", 55, 3, False), (2, "a", 50, -1, False), (3, "b", 41, -1, False),
                (4, "c", 40, -2, False), (5, "e", 20, None, True)]
    for period in ("all", "month"):
        page = await engine.dashboard.board_page(guild, period)
        assert page.compared_with == "the start of this week"
        assert _moves(page) == expected, period
    # Points this week move ranks now, not the board as the week began.
    await engine.award_points(member(guild, "mod", mod=True), member(guild, "c"), 100, "late")
    again = await engine.dashboard.board_page(guild, "all")
    assert _moves(again)[:2] == [(1, "c", 140, 1, False), (2, "d", 55, 2, False)]


async def test_this_week_moves_against_last_weeks_final_board(
        engine: Engine, clock: FixedClock, guild: CommunityRef) -> None:
    await _two_weeks(engine, clock, guild)
    page = await engine.dashboard.board_page(guild, "week")
    assert page.compared_with == "last week's final board"
    # Last week: a 50, b 40, c 40, d 10: d was 4th, b 2nd (tied with c); e had nothing.
    assert _moves(page) == [(1, "d", 45, 3, False), (2, "e", 20, None, True),
                            (3, "b", 1, -1, False)]


async def test_a_month_that_began_this_week_has_nothing_to_move_on(
        engine: Engine, clock: FixedClock, guild: CommunityRef) -> None:
    await _two_weeks(engine, clock, guild)
    clock.advance(timedelta(days=23))  # Wednesday 1 April: its week began on 30 March
    await engine.award_points(member(guild, "mod", mod=True), member(guild, "a"), 5, "april")
    page = await engine.dashboard.board_page(guild, "month")
    assert page.compared_with == "the start of this month"
    assert _moves(page) == [(1, "a", 5, None, True)]
    # All time still moves: against the board as this week began (d 55, a 50, b 41...);
    # a now shares the first place (listed first: the older member).
    assert _moves(await engine.dashboard.board_page(guild, "all"))[:3] == [
        (1, "a", 55, 1, False), (1, "d", 55, 0, False), (3, "b", 41, 0, False)]
