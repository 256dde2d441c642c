"""The outbox: announcements queued with their change, leased, retried, parked, posted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from engine.clock import FixedClock
from engine.outbox import LEASE, MAX_ATTEMPTS
from engine.refs import CommunityRef, MessageRef
from engine.service import Engine
from storage.db import Database
from tests.conftest import member
from tests.engine.helpers import outbox_rows, setup_community, submission_challenge


async def test_a_claimed_row_is_leased_and_not_handed_out_twice(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)

    (first,) = await engine.deliveries.claim()
    assert (first.kind, first.channel_id, first.attempts) == ("phase_open", "announcements", 1)
    assert first.card.title == "🎨 New challenge: Dreamscapes"
    assert await engine.deliveries.claim() == []  # leased to the first worker

    clock.advance(LEASE + timedelta(seconds=1))  # that worker died mid-post
    (again,) = await engine.deliveries.claim()
    assert (again.id, again.attempts) == (first.id, 2)


async def test_simultaneous_workers_share_the_rows_without_overlap(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    for i in range(12):
        await engine.award_badge(member(guild, "mod", mod=True), member(guild, f"m{i}"),
                                 f"Badge {i}", "for testing")

    batches = await asyncio.gather(*(engine.deliveries.claim(limit=4) for _ in range(4)))

    ids = [d.id for batch in batches for d in batch]
    assert len(ids) == len(set(ids)) == 12


async def test_failures_back_off_then_park(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    (d,) = await engine.deliveries.claim()

    assert await engine.deliveries.failed(d.id, "503 from the platform") == "retry"
    assert await engine.deliveries.claim() == []  # backing off: 2 seconds after attempt 1
    clock.advance(timedelta(seconds=2))
    (d,) = await engine.deliveries.claim()
    assert await engine.deliveries.failed(d.id, "rate limited", retry_after=30) == "retry"
    clock.advance(timedelta(seconds=29))
    assert await engine.deliveries.claim() == []
    clock.advance(timedelta(seconds=1))
    (d,) = await engine.deliveries.claim()
    assert await engine.deliveries.failed(d.id, "Missing Access", permanent=True) == "parked"
    clock.advance(timedelta(days=1))
    assert await engine.deliveries.claim() == []
    (row,) = await outbox_rows(db)
    assert (row.status, row.last_error, row.attempts) == ("parked", "Missing Access", 3)


async def test_a_row_that_keeps_failing_is_parked_after_the_last_attempt(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        (d,) = await engine.deliveries.claim()
        outcomes.append(await engine.deliveries.failed(d.id, "timeout"))
        clock.advance(timedelta(hours=1))
    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["parked"]
    assert await engine.deliveries.claim() == []


async def test_delivering_an_entry_makes_its_message_votable(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock, early_votes=True)
    entry = await engine.submit_entry(member(guild, "alice"), c.slug, "Night garden")
    bob = member(guild, "bob")
    msg = MessageRef("entries", "1234")
    assert (await engine.cast_vote(bob, msg, "👍")).status == "ignored"  # not posted yet

    deliveries = {d.kind: d for d in await engine.deliveries.claim()}
    post = deliveries["entry"]
    assert (post.channel_id, post.card.react_with) == ("entries", "👍")
    await engine.deliveries.sent(post.id, msg)
    await engine.deliveries.sent(post.id, MessageRef("entries", "9999"))  # a repeat changes nothing

    assert (await engine.entry(guild, entry.id)).message_id == "1234"
    assert (await engine.cast_vote(bob, msg, "👍")).status == "counted"
    sent = next(r for r in await outbox_rows(db) if r.id == post.id)
    assert (sent.status, sent.sent_at, sent.message_id) == ("sent", clock.now(), "1234")


async def test_a_post_attempt_is_recorded_only_while_its_claim_holds(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    (d,) = await engine.deliveries.claim()
    assert d.post_started_at is None
    # Wall-clock time (the platforms'), which need not be the engine's clock.
    started = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    clock.advance(timedelta(seconds=10))
    assert await engine.deliveries.started(d.id, d.attempts, started)
    (row,) = await outbox_rows(db)
    assert row.post_started_at == started
    assert row.lease_until == clock.now() + LEASE  # a full lease for the post itself

    clock.advance(LEASE + timedelta(seconds=1))  # the worker stalled: its claim lapsed
    assert not await engine.deliveries.started(d.id, d.attempts, started + timedelta(hours=1))
    (again,) = await engine.deliveries.claim()  # another worker sees the earlier attempt
    assert (again.id, again.post_started_at) == (d.id, started)
    assert not await engine.deliveries.started(d.id, d.attempts, started)  # the old claim
    later = started + timedelta(minutes=30)
    assert await engine.deliveries.started(again.id, again.attempts, later)
    (row,) = await outbox_rows(db)
    assert row.post_started_at == later
