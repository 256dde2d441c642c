"""Votes while the database fails: a reaction the platform delivered is never silently
lost. A fault that clears within the vote's patience costs nothing but time; one that
lasts longer is told to the voter (react again) and counted, and nothing half-done
stays behind. Real faults: a PostgreSQL server stopped and started again, a disk full.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from bot.reactions import Reaction, ReactionDispatch
from engine.clock import FixedClock
from engine.errors import Unavailable
from engine.refs import CommunityRef, MessageRef
from engine.service import Engine
from storage.db import Database
from storage.pgcluster import Cluster, restartable_cluster
from storage.tables import Base, UnsettledVote, Vote
from tests.bot.test_reactions import Replies
from tests.conftest import START, member
from tests.engine.helpers import (
    open_voting,
    select_all,
    setup_community,
    submission_challenge,
    submit_and_post,
)

GUILD = CommunityRef("discord", "faults", "Faults")


def _not_counted() -> float:
    return REGISTRY.get_sample_value("laurels_votes_not_counted_total") or 0.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL server of these tests' own: they stop it."""
    with restartable_cluster() as found:
        yield found


async def _engine_on(url: str, patience: float) -> tuple[Engine, list[MessageRef]]:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    clock = FixedClock(START)
    engine = Engine(db, clock, vote_patience=patience, settle_in_background=False)
    await setup_community(engine, GUILD)
    c = await submission_challenge(engine, GUILD, clock)
    msgs = [(await submit_and_post(engine, member(GUILD, f"a{i}"), c.slug, f"E{i}"))[1]
            for i in range(3)]
    await open_voting(engine, clock)
    return engine, msgs


async def _in_thread(action: object) -> None:
    await asyncio.to_thread(action)  # type: ignore[arg-type]


@pytest.mark.postgres_only
async def test_votes_during_a_postgres_restart_are_all_counted(cluster: Cluster,
                                                               backend: str) -> None:
    engine, msgs = await _engine_on(cluster.url, patience=30)
    votes = [(f"v{i}", msgs[i % 3]) for i in range(60)]

    async def vote(i: int, voter: str, msg: MessageRef) -> str:
        await asyncio.sleep(i * 0.02)  # a steady stream, before, during and after
        return (await engine.cast_vote(member(GUILD, voter), msg, "👍")).status

    stream = asyncio.gather(*(vote(i, v, m) for i, (v, m) in enumerate(votes)))
    await asyncio.sleep(0.3)
    await _in_thread(cluster.stop)  # the server goes away mid-stream...
    await asyncio.sleep(1.0)
    await _in_thread(cluster.start)  # ...and comes back
    statuses = await stream

    assert statuses == ["counted"] * 60
    assert len(await select_all(engine.db, Vote)) == 60
    await engine.settle_all()
    assert await select_all(engine.db, UnsettledVote) == []
    await engine.db.dispose()


@pytest.mark.postgres_only
async def test_votes_while_postgres_stays_down_are_told_and_nothing_is_left(
        cluster: Cluster, backend: str) -> None:
    engine, msgs = await _engine_on(cluster.url, patience=1.0)
    before = _not_counted()
    await _in_thread(cluster.stop)
    try:
        results = await asyncio.gather(
            *(engine.cast_vote(member(GUILD, f"v{i}"), msgs[0], "👍") for i in range(5)),
            return_exceptions=True)
    finally:
        await _in_thread(cluster.start)

    assert all(isinstance(r, Unavailable) and "react again" in r.message for r in results)
    assert _not_counted() == before + 5
    assert await select_all(engine.db, Vote) == []
    # The fault has cleared: the same reactions count.
    again = await engine.cast_vote(member(GUILD, "v0"), msgs[0], "👍")
    assert again.status == "counted"
    await engine.db.dispose()


@contextlib.contextmanager
def _small_disk(path: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of its own (the test runs as root, as CI does)."""
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)],
                   check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(path: Path) -> None:
    """Take every free byte of the file system (a log gone wild, another program)."""
    with contextlib.suppress(OSError), path.open("wb") as f:
        while True:
            f.write(b"\0" * 65536)
            f.flush()


@pytest.mark.file_only
async def test_votes_wait_out_a_full_disk(tmp_path: Path, backend: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    with _small_disk(tmp_path / "disk", 8) as disk:
        engine, msgs = await _engine_on(f"sqlite+aiosqlite:///{disk / 'laurels.db'}",
                                        patience=30)
        filler = disk / "filler"
        await asyncio.to_thread(_fill, filler)
        stream = asyncio.gather(*(engine.cast_vote(member(GUILD, f"v{i}"), msgs[i % 3], "👍")
                                  for i in range(30)), return_exceptions=True)
        await asyncio.sleep(1.0)  # the votes find the disk full, and wait
        assert not stream.done()
        filler.unlink()  # space again
        statuses = [getattr(r, "status", r) for r in await stream]

        assert statuses == ["counted"] * 30
        assert len(await select_all(engine.db, Vote)) == 30
        await engine.db.dispose()


@pytest.mark.file_only
async def test_a_full_disk_that_lasts_is_told_to_the_voter(tmp_path: Path,
                                                           backend: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    with _small_disk(tmp_path / "disk", 8) as disk:
        engine, msgs = await _engine_on(f"sqlite+aiosqlite:///{disk / 'laurels.db'}",
                                        patience=1.0)
        filler = disk / "filler"
        await asyncio.to_thread(_fill, filler)
        with pytest.raises(Unavailable, match="react again"):
            await engine.cast_vote(member(GUILD, "v0"), msgs[0], "👍")
        filler.unlink()
        assert await select_all(engine.db, Vote) == []
        assert (await engine.cast_vote(member(GUILD, "v0"), msgs[0], "👍")).status == \
            "counted"
        await engine.db.dispose()


@pytest.mark.postgres_only
async def test_the_voter_hears_when_the_database_stays_down(cluster: Cluster,
                                                            backend: str) -> None:
    """Through the reaction dispatch every platform uses: the platform's answer is asked
    to tell the voter (Discord takes the reaction off, Slack answers privately)."""
    engine, msgs = await _engine_on(cluster.url, patience=1.0)
    dispatch, replies = ReactionDispatch(engine), Replies()
    await _in_thread(cluster.stop)
    try:
        result = await dispatch.handle(Reaction(member(GUILD, "v0"), msgs[0], "👍", True,
                                                "Ev1"), replies)
    finally:
        await _in_thread(cluster.start)

    assert result is None
    assert [who for who, _ in replies.refusals] == ["v0"]
    assert "react again" in replies.refusals[0][1]
    # Reacting again (a new event) counts.
    again = await dispatch.handle(Reaction(member(GUILD, "v0"), msgs[0], "👍", True, "Ev2"),
                                  replies)
    assert again is not None and again.status == "counted"
    await engine.db.dispose()
