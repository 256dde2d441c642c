"""How late due events fire in steady state: the real Scheduler (APScheduler), the system
clock, and a database.

    uv run python -m bench.scheduler_lateness [--events 200] [--window 25] [--backend sqlite]

It creates challenges in a few communities, starts the bot's scheduler and delivery
worker (posting to a platform that only notes the time), then moves each challenge's
start to a random moment of the next `--window` seconds, the way a moderator's edit
would (the commit re-arms the scheduler). Each start is a due event; it reports how long
after its due time each one began running, committed (challenge open, announcement
queued), and was posted. A report, not a test: nothing passes or fails on a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import statistics
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.delivery import DeliveryWorker
from bot.platform import PostWindow
from bot.scheduler import Scheduler
from engine import schedule
from engine.challenges import ChallengeDraft
from engine.clock import SystemClock
from engine.context import Tx
from engine.due import DueRunner
from engine.leases import Heartbeat
from engine.messages import Card
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.schedule import ClaimedEvent
from engine.service import Engine
from storage.db import Database
from storage.tables import Challenge

__all__ = ["main"]

FAR = timedelta(days=365)  # where challenges wait until the measured window is chosen


@dataclass
class Timings:
    """Seconds after the due time, per event (keyed by challenge id)."""

    due: dict[int, datetime] = field(default_factory=dict)
    started: dict[int, float] = field(default_factory=dict)
    committed: dict[int, float] = field(default_factory=dict)
    posted: dict[int, float] = field(default_factory=dict)
    all_posted: asyncio.Event = field(default_factory=asyncio.Event)


class TimedRunner(DueRunner):
    """The real runner, noting when each phase event starts and commits."""

    def __init__(self, engine: Engine, timings: Timings) -> None:
        super().__init__(engine)
        self.timings = timings

    async def _handle(self, tx: Tx, event: ClaimedEvent) -> None:
        if event.kind == "phase":
            cid = int(event.subject.split(":")[1])
            self.timings.started[cid] = (datetime.now(UTC) - event.due_at).total_seconds()
        await super()._handle(tx, event)

    async def _run(self, event: ClaimedEvent, beat: Heartbeat) -> None:
        await super()._run(event, beat)
        if event.kind == "phase":
            cid = int(event.subject.split(":")[1])
            self.timings.committed[cid] = (datetime.now(UTC) - event.due_at).total_seconds()


class TimingPlatform:
    """Accepts every post at once and notes when an opening announcement arrived."""

    def __init__(self, timings: Timings) -> None:
        self.name = "console"
        self.timings = timings
        self.count = 0

    async def post(self, community_external_id: str, channel_id: str, card: Card, *,
                   nonce: str) -> MessageRef:
        self.count += 1
        if card.title.startswith("🎨") and self.timings.due:  # "#12 · lateness-3"
            cid = int((card.footer or "#0").split(" ")[0].lstrip("#"))
            due = self.timings.due[cid]
            self.timings.posted[cid] = (datetime.now(UTC) - due).total_seconds()
            if len(self.timings.posted) == len(self.timings.due):
                self.timings.all_posted.set()
        return MessageRef(channel_id, f"m{self.count}")

    async def send_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str) -> MessageRef:
        return await self.post(community_external_id, f"@{user_id}", card, nonce=nonce)

    # Every post succeeds at once within one process: no attempt is ever left unanswered.
    async def find_posted(self, community_external_id: str, channel_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        return None

    async def find_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        return None


@contextlib.contextmanager
def _database_url(backend: str, durable: bool) -> Iterator[str]:
    if backend == "postgres":
        from storage.pgcluster import throwaway_cluster

        with throwaway_cluster(durable=durable) as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="laurels-lateness-") as tmp:
        yield f"sqlite+aiosqlite:///{Path(tmp) / 'lateness.db'}"


async def _create(engine: Engine, communities: int, events: int) -> dict[CommunityRef, list[int]]:
    """`events` scheduled challenges spread over `communities`, all starting far away."""
    made: dict[CommunityRef, list[int]] = {}
    far = engine.clock.now() + FAR
    for i in range(events):
        ref = CommunityRef("console", f"bench-{i % communities}", f"Bench {i % communities}")
        if ref not in made:
            await engine.ensure_community(ref, announce_channel="announcements")
            made[ref] = []
        mod = MemberRef(ref, "mod", "mod", is_admin=True)
        view = await engine.create_challenge(mod, ChallengeDraft(
            kind="submission", name=f"Lateness {i}", prompt="Be on time", starts_at=far,
            submissions_close_at=far + timedelta(days=3),
            voting_close_at=far + timedelta(days=5)))
        made[ref].append(view.id)
    return made


async def _move_starts(engine: Engine, made: dict[CommunityRef, list[int]],
                       due: dict[int, datetime]) -> None:
    """Move each challenge's start into the window, one transaction per community."""
    for ref, ids in made.items():
        async def work(tx: Tx, ids: list[int] = ids) -> None:
            rows = (await tx.session.scalars(select(Challenge).where(
                Challenge.id.in_(ids)))).all()
            for c in rows:
                c.starts_at = due[c.id]
            await schedule.sync_challenges(tx, rows)

        await engine.uow.write(ref, work)


def _summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:>10}: no samples"
    ms = sorted(v * 1000 for v in values)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, round(p / 100 * (len(ms) - 1)))]

    return (f"{name:>10}: n={len(ms):4d}  p50={pct(50):7.1f} ms  p90={pct(90):7.1f} ms  "
            f"p99={pct(99):7.1f} ms  max={ms[-1]:7.1f} ms  mean={statistics.fmean(ms):7.1f} ms")


async def measure(url: str, *, events: int, window: float, communities: int, seed: int,
                  lead: float) -> Timings:
    db = Database(url)
    await db.create_all()
    engine = Engine(db, SystemClock())
    timings = Timings()
    try:
        made = await _create(engine, communities, events)
        platform = TimingPlatform(timings)
        runner = TimedRunner(engine, timings)
        worker = DeliveryWorker(engine, {platform.name: platform})
        scheduler = Scheduler(runner, worker)
        await scheduler.start()
        delivering = asyncio.create_task(worker.run_forever())
        try:
            await _drain(worker)
            rng = random.Random(seed)
            start = datetime.now(UTC) + timedelta(seconds=lead)
            for cid in sorted(c for ids in made.values() for c in ids):
                timings.due[cid] = start + timedelta(seconds=rng.uniform(0, window))
            await _move_starts(engine, made, timings.due)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(timings.all_posted.wait(), lead + window + 30)
        finally:
            scheduler.stop()
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering
    finally:
        await db.dispose()
    return timings


async def _drain(worker: DeliveryWorker) -> None:
    """Post the creation announcements before measuring (none is timed)."""
    while await worker.run_once(limit=200):
        pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scheduler_lateness",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=200, help="due events to time")
    p.add_argument("--window", type=float, default=25.0,
                   help="seconds over which their due times are spread")
    p.add_argument("--communities", type=int, default=4)
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--durable", action="store_true",
                   help="PostgreSQL with fsync on (default off, as in tests)")
    p.add_argument("--lead", type=float, default=3.0,
                   help="seconds between scheduling and the window's start")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    with _database_url(args.backend, args.durable) as url:
        timings = asyncio.run(measure(url, events=args.events, window=args.window,
                                      communities=args.communities, seed=args.seed,
                                      lead=args.lead))
    print(f"Scheduler lateness: {args.events} phase events over {args.window:g} s, "
          f"{args.communities} communities, {args.backend}"
          + (" (durable)" if args.durable and args.backend == "postgres" else ""))
    print("Seconds after each event's due time (APScheduler wake, SystemClock):")
    print(_summary("started", list(timings.started.values())))
    print(_summary("committed", list(timings.committed.values())))
    print(_summary("posted", list(timings.posted.values())))
    missing = args.events - len(timings.posted)
    if missing:
        print(f"{missing} events were not posted within the wait")
    early = [v for v in timings.started.values() if v < 0]
    if early:
        print(f"{len(early)} events started EARLY (should never happen)")
    return 0 if not missing and not early else 1


if __name__ == "__main__":
    raise SystemExit(main())
