"""A bot process for crash and concurrency tests: `python -m tests.scheduler.crash_worker`.

It starts the way the bot starts (recover leases on SQLite, sweep), then runs what is due
and/or delivers the outbox at `--now` (a fixed time, or `system` for the real clock), and
prints one JSON line saying what it did. `--serve SECONDS --until KIND` runs the real
`Scheduler` (not a single pass) until an event of that kind ran, noting when (`ran[].at`,
wall-clock seconds). Tests kill it with SIGKILL at chosen moments:

- `--hang tally`: inside the tally's transaction, after every row is written but before
  the commit, it writes the `--ready` file and sleeps;
- `--hang post`: right after the platform accepted a post, before `delivered` is
  recorded, it writes the `--ready` file and sleeps.

The platform is a directory of files (`FilePlatform`), shared by every worker process
like a real chat service: `messages.jsonl` holds what was posted, `attempts.jsonl` every
post request. Like Discord with `enforce_nonce`, a post whose nonce was already seen
returns the first message instead of posting again; the attempt is still logged, so
tests can see that a repeat happened and was recognised.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import engine.service as service
from bot.delivery import DeliveryWorker
from bot.scheduler import Scheduler
from engine.clock import Clock, FixedClock, SystemClock
from engine.context import Tx
from engine.due import DueRunner
from engine.leases import Heartbeat
from engine.messages import Card
from engine.refs import MessageRef
from engine.schedule import ClaimedEvent
from engine.service import Engine
from storage.db import Database

HANG_SECONDS = 3600


class FilePlatform:
    """A chat platform kept in files, so several processes see the same channels."""

    name = "console"

    def __init__(self, root: Path, *, hang_after_post: bool = False,
                 ready: Path | None = None, slow: float = 0.0) -> None:
        self.root = root
        self.slow = slow
        self.root.mkdir(parents=True, exist_ok=True)
        self.hang_after_post = hang_after_post
        self.ready = ready
        self.posted = 0

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.root / "lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _append(self, name: str, record: dict[str, Any]) -> None:
        with (self.root / name).open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())  # posted means posted, even if we are killed next

    def _messages(self) -> dict[str, dict[str, Any]]:
        path = self.root / "messages.jsonl"
        if not path.exists():
            return {}
        lines = path.read_text("utf-8").splitlines()
        return {m["nonce"]: m for m in map(json.loads, lines)}

    async def post(self, community_external_id: str, channel_id: str, card: Card, *,
                   nonce: str) -> MessageRef:
        if self.slow:
            await asyncio.sleep(self.slow)  # a network round trip
        with self._locked():
            first = self._messages().get(nonce)
            self._append("attempts.jsonl", {"nonce": nonce, "pid": os.getpid(),
                                            "duplicate": first is not None})
            if first is not None:
                return MessageRef(first["channel"], first["id"])
            message = {"nonce": nonce, "id": f"m{os.getpid()}-{self.posted}",
                       "channel": channel_id, "title": card.title, "pid": os.getpid()}
            self._append("messages.jsonl", message)
            self.posted += 1
        if self.hang_after_post:
            _signal_ready(self.ready, f"posted {nonce}")
            await asyncio.sleep(HANG_SECONDS)
        return MessageRef(channel_id, message["id"])

    async def send_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str) -> MessageRef:
        return await self.post(community_external_id, f"@{user_id}", card, nonce=nonce)


class RecordingRunner(DueRunner):
    """A DueRunner that notes each event it runs (and may dawdle, to interleave)."""

    def __init__(self, engine: Engine, slow: float) -> None:
        super().__init__(engine)
        self.slow = slow
        self.ran: list[dict[str, Any]] = []

    async def _handle(self, tx: Tx, event: ClaimedEvent) -> None:
        self.ran.append({"id": event.id, "subject": event.subject, "kind": event.kind,
                         "at": time.time()})
        if self.slow:
            await asyncio.sleep(self.slow)
        await super()._handle(tx, event)

    async def _run(self, event: ClaimedEvent, beat: Heartbeat) -> None:
        await super()._run(event, beat)
        for record in self.ran:
            if record["id"] == event.id and "done_at" not in record:
                record["done_at"] = time.time()  # committed (or given up on)


def _signal_ready(path: Path | None, text: str) -> None:
    if path is not None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, "utf-8")
        tmp.replace(path)  # appears whole: the test never reads half a file


def _meet(barrier: Path, parties: int, within: float = 60.0) -> None:
    """Start working only once every worker has started up: a fair race. (Blocking: the
    process has nothing else to do meanwhile.)"""
    barrier.mkdir(parents=True, exist_ok=True)
    _signal_ready(barrier / f"{os.getpid()}.ready", "ready")
    deadline = time.monotonic() + within
    while len(list(barrier.glob("*.ready"))) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError("the other workers never arrived")
        time.sleep(0.005)


def _hang_in_tally(ready: Path | None) -> None:
    """Replace the engine's tally with one that stops just before the commit."""
    real = service.tally

    async def tally_then_hang(tx: Tx, challenge: Any) -> Any:
        ranked = await real(tx, challenge)
        await tx.session.flush()  # every row written, nothing committed
        _signal_ready(ready, f"tallied {challenge.id}")
        await asyncio.sleep(HANG_SECONDS)
        return ranked

    service.tally = tally_then_hang  # type: ignore[assignment]


async def _serve(runner: RecordingRunner, until: str, seconds: float) -> None:
    """Run the real scheduler until an event of kind `until` was run and committed."""
    scheduler = Scheduler(runner)
    await scheduler.start()
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if any(r["kind"] == until and "done_at" in r for r in runner.ran):
                return
            await asyncio.sleep(0.05)
    finally:
        scheduler.stop()


async def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--now", required=True,
                   help="ISO time the worker's clock shows, or 'system' for the real clock")
    p.add_argument("--due", action="store_true", help="run due events")
    p.add_argument("--deliver", action="store_true", help="deliver the outbox")
    p.add_argument("--serve", type=float, metavar="SECONDS",
                   help="run the scheduler (with --until) for at most this long")
    p.add_argument("--until", help="event kind whose run ends --serve")
    p.add_argument("--hang", choices=("tally", "post"))
    p.add_argument("--ready", type=Path)
    p.add_argument("--platform", type=Path, help="FilePlatform directory")
    p.add_argument("--slow-ms", type=float, default=0)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--barrier", type=Path, help="directory where workers meet before working")
    p.add_argument("--parties", type=int, default=2, help="how many workers meet there")
    args = p.parse_args(argv)

    if args.hang == "tally":
        _hang_in_tally(args.ready)
    db = Database(args.url)
    clock: Clock = SystemClock() if args.now == "system" else FixedClock(
        datetime.fromisoformat(args.now))
    engine = Engine(db, clock)
    runner = RecordingRunner(engine, args.slow_ms / 1000)
    summary: dict[str, Any] = {"pid": os.getpid()}
    started = time.monotonic()

    def lap(name: str) -> None:
        summary.setdefault("seconds", {})[name] = round(time.monotonic() - started, 3)

    try:
        # Start-up, as bot/scheduler.py does it: stale SQLite leases, then rebuild events.
        summary["released"] = await runner.recover()
        await runner.sweep()
        lap("started")
        if args.barrier is not None:
            _meet(args.barrier, args.parties)
            lap("met")
        if args.serve is not None:
            await _serve(runner, args.until, args.serve)
            lap("served")
        if args.due:
            summary["ran_count"] = await runner.run_due(limit=args.limit)
            lap("due")
        summary["ran"] = runner.ran
        if args.deliver:
            assert args.platform is not None, "--deliver needs --platform"
            platform = FilePlatform(args.platform, hang_after_post=args.hang == "post",
                                    ready=args.ready, slow=args.slow_ms / 1000)
            worker = DeliveryWorker(engine, {platform.name: platform})
            delivered = 0
            while handled := await worker.run_once(limit=args.limit):
                delivered += handled
            summary["delivered"] = delivered
            summary["posted"] = platform.posted
            lap("delivered")
    finally:
        await db.dispose()
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
