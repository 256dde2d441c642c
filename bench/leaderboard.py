"""2. Leaderboard reads at the board size: "top 10 + my rank + percentile" and a page deep
in the board, against a Redis sorted set holding the same scores. Also the query plans of
every statement one read runs (EXPLAIN), so "no query scans all members" is checked."""

from __future__ import annotations

import random
import re
import time
from typing import Any

from sqlalchemy import event

from bench.backends import Backend
from bench.common import engine_on, member
from bench.datagen import board_points
from bench.redis import redis_server, redis_unavailable
from bench.report import Figure, Report
from bench.sizes import Sizes
from bench.timing import Run, run_one_by_one
from engine.service import Engine
from storage.db import Database
from storage.sql import run as sql_run

__all__ = ["capture_plans", "measure_leaderboard"]

BENCH = "leaderboard"


async def measure_leaderboard(backend: Backend, url: str, sizes: Sizes, report: Report
                              ) -> list[Figure]:
    n = sizes.board_members
    rng = random.Random(5)
    viewers = [rng.randint(1, n) for _ in range(sizes.top_reads)]
    figures: list[Figure] = []
    indexes = ["memory"] if backend.is_sqlite else ["sql", "memory"]
    redis = _redis(n, viewers, sizes, report, backend.kind)
    for index in indexes:
        async with engine_on(url, rank_index=index) as engine:
            t0 = time.perf_counter()
            board = await engine.leaderboard(member(viewers[0]), "all")
            cold = time.perf_counter() - t0
            top = await _reads(engine, viewers, 1, sizes.time_cap)
            deep_page = max(1, board.pages // 2)
            deep = await _reads(engine, viewers[: max(10, len(viewers) // 4)], deep_page,
                                sizes.time_cap)
            report.explain.setdefault(f"{backend.kind}/{index}", {}).update(
                await capture_plans(engine, member(viewers[0]), deep_page))
        label = "" if backend.is_sqlite else f" ({index} rank index)"
        p99 = top.ms(99)
        r = redis or {}
        sqlite = backend.is_sqlite
        met = None
        if sqlite and p99 is not None:
            met = p99 <= 2 and (r.get("top99") is None or p99 <= 3 * r["top99"])
        figures += [
            Figure(BENCH, backend.kind, f"top 10 + my rank p50{label}", top.ms(50), "ms",
                   "lower", "redis ZREVRANGE+ZREVRANK p50", r.get("top50"),
                   note=f"{top.done} reads, board of {board.members:,}"),
            Figure(BENCH, backend.kind, f"top 10 + my rank p99{label}", p99, "ms", "lower",
                   "redis ZREVRANGE+ZREVRANK p99", r.get("top99"),
                   "≤2 ms and ≤3x redis" if sqlite else None, met),
            Figure(BENCH, backend.kind, f"deep page p50{label}", deep.ms(50), "ms", "lower",
                   "redis ZREVRANGE deep p50", r.get("deep50"), note=f"page {deep_page:,}"),
            Figure(BENCH, backend.kind, f"deep page p99{label}", deep.ms(99), "ms", "lower",
                   "redis ZREVRANGE deep p99", r.get("deep99")),
            Figure(BENCH, backend.kind, f"first read (board load){label}", cold, "s", "lower",
                   "redis ZADD of every score", r.get("load")),
        ]
    return figures


async def _reads(engine: Engine, viewers: list[int], page: int, time_cap: float) -> Run:
    async def read(v: int) -> None:
        board = await engine.leaderboard(member(v), "all", page=page)
        assert board.viewer is not None and len(board.rows) == 10

    return await run_one_by_one(read, viewers, time_cap)


def _redis(n: int, viewers: list[int], sizes: Sizes, report: Report, backend: str
           ) -> dict[str, float] | None:
    reason = redis_unavailable()
    if reason is not None:
        report.skip("leaderboard redis baseline", backend, reason)
        return None
    with redis_server() as (client, version):
        report.meta.setdefault("versions", {})["redis-server"] = version
        t0 = time.perf_counter()
        batch: list[tuple[Any, ...]] = []
        for i, total, _, _ in board_points(n):
            batch += [total, f"u{i}"]
            if len(batch) >= 20_000:
                client.call("ZADD", "board", *batch)
                batch = []
        if batch:
            client.call("ZADD", "board", *batch)
        load = time.perf_counter() - t0
        top, deep = Run(), Run()
        middle = n // 2
        for v in viewers:
            t0 = time.perf_counter()
            rows, rank, card = client.pipeline(("ZREVRANGE", "board", 0, 9, "WITHSCORES"),
                                               ("ZREVRANK", "board", f"u{v}"), ("ZCARD", "board"))
            top.latencies.append(time.perf_counter() - t0)
            assert len(rows) == 20 and rank is not None and card == n
        for _ in viewers[: max(10, len(viewers) // 4)]:
            t0 = time.perf_counter()
            client.call("ZREVRANGE", "board", middle, middle + 9, "WITHSCORES")
            deep.latencies.append(time.perf_counter() - t0)
    return {"top50": top.ms(50), "top99": top.ms(99), "deep50": deep.ms(50),  # type: ignore[dict-item]
            "deep99": deep.ms(99), "load": load}


async def capture_plans(engine: Engine, viewer: Any, deep_page: int) -> dict[str, str]:
    """The plan of every statement a top-10 read and a deep-page read run."""
    db: Database = engine.db
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any,
               _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, params))

    def record_plain(statement: str, params: Any) -> None:
        record(None, None, statement, tuple(params), None, False)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    sql_run.statement_listeners.append(record_plain)
    try:
        await engine.leaderboard(viewer, "all")
        await engine.leaderboard(viewer, "all", page=deep_page)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
        sql_run.statement_listeners.remove(record_plain)
    plans: dict[str, str] = {}
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, COSTS OFF) "
    async with db.engine.connect() as conn:
        for statement, params in seen:
            key = re.sub(r"\s+", " ", statement).strip()
            if key in plans:
                continue
            rows = (await conn.exec_driver_sql(prefix + statement, params)).all()
            plans[key] = "\n".join(
                " | ".join(str(c) for c in row[-1:]) if db.is_sqlite else str(row[0])
                for row in rows)
    return plans
