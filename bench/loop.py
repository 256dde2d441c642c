"""7. The event loop under load (SQLite file): how late a 10 ms ticker on the bot's loop
runs, and how long `/leaderboard` takes through the console path, while votes are cast
at full speed, and while another process holds SQLite's write lock for 2 seconds in the
middle of that. Baselines: the same ticker and command on an idle loop."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.backends import Backend
from bench.common import engine_on, member, message, vote_pairs
from bench.datagen import open_writer, vote_dataset
from bench.report import Figure
from bench.sizes import Sizes
from bench.timing import Run, percentile, run_concurrent
from bot.heap import set_aside
from bot.looplag import LoopLag
from commands.tree import execute_text
from engine.service import Engine

__all__ = ["measure_loop"]

BENCH = "loop"
TICK = 0.01  # the ticker's interval, seconds
COMMAND_GAP = 0.02  # a /leaderboard every 20 ms, one at a time
LOCK_SECONDS = 2.0

_HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


@dataclass
class _Window:
    lag: list[float]
    commands: Run
    votes: Run | None


async def measure_loop(backend: Backend, sizes: Sizes) -> list[Figure]:
    if not backend.is_sqlite:
        return []  # the loop waits on nothing with asyncpg; the question is SQLite's
    base = await backend.create("loop_base")
    await vote_dataset(await open_writer(base), sizes.vote_entries, sizes.vote_voters)
    pairs = vote_pairs(sizes.vote_entries, sizes.vote_voters, sizes.votes * 2, seed=11)
    voters = {v for v, _ in pairs}
    rng = random.Random(5)
    # Members who ask for the board but do not vote now (a voter waits for their own
    # votes to be paid before reading, by design).
    viewers = [v for v in rng.sample(range(1, sizes.vote_voters + 1),
                                     min(2000, sizes.vote_voters)) if v not in voters]
    seconds = max(4.0, min(sizes.time_cap, 10.0))
    url = await backend.create("loop", "loop_base")
    half = len(pairs) // 2
    async with engine_on(url) as engine:
        await engine.leaderboard(member(1), "all")  # a running bot has its board loaded
        set_aside()  # as `laurels run` does once its platforms have started
        idle = await _window(engine, viewers, [], 2.0, sizes.concurrency)
        burst = await _window(engine, viewers, pairs[:half], seconds, sizes.concurrency)
        locked = await _window(engine, viewers, pairs[half:], seconds, sizes.concurrency,
                               lock=backend.sqlite_path("loop"))
    return [*_figures("during a vote burst", burst, idle),
            *_figures(f"while another process holds the write lock {LOCK_SECONDS:g} s",
                      locked, idle)]


def _figures(when: str, w: _Window, idle: _Window) -> list[Figure]:
    b = "sqlite"
    lag_p99, lag_max = _ms(percentile(w.lag, 99)), _ms(max(w.lag, default=None))
    cmd_p99 = w.commands.ms(99)
    votes = (f"{w.votes.done:,} votes in {w.votes.elapsed:.1f}s "
             f"({w.votes.rate:,.0f}/s, {w.votes.errors} errors)") if w.votes else ""
    return [
        Figure(BENCH, b, f"loop lag p99 {when}", lag_p99, "ms", "lower",
               "idle loop lag p99", _ms(percentile(idle.lag, 99)), "≤20 ms",
               lag_p99 is not None and lag_p99 <= 20, note=votes),
        Figure(BENCH, b, f"loop lag max {when}", lag_max, "ms", "lower",
               "idle loop lag max", _ms(max(idle.lag, default=None)), "≤100 ms",
               lag_max is not None and lag_max <= 100, note=f"{len(w.lag)} ticks of 10 ms"),
        Figure(BENCH, b, f"/leaderboard p99 {when}", cmd_p99, "ms", "lower",
               "/leaderboard p99, idle", idle.commands.ms(99), "≤50 ms",
               cmd_p99 is not None and cmd_p99 <= 50,
               note=f"{w.commands.done} commands, one every {COMMAND_GAP * 1000:.0f} ms; "
                    f"p50 {w.commands.ms(50) or 0:.2f} ms"),
    ]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


async def _window(engine: Engine, viewers: list[int], pairs: list[tuple[int, int]],
                  seconds: float, concurrency: int, lock: Path | None = None) -> _Window:
    """Tick, ask for the board and (with `pairs`) vote for `seconds`; with `lock`, another
    process holds the write lock for `LOCK_SECONDS` from a second in."""
    ticker = LoopLag(interval=TICK, warn_after=float("inf"))
    commands = Run()
    stop = asyncio.Event()

    async def ask() -> None:
        i = 0
        started = time.perf_counter()
        while not stop.is_set():
            t0 = time.perf_counter()
            reply = await execute_text(engine, member(viewers[i % len(viewers)]),
                                       "/leaderboard", "general")
            assert not reply.card.text.startswith("⚠"), reply.card.text
            commands.latencies.append(time.perf_counter() - t0)
            i += 1
            await asyncio.sleep(max(0.0, started + i * COMMAND_GAP - time.perf_counter()))
        commands.elapsed = time.perf_counter() - started

    async def hold() -> None:
        await asyncio.sleep(1.0)
        assert lock is not None
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _HOLD_LOCK, str(lock), str(LOCK_SECONDS),
            stdout=asyncio.subprocess.PIPE)
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        assert line.strip() == b"held", line
        await proc.wait()

    async def vote() -> Run:
        calls = (lambda v=v, e=e: engine.cast_vote(member(v), message(e), "👍")
                 for v, e in pairs)
        return await run_concurrent(calls, concurrency, seconds)

    ticker.start()
    asker = asyncio.create_task(ask())
    holder = asyncio.create_task(hold()) if lock is not None else None
    votes = await vote() if pairs else None
    if votes is None or votes.elapsed < seconds:
        await asyncio.sleep(seconds - (votes.elapsed if votes else 0.0))
    if holder is not None:
        await holder
    stop.set()
    await asyncio.gather(asker)
    await ticker.stop()
    ticks = ticker.samples()
    await engine.close()  # pay what the burst counted before the next window
    return _Window(ticks, commands, votes)
