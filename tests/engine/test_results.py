"""Closing a submission challenge: ranking, tie-breaks, placement points, paid once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import bindparam

from engine.clock import FixedClock
from engine.errors import Conflict, WrongPhase
from engine.placing import ONE_PLACE_RULE
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.results import tally
from engine.service import Engine
from storage.db import Database
from storage.tables import (
    Challenge,
    Entry,
    LedgerRow,
    Member,
    MemberStat,
    Placement,
    VoteCount,
)
from tests.conftest import member
from tests.engine.helpers import (
    close_voting,
    ledger_of,
    open_voting,
    outbox_rows,
    run_due,
    select_all,
    setup_community,
    submission_challenge,
    submit_and_post,
)


async def _vote(engine: Engine, guild: CommunityRef, msg: MessageRef, *voters: str) -> None:
    for name in voters:
        assert (await engine.cast_vote(member(guild, name), msg, "👍")).status == "counted"


async def _placements(db: Database, slug: str) -> list[Placement]:
    (c,) = await select_all(db, Challenge, Challenge.slug == slug)
    return await select_all(db, Placement, Placement.challenge_id == c.id,
                            order_by=Placement.place)


async def _placement_points(db: Database, who: str) -> list[int]:
    return [r.delta for r in await ledger_of(db, who) if r.reason == "placement"]


@pytest.fixture
async def contest(engine: Engine, guild: CommunityRef, clock: FixedClock):  # type: ignore[no-untyped-def]
    """Four entries: bea and al tie on one vote (bea submitted first), cy has none (no
    place: an entry needs a vote to place), and eve's entry has the most votes but is
    disqualified."""
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    msgs: dict[str, MessageRef] = {}
    ids: dict[str, int] = {}
    for name in ("bea", "al", "cy", "eve"):
        ids[name], msgs[name] = await submit_and_post(engine, member(guild, name), c.slug,
                                                      f"{name.title()}'s dream")
        clock.advance(timedelta(minutes=5))
    await open_voting(engine, clock)
    await _vote(engine, guild, msgs["bea"], "v1")
    await _vote(engine, guild, msgs["al"], "v1")
    await _vote(engine, guild, msgs["eve"], "v1", "v2")
    await engine.disqualify_entry(member(guild, "mod", mod=True), ids["eve"], "AI generated")
    return c, ids


async def test_ranking_skips_disqualified_and_breaks_ties_by_submission_time(
    engine: Engine, db: Database, clock: FixedClock, contest  # type: ignore[no-untyped-def]
) -> None:
    c, ids = contest
    await close_voting(engine, clock)

    placements = await _placements(db, c.slug)
    assert [(p.place, p.entry_id, p.score) for p in placements] == [
        (1, ids["bea"], 1), (2, ids["al"], 1)]
    assert ids["eve"] not in {p.entry_id for p in placements}
    # the tie is explained on the tied placements
    assert "earlier submission" in (placements[0].tiebreak or "")
    assert "earlier submission" in (placements[1].tiebreak or "")


async def test_results_announcement_shows_the_tie_break(
    engine: Engine, db: Database, clock: FixedClock, contest  # type: ignore[no-untyped-def]
) -> None:
    await close_voting(engine, clock)

    (results,) = await outbox_rows(db, "results")
    text = results.body["text"]
    assert text.splitlines()[0] == (
        "🥇 Bea's dream by Bea: 1 vote (tied on 1 vote; earlier submission ranks higher)")
    assert "earlier submission ranks higher" in text
    assert "Eve" not in text
    assert any(f["name"] == "Tie-break" for f in results.body["fields"])


async def test_placement_points_follow_the_rules(
    engine: Engine, db: Database, clock: FixedClock, contest  # type: ignore[no-untyped-def]
) -> None:
    await close_voting(engine, clock)

    assert await _placement_points(db, "bea") == [500]
    assert await _placement_points(db, "al") == [300]
    assert await _placement_points(db, "cy") == []  # no vote, no place
    assert await _placement_points(db, "eve") == []


async def test_tally_run_twice_pays_once(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock, contest  # type: ignore[no-untyped-def]
) -> None:
    c, _ = contest
    mod = member(guild, "mod", mod=True)
    done = await engine.advance_challenge(mod, c.slug)  # a moderator closes voting early
    assert done.phase == "completed"
    ledger_before = len(await select_all(db, LedgerRow))

    clock.advance(timedelta(days=3))  # the scheduler fires at the original deadline anyway
    assert await run_due(engine) == 0
    with pytest.raises(Conflict, match="no next phase"):
        await engine.advance_challenge(mod, c.slug)
    # even a direct second tally (a retried job) does nothing
    (row,) = await select_all(db, Challenge, Challenge.slug == c.slug)
    assert await engine.uow.write(guild, lambda tx: _tally_by_id(tx, row.id)) is None

    assert len(await select_all(db, LedgerRow)) == ledger_before
    assert await _placement_points(db, "bea") == [500]
    assert len(await _placements(db, c.slug)) == 2
    assert len(await outbox_rows(db, "results")) == 1


async def _tally_by_id(tx, challenge_id: int):  # type: ignore[no-untyped-def]
    c = await tx.session.get(Challenge, challenge_id)
    return await tally(tx, c)


async def test_scheduler_catching_up_runs_every_phase_once(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """After downtime past both deadlines, one sweep opens voting and tallies, once."""
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock, early_votes=True)
    _, msg = await submit_and_post(engine, member(guild, "bea"), c.slug, "Only entry")
    await _vote(engine, guild, msg, "fan")
    clock.advance(timedelta(days=30))

    await run_due(engine)
    assert await run_due(engine) == 0
    assert [r.kind for r in await outbox_rows(db)].count("results") == 1
    assert [r.kind for r in await outbox_rows(db)].count("phase_voting") == 1
    assert await _placement_points(db, "bea") == [500]


async def test_one_place_per_member_and_the_next_member_moves_up(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """m0's two entries have the most votes: m0 takes 1st with the better one, and 2nd
    goes to the next member (not to nobody, while the card promises 300 for it)."""
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    msgs = {}
    for name, title in (("m0", "best"), ("m0", "second"), ("m1", "m1's"), ("m2", "m2's")):
        msgs[title] = (await submit_and_post(engine, member(guild, name), c.slug, title))[1]
    await open_voting(engine, clock)
    for title, fans in (("best", 5), ("second", 4), ("m1's", 3), ("m2's", 2)):
        await _vote(engine, guild, msgs[title], *(f"fan{i}" for i in range(fans)))
    await close_voting(engine, clock)

    placed = [(p.place, p.label) for p in await _placements(db, c.slug)]
    assert placed == [(1, "best by M0"), (2, "m1's by M1"), (3, "m2's by M2")]
    assert await _placement_points(db, "m0") == [500]
    assert await _placement_points(db, "m1") == [300]
    assert await _placement_points(db, "m2") == [200]
    (results,) = await outbox_rows(db, "results")
    assert {"name": "Places", "value": ONE_PLACE_RULE, "inline": False} in \
        results.body["fields"]


async def test_entries_without_votes_do_not_place(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Nobody voted: no winner, no placement points, no Laureate; the card says why."""
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    for name in ("bea", "al"):
        await submit_and_post(engine, member(guild, name), c.slug, f"{name}'s")
    await open_voting(engine, clock)
    await close_voting(engine, clock)

    assert await _placements(db, c.slug) == []
    assert await select_all(db, LedgerRow, LedgerRow.reason == "placement") == []
    (results,) = await outbox_rows(db, "results")
    assert results.body["text"] == "No votes, no podium: no entry reached 1 vote."
    progress = {p.definition.key: p for p in await engine.achievements(member(guild, "bea"))}
    assert not progress["first_win"].unlocked


async def test_the_minimum_of_votes_to_place_is_a_community_setting(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    await engine.set_point_rule(member(guild, "mod", mod=True), "place_min_votes", 2)
    c = await submission_challenge(engine, guild, clock)
    one = (await submit_and_post(engine, member(guild, "one"), c.slug, "One"))[1]
    two = (await submit_and_post(engine, member(guild, "two"), c.slug, "Two"))[1]
    await open_voting(engine, clock)
    await _vote(engine, guild, one, "fan0")
    await _vote(engine, guild, two, "fan0", "fan1")
    await close_voting(engine, clock)

    assert [p.label for p in await _placements(db, c.slug)] == ["Two by Two"]


async def test_wins_and_podiums_are_counted(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock, contest  # type: ignore[no-untyped-def]
) -> None:
    await close_voting(engine, clock)

    stats = {(s.member_id, s.stat): s.value for s in await select_all(db, MemberStat)}
    ids = {r.external_id: r.id for r in await select_all(db, Member)}
    assert stats.get((ids["bea"], "wins")) == 1
    assert stats.get((ids["bea"], "podiums")) == 1
    assert stats.get((ids["al"], "podiums")) == 1
    assert (ids["cy"], "podiums") not in stats
    assert (ids["al"], "wins") not in stats
    assert (ids["eve"], "podiums") not in stats
    # and the first win unlocks Laureate for bea
    progress = {p.definition.key: p for p in await engine.achievements(member(guild, "bea"))}
    assert progress["first_win"].unlocked and progress["first_win"].label == "1/1"


async def test_no_entries_still_completes_with_a_results_note(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    await open_voting(engine, clock)
    await close_voting(engine, clock)

    (row,) = await select_all(db, Challenge, Challenge.slug == c.slug)
    assert row.phase == "completed" and row.completed_at == clock.now()
    (results,) = await outbox_rows(db, "results")
    assert results.body["text"] == "No entries this time."


async def test_results_are_final(engine: Engine, guild: CommunityRef, clock: FixedClock,
                                 contest) -> None:  # type: ignore[no-untyped-def]
    _, ids = contest
    await close_voting(engine, clock)
    mod = member(guild, "mod", mod=True)
    with pytest.raises(WrongPhase, match="Results are already out"):
        await engine.disqualify_entry(mod, ids["bea"], "late complaint")


async def test_every_placement_matches_the_ranking_rule(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """The database ranks and writes the placements itself: checked row by row against
    the rule computed here (votes, then earlier submission, then id; ties explained;
    labels cut at 200 characters), on 30 entries with many ties and long titles."""
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock, max_entries=2)
    titles = ["Ünïcode ✨ sketch", "x" * 95, "Plain", "y" * 97, "Zebra"]
    ids: list[int] = []
    for i in range(30):  # 20 authors: ten of them with two entries
        author = MemberRef(guild, f"m{i % 20}", f"Ñame {i % 20} " + "z" * (i % 20 * 8))
        entry_id, _ = await submit_and_post(engine, author, c.slug,
                                            f"{titles[i % len(titles)]} {i}")
        ids.append(entry_id)
        clock.advance(timedelta(seconds=30 - i))  # submission times still rise
    await open_voting(engine, clock)
    votes = {entry_id: (i * 7) % 4 for i, entry_id in enumerate(ids)}  # 0-3 votes, many ties
    async with db.engine.begin() as conn:
        await conn.execute(VoteCount.__table__.update()
                           .where(VoteCount.entry_id == bindparam("eid"))
                           .values(votes=bindparam("v")),
                           [{"eid": e, "v": v} for e, v in votes.items()])
    await close_voting(engine, clock)

    (community_id,) = {ch.community_id for ch in await select_all(db, Challenge)}
    entries = {e.id: e for e in await select_all(db, Entry)}
    names = {m.id: m.display_name for m in await select_all(db, Member)}
    ranked = sorted(entries.values(), key=lambda e: (-e.votes, e.submitted_at, e.id))
    best = {}  # each member's best entry, with at least one vote
    for e in ranked:
        best.setdefault(e.member_id, e)
    order = [e for e in best.values() if e.votes >= 1]
    expected = []
    for place, e in enumerate(order, start=1):
        tied = sum(1 for o in order if o.votes == e.votes) > 1
        unit = "vote" if e.votes == 1 else "votes"
        expected.append((place, f"entry:{e.id}", e.member_id, e.id, float(e.votes),
                         f"{e.title} by {names[e.member_id]}"[:200],
                         f"tied on {e.votes} {unit}; earlier submission ranks higher"
                         if tied else None, community_id))
    got = [(p.place, p.subject, p.member_id, p.entry_id, p.score, p.label, p.tiebreak,
            p.community_id) for p in await _placements(db, c.slug)]
    assert got == expected
    assert any(len(row[5]) == 200 for row in got)


async def test_the_results_card_shows_whole_labels(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Stored placement labels stop at 200 characters; the announcement does not."""
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    author = MemberRef(guild, "long", "N" * 180)
    _, msg = await submit_and_post(engine, author, c.slug, "T" * 90)
    await open_voting(engine, clock)
    await _vote(engine, guild, msg, "fan")
    await close_voting(engine, clock)

    (results,) = await outbox_rows(db, "results")
    assert results.body["text"].splitlines()[0] == f"🥇 {'T' * 90} by {'N' * 180}: 1 vote"
    (placement,) = await _placements(db, c.slug)
    assert placement.label == f"{'T' * 90} by {'N' * 180}"[:200]


async def test_standings_of_a_finished_challenge_show_its_places(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    """While voting is on, a 2-2 tie shares a rank; once results placed it (earlier
    submission first), the standings say 1st and 2nd, as the results do."""
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    a = (await submit_and_post(engine, member(guild, "alice"), c.slug, "Night"))[1]
    b = (await submit_and_post(engine, member(guild, "bob"), c.slug, "Cloud"))[1]
    await open_voting(engine, clock)
    for msg in (a, b):
        await _vote(engine, guild, msg, "fan0", "fan1")
    live = await engine.standings(guild, c.slug)
    assert [(r.rank, r.name) for r in live.rows] == [(1, "#1 Night"), (1, "#2 Cloud")]

    await close_voting(engine, clock)

    final = await engine.standings(guild, c.slug)
    assert [(r.rank, r.points) for r in final.rows] == [(1, 2), (2, 2)]
    assert [r.member_external_id for r in final.rows] == ["alice", "bob"]
    assert "earlier submission" in (final.rows[0].detail or "")
