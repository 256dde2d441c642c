"""Votes arriving together share one commit, yet each is counted or refused on its own."""

from __future__ import annotations

import asyncio

import pytest

from engine.clock import FixedClock
from engine.errors import Forbidden
from engine.refs import CommunityRef
from engine.service import Engine
from storage.tables import Vote
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


async def test_a_refused_vote_does_not_spoil_the_votes_beside_it(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    entry_id, msg = await _voting(engine, guild, clock)
    batches: list[int] = []
    run = engine.vote_batches._run

    async def counting(batch):  # type: ignore[no-untyped-def]
        batches.append(len(batch))
        await run(batch)

    engine.vote_batches._run = counting  # type: ignore[method-assign]
    calls = [engine.cast_vote(member(guild, f"v{i}"), msg, "👍") for i in range(5)]
    calls.insert(2, engine.cast_vote(member(guild, "alice"), msg, "👍"))  # her own entry
    calls.append(engine.cast_vote(member(guild, "v0"), msg, "👍"))  # a replayed event
    calls.append(engine.cast_vote(member(guild, "v9"), msg, "🎉"))  # another emoji

    results = await asyncio.gather(*calls, return_exceptions=True)

    # One transaction for all but the replay, which waits for the reaction it repeats
    # (one member's reactions on one message apply in arrival order).
    assert batches == [7, 1]
    assert isinstance(results[2], Forbidden)
    statuses = [r.status for r in results if not isinstance(r, BaseException)]
    assert statuses == ["counted"] * 5 + ["duplicate", "ignored"]
    assert (await engine.entry(guild, entry_id)).votes == 5
    assert len(await select_all(engine.db, Vote)) == 5
    assert (await engine.profile(member(guild, "v3"))).points == 5


async def test_when_the_commit_fails_every_caller_hears_of_it(
    engine: Engine, guild: CommunityRef, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, msg = await _voting(engine, guild, clock)

    async def failing(*args: object, **kwargs: object) -> object:
        raise ConnectionError("disk gone")

    monkeypatch.setattr(engine.db, "run", failing)
    results = await asyncio.gather(
        *(engine.cast_vote(member(guild, f"v{i}"), msg, "👍") for i in range(3)),
        return_exceptions=True)
    monkeypatch.undo()

    assert all(isinstance(r, ConnectionError) for r in results)
    assert await select_all(engine.db, Vote) == []
