"""Votes arriving together share one commit, yet each is counted or refused on its own;
a failing batch never loses or double-counts a vote."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError

from engine import votes
from engine.clock import FixedClock
from engine.errors import Forbidden, Unavailable
from engine.refs import CommunityRef
from engine.service import Engine
from storage import sql
from storage.db import Database
from storage.tables import UnsettledVote, Vote
from tests.conftest import member
from tests.engine.helpers import (
    open_voting,
    select_all,
    setup_community,
    submission_challenge,
    submit_and_post,
)


async def _voting(engine: Engine, guild: CommunityRef, clock: FixedClock):  # type: ignore[no-untyped-def]
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    entry_id, msg = await submit_and_post(engine, member(guild, "alice"), c.slug, "Dune")
    await open_voting(engine, clock)
    return entry_id, msg


@contextmanager
def _vote_inserts() -> Iterator[list[int]]:
    """The number of votes each INSERT INTO votes statement carried, as they run."""
    seen: list[int] = []

    def listen(statement: str, args: object) -> None:
        if statement.startswith("INSERT INTO votes"):
            seen.append(statement.count("(") - 2)  # columns, ON CONFLICT, then the rows

    sql.run.statement_listeners.append(listen)
    try:
        yield seen
    finally:
        sql.run.statement_listeners.remove(listen)


async def test_a_refused_vote_does_not_spoil_the_votes_beside_it(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    entry_id, msg = await _voting(engine, guild, clock)
    calls = [engine.cast_vote(member(guild, f"v{i}"), msg, "👍") for i in range(5)]
    calls.insert(2, engine.cast_vote(member(guild, "alice"), msg, "👍"))  # her own entry
    calls.append(engine.cast_vote(member(guild, "v0"), msg, "👍"))  # a replayed event
    calls.append(engine.cast_vote(member(guild, "v9"), msg, "🎉"))  # another emoji

    with _vote_inserts() as inserts:
        results = await asyncio.gather(*calls, return_exceptions=True)

    # One statement for the five votes; the replay waits for the reaction it repeats (one
    # member's reactions on one message apply in arrival order) and inserts nothing new.
    assert inserts[0] == 5
    assert isinstance(results[2], Forbidden)
    statuses = [r.status for r in results if not isinstance(r, BaseException)]
    assert statuses == ["counted"] * 5 + ["duplicate", "ignored"]
    assert (await engine.entry(guild, entry_id)).votes == 5
    assert len(await select_all(engine.db, Vote)) == 5
    assert (await engine.profile(member(guild, "v3"))).points == 5


def _not_counted() -> float:
    return REGISTRY.get_sample_value("laurels_votes_not_counted_total") or 0.0


def _unavailable() -> OperationalError:
    return OperationalError("INSERT INTO votes", {}, ConnectionRefusedError("server gone"),
                            connection_invalidated=True)


async def test_votes_wait_out_a_short_database_fault(
    db: Database, guild: CommunityRef, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(db, clock, vote_patience=5.0)
    _, msg = await _voting(engine, guild, clock)
    failures = 2
    insert = votes.insert_votes

    async def flaky(*args: object) -> object:
        nonlocal failures
        if failures:
            failures -= 1
            raise _unavailable()
        return await insert(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(votes, "insert_votes", flaky)
    results = await asyncio.gather(
        *(engine.cast_vote(member(guild, f"v{i}"), msg, "👍") for i in range(3)))

    assert [r.status for r in results] == ["counted"] * 3
    assert len(await select_all(db, Vote)) == 3


async def test_a_vote_the_database_cannot_take_is_refused_with_a_reason_not_lost(
    db: Database, guild: CommunityRef, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(db, clock, vote_patience=0.3)
    _, msg = await _voting(engine, guild, clock)

    async def down(*args: object) -> object:
        raise _unavailable()

    before = _not_counted()
    monkeypatch.setattr(votes, "insert_votes", down)
    results = await asyncio.gather(
        *(engine.cast_vote(member(guild, f"v{i}"), msg, "👍") for i in range(3)),
        return_exceptions=True)
    monkeypatch.undo()

    assert all(isinstance(r, Unavailable) and "react again" in r.message for r in results)
    assert _not_counted() == before + 3
    assert await select_all(db, Vote) == [] and await select_all(db, UnsettledVote) == []
    # Once the fault clears, the same reactions count.
    again = await engine.cast_vote(member(guild, "v0"), msg, "👍")
    assert again.status == "counted"


async def test_a_batch_that_fails_runs_its_votes_alone(
    engine: Engine, guild: CommunityRef, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something wrong with one vote (here: any batch of more than one fails) costs the
    others nothing: they run again one per transaction."""
    _, msg = await _voting(engine, guild, clock)
    insert = votes.insert_votes

    async def picky(session: object, rows: list[object]) -> object:
        if len(rows) > 1:
            raise RuntimeError("a bug in a batch")
        return await insert(session, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(votes, "insert_votes", picky)
    results = await asyncio.gather(
        *(engine.cast_vote(member(guild, f"v{i}"), msg, "👍") for i in range(4)))

    assert [r.status for r in results] == ["counted"] * 4
    assert len(await select_all(engine.db, Vote)) == 4
