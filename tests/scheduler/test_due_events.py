"""The due-events table drives a challenge's life: on time, once, and after downtime."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.clock import FixedClock
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.tables import DueEvent, OutboxRow
from tests.conftest import member
from tests.engine.helpers import post_pending, setup_community, submission_challenge


async def _kinds(db: Database) -> list[str]:
    async with db.session() as s:
        return list((await s.scalars(select(OutboxRow.kind).order_by(OutboxRow.id))).all())


async def test_challenge_runs_itself_with_reminders(engine: Engine, db: Database,
                                                    guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    runner = engine.due
    c = await submission_challenge(engine, guild, clock, early_votes=True)
    await engine.submit_entry(member(guild, "alice"), c.slug, "Night garden")
    (message,) = (await post_pending(engine)).values()
    await engine.cast_vote(member(guild, "fan"), message, "👍")  # a place needs a vote
    start = clock.now()
    await runner.run_until(clock, start + timedelta(days=6))
    kinds = await _kinds(db)
    assert kinds[:9] == ["phase_open", "entry", "achievement", "reminder", "reminder",
                         "phase_voting", "reminder", "reminder", "results"]
    assert set(kinds[9:]) == {"achievement"}  # what winning unlocked, after the results
    async with db.session() as s:
        titles = [r.body["title"] for r in (await s.scalars(
            select(OutboxRow).where(OutboxRow.kind == "reminder").order_by(OutboxRow.id))).all()]
    assert titles[0].startswith("⏰ 1 day to submit") and titles[1].startswith("⏰ 1 hour")


async def test_restart_after_deadline_runs_once_and_skips_stale_reminders(
        db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    first = Engine(db, clock)
    await setup_community(first, guild)
    c = await submission_challenge(first, guild, clock)
    await first.submit_entry(member(guild, "alice"), c.slug, "Night garden")
    # the bot is down for a week; a new process starts
    clock.advance(timedelta(days=7))
    second = Engine(db, clock)
    runner = second.due
    await runner.sweep()
    await runner.run_due()
    await runner.run_due()
    kinds = await _kinds(db)
    assert kinds.count("results") == 1
    assert kinds.count("phase_voting") == 1
    assert "reminder" not in kinds
    async with db.session() as s:
        statuses = {(e.kind, e.status) for e in (await s.scalars(select(DueEvent).where(
            DueEvent.subject == f"challenge:{c.id}"))).all()}
    assert ("remind:submissions:1h", "skipped") in statuses
    assert ("phase", "done") in statuses
    assert not any(status == "pending" for _, status in statuses)


async def test_editing_deadline_moves_events(engine: Engine, db: Database, guild: CommunityRef,
                                             clock: FixedClock) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    later = clock.now() + timedelta(days=4)
    await engine.edit_challenge(member(guild, "mod", mod=True), c.slug,
                                submissions_close_at=later)
    async with db.session() as s:
        phase = await s.scalar(select(DueEvent).where(DueEvent.subject == f"challenge:{c.id}",
                                                      DueEvent.kind == "phase"))
    assert phase is not None and phase.due_at == later


async def test_cancel_removes_pending_events(engine: Engine, db: Database, guild: CommunityRef,
                                             clock: FixedClock) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    await engine.cancel_challenge(member(guild, "mod", mod=True), c.slug, "rain")
    async with db.session() as s:
        pending = (await s.scalars(select(DueEvent).where(
            DueEvent.subject == f"challenge:{c.id}", DueEvent.status == "pending"))).all()
    assert pending == []
    assert "phase_cancelled" in await _kinds(db)


async def test_moving_a_deadline_rearms_its_reminders(engine: Engine, db: Database,
                                                      guild: CommunityRef,
                                                      clock: FixedClock) -> None:
    await setup_community(engine, guild)
    runner = engine.due
    c = await submission_challenge(engine, guild, clock)
    await runner.run_until(clock, clock.now() + timedelta(days=2, hours=1))  # 24h reminder out
    later = clock.now() + timedelta(days=3)
    await engine.edit_challenge(member(guild, "mod", mod=True), c.slug,
                                submissions_close_at=later, voting_close_at=later + timedelta(
                                    days=2))
    async with db.session() as s:
        events = {e.kind: e for e in (await s.scalars(select(DueEvent).where(
            DueEvent.subject == f"challenge:{c.id}"))).all()}
    assert (events["remind:submissions:24h"].status,
            events["remind:submissions:24h"].due_at) == ("pending", later - timedelta(days=1))
    assert events["phase"].due_at == later

    await runner.run_until(clock, later + timedelta(minutes=1))
    async with db.session() as s:
        titles = [b["title"] for b in (await s.scalars(select(OutboxRow.body).where(
            OutboxRow.kind == "reminder").order_by(OutboxRow.id))).all()]
    # The first "1 day" went out for the old deadline, the second for the new one; the
    # "1 hour" only once, before the deadline that held.
    assert titles == ["⏰ 1 day to submit to Dreamscapes", "⏰ 1 day to submit to Dreamscapes",
                      "⏰ 1 hour to submit to Dreamscapes"]


async def test_cancelling_drops_reminders_before_they_fire(engine: Engine, db: Database,
                                                           guild: CommunityRef,
                                                           clock: FixedClock) -> None:
    await setup_community(engine, guild)
    runner = engine.due
    c = await submission_challenge(engine, guild, clock)
    await engine.cancel_challenge(member(guild, "mod", mod=True), c.slug, "rain")
    await runner.run_until(clock, clock.now() + timedelta(days=10))
    kinds = await _kinds(db)
    assert "reminder" not in kinds and "results" not in kinds
    assert kinds.count("phase_cancelled") == 1
