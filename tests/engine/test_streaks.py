"""Daily streaks: consecutive community-local days with an entry, a vote or a progress log."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from storage.db import Database
from tests.conftest import member
from tests.engine.helpers import goal_challenge, outbox_rows, setup_community

LA = ZoneInfo("America/Los_Angeles")


async def _streak(engine: Engine, who: MemberRef) -> tuple[int, int]:
    profile = await engine.profile(who)
    return profile.streak, profile.longest_streak


async def _log_on_days(engine: Engine, clock: FixedClock, who: MemberRef, slug: str,
                       days: int) -> None:
    for _ in range(days):
        await engine.log_progress(who, slug, 1)
        clock.advance(timedelta(days=1))


async def test_consecutive_days_build_a_streak_and_a_gap_resets_it(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock, goal=1000, days=60)
    alice = member(guild, "alice")
    await engine.join(alice, g.slug)

    await engine.log_progress(alice, g.slug, 1)
    await engine.log_progress(alice, g.slug, 1)  # twice on one day counts once
    assert await _streak(engine, alice) == (1, 1)
    clock.advance(timedelta(days=1))
    await _log_on_days(engine, clock, alice, g.slug, 3)
    assert await _streak(engine, alice) == (4, 4)

    clock.advance(timedelta(days=1))  # a day without taking part
    await engine.log_progress(alice, g.slug, 1)
    assert await _streak(engine, alice) == (1, 4)  # the longest is kept


async def test_streak_shows_zero_once_a_day_is_missed(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock, goal=1000)
    alice = member(guild, "alice")
    await engine.join(alice, g.slug)
    await _log_on_days(engine, clock, alice, g.slug, 2)
    assert await _streak(engine, alice) == (2, 2)  # yesterday counted: today still can
    clock.advance(timedelta(days=1))
    assert await _streak(engine, alice) == (0, 2)


async def test_seven_day_milestone_is_announced_once(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    g = await goal_challenge(engine, guild, clock, goal=1000, days=60)
    alice = member(guild, "alice")
    await engine.join(alice, g.slug)
    await _log_on_days(engine, clock, alice, g.slug, 6)
    assert await outbox_rows(db, "streak") == []

    await engine.log_progress(alice, g.slug, 1)
    await engine.log_progress(alice, g.slug, 1)

    (post,) = await outbox_rows(db, "streak")
    assert post.body["title"] == "🔥 7-day streak!"
    assert post.body["text"] == "Alice has taken part 7 days in a row."
    unlocked = {p.definition.key for p in await engine.achievements(alice) if p.unlocked}
    assert "streak_7" in unlocked
    clock.advance(timedelta(days=1))
    await _log_on_days(engine, clock, alice, g.slug, 6)  # days 8..13: no milestone
    assert len(await outbox_rows(db, "streak")) == 1
    await engine.log_progress(alice, g.slug, 1)  # day 14
    assert [r.body["title"] for r in await outbox_rows(db, "streak")][-1] == "🔥 14-day streak!"


async def test_days_are_community_local_not_utc(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    """In Los Angeles 23:30 and 00:30 the next night are two days, though both fall on
    the same UTC date; 15:30 and 16:30 one afternoon are one day, though UTC midnight
    falls between them."""
    await setup_community(engine, guild, tz="America/Los_Angeles")
    g = await goal_challenge(engine, guild, clock, goal=1000)
    night, afternoon = member(guild, "night"), member(guild, "afternoon")
    await engine.join(night, g.slug)
    await engine.join(afternoon, g.slug)

    late = clock.set(datetime(2026, 3, 3, 23, 30, tzinfo=LA))
    await engine.log_progress(night, g.slug, 1)
    early = clock.set(datetime(2026, 3, 4, 0, 30, tzinfo=LA))
    await engine.log_progress(night, g.slug, 1)
    assert late.date() == early.date()  # one UTC date...
    assert await _streak(engine, night) == (2, 2)  # ...two local days

    before = clock.set(datetime(2026, 3, 4, 15, 30, tzinfo=LA))
    await engine.log_progress(afternoon, g.slug, 1)
    after = clock.set(datetime(2026, 3, 4, 16, 30, tzinfo=LA))
    await engine.log_progress(afternoon, g.slug, 1)
    assert before.date() != after.date()  # two UTC dates...
    assert await _streak(engine, afternoon) == (1, 1)  # ...one local day

    # a recompute from history agrees with the streaks kept as they happened
    await engine.recompute(guild)
    assert await _streak(engine, night) == (2, 2)
    assert await _streak(engine, afternoon) == (1, 1)
