"""Racing events leave the database correct: on SQLite (one writer) and on PostgreSQL.

Run with LAURELS_TEST_DB=sqlite-file and =postgres for real concurrency: in-memory SQLite
shares one connection, so there the writers only interleave between transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.clock import FixedClock
from engine.errors import Conflict, Forbidden, InvalidInput, WrongPhase
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.sql.votes import bump_counts
from storage.tables import (
    Challenge,
    Entry,
    LedgerRow,
    OutboxRow,
    Placement,
    Standing,
    Vote,
)
from tests.conftest import member
from tests.engine.helpers import (
    goal_challenge,
    open_voting,
    select_all,
    setup_community,
    submission_challenge,
    submit_and_post,
)


async def assert_ledger_consistent(db: Database) -> None:
    """Every balance_after follows from the rows before it; standings match the ledger;
    vote counters match the votes table."""
    running: dict[int, int] = defaultdict(int)
    for row in await select_all(db, LedgerRow, order_by=LedgerRow.id):
        running[row.member_id] += row.delta
        assert row.balance_after == running[row.member_id], row.idempotency_key
    standings = {s.member_id: s.points for s in await select_all(
        db, Standing, Standing.period == "all")}
    assert standings == dict(running)
    async with db.session() as s:
        counted = dict((await s.execute(
            select(Vote.entry_id, func.count()).group_by(Vote.entry_id))).all())
    for entry in await select_all(db, Entry):
        assert entry.votes == counted.get(entry.id, 0), entry.id


async def test_many_simultaneous_reactions_on_one_entry(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """30 members react at once, and each reaction event arrives twice."""
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    entry_id, msg = await submit_and_post(engine, member(guild, "alice"), c.slug, "Hot entry")
    await open_voting(engine, clock)
    voters = [member(guild, f"v{i:02d}") for i in range(30)] * 2
    random.Random(7).shuffle(voters)

    results = await asyncio.gather(*(engine.cast_vote(v, msg, "👍") for v in voters),
                                   return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    statuses = sorted(r.status for r in results)  # type: ignore[union-attr]
    assert statuses == ["counted"] * 30 + ["duplicate"] * 30
    assert (await engine.entry(guild, entry_id)).votes == 30
    assert len(await select_all(db, Vote)) == 30
    # Every vote paid before the ledger and the standings are read, in two transactions
    # that background settlement could otherwise commit between.
    await engine.settle_all()
    await assert_ledger_consistent(db)
    assert (await engine.profile(member(guild, "alice"))).points == 85 + 30 * 2
    rows = await select_all(db, LedgerRow, LedgerRow.reason == "vote_cast")
    assert len(rows) == 30 and {r.delta for r in rows} == {5}


async def test_a_reaction_removed_right_after_it_was_added(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Add and remove arrive back to back, while other votes keep the writer busy: the
    removal applies after the addition, so the vote ends retracted, not counted."""
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    _, msg = await submit_and_post(engine, member(guild, "alice"), c.slug, "Entry")
    await open_voting(engine, clock)
    fickle = [member(guild, f"f{i:02d}") for i in range(8)]
    busy = [engine.cast_vote(member(guild, f"b{i:02d}"), msg, "👍") for i in range(8)]
    flips = [call for f in fickle
             for call in (engine.cast_vote(f, msg, "👍"), engine.retract_vote(f, msg, "👍"))]

    results = await asyncio.gather(*busy, *flips, return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    statuses = [r.status for r in results[len(busy):]]  # type: ignore[union-attr]
    assert statuses == ["counted", "retracted"] * len(fickle)
    voters = {v.voter_id for v in await select_all(db, Vote)}
    assert len(voters) == len(busy)
    await engine.settle_all()  # as above: nothing paid between the two reads
    await assert_ledger_consistent(db)


async def test_members_voting_for_each_other_at_once(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Everyone votes for everyone else simultaneously: crossing locks, no deadlock."""
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    names = [f"p{i}" for i in range(6)]
    msgs = {n: (await submit_and_post(engine, member(guild, n), c.slug, n))[1] for n in names}
    await open_voting(engine, clock)
    votes = [(voter, author) for voter in names for author in names if voter != author]
    random.Random(11).shuffle(votes)

    results = await asyncio.gather(
        *(engine.cast_vote(member(guild, v), msgs[a], "👍") for v, a in votes),
        return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len(await select_all(db, Vote)) == len(votes) == 30
    await engine.settle_all()  # every vote paid, however slow the machine
    await assert_ledger_consistent(db)
    for name in names:
        assert (await engine.profile(member(guild, name))).points == 85 + 5 * 5 + 5 * 2


async def test_a_vote_racing_the_close_of_voting(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Reactions stamped a second before the deadline race the scheduler closing it: each
    vote is either in the results or refused, never stored after the tally."""
    engine = Engine(db, clock)
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    entry_id, msg = await submit_and_post(engine, member(guild, "alice"), c.slug, "Entry")
    await open_voting(engine, clock)
    deadline = clock.now() + timedelta(days=2) - timedelta(minutes=1)
    voters_engine = Engine(db, FixedClock(deadline - timedelta(seconds=1)))
    scheduler = Engine(db, FixedClock(deadline))
    calls = [voters_engine.cast_vote(member(guild, f"v{i:02d}"), msg, "👍") for i in range(24)]
    calls.insert(9, scheduler.due.run_due())

    results = await asyncio.gather(*calls, return_exceptions=True)

    assert not isinstance(results.pop(9), BaseException)
    unexpected = [r for r in results
                  if isinstance(r, BaseException) and not isinstance(r, WrongPhase)]
    assert unexpected == []
    counted = sum(1 for r in results if not isinstance(r, BaseException)
                  and r.status == "counted")
    placed = sum(p.score for p in await select_all(db, Placement))  # none without a vote
    (entry,) = await select_all(db, Entry, Entry.id == entry_id)
    assert placed == entry.votes == counted == len(await select_all(db, Vote))
    (challenge,) = await select_all(db, Challenge)
    assert challenge.phase == "completed"
    await assert_ledger_consistent(db)
    # a late reaction after the results changes nothing
    with pytest.raises(WrongPhase):
        await voters_engine.cast_vote(member(guild, "late"), msg, "👍")


async def test_two_schedulers_tally_once(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    engine = Engine(db, clock)
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    _, msg = await submit_and_post(engine, member(guild, "alice"), c.slug, "Entry")
    _, other = await submit_and_post(engine, member(guild, "bob"), c.slug, "Other")
    await open_voting(engine, clock)
    await engine.cast_vote(member(guild, "bob"), msg, "👍")
    await engine.cast_vote(member(guild, "alice"), other, "👍")
    clock.advance(timedelta(days=2))
    schedulers = [Engine(db, clock) for _ in range(4)]

    await asyncio.gather(*(s.due.run_due() for s in schedulers))

    assert len(await select_all(db, Placement)) == 2
    assert len(await select_all(db, LedgerRow, LedgerRow.reason == "placement")) == 2
    await assert_ledger_consistent(db)


async def test_simultaneous_submissions_respect_the_entry_limit(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock, max_entries=3)
    alice = member(guild, "alice")
    await engine.submit_entry(alice, c.slug, "warm-up")  # alice exists already

    results = await asyncio.gather(
        *(engine.submit_entry(alice, c.slug, f"E{i}") for i in range(6)),
        return_exceptions=True)

    assert sum(1 for r in results if not isinstance(r, BaseException)) == 2
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    assert len(await select_all(db, Entry)) == 3
    await assert_ledger_consistent(db)


async def test_submissions_racing_a_cancellation(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Each submission commits before the cancellation or is refused after it: none lands
    in a cancelled challenge."""
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    mod = member(guild, "mod", mod=True)
    calls = [engine.submit_entry(member(guild, f"s{i:02d}"), c.slug, f"E{i}")
             for i in range(12)]
    calls.insert(6, engine.cancel_challenge(mod, c.slug, "sponsor pulled out"))

    results = await asyncio.gather(*calls, return_exceptions=True)

    cancelled = results.pop(6)
    assert not isinstance(cancelled, BaseException)
    refused = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, WrongPhase) for r in refused), refused
    entries = await select_all(db, Entry)
    assert len(entries) == len(results) - len(refused)
    (cancel_post,) = await select_all(db, OutboxRow, OutboxRow.kind == "phase_cancelled")
    entry_posts = await select_all(db, OutboxRow, OutboxRow.kind == "entry")
    assert len(entry_posts) == len(entries)
    assert all(p.id < cancel_post.id for p in entry_posts)
    await assert_ledger_consistent(db)


async def test_simultaneous_deductions_never_go_below_zero(
    engine: Engine, db: Database, guild: CommunityRef
) -> None:
    await setup_community(engine, guild)
    mod, alice = member(guild, "mod", mod=True), member(guild, "alice")
    await engine.award_points(mod, alice, 30, "start")

    results = await asyncio.gather(
        *(engine.award_points(mod, alice, -20, f"penalty {i}") for i in range(4)),
        return_exceptions=True)

    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    assert all(isinstance(r, InvalidInput) for r in results if isinstance(r, BaseException))
    assert (await engine.profile(alice)).points == 10
    await assert_ledger_consistent(db)


async def test_simultaneous_joins_pay_once(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock)
    alice = member(guild, "alice")

    results = await asyncio.gather(*(engine.join(alice, g.slug) for _ in range(5)),
                                   return_exceptions=True)

    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    assert [r.delta for r in await select_all(db, LedgerRow)] == [10]
    await assert_ledger_consistent(db)


async def test_simultaneous_progress_logs_all_count(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock, goal=100, team_mode="community")
    people = [member(guild, f"r{i}") for i in range(6)]
    for p in people:
        await engine.join(p, g.slug)

    await asyncio.gather(*(engine.log_progress(p, g.slug, 10) for p in people for _ in range(3)))

    standings = await engine.standings(guild, g.slug)
    assert sum(r.points for r in standings.rows) == 180
    finishers = await select_all(db, LedgerRow, LedgerRow.reason == "goal_reached")
    assert len(finishers) == 6
    await assert_ledger_consistent(db)


async def test_simultaneous_votes_by_one_member_respect_the_daily_cap(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    await engine.set_point_rule(member(guild, "mod", mod=True), "vote_cast_daily_cap", 3)
    c = await submission_challenge(engine, guild, clock)
    msgs = [(await submit_and_post(engine, member(guild, f"a{i}"), c.slug, f"E{i}"))[1]
            for i in range(8)]
    await open_voting(engine, clock)
    bob = member(guild, "bob")
    await engine.profile(bob)

    results = await asyncio.gather(*(engine.cast_vote(bob, m, "👍") for m in msgs))

    assert [r.status for r in results] == ["counted"] * 8
    assert (await engine.profile(bob)).points == 15
    await assert_ledger_consistent(db)


async def _until_a_lock_wait(db: Database) -> None:
    """Until some session waits on a row lock. Each look is a transaction of its own: a
    transaction sees one snapshot of pg_stat_activity, however long it polls."""
    for _ in range(1000):
        async with db.engine.connect() as conn:
            if await conn.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the vote never waited for the disqualification's lock")


async def test_a_vote_waiting_on_a_disqualification_is_refused(
    pg_db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Another process disqualifies the entry between a batch's read of it and its count:
    the vote is refused, not counted for a disqualified entry."""
    engine = Engine(pg_db, clock)
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    entry_id, msg = await submit_and_post(engine, member(guild, "alice"), c.slug, "Copied")
    await open_voting(engine, clock)

    async with _disqualifying(pg_db, entry_id) as other:
        vote = asyncio.ensure_future(engine.cast_vote(member(guild, "bob"), msg, "👍"))
        await _until_a_lock_wait(pg_db)
        await other.commit()

    with pytest.raises(Forbidden, match="disqualified"):
        await vote
    assert (await engine.entry(guild, entry_id)).votes == 0
    assert await select_all(pg_db, Vote) == []
    await engine.close()


async def test_a_retraction_waiting_on_a_disqualification_takes_nothing_back(
    pg_db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """The disqualification reversed what the vote paid the author; a retraction that
    waited for it must not reverse it a second time."""
    engine = Engine(pg_db, clock)
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    entry_id, msg = await submit_and_post(engine, member(guild, "alice"), c.slug, "Copied")
    await open_voting(engine, clock)
    bob = member(guild, "bob")
    assert (await engine.cast_vote(bob, msg, "👍")).status == "counted"
    await engine.settler.close()

    async with _disqualifying(pg_db, entry_id) as other:
        retraction = asyncio.ensure_future(engine.retract_vote(bob, msg, "👍"))
        await _until_a_lock_wait(pg_db)
        await other.commit()

    assert (await retraction).status == "ignored"
    assert len(await select_all(pg_db, Vote)) == 1
    assert (await engine.entry(guild, entry_id)).votes == 1
    await engine.close()


@contextlib.asynccontextmanager
async def _disqualifying(db: Database, entry_id: int) -> AsyncIterator[AsyncConnection]:
    """Another process in the middle of disqualifying the entry, holding what
    `engine.entries.disqualify` holds; the caller commits it."""
    async with db.engine.connect() as other:
        await other.execute(text("SELECT id FROM entries WHERE id = :e FOR UPDATE"),
                            {"e": entry_id})
        await other.execute(text("SELECT votes FROM vote_counts WHERE entry_id = :e FOR UPDATE"),
                            {"e": entry_id})
        await other.execute(text("UPDATE entries SET disqualified_reason = 'copied' "
                                 "WHERE id = :e"), {"e": entry_id})
        yield other


async def test_votes_racing_a_disqualification_earn_the_author_nothing(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    engine = Engine(db, clock)
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    entry_id, msg = await submit_and_post(engine, member(guild, "alice"), c.slug, "Copied")
    await open_voting(engine, clock)
    await engine.cast_vote(member(guild, "early"), msg, "👍")
    moderators = Engine(db, clock)  # another process handles the moderator's command
    calls = [engine.cast_vote(member(guild, f"v{i}"), msg, "👍") for i in range(12)]
    calls.insert(4, moderators.disqualify_entry(member(guild, "mod", mod=True), entry_id,
                                                "copied"))

    results = await asyncio.gather(*calls, return_exceptions=True)

    unexpected = [r for r in results if isinstance(r, BaseException)
                  and "disqualified" not in str(r)]
    assert unexpected == []
    received = await select_all(db, LedgerRow, LedgerRow.reason == "vote_received")
    assert sum(r.delta for r in received) == 0
    await assert_ledger_consistent(db)


async def test_counts_are_locked_in_entry_order_whatever_the_plan(
    pg_db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Concurrent vote batches update the counts of the same entries: each must lock them
    in entry id order, or two batches deadlock. A plain `UPDATE … WHERE entry_id IN (…)`
    locks rows in the order its plan meets them (a scan of the table: where each row's
    latest version happens to lie), so the order is taken before the update."""
    engine = Engine(pg_db, clock)
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    first, _ = await submit_and_post(engine, member(guild, "alice"), c.slug, "One")
    second, _ = await submit_and_post(engine, member(guild, "bob"), c.slug, "Two")
    await engine.close()
    async with pg_db.engine.begin() as conn:  # the first entry's row now lies after the second's
        await conn.execute(text("UPDATE vote_counts SET votes = votes WHERE entry_id = :e"),
                           {"e": first})

    async with pg_db.engine.connect() as holder:
        await holder.execute(text("SELECT votes FROM vote_counts WHERE entry_id = :e "
                                  "FOR UPDATE"), {"e": second})
        async with pg_db.session() as session, session.begin():
            for plan in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
                await session.execute(text(f"SET LOCAL {plan} = off"))
            bump = asyncio.ensure_future(bump_counts(session, {first: 1, second: 1}))
            try:
                await _until_a_lock_wait(pg_db)
                # Waiting for the second entry's row, the batch holds the first's already.
                async with pg_db.engine.connect() as probe:
                    try:
                        await probe.execute(text("SELECT votes FROM vote_counts WHERE "
                                                 "entry_id = :e FOR UPDATE NOWAIT"),
                                            {"e": first})
                        first_was_free = True
                    except DBAPIError as exc:
                        assert "could not obtain lock" in str(exc)
                        first_was_free = False
            finally:
                await holder.rollback()
                counts = await bump
    assert not first_was_free
    assert counts == {first: 1, second: 1}
