"""Moderators choose reminders, the digest and recurring challenges; events follow at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from commands.tree import execute_text
from engine.clock import FixedClock
from engine.errors import Forbidden, InvalidInput
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Challenge, DueEvent
from tests.conftest import member
from tests.engine.helpers import row_counts, setup_community, submission_challenge


async def _due(db: Database, subject: str) -> dict[str, datetime]:
    async with db.session() as s:
        return {e.kind: e.due_at for e in (await s.scalars(select(DueEvent).where(
            DueEvent.subject == subject, DueEvent.status == "pending"))).all()}


async def _community_subject(engine: Engine, guild: CommunityRef) -> str:
    return f"community:{(await engine.community(guild)).id}"


async def test_reminder_leads_move_the_reminders_of_live_challenges(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    mod = member(guild, "mod", mod=True)
    close = clock.now() + timedelta(days=3)

    settings = await engine.set_reminders(mod, "3h, 30m")
    assert settings.reminders == ("3h", "30m")
    events = await _due(db, f"challenge:{c.id}")
    assert events["remind:submissions:3h"] == close - timedelta(hours=3)
    assert events["remind:submissions:30m"] == close - timedelta(minutes=30)
    assert "remind:submissions:24h" not in events

    assert (await engine.set_reminders(mod, "2d")).reminders == ("48h",)
    assert (await engine.set_reminders(mod, "off")).reminders == ()
    assert set(await _due(db, f"challenge:{c.id}")) == {"phase"}


@pytest.mark.parametrize("spec", ["soon", "1m", "30d", "1h,2h,3h,4h,5h", "", "24h,soon"])
async def test_bad_reminder_specs_are_refused_and_change_nothing(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock, spec: str) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    before = await row_counts(db)
    with pytest.raises(InvalidInput):
        await engine.set_reminders(member(guild, "mod", mod=True), spec)
    assert await row_counts(db) == before
    assert (await engine.schedule_settings(guild)).reminders == ("24h", "1h")


async def test_digest_moves_turns_off_and_back_on(
        engine: Engine, db: Database, guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    await engine.due.sweep()
    subject = await _community_subject(engine, guild)
    mod = member(guild, "mod", mod=True)
    assert (await _due(db, subject))["digest"] == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)

    assert (await engine.set_digest(mod, "Fri 17:30")).digest == "Friday 17:30"
    assert (await _due(db, subject))["digest"] == datetime(2026, 3, 6, 17, 30, tzinfo=UTC)
    assert (await engine.set_digest(mod, "off")).digest == ""
    assert "digest" not in await _due(db, subject)
    assert (await engine.set_digest(mod, "monday")).digest == "Monday 09:00"
    assert (await _due(db, subject))["digest"] == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    for bad in ("blursday", "monday 25:00", "monday 9:5", "mo 09:00", "monday 09:00 extra"):
        with pytest.raises(InvalidInput):
            await engine.set_digest(mod, bad)


async def test_time_zone_change_moves_community_events_to_local_time(
        engine: Engine, db: Database, guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    await engine.due.sweep()
    subject = await _community_subject(engine, guild)
    await engine.set_timezone(member(guild, "mod", mod=True), "Asia/Tokyo")  # UTC+9
    events = await _due(db, subject)
    # Now Monday 2 March 21:00 in Tokyo: the week ends at local midnight, Sunday 15:00 UTC.
    assert events["close:week"] == datetime(2026, 3, 8, 15, 0, tzinfo=UTC)
    assert events["digest"] == datetime(2026, 3, 9, 0, 0, tzinfo=UTC)  # Monday 09:00 JST


async def test_recurring_template_on_creates_next_weeks_challenge_then_off_stops(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    runner = engine.due
    subject = await _community_subject(engine, guild)
    mod = member(guild, "mod", mod=True)

    settings = await engine.set_recurring(mod, "Weekly-Sketch", True)
    assert settings.recurring == ("weekly-sketch",)
    assert (await _due(db, subject))["recurring:weekly-sketch"] == datetime(
        2026, 3, 9, 9, 0, tzinfo=UTC)

    await runner.run_until(clock, datetime(2026, 3, 16, 10, 0, tzinfo=UTC))
    async with db.session() as s:
        made = (await s.scalars(select(Challenge).order_by(Challenge.id))).all()
    assert [(c.name, c.prompt, c.phase) for c in made] == [
        ("Weekly Sketch #1", "A place you have never been", "completed"),
        ("Weekly Sketch #2", "Something that glows", "open")]
    # Deadlines count from the template's moment, not from when the runner got to it.
    assert made[1].starts_at == datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
    assert made[1].submissions_close_at == datetime(2026, 3, 20, 9, 0, tzinfo=UTC)

    await engine.set_recurring(mod, "weekly-sketch", False)
    assert "recurring:weekly-sketch" not in await _due(db, subject)
    await runner.run_until(clock, datetime(2026, 3, 31, tzinfo=UTC))
    async with db.session() as s:
        assert len((await s.scalars(select(Challenge))).all()) == 2


async def test_unknown_template_lists_the_available_ones(
        engine: Engine, guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    with pytest.raises(InvalidInput) as refused:
        await engine.set_recurring(member(guild, "mod", mod=True), "weekly-sculpture", True)
    assert "weekly-sketch (Weekly Sketch, every Monday 09:00)" in refused.value.message
    assert "monthly-distance (Move More, every 4 weeks, Monday 08:00)" in refused.value.message


async def test_members_cannot_change_schedule_settings(
        engine: Engine, db: Database, guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    alice = member(guild, "alice")
    before = await row_counts(db)
    for change in (engine.set_reminders(alice, "1h"), engine.set_digest(alice, "off"),
                   engine.set_recurring(alice, "weekly-sketch", True)):
        with pytest.raises(Forbidden):
            await change
    assert await row_counts(db) == before


async def test_settings_commands_and_show(engine: Engine, guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)

    said = await execute_text(engine, mod, "/settings digest friday 17:00")
    assert said.card.text == "The weekly digest goes out every Friday 17:00 (UTC)."
    said = await execute_text(engine, mod, "/settings reminders 48h,2h")
    assert said.card.text == "Reminders go out 48h, 2h before each deadline."
    said = await execute_text(engine, mod, "/settings recurring nope on")
    assert said.card.text.startswith("⚠️ There is no template 'nope'. Templates: ")
    said = await execute_text(engine, mod, "/settings recurring weekly-sketch on")
    assert said.card.text.startswith("Recurring challenge on: Weekly Sketch, every Monday")

    shown = {f.name: f.value for f in (await execute_text(engine, mod, "/settings show")).card
             .fields}
    assert shown["Reminders"] == "48h, 2h before deadlines"
    assert shown["Weekly digest"] == "Friday 17:00"
    assert shown["Recurring"] == "weekly-sketch"
    assert shown["Undelivered announcements"] == "none"


async def test_a_failed_periodic_event_restarts_at_its_next_occurrence(
        engine: Engine, db: Database, guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    runner = engine.due
    await runner.sweep()
    subject = await _community_subject(engine, guild)
    async with db.transaction() as s:
        digest = await s.scalar(select(DueEvent).where(DueEvent.subject == subject,
                                                       DueEvent.kind == "digest"))
        assert digest is not None
        digest.status, digest.last_error = "failed", "boom"
    await runner.sweep()
    assert (await _due(db, subject))["digest"] == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
