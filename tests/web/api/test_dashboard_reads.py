"""The API serves what the dashboard's pages show, from the same engine reads: the board
with movement since last week, a member's year of active days and points over time, the
community's activity per day."""

from __future__ import annotations

from datetime import timedelta

from engine.community_stats import STATS_DAYS
from tests.web.api.conftest import ADMIN, BOB, World


async def test_the_board_with_movement_since_last_week(world: World) -> None:
    fresh = (await world.get("/leaderboard/movement")).json()
    assert fresh["page_size"] == 100 and fresh["compared_with"] == "the start of this week"
    # Every point came this week: nobody was on the board as it began.
    assert [(r["member"], r["new"], r["moved"]) for r in fresh["rows"]] == [
        ("alice", True, None), ("bob", True, None)]

    world.clock.advance(timedelta(days=7))
    await world.engine.award_points(ADMIN, BOB, 500, "A week later")

    board = (await world.get("/leaderboard/movement", params={"period": "all"})).json()
    page = await world.engine.dashboard.board_page(ADMIN.community, "all", 1)
    assert [(r["rank"], r["member"], r["moved"], r["new"]) for r in board["rows"]] == [
        (1, "bob", 1, False), (2, "alice", -1, False)]
    assert [(r["rank"], r["member"], r["moved"], r["new"]) for r in board["rows"]] == [
        (r.rank, r.member_external_id, r.moved, r.new) for r in page.rows]
    assert board["members"] == page.members == 2 and board["label"] == "all time"
    week = (await world.get("/leaderboard/movement", params={"period": "week"})).json()
    assert week["compared_with"] == "last week's final board"
    # Bob was second on last week's board (alice first); he alone has points this week.
    assert [(r["member"], r["moved"], r["new"]) for r in week["rows"]] == [("bob", 1, False)]
    past = await world.get("/leaderboard/movement", params={"page": 2})
    assert past.status_code == 422 and past.json()["error"]["code"] == "invalid_input"


async def test_a_members_calendar_and_points_over_time(world: World) -> None:
    first_day = world.clock.now().date()
    world.clock.advance(timedelta(days=1))
    await world.engine.submit_entry(BOB, "dreamscapes", "Another harbour")
    page = await world.engine.dashboard.member_page(ADMIN.community, "bob")

    calendar = (await world.get("/members/bob/calendar")).json()
    assert calendar["member"] == "bob"
    assert calendar["active_days"] == [first_day.isoformat(),
                                       (first_day + timedelta(days=1)).isoformat()]
    assert calendar["active_days"] == [d.isoformat() for d in page.active_days]
    assert calendar["last_day"] == page.last_day.isoformat()
    assert calendar["first_day"] == (page.last_day - timedelta(days=364)).isoformat()
    assert calendar["streak"] == {"current": page.streak, "longest": page.longest_streak}

    points = (await world.get("/members/bob/points-over-time")).json()
    assert points["member"] == "bob" and len(points["days"]) == 2
    assert [(d["day"], d["points"]) for d in points["days"]] == [
        (day.isoformat(), balance) for day, balance in page.balance]
    assert points["days"][-1]["points"] == (await world.engine.profile(ADMIN, "bob")).points
    for path in ("/members/nobody/calendar", "/members/nobody/points-over-time"):
        assert (await world.get(path)).status_code == 404, path


async def test_the_communitys_activity_per_day(world: World) -> None:
    stats = await world.engine.dashboard.community_stats(ADMIN.community)
    r = await world.get("/stats/activity")
    assert r.status_code == 200
    activity = r.json()
    assert len(activity["days"]) == STATS_DAYS
    today = activity["days"][-1]
    assert today["day"] == world.clock.now().date().isoformat()
    assert today["entries"] == 2 and today["votes"] == 0
    assert today["active_members"] == 2  # alice and bob got points; the moderator none
    assert today["points_given"] == stats.points_given[-1].value > 0
    assert all(d["entries"] == 0 for d in activity["days"][:-1])
    assert activity["members"] == stats.members == 2
    assert activity["active_this_week"] == stats.active_this_week
    assert activity["top_challenges"][0] == {"challenge": "dreamscapes",
                                             "name": "Dreamscapes", "entries": 2, "votes": 0}
