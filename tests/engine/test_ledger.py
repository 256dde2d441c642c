"""The points ledger: moderators' awards, idempotency, balances, standings rebuilt from it."""

from __future__ import annotations

from collections import defaultdict

import pytest

from engine.clock import FixedClock
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.ledger import rebuild_standings
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.tables import LedgerRow, Member, Standing
from tests.conftest import member
from tests.engine.helpers import (
    goal_challenge,
    ledger_of,
    open_voting,
    row_counts,
    select_all,
    setup_community,
    submission_challenge,
    submit_and_post,
)


async def test_moderator_award_and_deduction_record_who_and_why(
    engine: Engine, db: Database, guild: CommunityRef
) -> None:
    await setup_community(engine, guild)
    mod, alice = member(guild, "mod", mod=True), member(guild, "alice")

    award = await engine.award_points(mod, alice, 120, "ran the workshop")
    deduction = await engine.award_points(mod, alice, -20, "spam in #general")

    assert (award.delta, award.balance_after, award.reason, award.note, award.awarded_by) == \
        (120, 120, "award", "ran the workshop", "Mod")
    assert (deduction.delta, deduction.balance_after, deduction.reason, deduction.note) == \
        (-20, 100, "deduction", "spam in #general")
    history = await engine.points_history(alice)
    assert [(h.delta, h.awarded_by, h.note) for h in history] == [
        (-20, "Mod", "spam in #general"), (120, "Mod", "ran the workshop")]
    (mod_row,) = await select_all(db, Member, Member.external_id == "mod")
    assert {r.awarded_by for r in await ledger_of(db, "alice")} == {mod_row.id}


async def test_deduction_below_zero_is_refused(engine: Engine, db: Database,
                                               guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    mod, alice = member(guild, "mod", mod=True), member(guild, "alice")
    await engine.award_points(mod, alice, 30, "welcome")
    before = await row_counts(db)

    with pytest.raises(InvalidInput, match="has only 30 points; you can deduct at most 30"):
        await engine.award_points(mod, alice, -31, "too much")

    assert await row_counts(db) == before
    assert (await engine.award_points(mod, alice, -30, "all of it")).balance_after == 0


async def test_members_cannot_award_points(engine: Engine, db: Database,
                                           guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    before = await row_counts(db)
    with pytest.raises(Forbidden, match="Only moderators"):
        await engine.award_points(member(guild, "bob"), member(guild, "bob"), 1000, "me!")
    assert await row_counts(db) == before


async def test_moderator_role_holders_may_award(engine: Engine, guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    await engine.set_moderator_role(member(guild, "admin", mod=True), "Stewards")
    steward = member(guild, "sam")
    steward = type(steward)(guild, "sam", "Sam", roles=frozenset({"Stewards"}))
    line = await engine.award_points(steward, member(guild, "alice"), 5, "kindness")
    assert line.awarded_by == "Sam"


async def test_same_idempotency_key_pays_once(engine: Engine, db: Database,
                                              guild: CommunityRef) -> None:
    await setup_community(engine, guild)
    mod, alice = member(guild, "mod", mod=True), member(guild, "alice")
    await engine.award_points(mod, alice, 50, "event prize", key="slack:Ev123")

    with pytest.raises(Conflict, match="already recorded"):
        await engine.award_points(mod, alice, 50, "event prize", key="slack:Ev123")

    assert [r.delta for r in await ledger_of(db, "alice")] == [50]
    assert (await engine.profile(alice)).points == 50


async def test_two_awards_without_a_key_both_pay(
    engine: Engine, guild: CommunityRef
) -> None:
    """Two deliberate, identical awards in the same instant are two awards."""
    await setup_community(engine, guild)
    mod, alice = member(guild, "mod", mod=True), member(guild, "alice")
    await engine.award_points(mod, alice, 10, "helped a newcomer")
    await engine.award_points(mod, alice, 10, "helped a newcomer")
    assert (await engine.profile(alice)).points == 20


@pytest.mark.parametrize(("amount", "reason", "message"), [
    (0, "nothing", "between 1 and"),
    (100_001, "too generous", "between 1 and"),
    (10, "   ", "Give a reason"),
    (10, "x" * 301, "too long"),
])
async def test_bad_awards_are_refused(engine: Engine, db: Database, guild: CommunityRef,
                                      amount: int, reason: str, message: str) -> None:
    await setup_community(engine, guild)
    before = await row_counts(db)
    with pytest.raises(InvalidInput, match=message):
        await engine.award_points(member(guild, "mod", mod=True), member(guild, "alice"),
                                  amount, reason)
    assert await row_counts(db) == before


async def test_bots_take_no_part(engine: Engine, db: Database, guild: CommunityRef,
                                 clock: FixedClock) -> None:
    """A bot account submits nothing, joins nothing, logs nothing, is paid nothing and is
    given no badge: it never reaches a board."""
    await setup_community(engine, guild)
    mod, robo = member(guild, "mod", mod=True), member(guild, "robo", bot=True)
    c = await submission_challenge(engine, guild, clock)
    g = await goal_challenge(engine, guild, clock)
    before = await row_counts(db)
    for attempt in (
        engine.submit_entry(robo, c.slug, "Beep"),
        engine.join(robo, g.slug),
        engine.log_progress(robo, g.slug, 5),
        engine.award_points(mod, robo, 10, "beep"),
        engine.award_badge(mod, robo, "Helper", "beep"),
    ):
        with pytest.raises(Forbidden, match="bots don't take part"):
            await attempt
    assert await row_counts(db) == before
    assert (await engine.leaderboard(mod)).rows == []


async def _busy_history(engine: Engine, guild: CommunityRef, clock: FixedClock) -> None:
    """Entries, votes, a retraction, a disqualification, awards, results."""
    mod = member(guild, "mod", mod=True)
    c = await submission_challenge(engine, guild, clock)
    posted = {name: await submit_and_post(engine, member(guild, name), c.slug, name)
              for name in ("ann", "bo", "cat")}
    await open_voting(engine, clock)
    for voter in ("bo", "cat", "dan", "eli"):
        await engine.cast_vote(member(guild, voter), posted["ann"][1], "👍")
    await engine.cast_vote(member(guild, "ann"), posted["bo"][1], "👍")
    await engine.retract_vote(member(guild, "eli"), posted["ann"][1], "👍")
    await engine.disqualify_entry(mod, posted["cat"][0], "plagiarism")
    await engine.award_points(mod, member(guild, "dan"), 70, "moderating")
    await engine.award_points(mod, member(guild, "dan"), -15, "late")
    await engine.advance_challenge(mod, c.slug)


async def test_balance_after_chains_through_every_row(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    await _busy_history(engine, guild, clock)

    rows = await select_all(db, LedgerRow, order_by=LedgerRow.id)
    running: dict[int, int] = defaultdict(int)
    for row in rows:
        running[row.member_id] += row.delta
        assert row.balance_after == running[row.member_id], row.idempotency_key
    standings = {s.member_id: s.points for s in await select_all(
        db, Standing, Standing.period == "all")}
    assert standings == dict(running)
    assert len({r.idempotency_key for r in rows}) == len(rows)
    assert all(r.balance_after >= 0 for r in rows)


async def test_rebuilt_standings_equal_the_incremental_ones(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    await _busy_history(engine, guild, clock)

    def table(rows):  # type: ignore[no-untyped-def]
        return sorted((s.period, s.member_id, s.points) for s in rows)

    incremental = table(await select_all(db, Standing))
    written = await engine.uow.write(guild, rebuild_standings)

    assert table(await select_all(db, Standing)) == incremental
    assert written == len(incremental)
