"""Voting by reaction: who may vote, when, and what it pays."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.clock import FixedClock
from engine.errors import Forbidden, WrongPhase
from engine.refs import CommunityRef
from engine.service import Engine
from tests.conftest import member
from tests.engine.helpers import run_due, setup_community, submission_challenge, submit_and_post


@pytest.fixture
async def voting(engine: Engine, guild: CommunityRef, clock: FixedClock):  # type: ignore[no-untyped-def]
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    alice = member(guild, "alice")
    entry_id, msg = await submit_and_post(engine, alice, c.slug, "Night garden")
    clock.advance(timedelta(days=3, minutes=1))
    await run_due(engine)
    assert (await engine.challenge_info(alice, c.slug)).challenge.phase == "voting"
    return c, alice, entry_id, msg


async def test_vote_counts_and_pays_both_sides(engine: Engine, guild: CommunityRef, voting) -> None:  # type: ignore[no-untyped-def]
    _, alice, _entry_id, msg = voting
    bob = member(guild, "bob")
    result = await engine.cast_vote(bob, msg, "👍")
    assert result.status == "counted" and result.votes == 1
    assert (await engine.profile(bob)).points == 5
    # alice: 50 entry + 25 early + 10 for unlocking First Light + 2 received
    assert (await engine.profile(alice)).points == 87


async def test_self_vote_refused(engine: Engine, voting) -> None:  # type: ignore[no-untyped-def]
    _, alice, entry_id, msg = voting
    with pytest.raises(Forbidden, match="your own entry"):
        await engine.cast_vote(alice, msg, "👍")
    assert (await engine.entry(alice.community, entry_id)).votes == 0


async def test_duplicate_vote_ignored(engine: Engine, guild: CommunityRef, voting) -> None:  # type: ignore[no-untyped-def]
    _, _alice, entry_id, msg = voting
    bob = member(guild, "bob")
    assert (await engine.cast_vote(bob, msg, "👍")).status == "counted"
    assert (await engine.cast_vote(bob, msg, ":thumbsup:")).status == "duplicate"
    assert (await engine.entry(guild, entry_id)).votes == 1
    assert (await engine.profile(bob)).points == 5


async def test_other_emoji_and_bots_ignored(engine: Engine, guild: CommunityRef, voting) -> None:  # type: ignore[no-untyped-def]
    _, _alice, entry_id, msg = voting
    assert (await engine.cast_vote(member(guild, "bob"), msg, "❤️")).status == "ignored"
    assert (await engine.cast_vote(member(guild, "robo", bot=True), msg, "👍")).status == "ignored"
    assert (await engine.entry(guild, entry_id)).votes == 0


async def test_vote_outside_window_refused(engine: Engine, guild: CommunityRef,
                                           clock: FixedClock, voting) -> None:  # type: ignore[no-untyped-def]
    _, _alice, _entry_id, msg = voting
    clock.advance(timedelta(days=2, hours=1, minutes=59))  # 2h past the deadline, untallied
    with pytest.raises(WrongPhase, match="closed 2 hours ago"):
        await engine.cast_vote(member(guild, "bob"), msg, "👍")


async def test_vote_before_voting_opens_refused(engine: Engine, guild: CommunityRef,
                                                clock: FixedClock) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    _, msg = await submit_and_post(engine, member(guild, "alice"), c.slug, "Early")
    with pytest.raises(WrongPhase, match="opens in 3 days"):
        await engine.cast_vote(member(guild, "bob"), msg, "👍")


async def test_retraction_reverses_points(engine: Engine, guild: CommunityRef, voting) -> None:  # type: ignore[no-untyped-def]
    _, alice, _entry_id, msg = voting
    bob = member(guild, "bob")
    await engine.cast_vote(bob, msg, "👍")
    result = await engine.retract_vote(bob, msg, "👍")
    assert result.status == "retracted" and result.votes == 0 and result.points == -5
    assert (await engine.profile(bob)).points == 0
    assert (await engine.profile(alice)).points == 85
    history = await engine.points_history(bob)
    assert [line.delta for line in history] == [-5, 5]
    # the retraction is replay-safe too
    assert (await engine.retract_vote(bob, msg, "👍")).status == "ignored"


async def test_daily_vote_point_cap(engine: Engine, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await engine.set_point_rule(member(guild, "mod", mod=True), "vote_cast_daily_cap", 2)
    c = await submission_challenge(engine, guild, clock, max_entries=5)
    msgs = [(await submit_and_post(engine, member(guild, f"a{i}"), c.slug, f"E{i}"))[1]
            for i in range(4)]
    clock.advance(timedelta(days=3, minutes=1))
    await run_due(engine)
    bob = member(guild, "bob")
    balances = []
    for m in msgs[:3]:
        assert (await engine.cast_vote(bob, m, "👍")).status == "counted"
        balances.append((await engine.profile(bob)).points)
    assert balances == [5, 10, 10]
    clock.advance(timedelta(days=1))  # a new day: the cap resets
    assert (await engine.cast_vote(bob, msgs[3], "👍")).status == "counted"
    assert (await engine.profile(bob)).points == 15


async def test_disqualification_takes_back_what_the_entry_earned(
    engine: Engine, guild: CommunityRef, voting  # type: ignore[no-untyped-def]
) -> None:
    _, alice, entry_id, msg = voting
    for name in ("bob", "cy", "dee"):
        await engine.cast_vote(member(guild, name), msg, "👍")
    assert (await engine.profile(alice)).points == 85 + 3 * 2

    await engine.disqualify_entry(member(guild, "mod", mod=True), entry_id, "traced")

    # entry, early bonus and the votes it received are reversed; First Light stays earned
    assert (await engine.profile(alice)).points == 10
    assert (await engine.profile(member(guild, "bob"))).points == 5  # voters keep theirs
    # its votes are settled: a late retraction changes nothing, a new vote is refused
    assert (await engine.retract_vote(member(guild, "bob"), msg, "👍")).status == "ignored"
    assert (await engine.profile(member(guild, "bob"))).points == 5
    assert (await engine.profile(alice)).points == 10
    with pytest.raises(Forbidden, match="disqualified"):
        await engine.cast_vote(member(guild, "eve"), msg, "👍")


async def test_early_votes_while_submissions_are_open(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock, early_votes=True)
    _, msg = await submit_and_post(engine, member(guild, "alice"), c.slug, "Early bird")
    result = await engine.cast_vote(member(guild, "bob"), msg, "👍🏽")  # any skin tone
    assert (result.status, result.votes) == ("counted", 1)


async def test_daily_vote_cap_follows_the_community_day(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    """Los Angeles: 23:00 and 01:00 are two local days though one UTC date."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    la = ZoneInfo("America/Los_Angeles")
    await setup_community(engine, guild, tz="America/Los_Angeles")
    await engine.set_point_rule(member(guild, "mod", mod=True), "vote_cast_daily_cap", 1)
    c = await submission_challenge(engine, guild, clock, max_entries=5)
    msgs = [(await submit_and_post(engine, member(guild, f"a{i}"), c.slug, f"E{i}"))[1]
            for i in range(3)]
    await engine.advance_challenge(member(guild, "mod", mod=True), c.slug)  # voting opens
    bob = member(guild, "bob")

    clock.set(datetime(2026, 3, 3, 23, 0, tzinfo=la))
    await engine.cast_vote(bob, msgs[0], "👍")
    assert (await engine.profile(bob)).points == 5
    clock.set(datetime(2026, 3, 4, 0, 30, tzinfo=la))
    await engine.cast_vote(bob, msgs[1], "👍")
    assert (await engine.profile(bob)).points == 10  # a new local day
    await engine.cast_vote(bob, msgs[2], "👍")
    assert (await engine.profile(bob)).points == 10  # its cap is used


async def test_a_vote_cast_after_the_last_one_was_taken_back_pays_again(
    engine: Engine, guild: CommunityRef, voting  # type: ignore[no-untyped-def]
) -> None:
    """The newest vote is retracted, then another is cast: it gets its own number (one
    never used before), so its points are paid rather than taken for the retracted ones."""
    _, alice, _entry_id, msg = voting
    bob, cy = member(guild, "bob"), member(guild, "cy")
    before = (await engine.profile(alice)).points
    assert (await engine.cast_vote(bob, msg, "👍")).status == "counted"
    assert (await engine.retract_vote(bob, msg, "👍")).status == "retracted"
    assert (await engine.cast_vote(cy, msg, "👍")).status == "counted"
    assert (await engine.profile(cy)).points == 5
    assert (await engine.profile(alice)).points == before + 2
    # and taking the new one back takes back exactly its own points
    assert (await engine.retract_vote(cy, msg, "👍")).points == -5
    assert (await engine.profile(cy)).points == 0
    assert (await engine.profile(alice)).points == before


async def test_a_replayed_vote_after_the_close_is_a_silent_repeat(
    engine: Engine, guild: CommunityRef, clock: FixedClock, voting  # type: ignore[no-untyped-def]
) -> None:
    """A platform re-delivers a reaction already counted, after voting closed (a restart
    in between: nothing remembers the delivery): it is a repeat, not a refusal."""
    _, _, entry_id, msg = voting
    bob = member(guild, "bob")
    assert (await engine.cast_vote(bob, msg, "👍")).status == "counted"
    clock.advance(timedelta(days=2))  # past the close
    again = await engine.cast_vote(bob, msg, "👍")
    assert (again.status, again.votes) == ("duplicate", 1)
    await run_due(engine)  # and once the results are out
    assert (await engine.cast_vote(bob, msg, "👍")).status == "duplicate"
    with pytest.raises(WrongPhase, match="closed"):  # a new vote is still refused
        await engine.cast_vote(member(guild, "carol"), msg, "👍")
    assert (await engine.entry(guild, entry_id)).votes == 1


async def test_a_vote_stands_while_any_variant_of_its_emoji_is_there(
    engine: Engine, guild: CommunityRef, voting  # type: ignore[no-untyped-def]
) -> None:
    """👍 and 👍🏽 are two reactions on Discord (+1 and +1::skin-tone-3 on Slack): removing
    one while the other is on the message keeps the vote and its points."""
    _, _, entry_id, msg = voting
    bob = member(guild, "bob")
    assert (await engine.cast_vote(bob, msg, "👍")).status == "counted"
    assert (await engine.cast_vote(bob, msg, "👍🏽")).status == "duplicate"
    paid = (await engine.profile(bob)).points

    assert (await engine.retract_vote(bob, msg, "👍🏽")).status == "kept"
    assert (await engine.entry(guild, entry_id)).votes == 1
    assert (await engine.profile(bob)).points == paid
    assert (await engine.retract_vote(bob, msg, "👍")).status == "retracted"  # the last one
    assert (await engine.entry(guild, entry_id)).votes == 0
    # Slack's spelling, and a variant removed first
    assert (await engine.cast_vote(bob, msg, "+1::skin-tone-3")).status == "counted"
    assert (await engine.cast_vote(bob, msg, "thumbsup")).status == "duplicate"
    assert (await engine.retract_vote(bob, msg, "+1::skin-tone-3")).status == "kept"
    assert (await engine.retract_vote(bob, msg, "thumbsup")).status == "retracted"
