"""The delivery worker: posts each announcement once, retries with backoff, parks what keeps
failing where moderators (`/settings show`) and operators (`laurels outbox`) see it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main as cli
from bot.console.platform import ConsolePlatform
from bot.delivery import DeliveryWorker, nonce_for, window_after
from bot.platform import DeliveryError
from commands.tree import execute_text
from engine.clock import FixedClock
from engine.errors import Conflict, NotFound
from engine.messages import Card
from engine.outbox import LEASE, MAX_ATTEMPTS, Delivery
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Entry, OutboxRow
from tests.conftest import START, member
from tests.engine.helpers import setup_community, submission_challenge
from tests.scheduler.fakes import RecordingPlatform, deliver_all


async def _rows(db: Database) -> list[OutboxRow]:
    async with db.session() as s:
        return list((await s.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def test_entries_are_posted_once_and_become_reactable(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    await engine.submit_entry(member(guild, "alice"), c.slug, "Night garden")
    platform = RecordingPlatform()

    assert await deliver_all(engine, platform) == len(await _rows(db))
    assert await deliver_all(engine, platform) == 0  # sent rows are never claimed again

    async with db.session() as s:
        entry = await s.scalar(select(Entry))
    [posted] = [p for p in platform.posts if p.title == "Night garden"]
    assert entry is not None and (entry.channel_id, entry.message_id) == (
        "entries", posted.message_id)


async def test_transient_failures_retry_with_the_same_nonce(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    failures = iter([DeliveryError("rate limited", retry_after=30), TimeoutError("slow")])
    platform = RecordingPlatform(fail=lambda nonce, card: next(failures, None))

    await deliver_all(engine, platform)  # rate limited: back in 30 s
    clock.advance(timedelta(seconds=30))
    await deliver_all(engine, platform)  # timed out: back off 2**2 s
    clock.advance(timedelta(seconds=3))
    await deliver_all(engine, platform)
    assert platform.posts == []
    clock.advance(timedelta(seconds=1))
    await deliver_all(engine, platform)

    [row] = await _rows(db)
    assert platform.attempts == [nonce_for(row.id)] * 3
    assert [p.nonce for p in platform.posts] == [nonce_for(row.id)]
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, "TimeoutError: slow")


async def test_the_attempt_is_recorded_before_the_platform_is_asked(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    wall = datetime(2031, 5, 1, 8, 0, tzinfo=UTC)
    seen: list[OutboxRow] = []

    async def read_the_row(nonce: str) -> None:  # what a crash right now would leave
        seen.extend(await _rows(db))

    platform = RecordingPlatform(on_post=read_the_row)
    await deliver_all(engine, platform, wall_clock=lambda: wall)
    [before] = seen
    assert (before.status, before.post_started_at, before.message_id) == (
        "pending", wall, None)
    [row] = await _rows(db)
    assert (row.status, row.message_id) == ("sent", "msg-1")


async def test_a_post_whose_answer_was_lost_is_found_and_not_posted_again(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    await engine.submit_entry(member(guild, "alice"), c.slug, "Night garden")
    wall = datetime(2031, 5, 1, 8, 0, tzinfo=UTC)
    # The platform posts the entry, then the connection drops before its answer.
    platform = RecordingPlatform(land_then_fail=lambda nonce, card: TimeoutError("reset")
                                 if card.title == "Night garden" else None)
    await deliver_all(engine, platform, wall_clock=lambda: wall)
    entry_row = next(r for r in await _rows(db) if r.kind == "entry")
    assert (entry_row.status, entry_row.post_started_at) == ("pending", wall)

    clock.advance(timedelta(minutes=1))  # past the backoff
    platform.land_then_fail = None
    await deliver_all(engine, platform, wall_clock=lambda: wall + timedelta(minutes=1))

    # Looked up around the first attempt, found, kept: one post, nothing posted again.
    assert platform.lookups == [(nonce_for(entry_row.id), window_after(wall))]
    assert platform.attempts.count(nonce_for(entry_row.id)) == 1
    [posted] = [p for p in platform.posts if p.title == "Night garden"]
    async with db.session() as s:
        entry = await s.scalar(select(Entry))
        row = await s.get(OutboxRow, entry_row.id)
    assert row is not None and (row.status, row.message_id) == ("sent", posted.message_id)
    assert entry is not None and entry.message_id == posted.message_id  # votes land there


async def test_a_lookup_that_cannot_be_made_posts_nothing_yet(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    platform = RecordingPlatform(land_then_fail=lambda nonce, card: TimeoutError("reset"))
    await deliver_all(engine, platform)
    clock.advance(timedelta(minutes=1))

    async def unreachable(*args: object, **kwargs: object) -> None:
        raise DeliveryError("history unavailable", retry_after=60)

    platform.find_posted = unreachable  # type: ignore[method-assign]
    await deliver_all(engine, platform)
    [row] = await _rows(db)
    assert (row.status, row.last_error) == ("pending", "history unavailable")
    assert len(platform.attempts) == 1  # not posted again on a guess


async def test_a_worker_that_lost_its_claim_does_not_post_or_write_an_outcome(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    platform = RecordingPlatform(fail=lambda nonce, card: TimeoutError("no answer"))
    await deliver_all(engine, platform)  # an attempt that may have landed
    platform.fail = None
    clock.advance(timedelta(minutes=1))
    taken: list[Delivery] = []

    async def stalled_lookup(*args: object, **kwargs: object) -> None:
        clock.advance(LEASE + timedelta(seconds=1))  # this worker stalls past its lease
        taken.extend(await engine.deliveries.claim())  # and another one takes the row
        return None

    platform.find_posted = stalled_lookup  # type: ignore[method-assign]
    await deliver_all(engine, platform)

    assert len(platform.attempts) == 1 and platform.posts == []  # it did not post
    [row] = await _rows(db)
    [mine] = taken
    # The row is the new holder's, as it left it: pending, leased, its attempt counted.
    assert (row.status, row.attempts, row.last_error) == ("pending", mine.attempts,
                                                          "TimeoutError: no answer")
    assert row.lease_until == clock.now() + LEASE


async def test_the_console_posts_a_nonce_once(engine: Engine, clock: FixedClock) -> None:
    console = ConsolePlatform(engine, clock, out=lambda line: None)
    card = Card(title="Results")
    first = await console.post("local", "general", card, nonce="laurels-5")
    assert await console.post("local", "general", card, nonce="laurels-5") == first
    window = window_after(datetime(2031, 5, 1, tzinfo=UTC))
    assert await console.find_posted("local", "general", card, nonce="laurels-5",
                                     window=window) == first
    assert await console.find_posted("local", "general", card, nonce="laurels-6",
                                     window=window) is None
    assert list(console.messages) == [int(first.message_id)]


async def test_a_message_that_keeps_failing_is_parked_and_shown_to_moderators(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    platform = RecordingPlatform(fail=lambda nonce, card: RuntimeError("503"))
    for _ in range(MAX_ATTEMPTS):
        await deliver_all(engine, platform)
        clock.advance(timedelta(minutes=20))  # past any backoff
    [row] = await _rows(db)
    assert (row.status, row.attempts) == ("parked", MAX_ATTEMPTS)
    await deliver_all(engine, platform)
    assert len(platform.attempts) == MAX_ATTEMPTS  # parked: not retried forever

    shown = await execute_text(engine, member(guild, "mod", mod=True), "/settings show")
    fields = {f.name: f.value for f in shown.card.fields}
    assert fields["Undelivered announcements"] == (
        f"1 parked; latest (#{row.id}): RuntimeError: 503")


async def test_a_permanent_error_parks_at_once_and_retry_requeues(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    gone = DeliveryError("Unknown Channel", permanent=True)
    platform = RecordingPlatform(fail=lambda nonce, card: gone)
    await deliver_all(engine, platform)
    [row] = await _rows(db)
    assert (row.status, row.last_error) == ("parked", "Unknown Channel")

    info = await engine.deliveries.retry(row.id)  # the channel was fixed
    assert (info.status, info.attempts) == ("pending", 0)
    platform.fail = None
    await deliver_all(engine, platform)
    assert platform.titles() == ["🎨 New challenge: Dreamscapes"]
    with pytest.raises(Conflict):
        await engine.deliveries.retry(row.id)
    with pytest.raises(NotFound):
        await engine.deliveries.retry(row.id + 100)


async def test_a_worker_only_claims_rows_of_platforms_it_serves(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)  # a console community
    await submission_challenge(engine, guild, clock)
    slack_only = DeliveryWorker(engine, {"slack": RecordingPlatform(name="slack")})
    assert await slack_only.run_once() == 0
    [row] = await _rows(db)
    assert (row.status, row.attempts) == ("pending", 0)


def test_outbox_cli_lists_parked_messages_and_retries_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    guild = CommunityRef("console", "cli-guild")

    async def park_one() -> int:
        db = Database(url)
        await db.create_all()
        engine = Engine(db, FixedClock(START))
        await setup_community(engine, guild)
        await engine.award_badge(member(guild, "mod", mod=True), member(guild, "bob"), "Helper",
                                 "Answered questions")
        [d] = await engine.deliveries.claim()
        await engine.deliveries.failed(d.id, "Missing Permissions", permanent=True)
        await db.dispose()
        return d.id

    parked = asyncio.run(park_one())
    assert cli(["--database", url, "outbox", "--parked"]) == 0
    listing = capsys.readouterr().out
    assert f"{parked:>6}  parked" in listing and "console:cli-guild" in listing
    assert "error: Missing Permissions" in listing
    assert "laurels outbox retry ID" in listing

    assert cli(["--database", url, "outbox", "retry", str(parked)]) == 0
    assert f"Message {parked} (badge for console:cli-guild) is queued again" in (
        capsys.readouterr().out)
    assert cli(["--database", url, "outbox"]) == 0
    assert capsys.readouterr().out.strip() == "No parked messages."
    assert cli(["--database", url, "outbox", "--pending"]) == 0
    assert "🎖️ Badge awarded: Helper" in capsys.readouterr().out
    assert cli(["--database", url, "outbox", "retry", "999"]) == 1
    assert "There is no outbox message 999." in capsys.readouterr().err


async def test_a_worker_woken_as_it_is_cancelled_still_stops(engine: Engine) -> None:
    """A platform that starts as the bot stops wakes the worker in the same moment as it
    is cancelled. Python 3.11's `asyncio.wait_for` then swallows the cancellation and the
    worker (and the shutdown waiting for it) runs on for good."""
    worker = DeliveryWorker(engine, {}, idle_seconds=30)
    running = asyncio.create_task(worker.run_forever())
    for _ in range(3):  # until it waits to be woken
        await asyncio.sleep(0)
    worker.wake()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(running, 2)
