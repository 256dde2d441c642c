"""1. Vote ingestion: the engine's public vote path against the raw-driver floor and the
naive one-ORM-session-per-vote design, each on an identical copy of the same data."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bench.backends import Backend
from bench.common import engine_on, member, message, vote_pairs
from bench.datagen import ENTRIES_CHANNEL, open_writer, raw_dsn, vote_dataset
from bench.report import Figure
from bench.sizes import NOW, Sizes
from bench.timing import Run, run_concurrent, run_sequential
from bench.vote_rows import rows_sqlite
from engine.service import Engine
from storage.db import Database
from storage.tables import Entry, LedgerRow, Member, Standing, UnsettledVote, Vote, VoteCount

__all__ = ["measure_votes"]

CAST_AT = NOW - timedelta(minutes=1)
BENCH = "votes"


async def measure_votes(backend: Backend, sizes: Sizes) -> list[Figure]:
    base = await backend.create("votes_base")
    print(f"  generating {sizes.vote_entries:,} entries, {sizes.vote_voters:,} voters", flush=True)
    await vote_dataset(await open_writer(base), sizes.vote_entries, sizes.vote_voters)
    pairs = vote_pairs(sizes.vote_entries, sizes.vote_voters, sizes.votes)
    # Every approach starts from a community already voting: a tenth of the votes cast
    # through the engine first, then the statistics a running server's autovacuum keeps
    # (tables that grew from empty since the last ANALYZE get plans for empty tables).
    warm = max(1, len(pairs) // 10)
    await _warm_up(base, pairs[:warm], sizes)
    pairs = pairs[warm:]

    engine_run, engine_ok, paid = await _engine(await backend.create("votes_engine", "votes_base"),
                                          pairs, sizes)
    print(f"  engine: {engine_run.rate:,.0f} votes/s ({engine_run.done} votes)", flush=True)
    if backend.is_sqlite:
        await backend.create("votes_raw", "votes_base")
        raw_run = _raw_sqlite(backend.sqlite_path("votes_raw"), pairs, sizes)
    else:
        raw_run = await _raw_pg(await backend.create("votes_raw", "votes_base"), pairs, sizes)
    print(f"  raw floor: {raw_run.rate:,.0f} votes/s", flush=True)
    rows_run, rows_note = None, ""
    if backend.is_sqlite:
        await backend.create("votes_rows", "votes_base")
        rows_run, shares = rows_sqlite(backend.sqlite_path("votes_rows"), pairs,
                                       sizes.concurrency, sizes.time_cap)
        rows_note = _notes(rows_run, True) + "; time in " + ", ".join(
            f"{kind} {share:.0%}" for kind, share in shares.items())
        print(f"  schema floor: {rows_run.rate:,.0f} votes/s", flush=True)
    naive_url = await backend.create("votes_naive", "votes_base")
    naive_run = await _naive(naive_url, pairs, sizes)
    naive_ok = await _consistent(naive_url)
    print(f"  naive: {naive_run.rate:,.0f} votes/s", flush=True)

    sqlite = backend.is_sqlite
    b = backend.kind
    rate_target = "≥10,000/s and ≥5x naive" if sqlite else "≥3x naive"
    need = 5 if sqlite else 3
    rate_met = engine_run.rate >= need * naive_run.rate and (
        not sqlite or engine_run.rate >= 10_000)
    p99 = engine_run.ms(99)
    notes = _notes(engine_run, engine_ok)
    # Counted and durable is what a caller waits for; paying for the votes follows. The
    # rate with payment counts the time until the last vote was paid.
    with_payment = engine_run.done / (engine_run.elapsed + paid.drain)
    paid_note = (f"{paid.waiting} of {engine_run.done} votes waiting for their points when "
                 f"the last vote committed; " + ("every vote paid once" if paid.all_paid
                                                 else "VOTES UNPAID OR PAID TWICE"))
    return [
        Figure(BENCH, b, "engine durable votes/s", engine_run.rate, "votes/s", "higher",
               "naive ORM session per vote", naive_run.rate, rate_target, rate_met, notes),
        Figure(BENCH, b, "engine votes/s, points paid", with_payment, "votes/s", "higher",
               "naive ORM session per vote", naive_run.rate, note=paid_note),
        Figure(BENCH, b, "points paid after the last vote", paid.drain, "s", "lower",
               note=paid_note),
        Figure(BENCH, b, "engine votes/s vs raw floor", engine_run.rate, "votes/s", "higher",
               "raw driver insert+count per vote", raw_run.rate, note=_notes(raw_run, True)),
        Figure(BENCH, b, "engine vote p50", engine_run.ms(50), "ms", "lower",
               "raw driver p50", raw_run.ms(50)),
        Figure(BENCH, b, "engine vote p99", p99, "ms", "lower", "raw driver p99",
               raw_run.ms(99), "≤10 ms" if sqlite else None,
               (p99 is not None and p99 <= 10) if sqlite else None),
        *([] if rows_run is None else [
            Figure(BENCH, b, "engine votes/s vs schema floor", engine_run.rate, "votes/s",
                   "higher", "bare driver writing a vote's rows, batched", rows_run.rate,
                   note=rows_note),
            Figure(BENCH, b, "schema floor vote p99", rows_run.ms(99), "ms", "lower",
                   "raw driver p99", raw_run.ms(99)),
        ]),
        Figure(BENCH, b, "naive design votes/s", naive_run.rate, "votes/s", "higher",
               "raw driver insert+count per vote", raw_run.rate,
               note=_notes(naive_run, naive_ok)),
        Figure(BENCH, b, "naive vote p99", naive_run.ms(99), "ms", "lower", "raw driver p99",
               raw_run.ms(99)),
    ]


async def _warm_up(url: str, pairs: list[tuple[int, int]], sizes: Sizes) -> None:
    statuses: Counter[str] = Counter()
    async with engine_on(url) as engine:
        await run_concurrent((_cast(engine, voter, entry, statuses) for voter, entry in pairs),
                             sizes.concurrency, 600)
    if set(statuses) != {"counted"}:
        raise RuntimeError(f"warm-up votes were not all counted: {dict(statuses)}")
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()
            if db.is_sqlite:  # the copies are file copies: everything in the main file
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await db.dispose()


def _notes(run: Run, consistent: bool) -> str:
    parts = [f"{run.done} votes in {run.elapsed:.1f}s"]
    if run.errors:
        parts.append(f"{run.errors} errors, first: {run.first_error}")
    if not consistent:
        parts.append("entry counters disagree with the votes table (lost updates)")
    return "; ".join(parts)


@dataclass
class _Paid:
    """How the engine's votes were paid for after they were counted."""

    waiting: int  # votes counted but not yet paid when the last vote committed
    drain: float  # seconds from then until every vote was paid
    all_paid: bool  # each counted vote has exactly its ledger rows, none is waiting


async def _engine(url: str, pairs: list[tuple[int, int]], sizes: Sizes
                  ) -> tuple[Run, bool, _Paid]:
    statuses: Counter[str] = Counter()
    async with engine_on(url) as engine:
        run = await run_concurrent(
            (_cast(engine, voter, entry, statuses) for voter, entry in pairs),
            sizes.concurrency, sizes.time_cap)
        waiting = await _waiting(engine.db)
        t0 = time.perf_counter()
        await engine.close()
        drain = time.perf_counter() - t0
    # Every pair is a fresh, valid vote: anything but "counted" means the bench is wrong.
    if set(statuses) != {"counted"}:
        raise RuntimeError(f"votes were not all counted: {dict(statuses)}")
    paid = _Paid(waiting, drain, await _all_paid(url))
    return run, run.errors == 0 and await _consistent(url), paid


async def _waiting(db: Database) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(UnsettledVote)) or 0)


async def _all_paid(url: str) -> bool:
    """No vote waits, and every vote has its author's ledger row, once."""
    db = Database(url)
    try:
        async with db.session() as s:
            votes = await s.scalar(select(func.count()).select_from(Vote))
            received = await s.scalar(select(func.count()).select_from(LedgerRow).where(
                LedgerRow.reason == "vote_received"))
            keys = await s.scalar(select(func.count(func.distinct(LedgerRow.reference))).where(
                LedgerRow.reason == "vote_received"))
        return await _waiting(db) == 0 and votes == received == keys
    finally:
        await db.dispose()


def _cast(engine: Engine, voter: int, entry: int, statuses: Counter[str]) -> Any:
    async def call() -> None:
        result = await engine.cast_vote(member(voter), message(entry), "👍")
        statuses[result.status] += 1

    return call


async def _consistent(url: str) -> bool:
    """Every entry's counter equals its votes (the naive design can lose updates)."""
    db = Database(url)
    try:
        async with db.session() as s:
            counted = dict((await s.execute(
                select(Vote.entry_id, func.count()).group_by(Vote.entry_id))).all())
            stored = dict((await s.execute(
                select(VoteCount.entry_id, VoteCount.votes).where(VoteCount.votes > 0))).all())
        return counted == stored
    finally:
        await db.dispose()


# -- (a) the floor: insert the vote if absent, bump the entry's count, commit --------------

_INSERT = ("INSERT INTO votes (community_id, challenge_id, entry_id, voter_id, cast_at) "
           "VALUES (1, 1, {e}, {v}, {t}) ON CONFLICT (entry_id, voter_id) DO NOTHING")


def _raw_sqlite(path: Any, pairs: list[tuple[int, int]], sizes: Sizes) -> Run:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    insert = _INSERT.format(e="?", v="?", t="?")
    cast_at = CAST_AT.replace(tzinfo=None).isoformat(sep=" ")

    def vote(voter: int, entry: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute(insert, (entry, voter, cast_at)).rowcount:
            conn.execute("UPDATE vote_counts SET votes = votes + 1 WHERE entry_id = ?",
                         (entry,))
        conn.execute("COMMIT")

    try:
        return run_sequential(((lambda v=v, e=e: vote(v, e)) for v, e in pairs), sizes.time_cap)
    finally:
        conn.close()


async def _raw_pg(url: str, pairs: list[tuple[int, int]], sizes: Sizes) -> Run:
    import asyncpg

    sql = ("WITH v AS (" + _INSERT.format(e="$1", v="$2", t="$3") + " RETURNING entry_id) "
           "UPDATE vote_counts SET votes = votes + 1 WHERE entry_id IN (SELECT entry_id FROM v)")
    pool = await asyncpg.create_pool(raw_dsn(url), min_size=sizes.concurrency,
                                     max_size=sizes.concurrency)
    try:
        async def vote(voter: int, entry: int) -> None:
            async with pool.acquire() as conn:
                await conn.execute(sql, entry, voter, CAST_AT)  # one statement, autocommit

        return await run_concurrent(((lambda v=v, e=e: vote(v, e)) for v, e in pairs),
                                    sizes.concurrency, sizes.time_cap)
    finally:
        await pool.close()


# -- (b) the naive design: one ORM session and commit per vote, read-then-write scores -----

async def _naive(url: str, pairs: list[tuple[int, int]], sizes: Sizes) -> Run:
    db = Database(url)

    async def vote(voter_no: int, entry_no: int) -> None:
        # SQLite: the same in-process writer queue the engine uses (without it, concurrent
        # deferred transactions fail to upgrade their locks). PostgreSQL: no locks at all.
        async with db.write_lock(), db.sessions() as s:
            entry = await s.scalar(select(Entry).where(
                Entry.community_id == 1, Entry.channel_id == ENTRIES_CHANNEL,
                Entry.message_id == f"m{entry_no}"))
            voter = await s.scalar(select(Member).where(
                Member.community_id == 1, Member.external_id == f"u{voter_no}"))
            assert entry is not None and voter is not None
            if await s.scalar(select(Vote.id).where(
                    Vote.entry_id == entry.id, Vote.voter_id == voter.id)) is None:
                s.add(Vote(community_id=1, challenge_id=entry.challenge_id, entry_id=entry.id,
                           voter_id=voter.id, cast_at=CAST_AT))
                count = await s.get(VoteCount, entry.id)
                assert count is not None
                count.votes = count.votes + 1
                for member_id, points in ((entry.member_id, 2), (voter.id, 5)):
                    standing = await s.get(Standing, (1, "all", member_id))
                    if standing is None:
                        s.add(Standing(community_id=1, period="all", member_id=member_id,
                                       points=points))
                    else:
                        standing.points = standing.points + points
            await s.commit()

    try:
        return await run_concurrent(((lambda v=v, e=e: vote(v, e)) for v, e in pairs),
                                    sizes.concurrency, sizes.time_cap)
    finally:
        await db.dispose()
