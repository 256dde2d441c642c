"""`/healthz` and `/readyz` over HTTP while the database goes away and comes back: a real
PostgreSQL server stopped and started again, made read-only and writable again, and a
SQLite file made read-only."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.http.app import build_app
from bot.http.health import Readiness, health_routes
from bot.http.server import HttpOptions, RunningServer, serve
from storage.db import Database
from storage.pgcluster import restartable_cluster
from tests.bot.http.clients import request
from tests.storage.read_only import read_only_file


@asynccontextmanager
async def serving(readiness: Readiness) -> AsyncIterator[RunningServer]:
    server = await serve(build_app(health_routes(readiness)), HttpOptions(port=0))
    try:
        yield server
    finally:
        await server.stop()


async def ready(server: RunningServer) -> tuple[int, dict[str, str]]:
    answer = await request(server.port, "GET", "/readyz")
    return answer.status, json.loads(answer.body)


async def eventually(server: RunningServer, status: int, within: float = 10.0
                     ) -> dict[str, str]:
    """/readyz until it answers `status` (the probe runs again each second)."""
    async with asyncio.timeout(within):
        while True:
            got, body = await ready(server)
            if got == status:
                return body
            await asyncio.sleep(0.2)


def _lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


async def test_readyz_follows_postgresql_stopping_and_starting_again(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with restartable_cluster() as cluster:
        db = Database(cluster.url)
        try:
            async with serving(Readiness(db.probe)) as server:
                assert await ready(server) == (200, {"status": "ready"})

                await asyncio.to_thread(cluster.stop)
                down = await eventually(server, 503)
                assert down["status"] == "unavailable"
                assert down["reason"].startswith("the database is unreachable (")
                health = await request(server.port, "GET", "/healthz")
                assert (health.status, health.body) == (200, b"ok")  # the process lives

                await asyncio.to_thread(cluster.start)
                assert await eventually(server, 200) == {"status": "ready"}
        finally:
            await db.dispose()
    assert _lines(caplog, "bot.http.health") == [
        f"not ready: {down['reason']}",
        "ready again: the database answers and takes writes"]


async def test_readyz_says_when_postgresql_is_read_only(pg_url: str) -> None:
    db = Database(pg_url)
    admin = await db.engine.connect()
    await admin.execution_options(isolation_level="AUTOCOMMIT")
    await admin.exec_driver_sql("SET default_transaction_read_only = off")  # this session

    async def read_only(on: bool) -> None:
        await admin.exec_driver_sql(
            "ALTER SYSTEM SET default_transaction_read_only = on" if on
            else "ALTER SYSTEM RESET default_transaction_read_only")
        await admin.exec_driver_sql("SELECT pg_reload_conf()")

    try:
        async with serving(Readiness(db.probe)) as server:
            assert (await ready(server))[0] == 200
            await read_only(True)
            body = await eventually(server, 503)
            assert body["reason"] == ("PostgreSQL is read-only "
                                      "(default_transaction_read_only is on)")
            await read_only(False)
            assert await eventually(server, 200) == {"status": "ready"}
    finally:
        await read_only(False)  # the cluster is shared with the rest of the suite
        await admin.close()
        await db.dispose()


async def test_readyz_says_a_read_only_sqlite_file_needs_a_restart_in_one_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / "laurels.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.create_all()
        async with serving(Readiness(db.probe, every=0)) as server:
            assert (await ready(server))[0] == 200
            with read_only_file(path):
                answers = [await ready(server) for _ in range(5)]
            after = await ready(server)
    finally:
        await db.dispose()
    reason = (f"the SQLite file {path} is read-only: make it writable, then restart "
              "Laurels")
    assert answers == [(503, {"status": "unavailable", "reason": reason})] * 5
    assert after == (503, {"status": "unavailable", "reason": reason})
    assert _lines(caplog, "bot.http.health") == [f"not ready: {reason}"]


async def test_the_probe_runs_at_most_once_a_second_however_often_asked() -> None:
    calls = 0

    async def probe() -> str | None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return None

    async with serving(Readiness(probe)) as server:
        answers = await asyncio.gather(*(ready(server) for _ in range(30)))
    assert answers == [(200, {"status": "ready"})] * 30
    assert calls == 1
