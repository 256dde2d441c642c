"""Two bot processes on one PostgreSQL database share the due events and the outbox:
every event runs in exactly one of them, every announcement is posted by exactly one, and
the claims of one that dies are taken over by the other within the lease (15 s)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine import leases
from engine.challenges import ChallengeDraft
from engine.clock import FixedClock
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Challenge, DueEvent, OutboxRow
from tests.conftest import START, member
from tests.engine.helpers import setup_community, submission_challenge
from tests.scheduler.procs import kill_when_ready, postgres_only, start_worker

GUILDS = (CommunityRef("console", "two-a", "A"), CommunityRef("console", "two-b", "B"))
PER_GUILD = 40


async def _many_scheduled_challenges(engine: Engine) -> None:
    """80 challenges, each opening at its own minute of the next hours."""
    for guild in GUILDS:
        await setup_community(engine, guild)
        mod = member(guild, "mod", mod=True)
        for i in range(PER_GUILD):
            starts = START + timedelta(minutes=1 + i)
            await engine.create_challenge(mod, ChallengeDraft(
                kind="submission", name=f"Sprint {i}", prompt="Draw fast", starts_at=starts,
                submissions_close_at=starts + timedelta(days=3),
                voting_close_at=starts + timedelta(days=5)))


async def _race(url: str, now: datetime, barrier: Path, *args: str) -> list[dict[str, Any]]:
    """Two workers that start working together (they meet at `barrier` first)."""
    workers = [start_worker(url, now, *args, "--barrier", str(barrier)) for _ in range(2)]
    return list(await asyncio.gather(*(asyncio.to_thread(w.result) for w in workers)))


@postgres_only
async def test_each_due_event_runs_in_exactly_one_process(shared_db: Database,
                                                          tmp_path: Path) -> None:
    db = shared_db
    engine = Engine(db, FixedClock(START))
    await _many_scheduled_challenges(engine)
    async with db.session() as s:
        due = set((await s.scalars(select(DueEvent.id).where(DueEvent.kind == "phase"))).all())
    assert len(due) == 2 * PER_GUILD

    # Small claims, slow handlers and slow posts, so the two really interleave; each
    # runs what is due, then delivers what that queued.
    now = START + timedelta(hours=2)
    platform = tmp_path / "platform"
    a, b = await _race(db.url, now, tmp_path / "barrier", "--due", "--deliver", "--limit", "5",
                       "--slow-ms", "10", "--platform", str(platform))

    ran_a = [e["id"] for e in a["ran"]]
    ran_b = [e["id"] for e in b["ran"]]
    assert ran_a and ran_b, "both processes took a share of the events"
    assert Counter(ran_a + ran_b) == Counter(due), "each event ran exactly once"
    async with db.session() as s:
        phases = Counter((await s.scalars(select(Challenge.phase))).all())
        rows = (await s.scalars(select(OutboxRow))).all()
    assert phases == {"open": 2 * PER_GUILD}
    assert [r.kind for r in rows].count("phase_open") == 2 * PER_GUILD

    assert a["delivered"] and b["delivered"], "both processes took a share of the posts"
    attempts = [json.loads(line) for line in
                (platform / "attempts.jsonl").read_text("utf-8").splitlines()]
    assert all(r.status == "sent" for r in rows)
    assert Counter(t["nonce"] for t in attempts) == Counter(f"laurels-{r.id}" for r in rows)
    assert not any(t["duplicate"] for t in attempts)


@postgres_only
async def test_a_dead_process_s_claim_is_taken_over_within_the_lease(
        shared_db: Database, tmp_path: Path) -> None:
    """Process A claims the closing of a vote and dies in the middle of the tally;
    process B, running the real scheduler on the real clock, leaves the event alone
    while A lives (A renews its lease) and runs it within 15 s of A's death."""
    db = shared_db
    now = datetime.now(UTC)
    clock = FixedClock(now - timedelta(days=6))
    engine = Engine(db, clock)
    guild = GUILDS[0]
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)  # voting closed a day ago
    for who in ("alice", "bob"):
        await engine.submit_entry(member(guild, who), c.slug, f"{who}'s entry")
    await engine.due.run_until(clock, now - timedelta(days=2))
    async with db.session() as s:
        assert await s.scalar(select(Challenge.phase).where(Challenge.id == c.id)) == "voting"

    ready = tmp_path / "tallied"
    a = start_worker(db.url, "system", "--due", "--hang", "tally", ready=ready)
    while not ready.exists():  # A has claimed the event and is inside the tally
        assert a.proc.poll() is None, "A exited before its hang point"
        await asyncio.sleep(0.02)
    claimed = time.time()
    b = start_worker(db.url, "system", "--serve", "120", "--until", "phase")
    lease = leases.LEASE.total_seconds()
    # A lives on for longer than one lease: only its renewals keep the event from B.
    await asyncio.sleep(max(0.0, claimed + lease + 1 - time.time()))
    assert b.proc.poll() is None, "B finished while A still held the event"
    await kill_when_ready(a)
    killed = time.time()

    summary = await asyncio.to_thread(b.result, 120)
    [ran] = [r for r in summary["ran"] if r["kind"] == "phase"]
    takeover = ran["at"] - killed
    # A renewed at most RENEW_EVERY before it died, so its lease ended 10-15 s later.
    assert lease - leases.RENEW_EVERY - 1 <= takeover <= lease + 2, takeover
    async with db.session() as s:
        assert await s.scalar(select(Challenge.phase).where(Challenge.id == c.id)) == \
            "completed"
        event = await s.scalar(select(DueEvent).where(
            DueEvent.subject == f"challenge:{c.id}", DueEvent.kind == "phase"))
    assert event is None or event.status != "pending" or event.due_at > now
