"""The reads added for the JSON API: a board without a viewer, ledger pages, known members,
the visible catalog, a challenge's entries; each checks its arguments first."""

from __future__ import annotations

import pytest

from engine.clock import FixedClock
from engine.errors import InvalidInput, NotFound
from engine.refs import CommunityRef
from engine.service import Engine
from tests.conftest import member
from tests.engine.helpers import setup_community, submission_challenge

G = CommunityRef("console", "g", "G")
OTHER = CommunityRef("console", "other", "Other")


async def test_a_board_for_the_community_has_no_viewer(engine: Engine) -> None:
    await setup_community(engine, G)
    mod = member(G, "mod", mod=True)
    await engine.award_points(mod, member(G, "alice"), 7, "x")

    board = await engine.leaderboard(G)
    as_alice = await engine.leaderboard(member(G, "alice"))

    assert board.viewer is None and as_alice.viewer is not None
    assert board.rows == as_alice.rows and board.members == 1


async def test_ledger_pages_go_back_by_line_id(engine: Engine) -> None:
    await setup_community(engine, G)
    mod, alice = member(G, "mod", mod=True), member(G, "alice")
    for n in range(1, 6):
        await engine.award_points(mod, alice, n, f"award {n}")

    first = await engine.points_history(mod, "alice", 2)
    second = await engine.points_history(mod, "alice", 2, before=first[-1].id)
    last = await engine.points_history(mod, "alice", 2, before=second[-1].id)

    assert [line.delta for line in first + second + last] == [5, 4, 3, 2, 1]
    for limit, before in ((0, None), (101, None), (5, 0)):
        with pytest.raises(InvalidInput):
            await engine.points_history(mod, "alice", limit, before=before)


async def test_known_members_only_and_per_community(engine: Engine) -> None:
    for guild in (G, OTHER):
        await setup_community(engine, guild)
    await engine.award_points(member(OTHER, "mod", mod=True), member(OTHER, "zoe"), 1, "x")

    with pytest.raises(NotFound):
        await engine.dashboard.require_member(G, "zoe")
    await engine.dashboard.require_member(OTHER, "zoe")


async def test_the_catalog_hides_what_secret_achievements_are(engine: Engine) -> None:
    await setup_community(engine, G)

    shown = await engine.dashboard.achievement_catalog(G)

    assert {d.key for d in shown if d.name is not None} == {
        k for k, d in engine.catalog.defs.items() if not d.secret}
    assert all(d.name is None and d.description is None for d in shown if d.secret)


async def test_a_challenges_entries_in_submission_order_with_authors(
        engine: Engine, clock: FixedClock) -> None:
    await setup_community(engine, G)
    await submission_challenge(engine, G, clock)
    for name in ("alice", "bob", "carol"):
        await engine.submit_entry(member(G, name), "dreamscapes", f"{name}'s")

    page = await engine.dashboard.challenge_entries(G, "dreamscapes", page=2, page_size=2)

    assert (page.page, page.pages, page.total) == (2, 2, 3)
    assert [(e.author_id, e.author_name, e.entry.title) for e in page.items] == [
        ("carol", "Carol", "carol's")]
    for page_no, size in ((0, 10), (1, 0), (1, 101)):
        with pytest.raises(InvalidInput):
            await engine.dashboard.challenge_entries(G, "dreamscapes", page_no, size)
    with pytest.raises(NotFound):
        await engine.dashboard.challenge_entries(OTHER, "dreamscapes")
