"""Goal challenges: joining, logging progress, finishers, teams, pace and results."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from engine.achievements import Progress
from engine.clock import FixedClock
from engine.errors import Conflict, InvalidInput, WrongPhase
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Participant, Placement, ProgressLog
from tests.conftest import member
from tests.engine.helpers import (
    goal_challenge,
    ledger_of,
    outbox_rows,
    row_counts,
    run_due,
    select_all,
    setup_community,
    submission_challenge,
)


async def _reasons(db: Database, who: str) -> list[tuple[str, int]]:
    return [(r.reason, r.delta) for r in await ledger_of(db, who)]


async def test_joining_pays_once_even_after_leaving_and_rejoining(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock)
    alice = member(guild, "alice")

    await engine.join(alice, g.slug)
    with pytest.raises(Conflict, match="already in"):
        await engine.join(alice, g.slug)
    await engine.leave(alice, g.slug)
    with pytest.raises(Conflict, match="not in"):
        await engine.leave(alice, g.slug)
    await engine.join(alice, g.slug)

    assert await _reasons(db, "alice") == [("goal_joined", 10)]
    assert (await engine.challenge_info(alice, g.slug)).joined


@pytest.mark.parametrize("amount", [-5, 0, math.nan, math.inf, 2_000_000])
async def test_bad_progress_is_refused_and_changes_nothing(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock, amount: float
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock)
    alice = member(guild, "alice")
    await engine.join(alice, g.slug)
    await engine.log_progress(alice, g.slug, 3)
    before = await row_counts(db)

    with pytest.raises(InvalidInput):
        await engine.log_progress(alice, g.slug, amount)

    assert await row_counts(db) == before
    (part,) = await select_all(db, Participant)
    assert part.progress == 3


async def test_progress_needs_a_joined_goal_challenge(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock)
    s = await submission_challenge(engine, guild, clock)
    alice = member(guild, "alice")
    with pytest.raises(Conflict, match=f"Join {g.name} first"):
        await engine.log_progress(alice, g.slug, 5)
    with pytest.raises(InvalidInput, match="takes entries"):
        await engine.log_progress(alice, s.slug, 5)
    with pytest.raises(WrongPhase, match="goal challenge"):
        await engine.submit_entry(alice, g.slug, "A run")


async def test_individual_finisher_is_paid_once(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock, goal=50)
    alice = member(guild, "alice")
    await engine.join(alice, g.slug)

    await engine.log_progress(alice, g.slug, 30, "morning run")
    assert await outbox_rows(db, "finisher") == []
    await engine.log_progress(alice, g.slug, 25)
    await engine.log_progress(alice, g.slug, 10)  # past the goal: nothing more to earn

    reasons = await _reasons(db, "alice")
    assert reasons.count(("goal_reached", 100)) == 1
    assert ("achievement", 25) in reasons  # Finisher
    (post,) = await outbox_rows(db, "finisher")
    assert post.body["text"] == "Alice reached the goal of 50 km! (+100 points)"
    (part,) = await select_all(db, Participant)
    assert part.progress == 65 and part.finished_at == clock.now()
    assert [log.note for log in await select_all(db, ProgressLog, order_by=ProgressLog.id)] \
        == ["morning run", None, None]


async def test_team_progress_adds_up_and_the_whole_team_finishes(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock, goal=50, team_mode="team")
    with pytest.raises(InvalidInput, match="played in teams"):
        await engine.join(member(guild, "solo"), g.slug)
    for name, team in (("ann", "Red"), ("bo", "red"), ("cat", "Red"), ("dan", "Blue")):
        await engine.join(member(guild, name), g.slug, team)

    await engine.log_progress(member(guild, "ann"), g.slug, 30)
    await engine.log_progress(member(guild, "dan"), g.slug, 45)
    assert await outbox_rows(db, "finisher") == []
    await engine.log_progress(member(guild, "bo"), g.slug, 25)

    finished = {p.member_id for p in await select_all(db, Participant)
                if p.finished_at is not None}
    assert len(finished) == 3  # ann, bo and cat, who logged nothing; not dan
    for name in ("ann", "bo", "cat"):
        assert ("goal_reached", 100) in await _reasons(db, name)
    assert ("goal_reached", 100) not in await _reasons(db, "dan")
    standings = await engine.standings(guild, g.slug)
    assert [(r.rank, r.name, r.points, r.detail) for r in standings.rows] == [
        (1, "Team Red", 55, "3 members"), (2, "Team Blue", 45, "1 member")]
    assert (await engine.challenge_info(member(guild, "bo"), g.slug)).team == "Red"


async def test_community_mode_shares_one_target(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock, goal=100, team_mode="community")
    with pytest.raises(InvalidInput, match="no teams"):
        await engine.join(member(guild, "ann"), g.slug, "Red")
    for name in ("ann", "bo", "cat"):
        await engine.join(member(guild, name), g.slug)

    await engine.log_progress(member(guild, "ann"), g.slug, 40)
    await engine.log_progress(member(guild, "bo"), g.slug, 35)
    assert await outbox_rows(db, "finisher") == []
    await engine.log_progress(member(guild, "cat"), g.slug, 30)

    assert len(await outbox_rows(db, "finisher")) == 3
    assert all(p.finished_at is not None for p in await select_all(db, Participant))


async def test_pace_and_projected_finish(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock, goal=50)
    alice = member(guild, "alice")
    await engine.join(alice, g.slug)
    clock.advance(timedelta(days=2))

    pace = await engine.log_progress(alice, g.slug, 10)

    assert (pace.progress, pace.goal, pace.per_day) == (10, 50, 5)
    assert pace.projected_finish == clock.now() + timedelta(days=8)
    info = await engine.challenge_info(alice, g.slug)
    assert info.my_progress == pace and info.participants == 1
    clock.advance(timedelta(days=1))
    done = await engine.log_progress(alice, g.slug, 40)
    assert done.projected_finish is None  # finished: nothing left to project


async def test_goal_challenge_tally_ranks_by_progress(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock, goal=50, days=7)
    for name, amount in (("ann", 20), ("bo", 55), ("cat", 35)):
        await engine.join(member(guild, name), g.slug)
        await engine.log_progress(member(guild, name), g.slug, amount)
    clock.advance(timedelta(days=7))

    await run_due(engine)
    assert await run_due(engine) == 0

    placements = await select_all(db, Placement, order_by=Placement.place)
    assert [(p.place, p.label, p.score) for p in placements] == [
        (1, "Bo", 55), (2, "Cat", 35), (3, "Ann", 20)]
    (results,) = await outbox_rows(db, "results")
    assert results.body["text"].splitlines()[0] == "🥇 Bo: 55 km"
    assert {"name": "Finishers", "value": "1", "inline": True} in results.body["fields"]
    with pytest.raises(WrongPhase, match="not running"):
        await engine.log_progress(member(guild, "ann"), g.slug, 1)
    with pytest.raises(WrongPhase):
        await engine.leave(member(guild, "ann"), g.slug)
    # goal challenges pay for joining and finishing, not for places
    assert [r for r in await _reasons(db, "bo") if r[0] == "placement"] == []


async def test_team_challenge_results_rank_teams(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock, goal=100, team_mode="team", days=7)
    for name, team, amount in (("ann", "Red", 20), ("bo", "Red", 25), ("cat", "Blue", 40)):
        await engine.join(member(guild, name), g.slug, team)
        await engine.log_progress(member(guild, name), g.slug, amount)
    clock.advance(timedelta(days=7))
    await run_due(engine)

    placements = await select_all(db, Placement, order_by=Placement.place)
    assert [(p.place, p.label, p.score, p.member_id) for p in placements] == [
        (1, "Red", 45, None), (2, "Blue", 40, None)]
    assert all(p.subject.startswith("team:") for p in placements)


async def test_progress_criteria_add_up_one_unit_at_a_time(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    """Marathoner (42 of one unit across goal challenges): 10 km and 35 minutes are not 45
    of anything; 42 km are."""
    await setup_community(engine, guild)
    run = await goal_challenge(engine, guild, clock, name="Run", goal=500)
    sit = await goal_challenge(engine, guild, clock, name="Sit", goal=500, unit="minutes")
    ann = member(guild, "ann")
    for c in (run, sit):
        await engine.join(ann, c.slug)
    await engine.log_progress(ann, run.slug, 10)
    await engine.log_progress(ann, sit.slug, 35)

    def marathoner(progress: list[Progress]) -> Progress:
        return next(p for p in progress if p.definition.key == "marathoner")

    assert all(p.definition.key != "marathoner" for p in await engine.achievements(ann))
    await engine.log_progress(ann, run.slug, 32)  # 42 km
    found = marathoner(await engine.achievements(ann))
    assert found.unlocked and found.value == 42
    await engine.recompute(guild)  # the rebuild counts the same way
    assert marathoner(await engine.achievements(ann)).value == 42
