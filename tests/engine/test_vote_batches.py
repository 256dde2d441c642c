"""A batch of votes recorded set-based and paid for in planned runs leaves the database
exactly as the same votes cast one at a time through the per-vote path and paid for one by
one: ledger rows and balances, counters, achievements, badges, streaks, the daily cap,
outbox rows, top-10 announcements, each caller's result."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import vote_points, votes
from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.service import Engine
from storage.db import Database
from storage.tables import (
    Achievement,
    Badge,
    Entry,
    LedgerRow,
    Member,
    MemberStat,
    OutboxRow,
    Standing,
    Streak,
    UnsettledVote,
    Vote,
)
from tests.conftest import BACKEND, START, member
from tests.engine.helpers import (
    post_pending,
    setup_community,
    submission_challenge,
)

GUILD = CommunityRef("discord", "g-batches", "Batches")
AUTHORS = [f"a{i}" for i in range(12)]
VOTERS = [f"v{i}" for i in range(12)]
TABLES = (Vote, LedgerRow, Standing, MemberStat, Achievement, Badge, Streak, OutboxRow, Entry,
          Member, UnsettledVote)


@asynccontextmanager
async def _database(request: pytest.FixtureRequest, tmp_path: Path, name: str
                    ) -> AsyncIterator[Database]:
    if BACKEND == "postgres":
        from tests.storage.reset import fresh_database

        database = await fresh_database(request.getfixturevalue("pg_url"))
    else:
        url = (f"sqlite+aiosqlite:///{tmp_path / name}.db" if BACKEND == "sqlite-file"
               else "sqlite+aiosqlite://")
        database = Database(url)
        await database.create_all()
    try:
        yield database
    finally:
        await database.dispose()


async def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a vote touches, as plain tuples in primary key order within
    each community.

    PostgreSQL: generated ids are left out (the rows and their order are compared). A
    sequence number is taken by every insert tried, so the per-vote path, which tries a
    second top-10 announcement of a member on one day (and drops it), leaves gaps the batch
    does not, and a transaction the server made retry leaves gaps too.
    """
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with db.session() as session:
        for model in TABLES:
            table = model.__table__
            # Communities are paid for independently: compare each one's rows in order.
            order = [table.c.community_id] if "community_id" in table.c else []
            rows = (await session.execute(
                select(table).order_by(*order, *table.primary_key.columns))).all()
            keep = [i for i, c in enumerate(table.columns)
                    if not (BACKEND == "postgres" and c.name == "id")]
            found[table.name] = [tuple(r[i] for i in keep) for r in rows]
    return found


def _outcome(r: object) -> object:
    if isinstance(r, BaseException):
        return (type(r).__name__, str(r))
    return r


Script = Callable[[Engine, FixedClock], Awaitable[list[object]]]


async def _run(request: pytest.FixtureRequest, tmp_path: Path, name: str, script: Script,
               set_based: bool) -> tuple[dict[str, list[tuple[Any, ...]]], list[object], int]:
    async with _database(request, tmp_path, name) as db:
        clock = FixedClock(START)
        engine = Engine(db, clock)
        runs = 0
        run_set = votes.cast_batch

        async def counting(tx: Any, items: Any) -> Any:
            nonlocal runs
            done = await run_set(tx, items)
            runs += sum(1 for ok, r in done if ok and r.status == "counted")
            return done

        engine.vote_batches._run_set = counting if set_based else None
        if not set_based:
            engine.pay_run = None
        results = await script(engine, clock)
        await engine.close()  # every counted vote paid for
        return await _snapshot(db), [_outcome(r) for r in results], runs


async def _same_both_ways(request: pytest.FixtureRequest, tmp_path: Path, script: Script
                          ) -> int:
    per_vote, per_vote_results, _ = await _run(request, tmp_path, "one", script, False)
    batched, batched_results, counted = await _run(request, tmp_path, "set", script, True)
    assert batched_results == per_vote_results
    for table in per_vote:
        assert batched[table] == per_vote[table], table
    return counted


async def _challenge(engine: Engine, clock: FixedClock, guild: CommunityRef = GUILD,
                     open_voting: bool = True) -> dict[str, MessageRef]:
    """Twelve entries in a challenge open for votes; returns each author's entry message."""
    await setup_community(engine, guild)
    await engine.set_point_rule(member(guild, "mod", mod=True), "vote_received", 10)
    await engine.set_point_rule(member(guild, "mod", mod=True), "vote_cast_daily_cap", 3)
    c = await submission_challenge(engine, guild, clock)
    messages: dict[str, MessageRef] = {}
    for author in AUTHORS:
        entry = await engine.submit_entry(member(guild, author), c.slug, f"By {author}",
                                          "https://example.com/x")
        messages[author] = (await post_pending(engine))[entry.id]
    if open_voting:
        clock.advance(timedelta(days=3, minutes=1))
        await engine.advance_due()
    return messages


def _vote(engine: Engine, who: str | MemberRef, message: MessageRef, emoji: str = "👍",
          guild: CommunityRef = GUILD) -> Awaitable[votes.VoteResult]:
    voter = who if isinstance(who, MemberRef) else member(guild, who)
    return engine.cast_vote(voter, message, emoji)


async def _burst(calls: list[Awaitable[votes.VoteResult]]) -> list[object]:
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def _mixed(engine: Engine, clock: FixedClock) -> list[object]:
    msgs = await _challenge(engine, clock)
    results: list[object] = []
    # Everyone known first, one vote at a time (members are created on first contact).
    for i, voter in enumerate(VOTERS):
        results.append(await _vote(engine, voter, msgs[AUTHORS[i]]))
    # A burst mixing counted votes, the daily cap running out, replays, self-votes, other
    # emoji, a message that is no entry, a member never seen, a bot, a renamed member.
    calls = []
    for i, voter in enumerate(VOTERS):
        for k in (1, 2, 3, 5):
            calls.append(_vote(engine, voter, msgs[AUTHORS[(i + k) % len(AUTHORS)]]))
    calls += [
        _vote(engine, "v0", msgs["a0"]),  # a replay of v0's first vote
        _vote(engine, "a3", msgs["a3"]),  # own entry
        _vote(engine, "v1", msgs["a7"], "🎉"),  # another emoji
        _vote(engine, "v2", MessageRef("entries", "no-such-message")),
        _vote(engine, "newcomer", msgs["a4"]),
        _vote(engine, member(GUILD, "robot", bot=True), msgs["a4"]),
        _vote(engine, MemberRef(GUILD, "v5", "Vee Five"), msgs["a9"]),
        _vote(engine, "a1", msgs["a2"]),
        _vote(engine, "a2", msgs["a1"]),
    ]
    results += await _burst(calls)
    # The next day: streaks go on, the cap starts again, balances pass thresholds.
    clock.advance(timedelta(days=1))
    calls = [_vote(engine, voter, msgs[AUTHORS[(i + k) % len(AUTHORS)]])
             for i, voter in enumerate(VOTERS) for k in (4, 6, 7)]
    results += await _burst(calls)
    return results


async def test_a_mixed_burst_gives_the_same_state_as_votes_one_at_a_time(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    counted = await _same_both_ways(request, tmp_path, _mixed)
    assert counted > 20  # most counted votes took the set-based path


async def _many_voters(engine: Engine, clock: FixedClock) -> list[object]:
    """Enough votes to cross thresholds and shuffle the top 10 in the middle of bursts."""
    msgs = await _challenge(engine, clock)
    crowd = [f"c{i}" for i in range(40)]
    results: list[object] = []
    for i, voter in enumerate(crowd[:len(AUTHORS)]):  # the rest arrive within bursts
        results.append(await _vote(engine, voter, msgs[AUTHORS[i]]))
    for round_no in range(1, 11):  # the tenth vote unlocks "Critic"
        calls = [_vote(engine, voter, msgs[AUTHORS[(i * 7 + round_no) % len(AUTHORS)]])
                 for i, voter in enumerate(crowd)]
        results += await _burst(calls)
    return results


async def test_thresholds_and_top_ten_in_a_burst_match_the_per_vote_path(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    counted = await _same_both_ways(request, tmp_path, _many_voters)
    assert counted > 150


async def test_a_run_the_database_disagrees_with_is_cast_one_by_one(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = 0

    async def moved(*args: object, **kwargs: object) -> None:
        nonlocal failing
        failing += 1
        raise votes.BatchFallback("entries moved")

    async def plan_moved(*args: object, **kwargs: object) -> None:
        nonlocal replanned
        replanned += 1
        raise vote_points.PlanMoved("streaks moved")

    replanned = 0
    per_vote, per_vote_results, _ = await _run(request, tmp_path, "one", _mixed, False)
    # The last write of a run fails; on PostgreSQL the first (numbers a rolled-back insert
    # took from a sequence are not given back, so later votes would be numbered apart).
    monkeypatch.setattr(votes, "insert_votes" if BACKEND == "postgres" else "bump_entries_votes",
                        moved)
    # Paying for a planned run fails at its last write: those votes are paid one by one.
    monkeypatch.setattr(vote_points, "put_streaks", plan_moved)
    batched, batched_results, _ = await _run(request, tmp_path, "set", _mixed, True)

    assert failing > 0 and replanned > 0
    assert batched_results == per_vote_results
    assert batched == per_vote


OTHER = CommunityRef("slack", "T-batches", "Other")


async def _two_communities(engine: Engine, clock: FixedClock) -> list[object]:
    """Bursts interleaving two communities, one of them with voting closed."""
    other = await _challenge(engine, clock, OTHER, open_voting=False)
    msgs = await _challenge(engine, clock)  # opens voting in both: the same clock
    for guild in (GUILD, OTHER):  # authors stay short of 100 points: no threshold to cross
        await engine.set_point_rule(member(guild, "mod", mod=True), "vote_received", 1)
    results: list[object] = []
    for i, voter in enumerate(VOTERS):
        results.append(await _vote(engine, voter, msgs[AUTHORS[i]]))
        results.append(await _vote(engine, voter, other[AUTHORS[i]], guild=OTHER))
    for k in (1, 2):
        calls = []
        for i, voter in enumerate(VOTERS):
            calls.append(_vote(engine, voter, msgs[AUTHORS[(i + k) % len(AUTHORS)]]))
            calls.append(_vote(engine, voter, other[AUTHORS[(i + k) % len(AUTHORS)]],
                               guild=OTHER))
        results += await _burst(calls)
        clock.advance(timedelta(days=2))  # the second round: voting has closed in both
    return results


async def test_batches_mixing_communities_match_the_per_vote_path(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    counted = await _same_both_ways(request, tmp_path, _two_communities)
    assert counted > 10


async def _marked_names(engine: Engine, clock: FixedClock) -> list[object]:
    """Voters whose platform names carry invisible marks (a right-to-left mark, a
    zero-width space): their stored names are cleaned, and a burst compares against the
    cleaned name, so it does not take them for renamed members."""
    msgs = await _challenge(engine, clock)
    voters = [MemberRef(GUILD, v, f"\u200f{v.upper()}\u200b") for v in VOTERS]
    results: list[object] = []
    for i, voter in enumerate(voters):
        results.append(await _vote(engine, voter, msgs[AUTHORS[i]]))
    results += await _burst([_vote(engine, voter, msgs[AUTHORS[(i + 1) % len(AUTHORS)]])
                             for i, voter in enumerate(voters)])
    async with engine.db.session() as session:
        names = set((await session.scalars(select(Member.display_name).where(
            Member.external_id.in_(VOTERS)))).all())
    assert names == {v.upper() for v in VOTERS}
    return results


async def test_invisible_marks_in_voters_names_keep_the_set_based_path(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    counted = await _same_both_ways(request, tmp_path, _marked_names)
    assert counted == len(VOTERS)  # the burst's votes, all set-based
