"""Stopping and starting the bot: what fell due meanwhile runs once, by its lateness policy.

- phase changes and results always run, however late, exactly once;
- a reminder later than its window is skipped, not posted late;
- a missed digest or period close runs once (for the latest occurrence), then continues
  on its schedule.

These use the real `bot.scheduler.Scheduler` (APScheduler) with a clock the test moves.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.scheduler import Scheduler
from engine import schedule
from engine.clock import FixedClock, OffsetClock
from engine.refs import CommunityRef, MessageRef
from engine.service import Engine
from storage.db import Database
from storage.tables import DueEvent, LedgerRow, OutboxRow
from tests.conftest import member
from tests.engine.helpers import setup_community, submission_challenge
from tests.scheduler.fakes import RecordingPlatform, deliver_all

MOD = "mod"


async def _start_bot(db: Database, clock: FixedClock | OffsetClock, platform: RecordingPlatform
                     ) -> tuple[Engine, Scheduler]:
    """A fresh process: a new engine and scheduler on the same database."""
    engine = Engine(db, clock)
    scheduler = Scheduler(engine.due)
    await scheduler.start()
    await deliver_all(engine, platform)
    return engine, scheduler


async def _events(db: Database, subject: str) -> dict[str, DueEvent]:
    async with db.session() as s:
        return {e.kind: e for e in (await s.scalars(
            select(DueEvent).where(DueEvent.subject == subject))).all()}


async def test_deadlines_missed_while_stopped_run_once_at_start(
        db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    platform = RecordingPlatform()
    engine, bot = await _start_bot(db, clock, platform)
    await setup_community(engine, guild)
    # Submissions 3 days, voting 2 more; votes welcome from the start.
    c = await submission_challenge(engine, guild, clock, early_votes=True)
    await engine.submit_entry(member(guild, "alice"), c.slug, "Night garden")
    await engine.submit_entry(member(guild, "bob"), c.slug, "Cloud harbour")
    await deliver_all(engine, platform)
    for post in platform.posts:
        if post.title in ("Night garden", "Cloud harbour"):  # a place needs a vote
            await engine.cast_vote(member(guild, "fan"), MessageRef(post.channel, post.message_id),
                                   "👍")
    clock.advance(timedelta(hours=12))
    bot.stop()  # stopped before any deadline or reminder

    clock.advance(timedelta(days=6))  # down past both deadlines and all four reminders
    engine, bot = await _start_bot(db, clock, platform)
    bot.stop()
    engine, bot = await _start_bot(db, clock, platform)  # and once more: nothing new
    bot.stop()

    titles = platform.titles()
    assert titles.count("🗳️ Voting is open: Dreamscapes") == 1
    assert titles.count("🏆 Results: Dreamscapes") == 1
    assert not [t for t in titles if t.startswith("⏰")], "stale reminders are skipped"
    # The submission reminders fell due before the deadline and were skipped as stale; the
    # voting ones were dropped unrun once the catch-up completed the challenge.
    events = await _events(db, f"challenge:{c.id}")
    assert {k: e.status for k, e in events.items()} == {
        "phase": "done", "remind:submissions:24h": "skipped",
        "remind:submissions:1h": "skipped"}
    async with db.session() as s:
        paid = (await s.scalars(select(LedgerRow.idempotency_key).where(
            LedgerRow.reason == "placement"))).all()
    assert len(paid) == len(set(paid)) == 2


async def test_a_late_reminder_posts_within_its_window_and_is_skipped_after(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    close = clock.now() + timedelta(days=3)
    runner = engine.due

    # The 24-hour reminder may be up to 2.4 hours late; 2 hours late it still goes out.
    clock.set(close - timedelta(hours=22))
    await runner.run_due()
    # The 1-hour reminder may be 6 minutes late; at 10 minutes it is skipped.
    clock.set(close - timedelta(minutes=50))
    await runner.run_due()

    async with db.session() as s:
        titles = (await s.scalars(select(OutboxRow.body).where(
            OutboxRow.kind == "reminder"))).all()
    assert [t["title"] for t in titles] == ["⏰ 22 hours to submit to Dreamscapes"]
    events = await _events(db, f"challenge:{c.id}")
    assert events["remind:submissions:24h"].status == "done"
    assert events["remind:submissions:1h"].status == "skipped"
    assert schedule.reminder_window(timedelta(hours=24)) == timedelta(hours=2, minutes=24)
    assert schedule.reminder_window(timedelta(hours=1)) == timedelta(minutes=6)


async def test_missed_digest_and_period_close_run_once_then_keep_their_schedule(
        db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    platform = RecordingPlatform()
    engine = Engine(db, clock)
    await setup_community(engine, guild)
    await engine.award_points(member(guild, MOD, mod=True), member(guild, "alice"), 40, "help")
    engine, bot = await _start_bot(db, clock, platform)  # Monday 2 March 2026, 12:00
    bot.stop()

    clock.advance(timedelta(days=23))  # down for three Mondays: 9, 16 and 23 March
    engine, bot = await _start_bot(db, clock, platform)
    bot.stop()
    engine, bot = await _start_bot(db, clock, platform)
    bot.stop()

    titles = platform.titles()
    digests = [t for t in titles if t.startswith("📰")]
    closes = [t for t in titles if t.startswith("🏁 Final standings")]
    assert digests == ["📰 Weekly digest: week 12 of 2026"], "one digest, the latest week's"
    # Each ended week is closed once; only week 10 had points, so only it is announced.
    assert closes == ["🏁 Final standings for week 10 of 2026"]
    events = await _events(db, f"community:{(await engine.community(guild)).id}")
    now = clock.now()
    assert events["digest"].due_at == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    assert events["close:week"].due_at == datetime(2026, 3, 30, 0, 0, tzinfo=UTC)
    assert events["close:month"].due_at == datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
    assert all(e.status == "pending" and e.due_at > now for e in events.values())


async def test_week_with_points_is_closed_once_with_its_standings(
        engine: Engine, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    runner = engine.due
    await runner.sweep()
    mod = member(guild, MOD, mod=True)
    await engine.award_points(mod, member(guild, "alice"), 40, "help")
    await engine.award_points(mod, member(guild, "bob"), 25, "help")
    platform = RecordingPlatform()

    await runner.run_until(clock, clock.now() + timedelta(days=7))
    await runner.run_due()  # a second pass finds nothing new
    await deliver_all(engine, platform)

    closes = [p for p in platform.posts if p.title.startswith("🏁 Final standings")]
    assert [p.title for p in closes] == ["🏁 Final standings for week 10 of 2026"]


async def test_released_leases_let_a_restarted_sqlite_bot_run_at_once(
        db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    engine = Engine(db, clock)
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    clock.advance(timedelta(days=3, minutes=1))
    async with db.transaction() as s:  # a claim whose process then died
        claimed = await schedule.claim_due(s, clock.now())
    assert claimed
    runner = Engine(db, clock).due
    released = await runner.recover()
    ran = await runner.run_due()
    if db.is_sqlite:
        assert released == len(claimed) and ran == len(claimed)
    else:  # another live process may hold those leases: they are left to expire
        assert released == 0 and ran == 0


async def test_scheduler_wakes_at_the_due_time_on_the_wall_clock(
        db: Database, guild: CommunityRef) -> None:
    """With real time: a challenge created to open in 300 ms opens on time by itself."""
    clock = OffsetClock()
    platform = RecordingPlatform()
    engine, bot = await _start_bot(db, clock, platform)
    try:
        await setup_community(engine, guild)
        starts = clock.now() + timedelta(milliseconds=300)
        await submission_challenge(engine, guild, clock, starts_at=starts)  # type: ignore[arg-type]
        opened_at = None
        for _ in range(500):  # up to 10 s: a bound, not a timing assertion
            await asyncio.sleep(0.02)
            async with db.session() as s:
                opened_at = await s.scalar(select(OutboxRow.created_at).where(
                    OutboxRow.kind == "phase_open"))
            if opened_at is not None:
                break
        assert opened_at is not None, "the scheduler never woke"
        assert opened_at >= starts  # never early
    finally:
        bot.stop()
