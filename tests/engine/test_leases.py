"""Heartbeat leases: a claim is short, renewed while its holder works, never renewed once
another process took the row over, and a fenced step stops when renewals stop."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine import leases, schedule
from engine.clock import FixedClock
from engine.leases import Heartbeat, LeaseLost
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.tables import DueEvent, OutboxRow
from tests.engine.helpers import setup_community, submission_challenge


async def _claim_one(engine: Engine) -> tuple[int, int]:
    (d,) = await engine.deliveries.claim()
    return d.id, d.attempts


async def _lease(db: Database, row_id: int) -> object:
    async with db.session() as s:
        return await s.scalar(select(OutboxRow.lease_until).where(OutboxRow.id == row_id))


def test_the_documented_numbers() -> None:
    assert timedelta(seconds=15) == leases.LEASE
    assert leases.RENEW_EVERY == 5.0
    # Two renewals may fail before a live holder loses its claim.
    assert leases.LEASE.total_seconds() / leases.RENEW_EVERY >= 3


async def test_a_held_claim_outlives_its_lease_and_a_dropped_one_is_taken_over(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    row_id, attempts = await _claim_one(engine)
    beat = Heartbeat(db, OutboxRow, clock, every=0.02)
    async with beat:
        beat.hold(row_id, attempts)
        for _ in range(3):  # three leases' worth of time, renewed all along
            clock.advance(leases.LEASE - timedelta(seconds=1))
            renewals = beat.renewals
            async with asyncio.timeout(5):
                while beat.renewals == renewals:  # noqa: ASYNC110 (a counter, not an event)
                    await asyncio.sleep(0.01)
            assert await engine.deliveries.claim() == []
        assert await _lease(db, row_id) == clock.now() + leases.LEASE
        await beat.release(row_id)
    clock.advance(leases.LEASE)  # its holder is gone: the lease runs out
    (again,) = await engine.deliveries.claim()
    assert (again.id, again.attempts) == (row_id, attempts + 1)


async def test_a_claim_taken_over_is_never_renewed_by_its_old_holder(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    row_id, attempts = await _claim_one(engine)
    clock.advance(leases.LEASE + timedelta(seconds=1))  # the old holder stalled
    (taken,) = await engine.deliveries.claim()
    new_lease = await _lease(db, row_id)

    clock.advance(timedelta(seconds=3))
    stale = Heartbeat(db, OutboxRow, clock)
    stale.hold(row_id, attempts)
    assert await stale.renew_now() == set()
    assert await _lease(db, row_id) == new_lease  # the new holder's lease stands
    fresh = Heartbeat(db, OutboxRow, clock)
    fresh.hold(taken.id, taken.attempts)
    assert await fresh.renew_now() == {row_id}


async def test_finished_and_backed_off_rows_are_left_alone(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    row_id, attempts = await _claim_one(engine)
    beat = Heartbeat(db, OutboxRow, clock)
    beat.hold(row_id, attempts)
    await beat.release(row_id)
    await engine.deliveries.failed(row_id, "503", retry_after=600)
    backoff = await _lease(db, row_id)
    assert await beat.renew_now() == set()  # released: the backoff is kept
    beat.hold(row_id, attempts)
    assert await beat.renew_now() == set()  # backed off: no longer leased
    assert await _lease(db, row_id) == backoff


async def test_due_events_are_renewed_until_they_finish(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    clock.advance(timedelta(days=3, minutes=1))
    async with db.transaction() as s:
        claimed = await schedule.claim_due(s, clock.now())
    [event] = [e for e in claimed if e.subject == f"challenge:{c.id}" and e.kind == "phase"]
    beat = Heartbeat(db, DueEvent, clock)
    beat.hold(event.id, event.attempts)
    clock.advance(timedelta(seconds=10))
    assert await beat.renew_now() == {event.id}
    clock.advance(timedelta(seconds=10))  # past the claim's lease, within the renewal
    async with db.transaction() as s:
        assert event.id not in {e.id for e in await schedule.claim_due(s, clock.now())}
        await s.execute(update(DueEvent).where(DueEvent.id == event.id)
                        .values(status="done", lease_until=None))
    assert await beat.renew_now() == set()  # finished: nothing to keep


async def test_a_guarded_step_stops_when_its_claim_is_no_longer_renewed(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    row_id, attempts = await _claim_one(engine)
    monkeypatch.setattr(leases, "FENCE_MARGIN", 0.0)
    beat = Heartbeat(db, OutboxRow, clock, lease=timedelta(seconds=0.3), every=0.05,
                     fence=True)
    async with beat:
        beat.hold(row_id, attempts)
        async with beat.guard(row_id):  # renewed every 0.05 s: outlives its 0.3 s lease
            await asyncio.sleep(0.6)
        async with db.transaction() as s:  # taken over: renewals stop matching
            await s.execute(update(OutboxRow).where(OutboxRow.id == row_id)
                            .values(attempts=attempts + 1))
        with pytest.raises(LeaseLost):
            async with beat.guard(row_id):
                await asyncio.sleep(5)
