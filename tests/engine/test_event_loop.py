"""The event loop never waits on another process's lock, nor on a commit's fsync."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.looplag import LoopLag
from engine import ranking
from engine.clock import FixedClock
from engine.refs import CommunityRef, MessageRef
from engine.service import Engine
from storage.db import Database
from storage.sql.run import statement_listeners
from tests.conftest import START, member
from tests.engine.helpers import (
    open_voting,
    setup_community,
    submission_challenge,
    submit_and_post,
)


@pytest.fixture
async def file_db(tmp_path: Path) -> AsyncIterator[Database]:
    """The production default, whatever leg the suite runs: a SQLite file."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await db.create_all()
    yield db
    await db.dispose()


def _hold_write_lock(path: Path, seconds: float, held: threading.Event) -> None:
    """Another process's writer (a migration, `laurels outbox retry`): it takes SQLite's
    write lock and keeps it."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
    finally:
        conn.close()


async def _voting(engine: Engine, clock: FixedClock) -> tuple[CommunityRef, MessageRef]:
    """A community with one entry open for votes: the community and the entry's post."""
    guild = CommunityRef("console", "g", "G")
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    _, msg = await submit_and_post(engine, member(guild, "alice"), c.slug, "Dune")
    await open_voting(engine, clock)
    return guild, msg


async def test_votes_wait_for_another_writer_without_blocking_the_loop(
    file_db: Database, tmp_path: Path
) -> None:
    clock = FixedClock(START)
    engine = Engine(file_db, clock)
    guild, msg = await _voting(engine, clock)
    lag = LoopLag(interval=0.005)
    lag.start()
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(tmp_path / "bot.db", 1.0, held))
    holder.start()
    await asyncio.to_thread(held.wait)

    started = time.perf_counter()
    results = await asyncio.gather(*(engine.cast_vote(member(guild, f"v{i}"), msg, "👍")
                                     for i in range(20)))
    waited = time.perf_counter() - started
    holder.join()
    await lag.stop()

    assert [r.status for r in results] == ["counted"] * 20
    assert waited > 0.5  # the votes did wait for the other writer (1 s)...
    # ...and the loop went on meanwhile: waiting in the driver would block it for the
    # whole second (0.5: a loaded machine may still delay a tick now and then).
    assert lag.figures().max < 0.5, lag.figures()
    await engine.close()


async def test_a_large_board_loads_off_the_loop(file_db: Database, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The first read of a big board (the in-process rank index loads every score) leaves
    the loop free meanwhile."""
    engine = Engine(file_db, FixedClock(START), rank_index="memory")
    guild = CommunityRef("console", "g", "G")
    view = await engine.ensure_community(guild)
    n = 300_000
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        conn.executemany(
            "INSERT INTO members (id, community_id, external_id, display_name, is_bot, "
            "is_moderator, showcase, created_at) VALUES (?, ?, ?, ?, 0, 0, '{}', ?)",
            ((i, view.id, f"m{i}", f"M{i}", "2026-03-02 12:00:00") for i in range(1, n + 1)))
        conn.executemany(
            "INSERT INTO standings (community_id, period, member_id, points) "
            "VALUES (?, 'all', ?, ?)", ((view.id, i, i % 5000) for i in range(1, n + 1)))
    loop_thread = threading.get_ident()
    loaded_on: list[int] = []

    def note(statement: str, _: object) -> None:
        if statement == ("SELECT points FROM standings WHERE community_id = ? "
                         "AND period = ?"):  # every score of the board
            loaded_on.append(threading.get_ident())

    class Board(ranking._Board):
        def __init__(self, scores: list[int]) -> None:
            loaded_on.append(threading.get_ident())
            super().__init__(scores)

    monkeypatch.setattr(ranking, "_Board", Board)
    statement_listeners.append(note)
    try:
        board = await engine.leaderboard(member(guild, "m7"))
    finally:
        statement_listeners.remove(note)

    assert board.members == n and board.rows[0].points == 4999
    # The scores were read and sorted on worker threads, not on the loop's.
    assert len(loaded_on) == 2 and loop_thread not in loaded_on


async def test_settlement_pays_on_a_worker_thread(file_db: Database) -> None:
    """Paying for votes is background work whose statements take milliseconds each
    (upserts into tables of a million rows): they must not run on the loop's thread."""
    clock = FixedClock(START)
    engine = Engine(file_db, clock, settle_in_background=False)
    guild, msg = await _voting(engine, clock)
    for i in range(40):
        await engine.cast_vote(member(guild, f"v{i}"), msg, "👍")
    loop_thread = threading.get_ident()
    paid_on: list[int] = []

    def note(statement: str, _: object) -> None:
        if statement.startswith("INSERT INTO ledger"):
            paid_on.append(threading.get_ident())

    statement_listeners.append(note)
    try:
        assert await engine.settle_all() == 40
    finally:
        statement_listeners.remove(note)

    assert paid_on and loop_thread not in paid_on
    assert (await engine.profile(member(guild, "v3"))).points > 0
    await engine.close()


async def test_a_write_waits_for_another_process_s_lock_on_a_worker_thread(
    file_db: Database, tmp_path: Path
) -> None:
    """Every write starts by taking SQLite's write lock: on the loop without waiting when
    it is free, and, held by another process, waited for on a worker thread, so no
    statement on the loop waits for another process."""
    clock = FixedClock(START)
    engine = Engine(file_db, clock)
    guild, msg = await _voting(engine, clock)
    loop_thread = threading.get_ident()
    statements: list[tuple[str, bool]] = []

    def note(statement: str, _: object) -> None:
        if "BEGIN" in statement or "busy_timeout" in statement:
            statements.append((statement, threading.get_ident() == loop_thread))

    statement_listeners.append(note)
    try:
        await engine.set_point_rule(member(guild, "mod", mod=True), "vote_cast", 2)
        free = list(statements)
        statements.clear()
        held = threading.Event()
        holder = threading.Thread(target=_hold_write_lock,
                                  args=(tmp_path / "bot.db", 0.3, held))
        holder.start()
        await asyncio.to_thread(held.wait)
        result = await engine.cast_vote(member(guild, "bob"), msg, "👍")
        holder.join()
    finally:
        statement_listeners.remove(note)

    on_loop = [("PRAGMA busy_timeout = 0", True), ("BEGIN IMMEDIATE", True),
               ("PRAGMA busy_timeout = 20", True)]
    assert free[:3] == on_loop  # a free lock: taken at once, on the loop
    assert result.status == "counted"
    # Held: tried once on the loop without waiting, then waited for off it.
    assert statements[:3] == on_loop
    assert ("BEGIN IMMEDIATE", False) in statements[3:]
    # Every try on the loop (one per retry) runs with no busy timeout.
    assert all(statements[i - 1] == ("PRAGMA busy_timeout = 0", True)
               for i, row in enumerate(statements) if row == ("BEGIN IMMEDIATE", True))
    await engine.close()
