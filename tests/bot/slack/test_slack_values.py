"""Values Slack delivers that used to raise instead of getting an answer (issue 16): ids
past 64 bits and digits of other scripts in command text, lone surrogates (JSON escapes)
and bidi controls in text and display names."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from engine.clock import FixedClock
from engine.service import Engine
from storage.tables import Member
from tests.bot.slack.harness import ADMIN, ALICE, SlackWorld, running_world

SORRY = "Something went wrong"
EVE = "U0EVE00001"


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch, engine: Engine, clock: FixedClock
                ) -> AsyncIterator[SlackWorld]:
    async with running_world(monkeypatch, engine, clock, "socket") as w:
        said = await w.command(ADMIN, "/challenge create goal Miles goal:100 unit:km")
        assert "Created Miles" in said.private_text
        yield w


async def test_ids_that_cannot_be_ids_get_a_clear_answer(world: SlackWorld) -> None:
    said = await world.command(ALICE, "/challenge info #99999999999999999999")
    assert "too large to be a challenge number" in said.private_text
    said = await world.command(ALICE, "/challenge info #²")
    assert "with the digits 0-9" in said.private_text
    said = await world.command(ALICE, "/leaderboard week ١٢")
    assert "page must be written with the digits 0-9" in said.private_text
    assert SORRY not in said.private_text


async def test_lone_surrogates_and_bidi_controls_in_text_are_cleaned(world: SlackWorld
                                                                     ) -> None:
    said = await world.command(ALICE, "/challenge info mi\ud800les")
    assert "Miles" in said.private_text and SORRY not in said.private_text
    said = await world.command(ADMIN, '/challenge create goal "\u202eSteps\ud800 up" goal:5')
    assert "Created Steps up" in said.private_text


async def test_display_names_with_surrogates_and_bidi_controls_are_stored_clean(
        world: SlackWorld) -> None:
    world.fake.add_user(EVE, name="eve", display_name="\u202eEve\u202c the\ud800 great")
    said = await world.command(EVE, "/challenge join miles")
    assert "You joined *Miles*" in said.private_text
    async with world.engine.db.session() as session:
        name = await session.scalar(select(Member.display_name).where(
            Member.external_id == EVE))
    assert name == "Eve the great"
