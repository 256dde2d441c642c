"""A bot process killed with SIGKILL in the middle of a tally or of a delivery, restarted:
no result posted twice, no points paid twice, nothing lost. SQLite (file) by default,
PostgreSQL with LAURELS_TEST_DB=postgres.

On SQLite the restarted process releases the dead one's leases at start (one process
owns the file); on PostgreSQL another live process might hold them, so the restart
happens after the lease has lapsed.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from engine import schedule
from engine.clock import FixedClock
from engine.outbox import LEASE as OUTBOX_LEASE
from engine.refs import CommunityRef
from engine.service import Engine
from engine.views import ChallengeView
from storage.db import Database
from storage.tables import Challenge, DueEvent, Entry, LedgerRow, OutboxRow, Placement
from tests.conftest import START, member
from tests.engine.helpers import post_pending, setup_community, submission_challenge
from tests.scheduler.procs import kill_when_ready, run_worker, start_worker

GUILD = CommunityRef("console", "crash-guild", "Crash Guild")
ENTRIES = 30
VOTERS = 10
PLACE_POINTS = [500, 300, 200] + [100] * 7


def _restart_time(db: Database, crashed_at: datetime, lease: timedelta) -> datetime:
    """When the restarted process runs: at once on SQLite, after the lease elsewhere."""
    return crashed_at if db.is_sqlite else crashed_at + lease + timedelta(minutes=1)


async def _challenge_in_voting(db: Database) -> tuple[Engine, ChallengeView]:
    """30 entries from 30 members, entry i voted by 10 - i voters, voting open."""
    clock = FixedClock(START)
    engine = Engine(db, clock)
    await setup_community(engine, GUILD)
    c = await submission_challenge(engine, GUILD, clock)
    for i in range(ENTRIES):
        await engine.submit_entry(member(GUILD, f"m{i:02d}"), c.slug, f"Entry {i:02d}")
    messages = await post_pending(engine)
    await engine.due.run_until(clock, START + timedelta(days=3, minutes=1))
    for v in range(VOTERS):
        for entry_id in sorted(messages)[:VOTERS - v]:
            await engine.cast_vote(member(GUILD, f"voter{v}"), messages[entry_id], "👍")
    await post_pending(engine)
    return engine, c


async def _scalar(db: Database, query: object) -> int:
    async with db.session() as s:
        return int(await s.scalar(query) or 0)  # type: ignore[call-overload]


async def test_killed_while_tallying_restarts_and_pays_once(shared_db: Database,
                                                            tmp_path: Path) -> None:
    db = shared_db
    _, c = await _challenge_in_voting(db)
    closing = START + timedelta(days=5, minutes=1)
    ready = tmp_path / "tallied"

    worker = start_worker(db.url, closing, "--due", "--hang", "tally", ready=ready)
    assert (await kill_when_ready(worker)).startswith("tallied")

    # The kill rolled the whole tally back: no phase change, no results, no points.
    async with db.session() as s:
        phase = await s.scalar(select(Challenge.phase).where(Challenge.id == c.id))
        event = await s.scalar(select(DueEvent).where(DueEvent.subject == f"challenge:{c.id}",
                                                      DueEvent.kind == "phase"))
    assert phase == "voting"
    assert event is not None and event.status == "pending" and event.lease_until is not None
    assert await _scalar(db, select(func.count()).where(OutboxRow.kind == "results")) == 0
    assert await _scalar(db, select(func.count()).where(LedgerRow.reason == "placement")) == 0
    assert await _scalar(db, select(func.count()).select_from(Placement)) == 0

    restart = _restart_time(db, closing, schedule.LEASE)
    platform = tmp_path / "platform"
    first = await run_worker(db.url, restart, "--due")
    # A second start runs nothing of this challenge again, and delivers what is queued.
    again = await run_worker(db.url, restart + timedelta(minutes=1), "--due", "--deliver",
                             "--platform", str(platform))
    assert [e["kind"] for e in first["ran"]].count("phase") == 1
    assert not any(e["subject"] == f"challenge:{c.id}" for e in again["ran"])

    async with db.session() as s:
        assert await s.scalar(select(Challenge.phase).where(Challenge.id == c.id)) == "completed"
        placements = (await s.scalars(select(Placement).order_by(Placement.place))).all()
        paid = (await s.execute(select(LedgerRow.member_id, LedgerRow.delta)
                                .where(LedgerRow.reason == "placement")
                                .order_by(LedgerRow.delta.desc()))).all()
        results = (await s.scalars(select(OutboxRow).where(OutboxRow.kind == "results"))).all()
    assert len(placements) == VOTERS  # every entry with a vote placed once
    assert [p.score for p in placements[:VOTERS]] == list(range(VOTERS, 0, -1))
    assert sorted((d for _, d in paid), reverse=True) == PLACE_POINTS  # once each
    assert len({m for m, _ in paid}) == len(paid)
    assert len(results) == 1 and results[0].body["title"] == "🏆 Results: Dreamscapes"
    await _assert_balances_add_up(db)

    # And the results reached the channel once.
    titles = [m["title"] for m in _jsonl(platform / "messages.jsonl")]
    assert titles.count("🏆 Results: Dreamscapes") == 1
    assert await _scalar(db, select(func.count()).where(OutboxRow.status != "sent")) == 0


async def test_killed_between_post_and_record_posts_once(shared_db: Database,
                                                         tmp_path: Path) -> None:
    db = shared_db
    clock = FixedClock(START)
    engine = Engine(db, clock)
    await setup_community(engine, GUILD)
    c = await submission_challenge(engine, GUILD, clock)
    for who in ("alice", "bob", "carol"):
        await engine.submit_entry(member(GUILD, who), c.slug, f"{who}'s entry")
    async with db.session() as s:
        queued = list((await s.scalars(select(OutboxRow.id).order_by(OutboxRow.id))).all())
    platform, ready = tmp_path / "platform", tmp_path / "posted"

    # The platform accepts the first post; the process dies before recording it.
    worker = start_worker(db.url, START, "--deliver", "--hang", "post",
                          "--platform", str(platform), ready=ready)
    assert await kill_when_ready(worker) == f"posted laurels-{queued[0]}"
    async with db.session() as s:
        first_row = await s.get(OutboxRow, queued[0])
    assert first_row is not None and first_row.status == "pending"
    assert first_row.message_id is None and first_row.lease_until is not None
    # The attempt was recorded before the post: the restart knows to look first.
    assert first_row.post_started_at is not None
    [first_message] = _jsonl(platform / "messages.jsonl")

    restart = _restart_time(db, START, OUTBOX_LEASE)
    summary = await run_worker(db.url, restart, "--deliver", "--platform", str(platform))
    assert summary["delivered"] == len(queued)

    messages = _jsonl(platform / "messages.jsonl")
    attempts = _jsonl(platform / "attempts.jsonl")
    lookups = _jsonl(platform / "lookups.jsonl")
    # One message per outbox row: the restart looked the first post up and kept it,
    # without asking the platform to post it again.
    assert Counter(m["nonce"] for m in messages) == Counter(f"laurels-{i}" for i in queued)
    assert not any(a["duplicate"] for a in attempts)
    assert Counter(a["nonce"] for a in attempts) == Counter(f"laurels-{i}" for i in queued)
    assert [(x["nonce"], x["found"]) for x in lookups] == [(f"laurels-{queued[0]}", True)]
    async with db.session() as s:
        rows = {r.id: r for r in (await s.scalars(select(OutboxRow))).all()}
        entries = (await s.scalars(select(Entry).order_by(Entry.id))).all()
    assert all(r.status == "sent" for r in rows.values())
    assert rows[queued[0]].message_id == first_message["id"]  # the first post, kept
    by_id = {m["id"]: m for m in messages}
    for entry in entries:  # entries point at their one posted message: votes can find them
        assert entry.message_id in by_id
        assert by_id[entry.message_id]["title"] == entry.title


async def _assert_balances_add_up(db: Database) -> None:
    """Each member's last balance equals the sum of their ledger: nothing paid twice."""
    async with db.session() as s:
        rows = (await s.execute(select(LedgerRow.member_id, LedgerRow.delta,
                                       LedgerRow.balance_after).order_by(LedgerRow.id))).all()
        keys = (await s.execute(select(LedgerRow.idempotency_key, func.count())
                                .group_by(LedgerRow.idempotency_key)
                                .having(func.count() > 1))).all()
    assert keys == []
    total: Counter[int] = Counter()
    last: dict[int, int] = {}
    for member_id, delta, balance in rows:
        total[member_id] += delta
        last[member_id] = balance
    assert last == dict(total)


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]
