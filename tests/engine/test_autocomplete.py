"""Names offered while a member types: entries of live challenges, never another
community's."""

from __future__ import annotations

from engine.clock import FixedClock
from engine.refs import CommunityRef
from engine.service import Engine
from tests.conftest import member
from tests.engine.helpers import setup_community, submission_challenge


async def test_entries_match_by_number_or_title_newest_first(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    garden = await engine.submit_entry(member(guild, "alice"), c.slug, "Night garden")
    harbour = await engine.submit_entry(member(guild, "bob"), c.slug, "Cloud harbour")
    odd = await engine.submit_entry(member(guild, "carol"), c.slug, "100% _weird_")

    assert [i for i, _ in await engine.entry_names(guild)] == [odd.id, harbour.id, garden.id]
    assert await engine.entry_names(guild, "GARD") == [
        (garden.id, f"#{garden.id} Night garden by Alice (Dreamscapes)")]
    assert [i for i, _ in await engine.entry_names(guild, f"#{harbour.id}")] == [harbour.id]
    # LIKE wildcards typed by a member match themselves only.
    assert [i for i, _ in await engine.entry_names(guild, "%")] == [odd.id]
    assert [i for i, _ in await engine.entry_names(guild, "_w")] == [odd.id]


async def test_closed_challenges_and_other_communities_are_left_out(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    await engine.submit_entry(member(guild, "alice"), c.slug, "Night garden")
    other = CommunityRef(guild.platform, "another-server")
    await setup_community(engine, other)

    assert await engine.entry_names(other, "garden") == []
    await engine.cancel_challenge(member(guild, "mod", mod=True), c.slug, None)
    assert await engine.entry_names(guild, "garden") == []
