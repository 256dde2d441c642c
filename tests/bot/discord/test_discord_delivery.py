"""Announcements from the outbox to Discord: rate limits, lost answers, nonces, refused
channels, direct messages, and an earlier attempt's message found after the nonce window."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.delivery import window_after
from bot.discord.render import render
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


async def test_a_lost_answer_after_the_nonce_window_is_found_not_posted_again(
        world: DiscordWorld) -> None:
    # Discord keeps a nonce only for a few minutes: here the restart came later.
    world.fake.nonce_window = 0
    await create_challenge(world)
    world.fake.fail_next(1, status=503, after_handler=True)  # stored, answer lost

    await world.deliver()
    row = (await outbox(world))[0]
    assert row.status == "pending" and row.post_started_at is not None
    world.clock.advance(timedelta(minutes=1))
    await world.deliver()

    assert [t.count("New challenge: Dreamscapes") for t in announced(world)] == [1]
    assert len(world.fake.requests_to("POST", POSTS)) == 1  # looked up, not re-posted
    row = (await outbox(world))[0]
    [message] = world.fake.messages_in(world.fake.seed.general_channel_id)
    assert (row.status, row.message_id) == ("sent", message["id"])


async def test_an_earlier_post_is_recognised_by_author_time_and_content(
        world: DiscordWorld) -> None:
    platform = world.running.platform
    guild, channel = str(world.guild_id), str(world.fake.seed.challenges_channel_id)
    started = datetime.now(UTC)
    entry = Card(title="Night garden", text="by alice", react_with="👍")
    other = Card(title="Night garden", text="by bob", react_with="👍")
    first = await platform.post(guild, channel, entry, nonce="laurels-7")
    await platform.post(guild, channel, other, nonce="laurels-8")
    # A member's message that looks just like a card the bot might post.
    lookalike = Card(title="Sunrise", text="by carol")
    world.fake.add_message(int(channel), "", author_id=world.users["alice"],
                           embeds=[render(lookalike).embed.to_dict()])
    # The earlier attempt died before adding the vote emoji.
    await world.client.http.remove_own_reaction(int(channel), int(first.message_id), "👍")
    assert world.fake.bot_id not in world.fake.reaction_users(int(first.message_id), "👍")

    window = window_after(started)
    found = await platform.find_posted(guild, channel, entry, nonce="laurels-7", window=window)
    assert found == first
    assert world.fake.bot_id in world.fake.reaction_users(int(first.message_id), "👍")
    # Different content, another author, or a window before it was posted: not it.
    assert await platform.find_posted(guild, channel, Card(title="Night garden"),
                                      nonce="laurels-9", window=window) is None
    assert await platform.find_posted(guild, channel, lookalike, nonce="laurels-10",
                                      window=window) is None  # not the bot's
    earlier = window_after(started - timedelta(hours=1))
    assert await platform.find_posted(guild, channel, entry, nonce="laurels-7",
                                      window=earlier) is None


async def test_an_earlier_direct_message_is_found(world: DiscordWorld) -> None:
    platform = world.running.platform
    guild, bob = str(world.guild_id), str(world.users["bob"])
    started = datetime.now(UTC)
    card = Card(title="Entry #1 disqualified", text="Off topic")
    sent = await platform.send_direct(guild, bob, card, nonce="laurels-4")
    assert sent is not None
    found = await platform.find_direct(guild, bob, card, nonce="laurels-4",
                                       window=window_after(started))
    assert found == sent
