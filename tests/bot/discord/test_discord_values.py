"""Values Discord delivers that used to raise instead of getting an answer (issue 16):
ids past 64 bits and digits of other scripts in text options, integers and numbers out
of range, lone surrogates (JSON escapes) and bidi controls in text and display names."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.discord.app import DiscordConfigError, guild_ids
from storage.tables import Member
from tests.bot.discord.harness import DiscordWorld

SORRY = "Something went wrong"


async def _goal(world: DiscordWorld) -> None:
    await world.command("mod", "challenge create", {"kind": "goal", "name": "Miles",
                                                     "goal": 100, "unit": "km"})


async def test_ids_that_cannot_be_ids_get_a_clear_answer(world: DiscordWorld) -> None:
    await _goal(world)
    said = await world.command("mod", "challenge feature", {"entry": "#9999999999999999999"})
    assert "too large to be an entry number" in said.text and SORRY not in said.text
    said = await world.command("alice", "challenge info", {"challenge": "#²"})
    assert "with the digits 0-9" in said.text
    said = await world.command("alice", "badge showcase", {"badge1": "١"})
    assert "with the digits 0-9" in said.text


async def test_integers_and_numbers_out_of_range_get_a_clear_answer(world: DiscordWorld) -> None:
    await _goal(world)
    said = await world.command("alice", "leaderboard", {"page": 10**20})
    assert "page must be between 1 and 100000" in said.text and SORRY not in said.text
    said = await world.command("alice", "challenge log", {"challenge": "miles",
                                                           "amount": float("nan")})
    assert "amount must be a number" in said.text
    said = await world.command("alice", "challenge log", {"challenge": "miles",
                                                           "amount": float("inf")})
    assert "amount must be a number" in said.text
    said = await world.command("alice", "challenge log", {"challenge": "miles",
                                                           "amount": 5_000_000})
    assert "amount must be between" in said.text


async def test_lone_surrogates_and_bidi_controls_in_text_are_cleaned(world: DiscordWorld
                                                                     ) -> None:
    await _goal(world)
    said = await world.command("alice", "challenge info", {"challenge": "mi\ud800les"})
    assert "Miles" in said.text and SORRY not in said.text
    said = await world.command("mod", "challenge create", {
        "kind": "goal", "name": "\u202eSteps\ud800 up", "goal": 5, "unit": "km"})
    assert "Created Steps up" in said.text
    choices = await world.autocomplete("alice", "challenge info",
                                       {"challenge": "st\ud800"}, focused="challenge")
    assert [c["value"] for c in choices] == ["steps-up"]


async def test_entry_autocomplete_answers_whatever_is_typed(world: DiscordWorld) -> None:
    for typed in ("99999999999999999999", "²", "#\ud800"):
        assert await world.autocomplete("mod", "challenge feature", {"entry": typed},
                                        focused="entry") == []


async def test_display_names_with_surrogates_and_bidi_controls_are_stored_clean(
        world: DiscordWorld) -> None:
    await _goal(world)
    eve = world.fake.add_user("eve", global_name="\u202eEve\u202c the\ud800 great")
    world.fake.add_member(world.fake.seed.guild_id, int(eve["id"]))
    world.users["eve"] = int(eve["id"])
    said = await world.command("eve", "challenge join", {"challenge": "miles"})
    assert "You joined **Miles**" in said.text
    async with world.engine.db.session() as session:
        name = await session.scalar(select(Member.display_name).where(
            Member.external_id == eve["id"]))
    assert name == "Eve the great"


def test_server_ids_in_the_settings_are_read_by_the_id_parser() -> None:
    assert guild_ids("123, 456") == [123, 456]
    for bad in ("²", "99999999999999999999", "١٢"):
        with pytest.raises(DiscordConfigError, match="is not a server id"):
            guild_ids(f"123,{bad}")
