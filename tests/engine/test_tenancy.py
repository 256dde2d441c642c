"""Two communities with the same slugs and user ids never see or touch each other's data."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.clock import FixedClock
from engine.errors import Forbidden, NotFound
from engine.refs import CommunityRef, MessageRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Entry, Standing
from tests.conftest import member
from tests.engine.helpers import (
    open_voting,
    outbox_rows,
    run_due,
    select_all,
    setup_community,
    submission_challenge,
    submit_and_post,
)
from tests.engine.test_challenges import GOOD

# Same external id on two platforms, and a second guild: three separate communities.
ONE = CommunityRef("discord", "42", "Painters")
TWO = CommunityRef("slack", "42", "Runners")
THREE = CommunityRef("discord", "43", "Potters")


@pytest.fixture
async def twins(engine: Engine, clock: FixedClock):  # type: ignore[no-untyped-def]
    """'dreamscapes' in both communities, alice's entry in each, voting open."""
    posted = {}
    for guild in (ONE, TWO, THREE):
        await setup_community(engine, guild)
        c = await submission_challenge(engine, guild, clock)
        assert c.slug == "dreamscapes"
        posted[guild] = await submit_and_post(engine, member(guild, "alice"), c.slug,
                                              f"Alice in {guild.name}")
    await open_voting(engine, clock)
    return posted


async def test_a_reaction_on_another_communitys_message_is_ignored(
    engine: Engine, twins  # type: ignore[no-untyped-def]
) -> None:
    one_entry, one_msg = twins[ONE]
    result = await engine.cast_vote(member(TWO, "bob"), one_msg, "👍")
    assert result.status == "ignored"
    assert (await engine.entry(ONE, one_entry)).votes == 0
    assert (await engine.retract_vote(member(TWO, "bob"), one_msg, "👍")).status == "ignored"


async def test_the_same_message_id_resolves_within_each_community(
    engine: Engine, db: Database, twins  # type: ignore[no-untyped-def]
) -> None:
    same = MessageRef("entries", "shared-id")  # two platforms may well reuse an id
    async with db.transaction() as s:
        for guild in (ONE, TWO):
            entry = await s.get(Entry, twins[guild][0])
            entry.channel_id, entry.message_id = same.channel_id, same.message_id

    await engine.cast_vote(member(TWO, "bob"), same, "👍")

    assert (await engine.entry(TWO, twins[TWO][0])).votes == 1
    assert (await engine.entry(ONE, twins[ONE][0])).votes == 0


async def test_challenges_entries_and_ids_stay_inside_their_community(
    engine: Engine, twins  # type: ignore[no-untyped-def]
) -> None:
    one_entry = twins[ONE][0]
    one_challenge = (await engine.list_challenges(ONE)).items[0]
    assert [v.id for v in (await engine.list_challenges(TWO)).items] != [one_challenge.id]
    with pytest.raises(NotFound):
        await engine.challenge_info(member(TWO, "alice"), f"#{one_challenge.id}")
    with pytest.raises(NotFound):
        await engine.entry(TWO, one_entry)
    with pytest.raises(NotFound):
        await engine.feature_entry(member(TWO, "mod", mod=True), one_entry)
    with pytest.raises(NotFound):
        await engine.disqualify_entry(member(TWO, "mod", mod=True), one_entry, "not yours")
    with pytest.raises(NotFound):
        await engine.cancel_challenge(member(TWO, "mod", mod=True), f"#{one_challenge.id}",
                                      None)
    entry = await engine.entry(ONE, one_entry)
    assert not entry.featured and entry.disqualified_reason is None
    mine = await engine.challenge_info(member(TWO, "alice"), "dreamscapes")
    assert [e.title for e in mine.my_entries] == ["Alice in Runners"]


async def test_points_and_leaderboards_are_per_community(
    engine: Engine, db: Database, twins  # type: ignore[no-untyped-def]
) -> None:
    await engine.cast_vote(member(ONE, "bob"), twins[ONE][1], "👍")
    await engine.award_points(member(TWO, "mod", mod=True), member(TWO, "alice"), 500, "MVP")

    one, two = await engine.profile(member(ONE, "alice")), await engine.profile(
        member(TWO, "alice"))
    assert (one.points, two.points) == (87, 585)
    board_one = await engine.leaderboard(member(ONE, "alice"))
    board_two = await engine.leaderboard(member(TWO, "alice"))
    assert [(r.member_external_id, r.points) for r in board_one.rows] == [
        ("alice", 87), ("bob", 5)]
    assert [(r.member_external_id, r.points) for r in board_two.rows] == [("alice", 585)]
    history = await engine.points_history(member(ONE, "alice"))
    assert "award" not in {h.reason for h in history}

    before = sorted((s.community_id, s.period, s.member_id, s.points)
                    for s in await select_all(db, Standing))
    await engine.recompute(TWO)
    after = sorted((s.community_id, s.period, s.member_id, s.points)
                   for s in await select_all(db, Standing))
    assert after == before


async def test_a_moderator_in_one_community_is_a_member_elsewhere(
    engine: Engine, twins  # type: ignore[no-untyped-def]
) -> None:
    await engine.set_member_flags(member(ONE, "carol"), moderator=True)
    await engine.award_points(member(ONE, "carol"), member(ONE, "alice"), 5, "nice")
    with pytest.raises(Forbidden):
        await engine.award_points(member(TWO, "carol"), member(TWO, "alice"), 5, "nice")
    with pytest.raises(Forbidden):
        await engine.create_challenge(member(TWO, "carol"), GOOD)


async def test_badges_and_showcases_are_per_community(
    engine: Engine, twins  # type: ignore[no-untyped-def]
) -> None:
    (first_light,) = await engine.badges(member(ONE, "alice"))
    with pytest.raises(NotFound):
        await engine.showcase(member(TWO, "alice"), [first_light.id])
    assert [b.key for b in await engine.badges(member(TWO, "alice"))] == ["first_entry"]
    assert (await engine.badges(member(TWO, "alice")))[0].id != first_light.id


async def test_the_scheduler_closes_each_community_once(
    engine: Engine, db: Database, clock: FixedClock, twins  # type: ignore[no-untyped-def]
) -> None:
    for guild, (_, msg) in twins.items():
        await engine.cast_vote(member(guild, "fan"), msg, "👍")
    clock.advance(timedelta(days=2))
    await run_due(engine)
    assert await run_due(engine) == 0
    results = await outbox_rows(db, "results")
    assert len({r.community_id for r in results}) == 3
    for guild in (ONE, TWO, THREE):
        profile = await engine.profile(member(guild, "alice"))
        # entry, a vote received, first place, Laureate
        assert profile.points == 85 + 2 + 500 + 100

