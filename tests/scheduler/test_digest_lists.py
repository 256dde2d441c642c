"""The weekly digest and a period's final standings rank as `/leaderboard` does (ties
share a rank), and never cut a list silently: a tie at the cut is shown whole or counted,
the rest counted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engine.clock import FixedClock
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Badge, Member, Streak
from tests.conftest import member
from tests.engine.helpers import goal_challenge, outbox_rows, setup_community

# Points this week (week 10 of 2026): a tie for 2nd, and five members tied on 100
# across the cut at 5.
LONG_TIE = {"alice": 300, "bob": 200, "carol": 200, "dave": 150, "erin": 100, "frank": 100,
            "gina": 100, "hugo": 100, "ivy": 100, "jon": 50}


async def _award(engine: Engine, guild: CommunityRef, points: dict[str, int]) -> None:
    mod = member(guild, "mod", mod=True)
    for name, amount in points.items():
        await engine.award_points(mod, member(guild, name), amount, "the week's work")


async def _week_closes(engine: Engine, clock: FixedClock) -> None:
    """Run the schedule past Monday 9 March: week 10 closes at 00:00, the digest at 09:00."""
    await engine.due.sweep()
    await engine.due.run_until(clock, clock.now() + timedelta(days=7))


async def _close_lines(db: Database) -> list[str]:
    (close,) = await outbox_rows(db, "period_close")
    assert close.body["title"] == "🏁 Final standings for week 10 of 2026"
    return str(close.body["text"]).splitlines()


async def _digest_field(db: Database, name: str) -> list[str]:
    (digest,) = await outbox_rows(db, "digest")
    return str({f["name"]: f["value"] for f in digest.body["fields"]}[name]).splitlines()


async def test_final_standings_share_ranks_and_count_a_long_tie_at_the_cut(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await _award(engine, guild, LONG_TIE)
    board = await engine.leaderboard(guild, "week")

    await _week_closes(engine, clock)

    assert await _close_lines(db) == [
        "🥇 Alice: 300 pts",
        "🥈 Bob: 200 pts",
        "🥈 Carol: 200 pts",
        "4. Dave: 150 pts",
        "5. Erin: 100 pts",
        "…and 5 more members, 4 of them tied on 100 pts",
    ]
    # the ranks /leaderboard showed for the same week
    assert [(r.rank, r.name) for r in board.rows[:5]] == [
        (1, "Alice"), (2, "Bob"), (2, "Carol"), (4, "Dave"), (5, "Erin")]


async def test_a_small_tie_at_the_cut_is_shown_whole_and_the_rest_counted(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await _award(engine, guild, {"alice": 300, "bob": 200, "carol": 150, "dave": 120,
                                 "erin": 100, "frank": 100, "gina": 90})

    await _week_closes(engine, clock)

    assert await _close_lines(db) == [
        "🥇 Alice: 300 pts", "🥈 Bob: 200 pts", "🥉 Carol: 150 pts", "4. Dave: 120 pts",
        "5. Erin: 100 pts", "5. Frank: 100 pts", "…and 1 more member"]


async def test_only_a_tie_left_out_is_counted_as_a_tie(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await _award(engine, guild, {"alice": 10, "bob": 10, "carol": 10, "dave": 10,
                                 "erin": 10, "frank": 10, "gina": 10, "hugo": 10, "ivy": 10})

    await _week_closes(engine, clock)

    lines = await _close_lines(db)
    assert lines[:5] == ["🥇 Alice: 10 pts", "🥇 Bob: 10 pts", "🥇 Carol: 10 pts",
                         "🥇 Dave: 10 pts", "🥇 Erin: 10 pts"]
    assert lines[5:] == ["…and 4 more members tied on 10 pts"]


async def test_digest_movers_rank_like_the_leaderboard_and_badges_say_how_many_more(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await _award(engine, guild, LONG_TIE)
    mod = member(guild, "mod", mod=True)
    for i in range(12):
        await engine.award_badge(mod, member(guild, "jon"), f"Helper {i}", "kind words")
    async with db.session() as s:
        badges = int(await s.scalar(select(func.count()).select_from(Badge)) or 0)
    assert badges > 10

    await _week_closes(engine, clock)

    assert await _digest_field(db, "Top movers") == [
        "1. Alice: +300",
        "2. Bob: +200",
        "2. Carol: +200",
        "4. Dave: +150",
        "5. Erin: +100",
        "…and 5 more members, 4 of them tied on 100 pts",
    ]
    new_badges = await _digest_field(db, "New badges")
    assert len(new_badges) == 11
    assert new_badges[-1] == f"…and {badges - 10} more badges"


async def test_digest_streaks_count_the_tie_at_the_cut(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    days = {"alice": 12, "bob": 9, "carol": 9, "dave": 8, "erin": 8, "frank": 8, "gina": 8,
            "hugo": 8, "ivy": 8, "jon": 7, "kim": 3}
    await _award(engine, guild, dict.fromkeys(days, 1))
    community_id = (await engine.community(guild)).id
    async with db.transaction() as s:  # streaks as a month of activity left them
        ids = dict((await s.execute(select(Member.external_id, Member.id))).all())
        s.add_all(Streak(community_id=community_id, member_id=ids[n], current=d, longest=d)
                  for n, d in days.items())

    await _week_closes(engine, clock)

    assert await _digest_field(db, "Streaks") == [
        "Alice: 12 days", "Bob: 9 days", "Carol: 9 days", "Dave: 8 days", "Erin: 8 days",
        "…and 5 more members, 4 of them tied on 8 days"]


async def test_digest_says_how_many_more_challenges_are_open(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    for i in range(10):
        await goal_challenge(engine, guild, clock, name=f"Run {i}", days=30)

    await _week_closes(engine, clock)

    open_now = await _digest_field(db, "Open now")
    assert len(open_now) == 9 and open_now[0].startswith("Run 0: ")
    assert open_now[-1] == "…and 2 more challenges"
