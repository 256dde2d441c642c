"""3. Tallying: close a challenge (rank every entry, placement points and badges, the
results and outbox rows) against a raw-driver floor that only ranks and writes placements."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from typing import Any

from sqlalchemy import func, select

from bench.backends import Backend
from bench.common import MOD, engine_on
from bench.datagen import CHALLENGE_SLUG, raw_dsn
from bench.memory_probe import rss_mb
from bench.report import Figure
from bench.sizes import Sizes
from engine.errors import Conflict
from storage.db import Database
from storage.tables import LedgerRow, OutboxRow, Placement

__all__ = ["measure_tally"]

BENCH = "tally"
RANK_SQL = ("SELECT e.id, e.member_id, e.title, n.votes, m.display_name FROM entries e "
            "JOIN members m ON m.id = e.member_id JOIN vote_counts n ON n.entry_id = e.id "
            "WHERE e.challenge_id = 1 AND e.disqualified_reason IS NULL "
            "ORDER BY n.votes DESC, e.submitted_at, e.id")
PLACE_SQL = ("INSERT INTO placements (community_id, challenge_id, place, subject, member_id, "
             "entry_id, score, label) VALUES (1, 1, {}, {}, {}, {}, {}, {})")


async def measure_tally(backend: Backend, url: str, sizes: Sizes) -> list[Figure]:
    raw = await _raw(backend, url)
    async with engine_on(url) as engine:
        peak = _PeakRss()
        with peak:
            t0 = time.perf_counter()
            # Two closers race (a moderator and a retried job): exactly one may tally.
            results = await asyncio.gather(engine.advance_challenge(MOD, CHALLENGE_SLUG),
                                           engine.advance_challenge(MOD, CHALLENGE_SLUG),
                                           return_exceptions=True)
            seconds = time.perf_counter() - t0
        again = await asyncio.gather(engine.due.run_due(), return_exceptions=True)
    once, detail = await _exactly_once(url, sizes, results, again)
    return [
        Figure(BENCH, backend.kind, "tally seconds", seconds, "s", "lower",
               "raw driver rank + insert placements", raw,
               "≤5 s, exactly once", seconds <= 5 and once,
               note=f"{sizes.tally_entries:,} entries, {sizes.tally_votes:,} votes; {detail}"),
        Figure(BENCH, backend.kind, "tally peak memory growth", peak.growth, "MB", "lower",
               note=f"resident peak {peak.peak:.0f} MB"),
    ]


async def _exactly_once(url: str, sizes: Sizes, results: list[Any], again: list[Any]
                        ) -> tuple[bool, str]:
    done = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, Conflict)]
    db = Database(url)
    try:
        async with db.session() as s:
            placements = await s.scalar(select(func.count()).select_from(Placement))
            paid = await s.scalar(select(func.count()).where(LedgerRow.reason == "placement"))
            announced = await s.scalar(select(func.count()).where(OutboxRow.kind == "results"))
    finally:
        await db.dispose()
    ok = (len(done) == 1 and len(refused) == 1 and placements == sizes.tally_entries
          and announced == 1 and 0 < (paid or 0) <= 10
          and not any(isinstance(r, BaseException) for r in again))
    return ok, (f"racing closers: {len(done)} tallied, {len(refused)} refused; "
                f"{placements:,} placements, {paid} placement payments, {announced} results "
                "announcement")


async def _raw(backend: Backend, url: str) -> float:
    """Rank and write placements with the bare driver, timed; then undone (untimed)."""
    if backend.is_sqlite:
        conn = sqlite3.connect(url.split(":///", 1)[1], isolation_level=None)
        conn.execute("PRAGMA synchronous=FULL")
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(RANK_SQL).fetchall()
        conn.executemany(PLACE_SQL.format(*"??????"), [
            (i, f"entry:{eid}", mid, eid, votes, f"{title} by {name}")
            for i, (eid, mid, title, votes, name) in enumerate(rows, start=1)])
        conn.execute("COMMIT")
        seconds = time.perf_counter() - t0
        conn.execute("DELETE FROM placements")
        conn.close()
        return seconds
    import asyncpg

    conn = await asyncpg.connect(raw_dsn(url))
    try:
        t0 = time.perf_counter()
        async with conn.transaction():
            rows = await conn.fetch(RANK_SQL)
            await conn.executemany(PLACE_SQL.format(*(f"${k}" for k in range(1, 7))), [
                (i, f"entry:{r[0]}", r[1], r[0], float(r[3]), f"{r[2]} by {r[4]}")
                for i, r in enumerate(rows, start=1)])
        seconds = time.perf_counter() - t0
        await conn.execute("DELETE FROM placements")
    finally:
        await conn.close()
    return seconds


class _PeakRss:
    """Samples resident memory every few milliseconds while the block runs."""

    def __enter__(self) -> _PeakRss:
        self.before = rss_mb()["VmRSS"]
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_mb()["VmRSS"])

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb()["VmRSS"])

    @property
    def growth(self) -> float:
        return self.peak - self.before
