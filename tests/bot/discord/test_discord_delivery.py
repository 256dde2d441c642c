"""Announcements from the outbox to Discord: rate limits, lost answers, nonces, refused
channels, direct messages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.platform import DeliveryError
from engine.messages import Card
from storage.tables import OutboxRow
from tests.bot.discord.harness import DiscordWorld, message_text

POSTS = re.compile(r"/channels/\d+/messages")


async def outbox(world: DiscordWorld) -> list[OutboxRow]:
    async with world.engine.db.session() as session:
        return list((await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def create_challenge(world: DiscordWorld) -> None:
    await world.command("mod", "challenge create", {"kind": "submission",
                                                     "name": "Dreamscapes"})


def announced(world: DiscordWorld) -> list[str]:
    return world.posted(world.fake.seed.general_channel_id)


async def test_a_short_rate_limit_is_waited_out_and_posts_once(world: DiscordWorld) -> None:
    await create_challenge(world)
    world.fake.rate_limit_message_posts(2, retry_after=0.05)

    await world.deliver()

    posts = world.fake.requests_to("POST", POSTS)
    assert [p.status for p in posts] == [429, 429, 200]
    assert len({p.json["nonce"] for p in posts}) == 1 and posts[0].json["enforce_nonce"]
    assert [t.count("New challenge: Dreamscapes") for t in announced(world)] == [1]
    row = (await outbox(world))[0]
    assert row.status == "sent" and row.message_id == posts[-1].response["id"]


async def test_a_long_rate_limit_delays_the_announcement_without_losing_it(
        world: DiscordWorld) -> None:
    await create_challenge(world)
    world.fake.rate_limit_message_posts(1, retry_after=120)

    await world.deliver()  # Discord says "in two minutes": the worker is not held up

    assert announced(world) == []
    row = (await outbox(world))[0]
    assert row.status == "pending" and "rate limit" in (row.last_error or "")
    world.clock.advance(timedelta(seconds=60))
    assert await world.deliver() == 0  # not yet

    world.clock.advance(timedelta(seconds=61))
    await world.deliver()
    assert [t.count("New challenge: Dreamscapes") for t in announced(world)] == [1]
    assert [p.status for p in world.fake.requests_to("POST", POSTS)] == [429, 200]
    assert (await outbox(world))[0].status == "sent"


async def test_a_lost_answer_is_retried_with_the_same_nonce_and_posts_once(
        world: DiscordWorld) -> None:
    await create_challenge(world)
    world.fake.fail_next(1, status=502, after_handler=True)  # stored, answer lost

    await world.deliver()

    posts = world.fake.requests_to("POST", POSTS)
    assert [p.status for p in posts] == [502, 200]
    assert posts[0].json["nonce"] == posts[1].json["nonce"]
    assert str(posts[0].json["nonce"]).startswith("laurels-")
    assert world.fake.deduplicated_sends == 1
    assert len(announced(world)) == 1


async def test_the_same_nonce_is_never_posted_twice(world: DiscordWorld) -> None:
    platform = world.running.platform
    guild, channel = str(world.guild_id), str(world.fake.seed.challenges_channel_id)
    card = Card(title="Weekly digest", text="Hello")
    first = await platform.post(guild, channel, card, nonce="laurels-7")
    again = await platform.post(guild, channel, card, nonce="laurels-7")
    assert first == again
    assert len(world.fake.messages_in(world.fake.seed.challenges_channel_id)) == 1


async def test_a_channel_without_access_parks_the_announcement(world: DiscordWorld) -> None:
    await create_challenge(world)
    world.fake.fail_next(1, status=403, code=50013, message="Missing Permissions")
    await world.deliver()
    row = (await outbox(world))[0]
    assert row.status == "parked" and "403 50013" in (row.last_error or "")
    said = await world.command("mod", "settings show")
    assert "1 parked" in said.text


async def test_a_deleted_channel_is_permanent(world: DiscordWorld) -> None:
    platform = world.running.platform
    with pytest.raises(DeliveryError) as info:
        await platform.post(str(world.guild_id), "123456789012345678", Card(text="x"),
                            nonce="laurels-9")
    assert info.value.permanent and "404" in str(info.value)


@pytest.mark.parametrize("channel", ["general", "²", "99999999999999999999"])
async def test_a_channel_name_instead_of_an_id_is_permanent(world: DiscordWorld, channel: str
                                                            ) -> None:
    with pytest.raises(DeliveryError) as info:
        await world.running.platform.post(str(world.guild_id), channel, Card(text="x"),
                                          nonce="laurels-10")
    assert info.value.permanent and "not a Discord channel id" in str(info.value)


async def test_private_notices_go_by_direct_message(world: DiscordWorld) -> None:
    await create_challenge(world)
    await world.command("bob", "challenge submit", {"challenge": "dreamscapes",
                                                     "title": "Spam"})
    await world.command("mod", "challenge disqualify", {"entry": "#1", "reason": "Off topic"})
    await world.deliver()
    dm = world.fake.dm_channel_for(world.users["bob"])
    assert any("was disqualified: Off topic" in message_text(m)
               for m in world.fake.messages_in(int(dm["id"])))


async def test_closed_direct_messages_are_not_retried(world: DiscordWorld) -> None:
    world.fake.set_dms_closed(world.users["bob"])
    ref = await world.running.platform.send_direct(str(world.guild_id),
                                                   str(world.users["bob"]),
                                                   Card(text="hello"), nonce="laurels-3")
    assert ref is None
