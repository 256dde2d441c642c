"""Hundreds of first-time voters react at once, right up to the close, from one or two
bot processes on one PostgreSQL: no deadlock, no raw error, and every vote received
before voting closed is counted and in the results."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from engine.challenges import ChallengeDraft
from engine.clock import SystemClock
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Placement, Vote
from tests.conftest import member
from tests.engine.helpers import post_pending, setup_community

ROOT = Path(__file__).resolve().parents[2]
GUILD = CommunityRef("discord", "crowd", "Crowd")
ENTRIES = 8
VOTERS = 200  # first-time voters in all, split between the processes
WINDOW = timedelta(seconds=4)  # voting stays open this long once the voters are ready


async def _deadlocks(db: Database) -> int:
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT pg_stat_force_next_flush()"))
        return int(await conn.scalar(text(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"))
                   or 0)


def _start(url: str, go: Path, prefix: str, count: int, messages: str, seed: int
           ) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "tests.engine.vote_worker", url, "--community",
           f"{GUILD.platform}:{GUILD.external_id}", "--messages", messages,
           "--voters", f"{prefix}:{count}", "--go", str(go), "--seed", str(seed)]
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    return list(json.loads(out.strip().splitlines()[-1])["votes"])


@pytest.mark.postgres_only
@pytest.mark.parametrize("processes", [1, 2])
async def test_first_time_voters_up_to_the_close(shared_db: Database, tmp_path: Path,
                                                 processes: int) -> None:
    db = shared_db
    engine = Engine(db, SystemClock(), close_grace=timedelta(seconds=2))
    await setup_community(engine, GUILD)
    mod = member(GUILD, "mod", mod=True)
    now = engine.clock.now()
    c = await engine.create_challenge(mod, ChallengeDraft(
        kind="submission", name="Crowd", submissions_close_at=now + timedelta(minutes=1),
        voting_close_at=now + timedelta(minutes=5), max_entries=1))
    for i in range(ENTRIES):
        await engine.submit_entry(member(GUILD, f"author{i}"), c.slug, f"Entry {i}")
    # Submissions close a moment after the entries are in, however slow the machine.
    c = await engine.edit_challenge(mod, c.slug, submissions_close_at=engine.clock.now()
                                    + timedelta(seconds=1))
    posted = await post_pending(engine)
    messages = ",".join(f"{m.channel_id}:{m.message_id}" for m in posted.values())
    go = tmp_path / "go"
    per = VOTERS // processes
    workers = [_start(db.url, go, f"p{n}v", per, messages, n) for n in range(processes)]
    try:
        # Other processes and the wall clock: nothing here to await but time.
        started = engine.clock.now()
        while len(list(tmp_path.glob("go.*.ready"))) < processes:  # noqa: ASYNC240
            dead = [w for w in workers if w.poll() is not None]
            assert not dead and engine.clock.now() - started < timedelta(seconds=60), \
                [_finish(w) for w in dead]
            await asyncio.sleep(0.02)
        while engine.clock.now() < c.submissions_close_at:  # type: ignore[operator]  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        await engine.due.run_due()  # voting opens
        close = engine.clock.now() + WINDOW
        await engine.edit_challenge(mod, c.slug, voting_close_at=close)
        deadlocks = await _deadlocks(db)
        go.write_text(close.isoformat())

        # This process is the scheduler: it tallies (a grace after the close) while the
        # voters' last reactions are still arriving.
        deadline = close + timedelta(seconds=30)
        while engine.clock.now() < deadline:
            await engine.due.run_due()
            async with db.session() as s:
                if await s.scalar(select(func.count()).select_from(Placement)):
                    break
            await asyncio.sleep(0.02)
        votes = [v for w in workers for v in await asyncio.to_thread(_finish, w)]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()

    errors = [v for v in votes if v["outcome"].startswith("error")]
    assert errors == []
    assert await _deadlocks(db) == deadlocks
    before = [v for v in votes if datetime.fromisoformat(v["received"]) < close]
    after = [v for v in votes if datetime.fromisoformat(v["received"]) >= close]
    assert len(before) > VOTERS * ENTRIES // 2  # the crowd voted through the window
    assert {v["outcome"] for v in before} == {"counted"}
    assert all(v["outcome"].startswith("refused: Voting on Crowd closed") for v in after)
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Vote)) == len(before)
        placed = await s.scalar(select(func.sum(Placement.score)))
    assert placed == len(before)
    await engine.close()
