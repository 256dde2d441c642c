"""Statements sent to a worker thread (a SQLite file's commits, settlement, board loads,
the start of every write) are waited for to the end, even when their caller is cancelled:
the connection is rolled back, reused or closed only once the statement has returned
(closing it under a running statement crashed the process at shutdown)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.sql.run import fetch, off_loop
from storage.sqlite_inline import on_worker_thread


async def test_a_cancelled_caller_waits_for_its_call_on_the_worker_thread() -> None:
    release = threading.Event()
    returned: list[str] = []

    def call() -> str:
        release.wait(10)
        returned.append("returned")
        return "done"

    task = asyncio.create_task(on_worker_thread(call))
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done()  # still waiting for the call
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert returned == ["returned"]


async def test_a_statement_cancelled_off_the_loop_ends_before_its_session(
        tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    events: list[str] = []

    def slow(ms: int) -> int:
        time.sleep(ms / 1000)
        events.append("statement returned")
        return ms

    async def read() -> None:
        async with db.session() as session:
            conn = await session.connection()
            raw = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
            await raw.create_function("slow", 1, slow)
            try:
                async with off_loop(session):
                    await fetch(session, text("SELECT slow(300)"))
            finally:
                events.append("session ended")

    try:
        task = asyncio.create_task(read())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await db.dispose()
    assert events == ["statement returned", "session ended"]
