"""A counted vote commits first and is paid for afterwards: exactly once, as of the moment
it was cast, before any later write of its community, and after a restart if the process
stopped in between."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine import settlement
from engine.clock import FixedClock
from engine.refs import CommunityRef, MessageRef
from engine.service import Engine
from engine.settlement import FEW
from engine.vote_payments import CLAIM
from storage.db import Database
from storage.tables import LedgerRow, Member, Standing, Streak, UnsettledVote
from tests.conftest import member
from tests.engine.helpers import (
    open_voting,
    select_all,
    setup_community,
    submission_challenge,
    submit_and_post,
)
from tests.engine.test_concurrency import assert_ledger_consistent


def _never_settles(db: Database, clock: FixedClock) -> Engine:
    """The process stops right after its votes commit: nothing pays for them here."""
    return Engine(db, clock, settle_in_background=False)


async def _posted(engine: Engine, guild: CommunityRef, clock: FixedClock, n: int,
                  tz: str = "UTC") -> list[tuple[int, MessageRef]]:
    """`n` entries by a0, a1, ... in a challenge open for votes: (entry id, message)."""
    await setup_community(engine, guild, tz=tz)
    c = await submission_challenge(engine, guild, clock, max_entries=5)
    posted = [await submit_and_post(engine, member(guild, f"a{i}"), c.slug, f"E{i}")
              for i in range(n)]
    await open_voting(engine, clock)
    return posted


def _hold_settlement(engine: Engine, monkeypatch) -> asyncio.Event:  # type: ignore[no-untyped-def]
    """Background settlement waits until the returned event is set, however fast the
    machine pays."""
    gate = asyncio.Event()
    settle = engine.settler.settle

    async def held(ref: CommunityRef, limit: int = CLAIM) -> int:
        await gate.wait()
        return await settle(ref, limit)

    monkeypatch.setattr(engine.settler, "settle", held)
    return gate


async def _entries(engine: Engine, guild: CommunityRef, clock: FixedClock, n: int,
                   tz: str = "UTC") -> list[MessageRef]:
    return [msg for _, msg in await _posted(engine, guild, clock, n, tz)]


async def test_votes_left_unpaid_by_a_stopped_process_are_paid_once_after_restart(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    first = _never_settles(db, clock)
    msgs = await _entries(first, guild, clock, 3)
    voters = [member(guild, f"v{i}") for i in range(20)]
    for voter in voters:
        for msg in msgs:
            assert (await first.cast_vote(voter, msg, "👍")).status == "counted"
    # Counted and durable, not paid yet.
    assert len(await select_all(db, UnsettledVote)) == 60
    assert len(await select_all(db, LedgerRow, LedgerRow.reason.like("vote_%"))) == 0

    restarted = Engine(db, clock)
    assert await restarted.settle_all() == 60
    assert await restarted.settle_all() == 0  # nothing twice
    assert len(await select_all(db, UnsettledVote)) == 0
    assert len(await select_all(db, LedgerRow, LedgerRow.reason == "vote_received")) == 60
    assert len(await select_all(db, LedgerRow, LedgerRow.reason == "vote_cast")) == 60
    assert (await restarted.profile(voters[0])).points == 3 * 5
    assert (await restarted.profile(member(guild, "a0"))).points == 85 + 20 * 2
    await assert_ledger_consistent(db)


async def test_a_vote_is_paid_as_of_the_day_it_was_cast(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Cast at 23:58 and 23:59 local, paid after midnight: the first day's cap of one paid
    vote holds, the streak counts the day of the votes, and the next day has its own cap."""
    la = ZoneInfo("America/Los_Angeles")
    stopped = _never_settles(db, clock)
    msgs = await _entries(stopped, guild, clock, 3, tz="America/Los_Angeles")
    await stopped.set_point_rule(member(guild, "mod", mod=True), "vote_cast_daily_cap", 1)
    bob = member(guild, "bob")
    clock.set(datetime(2026, 3, 3, 23, 58, tzinfo=la))
    await stopped.cast_vote(bob, msgs[0], "👍")
    clock.set(datetime(2026, 3, 3, 23, 59, tzinfo=la))
    await stopped.cast_vote(bob, msgs[1], "👍")

    clock.set(datetime(2026, 3, 4, 0, 30, tzinfo=la))
    engine = Engine(db, clock)
    await engine.settle_all()
    assert (await engine.profile(bob)).points == 5
    streak = await _streak_of(db, "bob")
    assert streak.last_day.isoformat() == "2026-03-03"
    paid = await select_all(db, LedgerRow, LedgerRow.reason == "vote_cast")
    assert [r.period_at.astimezone(la).date().isoformat() for r in paid] == ["2026-03-03"]

    await engine.cast_vote(bob, msgs[2], "👍")  # the new day's first vote
    assert (await engine.profile(bob)).points == 10
    streak = await _streak_of(db, "bob")
    assert (streak.current, streak.last_day.isoformat()) == (2, "2026-03-04")


async def _streak_of(db: Database, external_id: str) -> Streak:
    async with db.session() as s:
        found = await s.scalar(select(Streak).join(Member, Member.id == Streak.member_id)
                               .where(Member.external_id == external_id))
    assert found is not None
    return found


async def test_another_process_settles_before_its_own_write(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Votes counted by one process and not yet paid: a retraction and a disqualification
    handled by another process pay for them first, then take back what they must."""
    voters_process = _never_settles(db, clock)
    posted = await _posted(voters_process, guild, clock, 2)
    msgs = [msg for _, msg in posted]
    bob, cy = member(guild, "bob"), member(guild, "cy")
    for voter in (bob, cy):
        await voters_process.cast_vote(voter, msgs[0], "👍")
    moderators = Engine(db, clock)

    assert (await moderators.retract_vote(bob, msgs[0], "👍")).points == -5
    assert len(await select_all(db, UnsettledVote)) == 0
    assert (await moderators.profile(bob)).points == 0
    assert (await moderators.profile(cy)).points == 5
    assert (await moderators.profile(member(guild, "a0"))).points == 85 + 2

    await voters_process.cast_vote(bob, msgs[1], "👍")
    await moderators.disqualify_entry(member(guild, "mod", mod=True), posted[1][0], "copied")
    # The vote was paid before the disqualification took its author's points back.
    assert (await moderators.profile(bob)).points == 5
    assert (await moderators.profile(member(guild, "a1"))).points == 10
    await assert_ledger_consistent(db)


async def test_processes_settling_at_once_pay_each_vote_once(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    stopped = _never_settles(db, clock)
    msgs = await _entries(stopped, guild, clock, 4)
    await asyncio.gather(*(stopped.cast_vote(member(guild, f"v{i}"), msg, "👍")
                           for i in range(40) for msg in msgs))
    assert len(await select_all(db, UnsettledVote)) == 160
    settlers = [Engine(db, clock) for _ in range(3)]

    async def drain(engine: Engine) -> int:
        paid = 0
        while (n := await engine.settle_votes(guild, 16)) > 0:
            paid += n
        return paid

    assert sum(await asyncio.gather(*(drain(e) for e in settlers))) == 160
    assert len(await select_all(db, UnsettledVote)) == 0
    assert len(await select_all(db, LedgerRow, LedgerRow.reason == "vote_received")) == 160
    assert len(await select_all(db, LedgerRow, LedgerRow.reason == "vote_cast")) == 160
    await assert_ledger_consistent(db)


async def test_reads_in_the_voting_process_see_the_points_at_once(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    msgs = await _entries(engine, guild, clock, 2)
    bob = member(guild, "bob")
    await asyncio.gather(*(engine.cast_vote(bob, m, "👍") for m in msgs))
    assert (await engine.profile(bob)).points == 10
    board = await engine.leaderboard(bob, "week")
    assert [(r.member_external_id, r.points) for r in board.rows if r.points == 10] == [
        ("bob", 10)]
    assert board.viewer is not None and (board.viewer.rank, board.viewer.points) == (3, 10)
    # all time, week, month
    assert len(await select_all(db, Standing, Standing.points == 10)) == 3


async def test_close_pays_for_every_counted_vote(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    engine = Engine(db, clock)
    msgs = await _entries(engine, guild, clock, 3)
    await asyncio.gather(*(engine.cast_vote(member(guild, f"v{i}"), m, "👍")
                           for i in range(30) for m in msgs))
    await engine.close()
    assert len(await select_all(db, UnsettledVote)) == 0
    assert len(await select_all(db, LedgerRow, LedgerRow.reason == "vote_received")) == 90


async def test_a_read_waits_for_settlement_only_so_long(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A read after a long burst answers in time with what is paid so far; the rest is
    still paid, once."""
    msgs = await _entries(engine, guild, clock, 3)
    # Background settlement is held until after the read.
    gate = _hold_settlement(engine, monkeypatch)
    await asyncio.gather(*(engine.cast_vote(member(guild, f"v{i}"), m, "👍")
                           for i in range(30) for m in msgs))
    monkeypatch.setattr(settlement, "READ_WAIT", 0.0)
    monkeypatch.setattr(settlement, "QUIET_READ_WAIT", 0.0)
    await engine.profile(member(guild, "v0"))
    assert len(await select_all(db, UnsettledVote)) > 0  # it did not wait for them
    gate.set()
    await engine.close()
    assert len(await select_all(db, UnsettledVote)) == 0
    assert len(await select_all(db, LedgerRow, LedgerRow.reason == "vote_received")) == 90


async def test_only_voters_wait_for_a_backlog_of_votes(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A burst leaves more votes waiting than settlement pays in a few milliseconds: a
    member who did not vote gets what is paid so far at once (a chat command must not
    wait seconds on a backlog), a voter still waits for their own votes, and once few
    votes wait, everyone's read sees them paid."""
    msgs = await _entries(engine, guild, clock, 3)
    gate = _hold_settlement(engine, monkeypatch)  # until the reads are done
    waits: list[float | None] = []
    flush = engine.settler.flush

    async def noted(ref: CommunityRef, at_most: float | None = None) -> None:
        waits.append(at_most)
        await flush(ref, at_most)

    monkeypatch.setattr(engine.settler, "flush", noted)
    monkeypatch.setattr(settlement, "READ_WAIT", 0.0)  # the voter's wait ends at once
    voters = range(FEW // len(msgs) + 1)
    await asyncio.gather(*(engine.cast_vote(member(guild, f"v{i}"), m, "👍")
                           for i in voters for m in msgs))
    author = member(guild, "a0")
    before = (await engine.profile(author)).points
    assert waits == []  # the author did not wait
    await engine.profile(member(guild, "v0"))
    assert waits == [0.0]  # the voter did, for their own votes

    gate.set()
    await engine.settler.flush(guild)
    paid = (await engine.profile(author)).points
    assert paid == before + len(voters) * 2  # 2 points a vote received
    # A few votes: settled by the time the author asks, who waits for them.
    for i in range(3):
        await engine.cast_vote(member(guild, f"w{i}"), msgs[0], "👍")
    assert (await engine.profile(author)).points == paid + 3 * 2
    await engine.close()
