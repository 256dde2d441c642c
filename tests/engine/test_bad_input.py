"""A refused operation changes nothing: every table holds exactly what it held before."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.clock import FixedClock
from engine.errors import LaurelsError
from engine.refs import CommunityRef, MessageRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Base
from tests.conftest import member
from tests.engine.helpers import (
    goal_challenge,
    open_voting,
    setup_community,
    submission_challenge,
    submit_and_post,
)
from tests.engine.test_challenges import GOOD


async def table_snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    snapshot = {}
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            snapshot[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return snapshot


@dataclass
class World:
    engine: Engine
    guild: CommunityRef
    voting: str  # a challenge in its voting phase
    goal: str
    own_msg: MessageRef  # alice's entry
    dq_entry: int  # bob's disqualified entry
    dq_msg: MessageRef


@pytest.fixture
async def world(engine: Engine, guild: CommunityRef, clock: FixedClock) -> World:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    c = await submission_challenge(engine, guild, clock)
    g = await goal_challenge(engine, guild, clock, days=30)
    _, own = await submit_and_post(engine, member(guild, "alice"), c.slug, "Mine")
    dq, dq_msg = await submit_and_post(engine, member(guild, "bob"), c.slug, "Copied")
    await engine.disqualify_entry(mod, dq, "copied")
    await engine.join(member(guild, "alice"), g.slug)
    await engine.log_progress(member(guild, "alice"), g.slug, 4)
    await engine.award_badge(mod, member(guild, "alice"), "Helper", "helped")
    await open_voting(engine, clock)
    return World(engine, guild, c.slug, g.slug, own, dq, dq_msg)


def _refusals() -> dict[str, Callable[[World], Awaitable[object]]]:
    def m(w: World, name: str, mod: bool = False):  # type: ignore[no-untyped-def]
        return member(w.guild, name, mod=mod)

    return {
        "own entry vote": lambda w: w.engine.cast_vote(m(w, "alice"), w.own_msg, "👍"),
        "vote on a disqualified entry": lambda w: w.engine.cast_vote(m(w, "newcomer"),
                                                                     w.dq_msg, "👍"),
        "entry while voting": lambda w: w.engine.submit_entry(m(w, "newcomer"), w.voting,
                                                              "Late"),
        "entry to an unknown challenge": lambda w: w.engine.submit_entry(
            m(w, "newcomer"), "nightmares", "Lost"),
        "negative progress": lambda w: w.engine.log_progress(m(w, "alice"), w.goal, -3),
        "nan progress": lambda w: w.engine.log_progress(m(w, "alice"), w.goal, math.nan),
        "progress without joining": lambda w: w.engine.log_progress(m(w, "newcomer"),
                                                                    w.goal, 3),
        "joining twice": lambda w: w.engine.join(m(w, "alice"), w.goal),
        "deadlines out of order": lambda w: w.engine.create_challenge(m(w, "mod", True), replace(
            GOOD, voting_close_at=GOOD.submissions_close_at - timedelta(hours=1))),
        "non-http sponsor link": lambda w: w.engine.create_challenge(
            m(w, "mod", True), replace(GOOD, sponsor_url="javascript:alert(1)")),
        "member creating a challenge": lambda w: w.engine.create_challenge(m(w, "newcomer"),
                                                                           GOOD),
        "edit to a deadline in the past": lambda w: w.engine.edit_challenge(
            m(w, "mod", True), w.goal, ends_at=GOOD.starts_at),
        "member awarding points": lambda w: w.engine.award_points(m(w, "newcomer"),
                                                                  m(w, "alice"), 99, "me"),
        "deduction below zero": lambda w: w.engine.award_points(m(w, "mod", True),
                                                                m(w, "alice"), -10_000, "all"),
        "featuring a disqualified entry": lambda w: w.engine.feature_entry(m(w, "mod", True),
                                                                           w.dq_entry),
        "showcasing a badge one lacks": lambda w: w.engine.showcase(m(w, "newcomer"), [1]),
        "leaderboard page past the end": lambda w: w.engine.leaderboard(m(w, "newcomer"),
                                                                        page=7),
        "empty challenge pages": lambda w: w.engine.list_challenges(w.guild, page_size=0),
        "over-long channel id": lambda w: w.engine.set_channel(m(w, "mod", True), "entries",
                                                               "c" * 65),
        "over-long challenge channel": lambda w: w.engine.create_challenge(
            m(w, "mod", True), replace(GOOD, channel_id="c" * 65)),
        "over-long role name": lambda w: w.engine.set_moderator_role(m(w, "mod", True),
                                                                     "r" * 201),
        "unknown time zone": lambda w: w.engine.set_timezone(m(w, "mod", True), "Mars/Base"),
        "unknown point rule": lambda w: w.engine.set_point_rule(m(w, "mod", True), "bribe", 5),
    }


async def test_refused_operations_change_nothing(db: Database, world: World) -> None:
    """One world, many refusals (a parametrised world per case would only be slower)."""
    for operation, attempt in _refusals().items():
        before = await table_snapshot(db)

        with pytest.raises(LaurelsError) as refused:
            await attempt(world)

        assert refused.value.message and refused.value.code != "error", operation
        assert await table_snapshot(db) == before, operation


async def test_long_names_from_a_platform_are_kept_short(engine: Engine, world: World) -> None:
    """Platforms send what they send; a 300-character display name must not fail a vote."""
    long_name = member(world.guild, "longname")
    long_name = type(long_name)(world.guild, "longname", "N" * 300)
    result = await engine.cast_vote(long_name, world.own_msg, "👍")
    assert result.status == "counted"
    assert (await engine.profile(long_name)).name == "N" * 200
