"""A bot process for crash and concurrency tests: `python -m tests.scheduler.crash_worker`.

It starts the way the bot starts (recover leases on SQLite, sweep), then runs what is due
and/or delivers the outbox at `--now` (a fixed time, or `system` for the real clock),
and prints one JSON line saying what it did. Tests kill it with SIGKILL at chosen
moments:

- `--hang tally`: inside the tally's transaction, after every row is written but before
  the commit, it writes the `--ready` file and sleeps;
- `--hang post`: right after the platform accepted a post, before `delivered` is
  recorded, it writes the `--ready` file and sleeps;
- `--kill-chance P --seed N`: at each fault point of a delivery (before and after the
  intent is recorded, after chat.postMessage / POST messages answered but before the
  vote emoji is added, after the post, after a lookup, before and after `delivered`) it
  SIGKILLs itself with probability P, noting the point in `--kill-log` first.

Platforms: `--platform DIR` is a directory of files (`FilePlatform`), shared by every
worker process like a real chat service; `--slack API_URL` and `--discord API_BASE`
(with `--token`) are the real adapters talking to a FakeSlack / FakeDiscord the test
runs. `--serve SECONDS --until KIND` runs the real `Scheduler` (not a single pass) until
an event of that kind ran, noting when (`ran[].at`, wall-clock seconds).

`--fork-server` reads one JSON argument list per line on standard input, forks a child
that runs it (modules already imported: a round costs milliseconds, not the seconds an
interpreter takes to start) and prints `{"pid": ..., "status": ...}` when the child is
done (status: exit code, or minus the signal that killed it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import importlib
import json
import os
import random
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import engine.phases as phases
from bot.delivery import DeliveryWorker
from bot.platform import Platform, PostWindow
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
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


class FilePlatform:
    """A chat platform kept in files, so several processes see the same channels.

    `messages.jsonl` holds what was posted, `attempts.jsonl` every post request,
    `lookups.jsonl` every lookup. Like Discord with `enforce_nonce`, a post whose nonce
    was already seen returns the first message instead of posting again; the attempt is
    still logged (`duplicate`), so tests can see that a repeat happened.
    """

    name = "console"

    def __init__(self, root: Path, *, slow: float = 0.0) -> None:
        self.root = root
        self.slow = slow
        self.root.mkdir(parents=True, exist_ok=True)
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
        return MessageRef(channel_id, message["id"])

    async def send_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str) -> MessageRef:
        return await self.post(community_external_id, f"@{user_id}", card, nonce=nonce)

    async def find_posted(self, community_external_id: str, channel_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        with self._locked():
            found = self._messages().get(nonce)
            self._append("lookups.jsonl", {"nonce": nonce, "pid": os.getpid(),
                                           "found": found is not None})
        return None if found is None else MessageRef(found["channel"], found["id"])

    async def find_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        return await self.find_posted(community_external_id, f"@{user_id}", card,
                                      nonce=nonce, window=window)


class Faults:
    """Where this process dies or hangs on purpose."""

    def __init__(self, *, chance: float = 0.0, seed: int = 0, kill_log: Path | None = None,
                 hang_after_post: bool = False, ready: Path | None = None) -> None:
        self.chance = chance
        self.rng = random.Random(seed)
        self.kill_log = kill_log
        self.hang_after_post = hang_after_post
        self.ready = ready

    def point(self, name: str) -> None:
        """Maybe die here, as abruptly as a power cut: SIGKILL, no clean-up."""
        if self.chance and self.rng.random() < self.chance:
            if self.kill_log is not None:
                with self.kill_log.open("a", encoding="utf-8") as f:
                    f.write(name + "\n")
                    f.flush()
                    os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)

    async def after_post(self, nonce: str) -> None:
        if self.hang_after_post:
            _signal_ready(self.ready, f"posted {nonce}")
            await asyncio.sleep(HANG_SECONDS)
        self.point("posted, not recorded")


class FaultyPlatform:
    """`inner` with fault points around each call."""

    def __init__(self, inner: Platform, faults: Faults) -> None:
        self.inner = inner
        self.faults = faults
        self.name = inner.name

    async def post(self, community_external_id: str, channel_id: str, card: Card, *,
                   nonce: str) -> MessageRef:
        self.faults.point("about to post")
        ref = await self.inner.post(community_external_id, channel_id, card, nonce=nonce)
        await self.faults.after_post(nonce)
        return ref

    async def send_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str) -> MessageRef | None:
        self.faults.point("about to post")
        ref = await self.inner.send_direct(community_external_id, user_id, card, nonce=nonce)
        await self.faults.after_post(nonce)
        return ref

    async def find_posted(self, community_external_id: str, channel_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        ref = await self.inner.find_posted(community_external_id, channel_id, card,
                                           nonce=nonce, window=window)
        self.faults.point("looked up, not recorded")
        return ref

    async def find_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        ref = await self.inner.find_direct(community_external_id, user_id, card,
                                           nonce=nonce, window=window)
        self.faults.point("looked up, not recorded")
        return ref


def _with_fault_points(engine: Engine, faults: Faults) -> None:
    """Fault points around the worker's two writes: the intent and the record."""
    started, delivered = engine.deliveries.started, engine.deliveries.sent

    async def delivery_started(outbox_id: int, attempts: int, started_at: datetime) -> bool:
        ok = await started(outbox_id, attempts, started_at)
        faults.point("intent recorded, not posted")
        return ok

    async def record(outbox_id: int, message: MessageRef | None) -> None:
        faults.point("about to record")
        await delivered(outbox_id, message)
        faults.point("recorded")

    engine.deliveries.started = delivery_started  # type: ignore[method-assign]
    engine.deliveries.sent = record  # type: ignore[method-assign]


async def _slack(api_url: str, token: str, faults: Faults) -> Platform:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.platform import SingleTokenClients, SlackPlatform, retry_handlers

    for name in _PROXY_VARS:  # slack_sdk would send loopback traffic through a proxy
        os.environ.pop(name, None)

    class Client(AsyncWebClient):
        async def api_call(self, api_method: str, **kwargs: Any) -> Any:  # type: ignore[override]
            response = await super().api_call(api_method, **kwargs)
            if api_method == "chat.postMessage":
                faults.point("message posted, vote emoji not added")
            return response

    client = Client(token=token, base_url=api_url, retry_handlers=retry_handlers())
    return SlackPlatform(SingleTokenClients(client), channel_interval=0)


async def _discord(api_base: str, token: str, faults: Faults
                   ) -> tuple[Platform, Callable[[], Awaitable[None]]]:
    import discord

    from bot.discord.app import point_at
    from bot.discord.platform import DiscordPlatform

    point_at(api_base, None)
    client = discord.Client(intents=discord.Intents.none())
    await client.login(token)  # REST only: posting needs no gateway
    request = client.http.request

    async def request_with_fault(route: Any, **kwargs: Any) -> Any:
        response = await request(route, **kwargs)
        if route.method == "POST" and route.path == "/channels/{channel_id}/messages":
            faults.point("message posted, vote emoji not added")
        return response

    client.http.request = request_with_fault  # type: ignore[method-assign]
    return DiscordPlatform(client), client.close


class RecordingRunner(DueRunner):
    """A DueRunner that notes each event it runs (and may dawdle, to interleave)."""

    def __init__(self, engine: Engine, slow: float) -> None:
        super().__init__(engine.uow)
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
    real = phases.tally

    async def tally_then_hang(tx: Tx, challenge: Any) -> Any:
        ranked = await real(tx, challenge)
        await tx.session.flush()  # every row written, nothing committed
        _signal_ready(ready, f"tallied {challenge.id}")
        await asyncio.sleep(HANG_SECONDS)
        return ranked

    phases.tally = tally_then_hang  # type: ignore[assignment]


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


def _parser() -> argparse.ArgumentParser:
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
    p.add_argument("--slack", help="FakeSlack Web API URL")
    p.add_argument("--discord", help="FakeDiscord REST base URL")
    p.add_argument("--token", default="")
    p.add_argument("--kill-chance", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kill-log", type=Path)
    p.add_argument("--slow-ms", type=float, default=0)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--barrier", type=Path, help="directory where workers meet before working")
    p.add_argument("--parties", type=int, default=2, help="how many workers meet there")
    return p


async def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.hang == "tally":
        _hang_in_tally(args.ready)
    db = Database(args.url)
    clock: Clock = SystemClock() if args.now == "system" else FixedClock(
        datetime.fromisoformat(args.now))
    engine = Engine(db, clock)
    runner = RecordingRunner(engine, args.slow_ms / 1000)
    faults = Faults(chance=args.kill_chance, seed=args.seed, kill_log=args.kill_log,
                    hang_after_post=args.hang == "post", ready=args.ready)
    summary: dict[str, Any] = {"pid": os.getpid()}
    started = time.monotonic()
    closers: list[Callable[[], Awaitable[None]]] = []

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
            inner: Platform
            if args.slack:
                inner = await _slack(args.slack, args.token, faults)
            elif args.discord:
                inner, close = await _discord(args.discord, args.token, faults)
                closers.append(close)
            else:
                assert args.platform is not None, "--deliver needs a platform"
                inner = FilePlatform(args.platform, slow=args.slow_ms / 1000)
            _with_fault_points(engine, faults)
            worker = DeliveryWorker(engine, {inner.name: FaultyPlatform(inner, faults)})
            delivered = 0
            while handled := await worker.run_once(limit=args.limit):
                delivered += handled
            summary["delivered"] = delivered
            summary["posted"] = getattr(inner, "posted", None)
            lap("delivered")
    finally:
        for close in closers:
            await close()
        await db.dispose()
    print(json.dumps(summary), flush=True)
    return 0


def fork_server() -> int:
    """Run each argument list read from stdin in a forked child, one at a time."""
    for line in sys.stdin:
        argv = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child: run, then leave without running the parent's clean-up
            code = 1
            try:
                code = asyncio.run(main(argv))
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "status": os.waitstatus_to_exitcode(status)}),
              flush=True)
    return 0


def _preload() -> None:
    """Import what children use, so each fork starts warm (no event loop, no threads)."""
    for module in ("discord", "slack_sdk.web.async_client", "bot.discord.app",
                   "bot.discord.platform", "bot.slack.platform"):
        importlib.import_module(module)


if __name__ == "__main__":
    if sys.argv[1:] == ["--fork-server"]:
        _preload()
        sys.exit(fork_server())
    sys.exit(asyncio.run(main(sys.argv[1:])))
