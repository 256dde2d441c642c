"""Every read endpoint: status and content, as a client of the community sees them."""

from __future__ import annotations

from tests.web.api.conftest import ADMIN, ALICE, World


async def test_the_community(world: World) -> None:
    r = await world.get("")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == world.a and body["name"] == "Painters"
    assert body["platform"] == "discord" and body["timezone"] == "UTC"
    assert body["point_rules"]["vote_cast"] == (await world.engine.community(
        ADMIN.community)).points["vote_cast"]


async def test_the_leaderboard_pages_and_periods(world: World) -> None:
    expected = await world.engine.leaderboard(ADMIN.community)
    assert [r.member_external_id for r in expected.rows] == ["alice", "bob"]

    r = await world.get("/leaderboard")

    assert r.status_code == 200
    board = r.json()
    assert board["period"] == "all" and board["label"] == "all time"
    assert board["members"] == 2 and board["pages"] == 1
    assert [(row["rank"], row["member"], row["name"], row["points"])
            for row in board["rows"]] == [(1, "alice", "Alice", expected.rows[0].points),
                                          (2, "bob", "Bob", expected.rows[1].points)]
    second = (await world.get("/leaderboard", params={"page": 2, "page_size": 1})).json()
    assert second["page"] == 2 and second["pages"] == 2
    assert [(row["rank"], row["member"]) for row in second["rows"]] == [(2, "bob")]
    week = (await world.get("/leaderboard", params={"period": "week"})).json()
    assert week["period"] == "week" and week["label"].startswith("week ")
    assert [row["member"] for row in week["rows"]] == ["alice", "bob"]


async def test_community_statistics(world: World) -> None:
    board = await world.engine.leaderboard(ADMIN.community)
    r = await world.get("/stats")
    assert r.status_code == 200
    stats = r.json()
    assert set(stats["boards"]) == {"all", "week", "month"}
    assert stats["boards"]["all"] == {"label": "all time", "members": 2,
                                      "average": board.average, "median": board.median}
    assert stats["challenges"] == 6


async def test_the_achievement_catalog_hides_secret_ones(world: World) -> None:
    r = await world.get("/achievements")
    assert r.status_code == 200
    keys = {a["key"] for a in r.json()}
    catalog = world.engine.catalog.defs
    assert keys == {k for k, d in catalog.items() if not d.secret}
    assert any(d.secret for d in catalog.values())  # there is something to hide


async def test_a_member(world: World) -> None:
    profile = await world.engine.profile(ADMIN, "alice")
    r = await world.get("/members/alice")
    assert r.status_code == 200
    alice = r.json()
    assert alice["member"] == "alice" and alice["name"] == "Alice"
    assert alice["points"] == profile.points > 30
    assert alice["rank"] == {"rank": 1, "points": profile.points, "members": 2,
                             "top_percent": 50.0}
    assert alice["badges"] == profile.badges == 3  # Welcome, and two achievements'
    assert alice["streak"] == {"current": profile.streak, "longest": profile.longest_streak}
    assert {a["challenge"] for a in alice["active"]} >= {"marathon", "steps", "dreamscapes"}
    assert alice["recent"][0]["note"] == "Helped a newcomer"


async def test_a_members_history_pages_back(world: World) -> None:
    await world.engine.award_points(ADMIN, ALICE, 5, "second")
    await world.engine.award_points(ADMIN, ALICE, 7, "third")
    balance = (await world.engine.profile(ADMIN, "alice")).points

    first = (await world.get("/members/alice/history", params={"limit": 2})).json()
    assert [line["note"] for line in first["lines"]] == ["third", "second"]
    assert [line["balance_after"] for line in first["lines"]] == [balance, balance - 7]
    assert [line["delta"] for line in first["lines"]] == [7, 5]
    assert first["lines"][0]["awarded_by"] == "Mod"
    rest = (await world.get("/members/alice/history",
                            params={"limit": 2, "before": first["next_before"]})).json()
    assert rest["lines"][0]["note"] == "Helped a newcomer"
    assert rest["lines"][0]["id"] < first["lines"][-1]["id"]
    everything = (await world.get("/members/alice/history", params={"limit": 100})).json()
    assert everything["next_before"] is None
    assert everything["lines"][-1]["balance_after"] == everything["lines"][-1]["delta"]


async def test_a_members_streak_badges_achievements_and_position(world: World) -> None:
    streak = await world.get("/members/alice/streak")
    assert streak.status_code == 200 and set(streak.json()) == {"current", "longest"}

    badges = (await world.get("/members/alice/badges")).json()
    owned = await world.engine.badges(ADMIN, "alice")
    assert [(b["id"], b["name"], b["reason"]) for b in badges] == [
        (b.id, b.name, b.reason) for b in owned]
    assert ("Welcome", "First day") in [(b["name"], b["reason"]) for b in badges]

    progress = (await world.get("/members/alice/achievements")).json()
    assert progress and {"achievement", "value", "unlocked", "times", "label"} <= set(
        progress[0])
    first_entry = next(p for p in progress if p["achievement"]["key"] == "first_entry")
    assert first_entry["unlocked"] is True

    position = (await world.get("/members/bob/position", params={"period": "month"})).json()
    assert position["on_board"] is True and position["rank"]["rank"] == 2
    assert position["period"] == "month"


async def test_a_member_known_but_without_points_is_off_the_board(world: World) -> None:
    """The moderator made the challenges and awards: known, but never paid."""
    r = await world.get("/members/mod/position")
    assert r.status_code == 200
    assert r.json() == {"period": "all", "label": "all time", "on_board": False, "rank": None}


async def test_unknown_members_are_404_on_every_member_endpoint(world: World) -> None:
    for path in ("", "/history", "/streak", "/badges", "/achievements", "/position",
                 "/calendar", "/points-over-time"):
        r = await world.get(f"/members/nobody{path}")
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "not_found"


async def test_challenges_list_one_entries_and_standings(world: World) -> None:
    listing = (await world.get("/challenges", params={"page_size": 4})).json()
    assert listing["total"] == 6 and listing["pages"] == 2 and len(listing["items"]) == 4
    goals = (await world.get("/challenges", params={"phase": "active"})).json()
    assert {c["slug"] for c in goals["items"]} == {"marathon", "steps", "reading"}

    one = (await world.get("/challenges/dreamscapes")).json()
    assert one["challenge"]["name"] == "Dreamscapes" and one["challenge"]["phase"] == "open"
    assert one["challenge"]["kind"] == "submission" and one["participants"] == 2
    by_number = (await world.get(f"/challenges/{one['challenge']['id']}")).json()
    assert by_number["challenge"]["slug"] == "dreamscapes"

    entries = (await world.get("/challenges/dreamscapes/entries")).json()
    assert [(e["title"], e["author"]) for e in entries["items"]] == [
        ("Night garden", "alice"), ("Cloud harbour", "bob")]
    assert entries["total"] == 2 and entries["items"][0]["votes"] == 0

    standings = (await world.get("/challenges/marathon/standings")).json()
    assert standings["challenge"] == "marathon" and standings["final"] is False
    assert [row["member"] for row in standings["rows"]] == ["alice"]


async def test_unknown_challenges_are_404(world: World) -> None:
    for path in ("/challenges/atlantis", "/challenges/atlantis/entries",
                 "/challenges/atlantis/standings", "/challenges/999"):
        r = await world.get(path)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "not_found"


async def test_another_communitys_data_is_never_mixed_in(world: World) -> None:
    """B has an alice with 99 points: A's board and A's alice know nothing of them."""
    board = (await world.get("/leaderboard")).json()
    assert 99 not in [row["points"] for row in board["rows"]]
    assert (await world.get("/members/alice")).json()["points"] == (
        await world.engine.profile(ADMIN, "alice")).points != 99
    in_b = await world.client.get(world.url("/members/alice", world.b),
                                  headers=world.auth(world.b_token))
    assert in_b.status_code == 200 and in_b.json()["points"] == 99
