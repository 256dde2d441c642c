"""A whole submission challenge on Discord: the real discord.py client started by
`start_discord`, FakeDiscord on loopback, the real delivery worker."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from engine.clock import FixedClock
from engine.service import Engine
from tests.bot.discord import payloads
from tests.bot.discord.fake_discord import FakeDiscord
from tests.bot.discord.harness import DiscordWorld, discord_world, message_text
from tests.bot.discord.payloads import Permissions


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        server.add_channel(server.seed.guild_id, "announcements")
        server.add_channel(server.seed.guild_id, "entries")
        yield server


def channel_id(fake: FakeDiscord, name: str) -> int:
    guild = fake.guilds[fake.seed.guild_id]
    return next(cid for cid, c in guild.channels.items() if c["name"] == name)


def entry_message(fake: FakeDiscord, title: str) -> int:
    return next(int(m["id"]) for ms in fake.messages.values() for m in ms.values()
                if any(e.get("title") == title for e in m.get("embeds") or []))


async def votes(world: DiscordWorld, entry_id: int) -> int:
    return (await world.engine.entry(world.community, entry_id)).votes


def dms_to(world: DiscordWorld, name: str) -> list[str]:
    dm = world.fake.dm_channel_for(world.users[name])
    return [message_text(m) for m in world.fake.messages_in(int(dm["id"]))]


async def points(world: DiscordWorld, name: str) -> int:
    return int((await world.engine.profile(world.ref(name))).points)


async def test_a_whole_submission_challenge(world: DiscordWorld) -> None:
    fake = world.fake
    announce, entries = channel_id(fake, "announcements"), channel_id(fake, "entries")

    # A moderator picks the channels and creates the challenge; members can't.
    said = await world.command("mod", "settings channel",
                               {"kind": "announcements", "channel": announce})
    assert f"Announcements go to <#{announce}>" in said.text and said.private
    await world.command("mod", "settings channel", {"kind": "entries", "channel": entries})
    refused = await world.command("bob", "challenge create",
                                  {"kind": "submission", "name": "Sneaky"})
    assert "Only moderators can do that: here, server managers (Manage Server)." in refused.text
    said = await world.command("mod", "challenge create", {
        "kind": "submission", "name": "Dreamscapes", "submissions": "2d", "voting": "1d",
        "prompt": "Paint the place you visit in dreams", "prize": "A framed print"})
    assert "Created Dreamscapes" in said.text and said.private and not said.public
    await world.deliver()
    [news] = fake.messages_in(announce)
    assert "New challenge: Dreamscapes" in message_text(news)
    assert [f["name"] for f in news["embeds"][0]["fields"]][:2] == ["Submit by", "Voting until"]

    # Alice uploads her entry, Bob gives an image link, Carol links to a picture.
    upload = {"id": "777", "filename": "garden.png", "size": 2048,
              "content_type": "image/png", "url": "https://cdn.example.com/garden.png"}
    said = await world.command("alice", "challenge submit",
                               {"challenge": "dreamscapes", "title": "Night garden",
                                "upload": 777}, resolved={"attachments": {"777": upload}})
    assert "Entry #1 “Night garden” is in!" in said.text
    await world.command("bob", "challenge submit", {
        "challenge": "dreamscapes", "title": "Cloud harbour",
        "image": "https://example.com/harbour.png"})
    await world.command("carol", "challenge submit",
                        {"challenge": "dreamscapes", "title": "Glass forest",
                         "link": "https://example.com/forest.JPG?w=800"})

    # Each entry is its own message in #entries, the vote emoji already under it.
    await world.deliver()
    posted = fake.messages_in(entries)
    assert [m["embeds"][0]["title"] for m in posted] == [
        "Night garden", "Cloud harbour", "Glass forest"]
    assert [m["embeds"][0]["image"]["url"] for m in posted] == [
        "https://cdn.example.com/garden.png", "https://example.com/harbour.png",
        "https://example.com/forest.JPG?w=800"]
    night, harbour, forest = (int(m["id"]) for m in posted)
    for mid in (night, harbour, forest):
        assert fake.reaction_users(mid, "👍") == [fake.bot_id]
    assert await votes(world, 1) == 0  # the bot's own reaction (echoed) is no vote

    # Too early: voting opens when submissions close. The reaction comes off and the
    # voter is told why in a DM.
    await world.react("dave", night)
    assert fake.reaction_users(night, "👍") == [fake.bot_id]
    assert "Voting on Dreamscapes opens in 2 days" in dms_to(world, "dave")[-1]

    await world.advance(timedelta(days=2))
    assert any("Voting is open: Dreamscapes" in t for t in world.posted(announce))

    # Votes, in the spellings Discord sends for the same emoji.
    await world.react("bob", night)
    await world.react("carol", night, "👍🏽")
    await world.react("dave", harbour)
    await world.react("dave", forest, "🔥")  # not the vote emoji: ignored
    assert (await votes(world, 1), await votes(world, 2), await votes(world, 3)) == (2, 1, 0)
    assert fake.reaction_users(forest, "🔥") == [world.users["dave"]]  # left alone

    # Other bots' reactions are no votes (and are not refused either).
    helper = int(fake.add_user("helper", bot=True)["id"])
    fake.add_member(fake.seed.guild_id, helper)
    world.users["helper"] = helper
    await world.react("helper", harbour)
    assert await votes(world, 2) == 1 and helper in fake.reaction_users(harbour, "👍")

    # A self-vote is refused: the reaction is removed and Alice is told by DM.
    await world.react("alice", night)
    assert world.users["alice"] not in fake.reaction_users(night, "👍")
    assert "You can't vote for your own entry." in dms_to(world, "alice")[-1]
    assert await votes(world, 1) == 2

    # Removing a reaction takes the vote back, and its points.
    before = await points(world, "dave")
    await world.react("dave", harbour, added=False)
    assert await votes(world, 2) == 0
    assert await points(world, "dave") < before

    # Voting closes: the results are posted in the announcements channel.
    await world.advance(timedelta(days=1))
    results = [t for t in world.posted(announce) if "Results: Dreamscapes" in t]
    assert len(results) == 1
    assert "Night garden" in results[0] and "2 votes" in results[0]

    # After the close a vote is refused, and nothing changes.
    await world.react("dave", forest)
    assert "Voting on Dreamscapes closed" in dms_to(world, "dave")[-1]
    assert await votes(world, 3) == 0


async def test_without_manage_messages_a_refused_reaction_stays(fake: FakeDiscord,
                                                                engine: Engine,
                                                                clock: FixedClock) -> None:
    bot_role = next(r for r in fake.guilds[fake.seed.guild_id].roles if r["managed"])
    bot_role["permissions"] = str(int(bot_role["permissions"])
                                  & ~int(Permissions.MANAGE_MESSAGES))
    async with discord_world(fake, engine, clock) as world:
        await world.command("mod", "challenge create", {"kind": "submission",
                                                         "name": "Dreamscapes"})
        await world.command("alice", "challenge submit",
                            {"challenge": "dreamscapes", "title": "Night garden"})
        await world.deliver()
        entry = entry_message(fake, "Night garden")
        deletes = len(fake.requests_to("DELETE"))
        await world.react("alice", entry)
        assert len(fake.requests_to("DELETE")) == deletes  # no attempt without the right
        assert world.users["alice"] in fake.reaction_users(entry, "👍")
        assert "Voting on Dreamscapes opens in 3 days" in dms_to(world, "alice")[-1]


async def test_a_voter_with_closed_direct_messages_just_loses_the_reaction(
        world: DiscordWorld) -> None:
    await world.command("mod", "challenge create", {"kind": "submission",
                                                     "name": "Dreamscapes"})
    await world.command("alice", "challenge submit",
                        {"challenge": "dreamscapes", "title": "Night garden"})
    await world.deliver()
    entry = entry_message(world.fake, "Night garden")
    world.fake.set_dms_closed(world.users["alice"])
    await world.react("alice", entry)
    assert world.fake.reaction_users(entry, "👍") == [world.fake.bot_id]
    assert dms_to(world, "alice") == []
    refused = world.fake.requests_to("POST", re.compile(r"/channels/\d+/messages"))[-1]
    assert refused.status == 403  # tried, and Discord said no: nothing more to do


async def test_a_custom_vote_emoji(fake: FakeDiscord, engine: Engine,
                                   clock: FixedClock) -> None:
    fake.guilds[fake.seed.guild_id].payload["emojis"].append(
        {"id": "4242", "name": "laurel", "roles": [], "require_colons": True,
         "managed": False, "animated": False, "available": True})
    async with discord_world(fake, engine, clock) as world:
        await world.command("mod", "challenge create", {
            "kind": "submission", "name": "Laurels", "emoji": "<:laurel:4242>",
            "submissions": "1d", "voting": "1d"})
        await world.command("alice", "challenge submit",
                            {"challenge": "laurels", "title": "Crown"})
        await world.deliver()
        entry = entry_message(fake, "Crown")
        assert fake.reaction_users(entry, "laurel:4242") == [fake.bot_id]
        await world.advance(timedelta(days=1))
        await world.react("bob", entry, payloads.emoji("laurel", 4242))
        await world.react("carol", entry, "👍")  # not this challenge's emoji
        assert await votes(world, 1) == 1


async def test_a_new_server_gets_a_community_and_a_welcome(world: DiscordWorld) -> None:
    fake = world.fake
    joined = world.expect("guild_join")
    state = await fake.join_guild("Second Community", channels=("lobby", "art"),
                                  member_ids=[fake.seed.alice_id])
    await joined
    await world.settle()
    lobby = state.text_channel_ids()[0]
    [welcome] = fake.messages_in(lobby)
    text = message_text(welcome)
    assert f"<@{fake.owner_user['id']}>, thanks for adding Laurels" in text
    assert "/settings channel kind:announcements" in text
    community = await world.engine.community(
        world.community.__class__("discord", str(state.id)))
    assert community.name == "Second Community" and community.announce_channel == str(lobby)


async def test_a_server_that_added_the_bot_while_it_was_offline_is_welcomed_once(
        fake: FakeDiscord, engine: Engine, clock: FixedClock) -> None:
    general = fake.seed.general_channel_id
    async with discord_world(fake, engine, clock, known_server=False):
        [welcome] = fake.messages_in(general)
        assert "thanks for adding Laurels" in message_text(welcome)
    async with discord_world(fake, engine, clock, known_server=False):  # a restart
        assert len(fake.messages_in(general)) == 1
