"""The "entered the top 10" announcement."""

from __future__ import annotations

from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from tests.conftest import member
from tests.engine.helpers import outbox_rows, setup_community


async def _seed(engine: Engine, guild: CommunityRef, count: int) -> None:
    """`count` members with 20, 25, 30... points: m00 is last (and joins the board last)."""
    mod = member(guild, "mod", mod=True)
    for i in reversed(range(count)):
        await engine.award_points(mod, member(guild, f"m{i:02}"), 20 + 5 * i, "seed")


async def test_rising_onto_the_first_page_is_announced_once(
    engine: Engine, guild: CommunityRef, db: Database
) -> None:
    await setup_community(engine, guild)
    await _seed(engine, guild, 11)
    assert await outbox_rows(db, "top10") == []

    mod = member(guild, "mod", mod=True)
    await engine.award_points(mod, member(guild, "m00"), 60, "great answer")  # 20 -> 80
    await engine.award_points(mod, member(guild, "m00"), 5, "again")  # already on top

    (row,) = await outbox_rows(db, "top10")
    assert row.body["title"] == "📈 M00 entered the top 10"
    assert row.body["text"] == "M00 is now #1 all time with 80 points."
    assert row.body["mention"] == "m00"


async def test_a_member_already_in_the_top_10_is_not_announced(
    engine: Engine, guild: CommunityRef, db: Database
) -> None:
    await setup_community(engine, guild)
    await _seed(engine, guild, 12)
    mod = member(guild, "mod", mod=True)
    # m02 is 10th with 30 points; rising to the top is no news of this kind.
    await engine.award_points(mod, member(guild, "m02"), 70, "help")

    assert await outbox_rows(db, "top10") == []


async def test_ties_at_tenth_place_count_as_the_first_page(
    engine: Engine, guild: CommunityRef, db: Database
) -> None:
    await setup_community(engine, guild)
    await _seed(engine, guild, 11)
    mod = member(guild, "mod", mod=True)
    # m00 (20) draws level with the 10th (m01, 25): competition rank 10.
    await engine.award_points(mod, member(guild, "m00"), 5, "tie")

    (row,) = await outbox_rows(db, "top10")
    assert row.body["text"] == "M00 is now #10 all time with 25 points."


async def test_a_small_board_announces_nothing(
    engine: Engine, guild: CommunityRef, db: Database
) -> None:
    await setup_community(engine, guild)
    await _seed(engine, guild, 10)
    await engine.award_points(member(guild, "mod", mod=True), member(guild, "m00"), 60, "x")

    assert await outbox_rows(db, "top10") == []


async def test_a_deduction_announces_nothing(
    engine: Engine, guild: CommunityRef, db: Database
) -> None:
    await setup_community(engine, guild)
    await _seed(engine, guild, 12)
    mod = member(guild, "mod", mod=True)
    # m11 falls to the bottom, m01 moves up to 10th without earning anything: no news.
    await engine.award_points(mod, member(guild, "m11"), -70, "spam")

    assert await outbox_rows(db, "top10") == []
