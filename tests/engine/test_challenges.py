"""Challenge lifecycle: creation rules, phases on schedule, edits, cancellation, entries."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import pytest

from engine.challenges import ChallengeDraft
from engine.clock import FixedClock
from engine.errors import Conflict, Forbidden, InvalidInput, LaurelsError, NotFound, WrongPhase
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from tests.conftest import START, member
from tests.engine.helpers import (
    open_voting,
    outbox_rows,
    phase,
    row_counts,
    run_due,
    setup_community,
    submission_challenge,
    submit_and_post,
)

DAY = timedelta(days=1)
GOOD = ChallengeDraft(kind="submission", name="Dreamscapes", prompt="Paint a dream",
                      submissions_close_at=START + 3 * DAY, voting_close_at=START + 5 * DAY)
GOAL = ChallengeDraft(kind="goal", name="Run 50k", goal=50, unit="km", ends_at=START + 9 * DAY)


@pytest.mark.parametrize(("draft", "message"), [
    (replace(GOOD, voting_close_at=START + 2 * DAY), "voting deadline must come after"),
    (replace(GOOD, submissions_close_at=START - DAY), "submission deadline must be in the"),
    (replace(GOOD, starts_at=START + 4 * DAY), "must come after the start"),
    (replace(GOOD, voting_close_at=None), "needs a submission deadline and a voting"),
    (replace(GOOD, sponsor_name="Acme", sponsor_url="javascript:alert(1)"), "sponsor link"),
    (replace(GOOD, sponsor_url="ftp://acme.example"), "http:// or https://"),
    (replace(GOOD, name="D" * 101), "101 characters long; the limit is 100"),
    (replace(GOOD, name="   "), "name can't be empty"),
    (replace(GOOD, max_entries=0), "between 1 and 20"),
    (replace(GOOD, vote_emoji="x" * 80), "vote emoji"),
    (replace(GOOD, kind="poll"), "either a 'submission' or a 'goal'"),
    (replace(GOAL, goal=0), "goal must be a positive number"),
    (replace(GOAL, goal=-3), "goal must be a positive number"),
    (replace(GOAL, goal=math.nan), "goal must be a positive number"),
    (replace(GOAL, ends_at=START - DAY), "must be in the future"),
    (replace(GOAL, team_mode="pairs"), "Team mode"),
])
async def test_invalid_challenges_are_refused_and_write_nothing(
    engine: Engine, db: Database, guild: CommunityRef, draft: ChallengeDraft, message: str
) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    await engine.set_member_flags(mod)  # the moderator exists before the snapshot
    before = await row_counts(db)

    with pytest.raises(InvalidInput, match=message):
        await engine.create_challenge(mod, draft)

    assert await row_counts(db) == before


async def test_members_cannot_create_challenges(engine: Engine, guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    with pytest.raises(Forbidden):
        await engine.create_challenge(member(guild, "bob"), GOOD)


async def test_creation_announces_with_sponsor_and_prize(
    engine: Engine, db: Database, guild: CommunityRef
) -> None:
    await setup_community(engine, guild)
    c = await engine.create_challenge(member(guild, "mod", mod=True), replace(
        GOOD, prize="A framed print", sponsor_name="Acme", sponsor_url="https://acme.example",
        vote_emoji=":star:"))

    assert (c.phase, c.slug, c.vote_emoji, c.max_entries) == ("open", "dreamscapes", "⭐", 3)
    (post,) = await outbox_rows(db, "phase_open")
    fields = {f["name"]: f["value"] for f in post.body["fields"]}
    assert fields["Prize"] == "A framed print"
    assert fields["Sponsor"] == "Acme (https://acme.example)"
    assert post.channel_id == "announcements"


async def test_same_name_gets_a_fresh_slug(engine: Engine, guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    first = await engine.create_challenge(mod, GOOD)
    second = await engine.create_challenge(mod, GOOD)
    assert (first.slug, second.slug) == ("dreamscapes", "dreamscapes-2")


async def test_scheduled_challenge_opens_at_its_start(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await engine.create_challenge(member(guild, "mod", mod=True),
                                      replace(GOOD, starts_at=START + DAY))
    assert (c.phase, c.status) == ("scheduled", "Starts in 1 day")
    assert await outbox_rows(db, "phase_open") == []
    with pytest.raises(WrongPhase, match="hasn't started yet; it opens in 1 day"):
        await engine.submit_entry(member(guild, "alice"), c.slug, "Too soon")

    clock.advance(DAY - timedelta(minutes=1))
    await run_due(engine)
    assert await phase(engine, guild, c.slug) == "scheduled"
    clock.advance(timedelta(minutes=1))
    await run_due(engine)
    assert await phase(engine, guild, c.slug) == "open"
    assert await run_due(engine) == 0
    assert len(await outbox_rows(db, "phase_open")) == 1

    info = await engine.challenge_info(member(guild, "alice"), c.slug)
    assert info.challenge.phase == "open" and info.can_submit
    assert len(await outbox_rows(db, "phase_open")) == 1
    await engine.submit_entry(member(guild, "alice"), c.slug, "On time")


async def test_goal_challenge_goes_from_scheduled_to_active(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await engine.create_challenge(member(guild, "mod", mod=True),
                                      replace(GOAL, starts_at=START + DAY))
    await engine.join(member(guild, "alice"), g.slug)  # joining early is fine
    with pytest.raises(WrongPhase, match="not running"):
        await engine.log_progress(member(guild, "alice"), g.slug, 5)
    clock.advance(DAY)
    await run_due(engine)
    await engine.log_progress(member(guild, "alice"), g.slug, 5)


async def test_editing_deadlines(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    c = await engine.create_challenge(mod, GOOD)

    edited = await engine.edit_challenge(mod, c.slug, submissions_close_at=START + 4 * DAY,
                                         voting_close_at=START + 7 * DAY)
    assert edited.submissions_close_at == START + 4 * DAY
    with pytest.raises(InvalidInput, match="voting deadline must come after"):
        await engine.edit_challenge(mod, c.slug, voting_close_at=START + 4 * DAY)
    with pytest.raises(InvalidInput, match="in the future"):
        await engine.edit_challenge(mod, c.slug, submissions_close_at=START - DAY)
    with pytest.raises(InvalidInput, match="can't be edited: kind"):
        await engine.edit_challenge(mod, c.slug, kind="goal")
    with pytest.raises(Conflict, match="already started"):
        await engine.edit_challenge(mod, c.slug, starts_at=START + DAY)
    with pytest.raises(Forbidden):
        await engine.edit_challenge(member(guild, "bob"), c.slug, name="Mine now")

    clock.advance(3 * DAY + timedelta(hours=1))  # the old deadline has passed
    await run_due(engine)
    assert await phase(engine, guild, c.slug) == "open"
    await engine.submit_entry(member(guild, "alice"), c.slug, "Thanks for the extra day")
    clock.advance(DAY)
    await run_due(engine)
    info = await engine.challenge_info(member(guild, "alice"), c.slug)
    assert info.challenge.phase == "voting"
    assert info.challenge.voting_close_at == START + 7 * DAY


async def test_cancel_announces_and_stops_entries_and_votes(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    c = await submission_challenge(engine, guild, clock, early_votes=True)
    _, msg = await submit_and_post(engine, member(guild, "alice"), c.slug, "Night garden")

    cancelled = await engine.cancel_challenge(mod, c.slug, "sponsor pulled out")

    assert cancelled.phase == "cancelled"
    (post,) = await outbox_rows(db, "phase_cancelled")
    assert post.body["text"] == "This challenge was cancelled. Reason: sponsor pulled out"
    with pytest.raises(WrongPhase, match="is cancelled; it no longer takes entries"):
        await engine.submit_entry(member(guild, "bob"), c.slug, "Late")
    with pytest.raises(WrongPhase, match="Voting on Dreamscapes is closed"):
        await engine.cast_vote(member(guild, "bob"), msg, "👍")
    with pytest.raises(Conflict, match="already cancelled"):
        await engine.cancel_challenge(mod, c.slug, None)
    clock.advance(10 * DAY)
    await run_due(engine)
    assert await outbox_rows(db, "results") == []
    # Still listed, with its state: a cancelled challenge does not vanish.
    assert [(v.slug, v.phase, v.status) for v in (await engine.list_challenges(guild)).items
            ] == [(c.slug, "cancelled", "Cancelled")]
    assert [v.slug for v in (await engine.list_challenges(guild, "cancelled")).items] == [c.slug]
    assert (await engine.list_challenges(guild, "open")).items == []


async def test_max_entries_per_member(engine: Engine, guild: CommunityRef,
                                      clock: FixedClock) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock, max_entries=2)
    alice = member(guild, "alice")
    await engine.submit_entry(alice, c.slug, "One")
    assert (await engine.challenge_info(alice, c.slug)).can_submit
    await engine.submit_entry(alice, c.slug, "Two")

    with pytest.raises(Conflict, match="already submitted 2 of 2 entries to Dreamscapes"):
        await engine.submit_entry(alice, c.slug, "Three")
    info = await engine.challenge_info(alice, c.slug)
    assert not info.can_submit and [e.title for e in info.my_entries] == ["One", "Two"]
    await engine.submit_entry(member(guild, "bob"), c.slug, "Bob's one")  # others still can


async def test_submissions_after_the_deadline_are_refused_clearly(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    alice = member(guild, "alice")
    clock.advance(3 * DAY + timedelta(hours=2))  # past the deadline, scheduler not yet run

    with pytest.raises(WrongPhase, match="Submissions to Dreamscapes closed 2 hours ago"):
        await engine.submit_entry(alice, c.slug, "Late")
    assert not (await engine.challenge_info(alice, c.slug)).can_submit
    await run_due(engine)
    with pytest.raises(WrongPhase, match="Submissions to Dreamscapes are closed; voting is on"):
        await engine.submit_entry(alice, c.slug, "Later")


@pytest.mark.parametrize(("title", "link", "message"), [
    ("", None, "title can't be empty"),
    ("T" * 101, None, "title is 101 characters long"),
    ("Fine", "not a link", "link must be a web address"),
    ("Fine", "file:///etc/passwd", "link must be a web address"),
])
async def test_bad_entries_are_refused_and_write_nothing(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock,
    title: str, link: str | None, message: str
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    alice = member(guild, "alice")
    await engine.submit_entry(alice, c.slug, "First")
    before = await row_counts(db)
    with pytest.raises(InvalidInput, match=message):
        await engine.submit_entry(alice, c.slug, title, link)
    assert await row_counts(db) == before


async def test_list_and_info_show_the_callers_status(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    old = await submission_challenge(engine, guild, clock, name="Old one")
    await engine.advance_challenge(mod, old.slug)
    await engine.advance_challenge(mod, old.slug)  # completed
    c = await submission_challenge(engine, guild, clock)
    rained = await submission_challenge(engine, guild, clock, name="Rained out")
    await engine.cancel_challenge(mod, rained.slug, "rain")
    later = await engine.create_challenge(mod, replace(
        GOOD, name="Later", starts_at=START + DAY, submissions_close_at=START + 8 * DAY,
        voting_close_at=START + 10 * DAY))
    alice, bob = member(guild, "alice"), member(guild, "bob")
    _, msg = await submit_and_post(engine, alice, c.slug, "Night garden")
    await submit_and_post(engine, bob, c.slug, "Day garden")
    await open_voting(engine, clock)
    await engine.cast_vote(bob, msg, "👍")

    listing = await engine.list_challenges(guild)
    # Running ones first, then finished and cancelled ones, each newest first.
    assert [v.slug for v in listing.items] == [later.slug, c.slug, rained.slug, old.slug]
    assert [v.phase for v in listing.items] == ["open", "voting", "cancelled", "completed"]
    assert [v.slug for v in (await engine.list_challenges(guild, "voting")).items] == [c.slug]
    page2 = await engine.list_challenges(guild, page=2, page_size=2)
    assert ([v.slug for v in page2.items], page2.pages, page2.total) == (
        [rained.slug, old.slug], 2, 4)
    with pytest.raises(InvalidInput, match="Phase must be one of"):
        await engine.list_challenges(guild, "finished")

    mine = await engine.challenge_info(alice, c.slug)
    assert (mine.entries, mine.participants, mine.votes) == (2, 2, 1)
    assert mine.joined and not mine.can_submit and mine.my_votes == 0
    assert [(e.title, e.votes) for e in mine.my_entries] == [("Night garden", 1)]
    assert mine.challenge.status == "Voting closes in 1 day 23 hours"
    theirs = await engine.challenge_info(bob, c.slug)
    assert theirs.my_votes == 1
    stranger = await engine.challenge_info(member(guild, "cy"), c.slug)
    assert not stranger.joined and stranger.my_entries == [] and stranger.my_votes == 0


async def test_unknown_and_ambiguous_challenges(engine: Engine, guild: CommunityRef,
                                                clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock, name="Dream big")
    await submission_challenge(engine, guild, clock, name="Dream small")
    alice = member(guild, "alice")
    with pytest.raises(NotFound, match="no challenge called 'Nightmares'"):
        await engine.challenge_info(alice, "Nightmares")
    with pytest.raises(InvalidInput, match="matches several"):
        await engine.challenge_info(alice, "dream")
    assert (await engine.challenge_info(alice, "Dream small")).challenge.slug == "dream-small"
    with pytest.raises(LaurelsError) as refused:
        await engine.challenge_info(alice, "#999")
    assert refused.value.code == "not_found"


async def test_a_draft_waits_for_a_moderator(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    d = await engine.create_challenge(mod, replace(GOOD, draft=True))
    assert d.phase == "draft"
    assert (await engine.list_challenges(guild)).items == []
    clock.advance(DAY)
    await run_due(engine)  # the schedule never publishes a draft
    assert await phase(engine, guild, d.slug) == "draft"

    published = await engine.advance_challenge(mod, d.slug)

    assert published.phase == "open"
    assert len(await outbox_rows(db, "phase_open")) == 1
    assert [v.slug for v in (await engine.list_challenges(guild)).items] == [d.slug]
