"""One vote path, whatever the batch: votes cast in bursts (many to a transaction, paid
for in long runs) end exactly where the same votes cast one at a time (each alone, paid
at once) end: each caller's result, every vote and count, every balance and ledger
payment, counter, achievement, badge and streak."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.service import Engine
from engine.votes import VoteResult
from storage import sql
from storage.db import Database
from storage.tables import (
    Achievement,
    Badge,
    LedgerRow,
    Member,
    MemberStat,
    Standing,
    Streak,
    Vote,
    VoteCount,
)
from tests.conftest import START, member, test_database
from tests.engine.helpers import post_pending, run_due, setup_community, submission_challenge

GUILD = CommunityRef("discord", "g-batches", "Batches")
AUTHORS = [f"a{i}" for i in range(12)]
VOTERS = [f"v{i}" for i in range(12)]


@asynccontextmanager
async def _database(request: pytest.FixtureRequest, tmp_path: Path, name: str
                    ) -> AsyncIterator[Database]:
    database = await test_database(request, tmp_path / name, request.getfixturevalue("backend"))
    try:
        yield database
    finally:
        await database.dispose()


async def _state(db: Database) -> dict[str, Any]:
    """What the votes left, independent of the order rows were written in (a vote is
    named by its entry and voter: votes of two communities in one batch are numbered in
    another order than one at a time)."""
    async with db.session() as session:
        names = dict((await session.execute(select(Member.id, Member.external_id))).all())
        by_id = {vote_id: f"{entry_id}/{names[voter]}" for vote_id, entry_id, voter in (
            await session.execute(select(Vote.id, Vote.entry_id, Vote.voter_id))).all()}

        def key(value: Any) -> Any:
            return re.sub(r"^vote:(\d+)", lambda m: f"vote:{by_id.get(int(m[1]), m[1])}",
                          value) if isinstance(value, str) else value

        async def rows(*columns: Any) -> list[tuple[Any, ...]]:
            found = (await session.execute(select(*columns))).all()
            return sorted(tuple(names.get(v, v) if c.key in ("member_id", "voter_id")
                                else key(v) for c, v in zip(columns, r, strict=True))
                          for r in found)

        return {
            "votes": await rows(Vote.entry_id, Vote.voter_id, Vote.cast_at),
            "counts": await rows(VoteCount.entry_id, VoteCount.votes),
            "standings": await rows(Standing.member_id, Standing.period, Standing.points),
            "ledger": await rows(LedgerRow.member_id, LedgerRow.delta, LedgerRow.reason,
                                 LedgerRow.idempotency_key, LedgerRow.period_at),
            "stats": await rows(MemberStat.member_id, MemberStat.stat, MemberStat.value),
            "achievements": await rows(Achievement.member_id, Achievement.key,
                                       Achievement.times),
            "badges": sorted(Counter(await rows(Badge.member_id, Badge.key)).items()),
            "streaks": await rows(Streak.member_id, Streak.current, Streak.longest,
                                  Streak.last_day),
        }


def _outcome(r: object) -> object:
    if isinstance(r, BaseException):
        return (type(r).__name__, str(r))
    assert isinstance(r, VoteResult)
    return r.status, r.votes


Vote_ = Callable[[], Awaitable[VoteResult]]
Script = Callable[["Voting"], Awaitable[None]]


class Voting:
    """Casts votes for a script, in bursts or one at a time (then paid at once)."""

    def __init__(self, engine: Engine, clock: FixedClock, one_at_a_time: bool) -> None:
        self.engine, self.clock, self.one_at_a_time = engine, clock, one_at_a_time
        self.results: list[object] = []

    def vote(self, who: str | MemberRef, message: MessageRef, emoji: str = "👍",
             guild: CommunityRef = GUILD) -> Vote_:
        voter = who if isinstance(who, MemberRef) else member(guild, who)
        return lambda: self.engine.cast_vote(voter, message, emoji)

    async def burst(self, calls: list[Vote_]) -> None:
        if not self.one_at_a_time:
            found = await asyncio.gather(*(c() for c in calls), return_exceptions=True)
            self.results += [_outcome(r) for r in found]
            return
        for call in calls:
            try:
                self.results.append(_outcome(await call()))
            except Exception as exc:
                self.results.append(_outcome(exc))
            await self.engine.settle_all()


async def _run(request: pytest.FixtureRequest, tmp_path: Path, name: str, script: Script,
               one_at_a_time: bool) -> tuple[dict[str, Any], list[object], int]:
    async with _database(request, tmp_path, name) as db:
        clock = FixedClock(START)
        engine = Engine(db, clock, settle_in_background=False)
        batches = 0

        def count(statement: str, _: object) -> None:
            nonlocal batches
            batches += statement.startswith("INSERT INTO votes")

        voting = Voting(engine, clock, one_at_a_time)
        sql.run.statement_listeners.append(count)
        try:
            await script(voting)
        finally:
            sql.run.statement_listeners.remove(count)
        await engine.settle_all()
        return await _state(db), voting.results, batches


async def _same_both_ways(request: pytest.FixtureRequest, tmp_path: Path, script: Script
                          ) -> tuple[int, int]:
    alone, alone_results, alone_batches = await _run(request, tmp_path, "one", script, True)
    burst, burst_results, burst_batches = await _run(request, tmp_path, "set", script, False)
    assert burst_results == alone_results
    for table in alone:
        assert burst[table] == alone[table], table
    return alone_batches, burst_batches


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
        await run_due(engine)
    return messages


async def _mixed(v: Voting) -> None:
    msgs = await _challenge(v.engine, v.clock)
    # Everyone known first, one vote at a time (members are created on first contact).
    for i, voter in enumerate(VOTERS):
        await v.burst([v.vote(voter, msgs[AUTHORS[i]])])
    # A burst mixing counted votes, the daily cap running out, replays, self-votes, other
    # emoji, a message that is no entry, a member never seen, a bot, a renamed member.
    calls = [v.vote(voter, msgs[AUTHORS[(i + k) % len(AUTHORS)]])
             for i, voter in enumerate(VOTERS) for k in (1, 2, 3, 5)]
    calls += [
        v.vote("v0", msgs["a0"]),  # a replay of v0's first vote
        v.vote("a3", msgs["a3"]),  # own entry
        v.vote("v1", msgs["a7"], "🎉"),  # another emoji
        v.vote("v2", MessageRef("entries", "no-such-message")),
        v.vote("newcomer", msgs["a4"]),
        v.vote(member(GUILD, "robot", bot=True), msgs["a4"]),
        v.vote(MemberRef(GUILD, "v5", "Vee Five"), msgs["a9"]),
        v.vote("a1", msgs["a2"]),
        v.vote("a2", msgs["a1"]),
    ]
    await v.burst(calls)
    # The next day: streaks go on, the cap starts again, balances pass thresholds.
    v.clock.advance(timedelta(days=1))
    await v.burst([v.vote(voter, msgs[AUTHORS[(i + k) % len(AUTHORS)]])
                   for i, voter in enumerate(VOTERS) for k in (4, 6, 7)])


async def test_a_mixed_burst_ends_as_votes_one_at_a_time(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    alone, burst = await _same_both_ways(request, tmp_path, _mixed)
    assert burst < alone / 4  # the bursts really shared transactions


async def _many_voters(v: Voting) -> None:
    """Enough votes to cross thresholds in the middle of bursts."""
    msgs = await _challenge(v.engine, v.clock)
    crowd = [f"c{i}" for i in range(40)]
    for i, voter in enumerate(crowd[:len(AUTHORS)]):  # the rest arrive within bursts
        await v.burst([v.vote(voter, msgs[AUTHORS[i]])])
    for round_no in range(1, 11):  # the tenth vote unlocks "Critic"
        await v.burst([v.vote(voter, msgs[AUTHORS[(i * 7 + round_no) % len(AUTHORS)]])
                       for i, voter in enumerate(crowd)])


async def test_thresholds_crossed_in_a_burst_end_as_one_at_a_time(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    alone, burst = await _same_both_ways(request, tmp_path, _many_voters)
    assert burst < alone / 10


OTHER = CommunityRef("slack", "T-batches", "Other")


async def _two_communities(v: Voting) -> None:
    """Bursts interleaving two communities, one of them with voting closed."""
    other = await _challenge(v.engine, v.clock, OTHER, open_voting=False)
    msgs = await _challenge(v.engine, v.clock)  # opens voting in both: the same clock
    for i, voter in enumerate(VOTERS):
        await v.burst([v.vote(voter, msgs[AUTHORS[i]])])
        await v.burst([v.vote(voter, other[AUTHORS[i]], guild=OTHER)])
    for k in (1, 2):
        calls = []
        for i, voter in enumerate(VOTERS):
            calls.append(v.vote(voter, msgs[AUTHORS[(i + k) % len(AUTHORS)]]))
            calls.append(v.vote(voter, other[AUTHORS[(i + k) % len(AUTHORS)]], guild=OTHER))
        await v.burst(calls)
        v.clock.advance(timedelta(days=2))  # the second round: voting has closed in both


async def test_batches_mixing_communities_end_as_one_at_a_time(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    alone, burst = await _same_both_ways(request, tmp_path, _two_communities)
    assert burst < alone


async def _marked_names(v: Voting) -> None:
    """Voters whose platform names carry invisible marks (a right-to-left mark, a
    zero-width space): their names are stored cleaned, and a later vote compares the
    cleaned name, so it does not take them for renamed members."""
    msgs = await _challenge(v.engine, v.clock)
    voters = [MemberRef(GUILD, name, f"\u200f{name.upper()}\u200b") for name in VOTERS]
    for i, voter in enumerate(voters):
        await v.burst([v.vote(voter, msgs[AUTHORS[i]])])
    await v.burst([v.vote(voter, msgs[AUTHORS[(i + 1) % len(AUTHORS)]])
                   for i, voter in enumerate(voters)])
    async with v.engine.db.session() as session:
        names = set((await session.scalars(select(Member.display_name).where(
            Member.external_id.in_(VOTERS)))).all())
    assert names == {name.upper() for name in VOTERS}


async def test_invisible_marks_in_voters_names_are_cleaned_either_way(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    await _same_both_ways(request, tmp_path, _marked_names)
