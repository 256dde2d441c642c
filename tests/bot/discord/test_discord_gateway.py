"""Gateway trouble mid-challenge: a dropped connection, a RECONNECT (op 7), events replayed
after the resume. No vote is lost and none is counted twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from engine.clock import FixedClock
from engine.service import Engine
from tests.bot.discord import payloads
from tests.bot.discord.fake_discord import FakeDiscord
from tests.bot.discord.harness import STEP, DiscordWorld, discord_world


@pytest.fixture
async def world(fake: FakeDiscord, engine: Engine, clock: FixedClock
                ) -> AsyncIterator[DiscordWorld]:
    async with discord_world(fake, engine, clock) as w:
        await w.command("mod", "challenge create", {
            "kind": "submission", "name": "Dreamscapes", "submissions": "1d", "voting": "1d"})
        for name, title in (("alice", "Night garden"), ("bob", "Cloud harbour")):
            await w.command(name, "challenge submit", {"challenge": "dreamscapes",
                                                        "title": title})
        await w.deliver()
        await w.advance(timedelta(days=1))  # voting is open
        yield w


def entry_ids(world: DiscordWorld) -> tuple[int, int]:
    found = {e.get("title"): int(m["id"]) for m in world.fake.messages_in(
        world.fake.seed.general_channel_id) for e in m.get("embeds") or []}
    return found["Night garden"], found["Cloud harbour"]


async def votes(world: DiscordWorld) -> tuple[int, int]:
    a = await world.engine.entry(world.community, 1)
    b = await world.engine.entry(world.community, 2)
    return a.votes, b.votes


async def test_votes_while_the_connection_is_down_arrive_after_the_resume(
        world: DiscordWorld) -> None:
    fake = world.fake
    night, harbour = entry_ids(world)
    await world.react("bob", night)

    carol, dave = world.users["carol"], world.users["dave"]
    arrived = [world.expect("raw_reaction_add",
                            lambda e, u=u: e.user_id == u) for u in (carol, dave)]
    async with fake.hold_reconnects():
        await fake.drop_connection()
        # Reactions while the bot is away: Discord keeps them for the resumed session.
        await fake.dispatch_reaction_add(message_id=night, user_id=carol)
        await fake.dispatch_reaction_add(message_id=harbour, user_id=dave)
    await fake.wait_for_resumed(timeout=STEP)
    await asyncio.gather(*arrived)
    await world.settle()

    assert await votes(world) == (2, 1)
    assert fake.identify_count == 1 and fake.sessions[0].resumes == 1
    # The bot is still fully there: a command works over the resumed session.
    said = await world.command("alice", "challenge info", {"challenge": "dreamscapes"})
    assert "Votes" in said.text


async def test_a_reconnect_request_mid_challenge_loses_nothing(world: DiscordWorld) -> None:
    fake = world.fake
    night, harbour = entry_ids(world)
    await world.react("carol", night)
    await fake.send_reconnect()
    await fake.wait_for_resumed(timeout=STEP)
    await world.react("dave", harbour)
    await world.react("dave", night)
    assert await votes(world) == (2, 1)
    assert fake.identify_count == 1


async def test_replayed_events_change_nothing(world: DiscordWorld) -> None:
    fake = world.fake
    night, _ = entry_ids(world)
    start = (await world.engine.profile(world.ref("carol"))).points
    await world.react("carol", night)
    before = (await world.engine.profile(world.ref("carol"))).points
    assert before > start

    # The same reaction delivered again (a replay overlapping what was handled).
    await world.react("carol", night)
    assert await votes(world) == (1, 0)
    assert (await world.engine.profile(world.ref("carol"))).points == before

    # A removal replayed after the vote is gone takes nothing more back.
    await world.react("carol", night, added=False)
    await world.react("carol", night, added=False)
    assert await votes(world) == (0, 0)
    assert (await world.engine.profile(world.ref("carol"))).points == start

    # An interaction seen twice is answered once.
    mark = fake.request_count
    record = await world.command("alice", "challenge list")
    again = world.expect("interaction", lambda i: i.id == record.record.id)
    await fake.dispatch("INTERACTION_CREATE", record.record.payload)
    await again
    await world.settle()
    callbacks = fake.requests_to("POST", f"/interactions/{record.record.id}/"
                                          f"{record.record.token}/callback", since=mark)
    assert len(callbacks) == 1


async def test_an_invalid_session_identifies_again_and_keeps_working(
        world: DiscordWorld) -> None:
    fake = world.fake
    night, _ = entry_ids(world)
    ready = world.expect("ready")
    await fake.send_invalid_session(resumable=False)
    await ready
    await world.settle()
    assert fake.identify_count == 2
    await world.react("dave", night)
    assert await votes(world) == (1, 0)
    assert payloads.GatewayOp.IDENTIFY in {f.op for f in fake.gateway_log if f.direction == "in"}


async def test_a_reaction_added_and_removed_at_once_leaves_no_vote(world: DiscordWorld
                                                                   ) -> None:
    fake = world.fake
    night, harbour = entry_ids(world)
    carol, dave = world.users["carol"], world.users["dave"]
    removed = [world.expect("raw_reaction_remove", lambda e, u=u: e.user_id == u)
               for u in (carol, dave)]
    # Each event runs as its own task; the removal must not overtake the addition.
    for uid, mid in ((carol, night), (dave, harbour)):
        await fake.dispatch_reaction_add(message_id=mid, user_id=uid)
        await fake.dispatch_reaction_remove(message_id=mid, user_id=uid)
    await asyncio.gather(*removed)
    await world.settle()
    assert await votes(world) == (0, 0)
