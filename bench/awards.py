"""4. Points and achievements: moderator awards per second through the engine's full path
(ledger row with its balance, standings for every period, achievement thresholds, badges
and announcements when crossed), against the raw-driver floor of a ledger row and a
balance per award."""

from __future__ import annotations

import random
import sqlite3
from datetime import timedelta
from typing import Any

from bench.backends import Backend
from bench.common import MOD, engine_on, member
from bench.datagen import raw_dsn
from bench.report import Figure
from bench.sizes import NOW, Sizes
from bench.timing import Run, run_concurrent, run_sequential

__all__ = ["measure_awards"]

BENCH = "awards"
UPSERT = ("INSERT INTO standings (community_id, period, member_id, points) VALUES (1, 'all', "
          "{m}, {d}) ON CONFLICT (community_id, period, member_id) DO UPDATE SET points = "
          "standings.points + excluded.points RETURNING points")
LEDGER = ("INSERT INTO ledger (community_id, member_id, delta, balance_after, reason, "
          "idempotency_key, period_at, created_at) VALUES (1, {}, {}, {}, 'award', {}, {}, {})")


async def measure_awards(backend: Backend, sizes: Sizes) -> list[Figure]:
    rng = random.Random(13)
    targets = [rng.randint(1, sizes.vote_voters) for _ in range(sizes.awards)]
    amounts = [rng.choice((10, 25, 50, 100)) for _ in targets]
    async with engine_on(await backend.create("awards_engine", "votes_base")) as engine:
        run = await run_concurrent(
            ((lambda t=t, a=a: engine.award_points(MOD, member(t), a, "bench award"))
             for t, a in zip(targets, amounts, strict=True)),
            sizes.concurrency, sizes.time_cap)
    raw_url = await backend.create("awards_raw", "votes_base")
    if backend.is_sqlite:
        floor = _raw_sqlite(backend.sqlite_path("awards_raw"), targets, amounts, sizes)
    else:
        floor = await _raw_pg(raw_url, targets, amounts, sizes)
    note = f"{run.done} awards in {run.elapsed:.1f}s"
    if run.errors:
        note += f"; {run.errors} errors, first: {run.first_error}"
    return [
        Figure(BENCH, backend.kind, "engine awards/s", run.rate, "awards/s", "higher",
               "raw ledger row + balance per award", floor.rate, note=note),
        Figure(BENCH, backend.kind, "engine award p99", run.ms(99), "ms", "lower",
               "raw award p99", floor.ms(99)),
    ]


def _raw_sqlite(path: Any, targets: list[int], amounts: list[int], sizes: Sizes) -> Run:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    when = (NOW - timedelta(minutes=1)).replace(tzinfo=None).isoformat(sep=" ")
    upsert, ledger = UPSERT.format(m="?", d="?"), LEDGER.format(*"??????")

    def award(k: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        balance = conn.execute(upsert, (targets[k], amounts[k])).fetchone()[0]
        conn.execute(ledger, (targets[k], amounts[k], balance, f"raw:{k}", when, when))
        conn.execute("COMMIT")

    try:
        return run_sequential(((lambda k=k: award(k)) for k in range(len(targets))),
                              sizes.time_cap)
    finally:
        conn.close()


async def _raw_pg(url: str, targets: list[int], amounts: list[int], sizes: Sizes) -> Run:
    import asyncpg

    when = NOW - timedelta(minutes=1)
    upsert = UPSERT.format(m="$1", d="$2")
    ledger = LEDGER.format(*(f"${k}" for k in range(1, 7)))
    pool = await asyncpg.create_pool(raw_dsn(url), min_size=sizes.concurrency,
                                     max_size=sizes.concurrency)

    async def award(k: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            balance = await conn.fetchval(upsert, targets[k], amounts[k])
            await conn.execute(ledger, targets[k], amounts[k], balance, f"raw:{k}", when, when)

    try:
        return await run_concurrent(((lambda k=k: award(k)) for k in range(len(targets))),
                                    sizes.concurrency, sizes.time_cap)
    finally:
        await pool.close()
