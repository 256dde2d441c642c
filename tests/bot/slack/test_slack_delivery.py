"""Announcements from the outbox to Slack: rate limits, refused images, direct messages,
permanent failures, several workspaces served by one process, and an earlier attempt's
message found in the history instead of being posted twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.delivery import window_after
from bot.platform import DeliveryError
from bot.slack import platform as slack_platform
from bot.slack.platform import (
    METADATA_EVENT,
    SingleTokenClients,
    SlackPlatform,
    reaction_name,
    slack_ts,
)
from engine.clock import FixedClock
from engine.messages import Card
from engine.refs import CommunityRef
from engine.service import Engine
from storage.tables import OutboxRow
from tests.bot.slack.fake_slack import FakeSlack, clear_proxy_env
from tests.bot.slack.harness import (
    ADMIN,
    ALICE,
    ANNOUNCE,
    BOB,
    ENTRIES,
    SlackWorld,
    block_text,
    running_world,
)


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch, engine: Engine, clock: FixedClock
                ) -> AsyncIterator[SlackWorld]:
    async with running_world(monkeypatch, engine, clock, channels=True) as w:
        yield w


async def outbox(world: SlackWorld) -> list[OutboxRow]:
    async with world.engine.db.session() as session:
        return list((await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def create_challenge(world: SlackWorld) -> None:
    await world.command(ADMIN, "/challenge create submission Dreamscapes submissions:2d "
                               "voting:1d")


async def test_a_short_rate_limit_is_waited_out_and_posts_once(world: SlackWorld) -> None:
    await create_challenge(world)
    world.fake.rate_limit("chat.postMessage", times=1, retry_after=0)

    await world.deliver()

    attempts = [c.status for c in world.fake.calls_to("chat.postMessage")]
    assert attempts == [429, 200]
    posted = world.fake.messages_in(ANNOUNCE)
    assert [block_text(m).count("New challenge: Dreamscapes") for m in posted] == [1]
    row = (await outbox(world))[0]
    assert (row.status, row.message_id, row.channel_id) == ("sent", posted[0]["ts"], ANNOUNCE)


async def test_a_long_rate_limit_delays_the_announcement_without_losing_it(
        world: SlackWorld) -> None:
    await create_challenge(world)
    world.fake.rate_limit("chat.postMessage", times=1, retry_after=120)

    await world.deliver()  # Slack says "in two minutes": the worker is not held up

    assert world.fake.messages_in(ANNOUNCE) == []
    row = (await outbox(world))[0]
    assert row.status == "pending" and "rate limit" in (row.last_error or "")
    assert row.next_attempt_at.replace(tzinfo=None) == (
        world.clock.now() + timedelta(seconds=120)).replace(tzinfo=None)
    world.clock.advance(timedelta(seconds=60))
    assert await world.deliver() == 0  # not yet

    world.clock.advance(timedelta(seconds=61))
    await world.deliver()
    posted = world.fake.messages_in(ANNOUNCE)
    assert len(posted) == 1 and "New challenge: Dreamscapes" in block_text(posted[0])
    assert [c.status for c in world.fake.calls_to("chat.postMessage")] == [429, 200]
    assert (await outbox(world))[0].status == "sent"


async def test_an_entry_whose_image_slack_refuses_is_posted_with_a_link(
        world: SlackWorld) -> None:
    await create_challenge(world)
    await world.deliver()
    await world.command(ALICE, '/challenge submit dreamscapes "Night garden" '
                               "image:<https://example.com/missing.png>")
    world.fake.fail_next("chat.postMessage", "invalid_blocks")

    await world.deliver()

    [entry] = world.fake.messages_in(ENTRIES)
    assert not any(b["type"] == "image" for b in entry["blocks"])
    assert "https://example.com/missing.png" in block_text(entry)
    assert (await world.engine.entry(world.community, 1)).message_id == entry["ts"]
    assert world.fake.reactions[(ENTRIES, entry["ts"])]["thumbsup"] == [world.fake.bot_user_id]


async def test_private_notices_go_to_the_members_app_messages(world: SlackWorld) -> None:
    await create_challenge(world)
    await world.command(BOB, '/challenge submit dreamscapes "Spam"')
    await world.command(ADMIN, '/challenge disqualify #1 "Off topic"')
    await world.deliver()
    dm = world.fake.calls_to("chat.postMessage")[-1]
    assert dm.args["channel"] == BOB
    assert "was disqualified: Off topic" in block_text(dm.args)


async def test_a_channel_that_is_gone_parks_the_announcement(world: SlackWorld) -> None:
    await create_challenge(world)
    world.fake.fail_next("chat.postMessage", "channel_not_found")
    await world.deliver()
    row = (await outbox(world))[0]
    assert row.status == "parked" and "channel_not_found" in (row.last_error or "")


async def test_the_same_nonce_is_never_posted_twice(world: SlackWorld) -> None:
    platform = world.running.platform
    card = Card(title="Weekly digest", text="Hello")
    first = await platform.post(world.fake.team_id, ANNOUNCE, card, nonce="laurels-7")
    again = await platform.post(world.fake.team_id, ANNOUNCE, card, nonce="laurels-7")
    assert first == again and len(world.fake.messages_in(ANNOUNCE)) == 1
    world.fake.rate_limit("chat.postMessage", retry_after=300)
    with pytest.raises(DeliveryError) as info:
        await platform.post(world.fake.team_id, ANNOUNCE, card, nonce="laurels-8")
    assert info.value.retry_after == 300 and not info.value.permanent


async def test_each_workspace_is_its_own_community(world: SlackWorld) -> None:
    other = "T0OTHER001"
    await create_challenge(world)
    said = await world.command(ALICE, "/challenge list", team_id=other, channel="C0OTHERGEN")
    assert "No challenges here yet" in said.private_text
    said = await world.command(ADMIN, "/challenge create submission Elsewhere", team_id=other,
                               channel="C0OTHERGEN")
    assert "Created Elsewhere" in said.private_text
    mine = await world.engine.list_challenges(world.community)
    theirs = await world.engine.list_challenges(CommunityRef("slack", other))
    assert [c.name for c in mine.items] == ["Dreamscapes"]
    assert [c.name for c in theirs.items] == ["Elsewhere"]
    # The first command there made its channel the announcements channel.
    await world.deliver()
    assert any("Elsewhere" in block_text(m) for m in world.fake.messages_in("C0OTHERGEN"))


def test_reaction_names() -> None:
    assert reaction_name("👍") == "thumbsup"
    assert reaction_name("🎉") == "tada"
    assert reaction_name("laurel") == "laurel"


async def test_posts_to_one_channel_are_paced_and_other_channels_are_not_held_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.platform import SingleTokenClients, SlackPlatform

    clear_proxy_env(monkeypatch)
    async with FakeSlack() as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        platform = SlackPlatform(SingleTokenClients(client), channel_interval=0.5)
        posts = [("C0BUSY0001", "one"), ("C0BUSY0001", "two"), ("C0BUSY0001", "three"),
                 ("C0QUIET001", "elsewhere")]
        start = asyncio.get_running_loop().time()  # the fake shares this loop and clock

        await asyncio.gather(*(platform.post("T0TEAM0001", channel, Card(title=title),
                                             nonce=f"n-{title}")
                               for channel, title in posts))

        sent = [(c.args["channel"], c.at - start) for c in fake.calls_to("chat.postMessage")]
        busy = sorted(t for channel, t in sent if channel == "C0BUSY0001")
        (quiet,) = [t for channel, t in sent if channel == "C0QUIET001"]
        assert len(busy) == 3
        # The k-th post to the busy channel cannot leave before k intervals have passed.
        assert all(t >= k * 0.5 for k, t in enumerate(busy)), busy
        assert quiet < 0.5  # the other channel went out at once


async def test_every_post_carries_its_nonce_in_message_metadata(world: SlackWorld) -> None:
    await create_challenge(world)
    await world.deliver()
    [row] = await outbox(world)
    [message] = world.fake.messages_in(ANNOUNCE)
    assert message["metadata"] == {"event_type": METADATA_EVENT,
                                   "event_payload": {"nonce": f"laurels-{row.id}"}}


async def test_a_lost_answer_is_found_in_the_history_not_posted_again(
        world: SlackWorld) -> None:
    await create_challenge(world)
    await world.deliver()
    await world.command(ALICE, '/challenge submit dreamscapes "Night garden"')
    world.fake.fail_next("chat.postMessage", "internal_error", after_handler=True)

    await world.deliver()
    [entry_row] = [r for r in await outbox(world) if r.kind == "entry"]
    assert entry_row.status == "pending" and entry_row.post_started_at is not None
    world.clock.advance(timedelta(minutes=1))
    await world.deliver()

    [entry] = world.fake.messages_in(ENTRIES)  # one copy: its votes are not split
    posts = [c.args["channel"] for c in world.fake.calls_to("chat.postMessage")]
    assert posts.count(ENTRIES) == 1
    [lookup] = world.fake.calls_to("conversations.history")
    assert lookup.args["channel"] == ENTRIES
    assert lookup.args["include_all_metadata"] in ("1", "true", True)
    [row] = [r for r in await outbox(world) if r.kind == "entry"]
    assert (row.status, row.message_id) == ("sent", entry["ts"])
    assert (await world.engine.entry(world.community, 1)).message_id == entry["ts"]
    assert world.fake.reactions[(ENTRIES, entry["ts"])]["thumbsup"] == [world.fake.bot_user_id]


async def test_the_history_is_searched_in_the_attempts_window_page_by_page(
        world: SlackWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slack_platform, "HISTORY_PAGE", 2)
    started = datetime.now(UTC)
    card = Card(title="Night garden", react_with="👍")
    first = await world.running.platform.post(world.fake.team_id, ENTRIES, card,
                                              nonce="laurels-7")
    for n in range(5):  # newer messages push it to a later page
        world.fake.add_message(ENTRIES, f"chat {n}", user=BOB)
        await world.running.platform.post(world.fake.team_id, ENTRIES, Card(title=f"#{n}"),
                                          nonce=f"laurels-{20 + n}")
    # The earlier attempt died before adding the vote emoji; this process remembers nothing.
    world.fake.reactions[(ENTRIES, first.message_id)].clear()
    fresh = SlackPlatform(SingleTokenClients(world.fake.web_client()), channel_interval=0)
    mark = world.fake.call_count

    window = window_after(started)
    assert await fresh.find_posted(world.fake.team_id, ENTRIES, card, nonce="laurels-7",
                                   window=window) == first
    pages = [c for c in world.fake.calls[mark:] if c.method == "conversations.history"]
    assert len(pages) > 1 and all(c.ok for c in pages)
    assert pages[0].args["oldest"] == slack_ts(window.start)
    assert pages[0].args["latest"] == slack_ts(window.end)
    assert "cursor" in pages[1].args
    assert world.fake.reactions[(ENTRIES, first.message_id)]["thumbsup"] == [
        world.fake.bot_user_id]
    # Another nonce, or a window that ended before the post: nothing.
    assert await fresh.find_posted(world.fake.team_id, ENTRIES, card, nonce="laurels-8",
                                   window=window) is None
    forgetful = SlackPlatform(SingleTokenClients(world.fake.web_client()), channel_interval=0)
    assert await forgetful.find_posted(world.fake.team_id, ENTRIES, card, nonce="laurels-7",
                                       window=window_after(started - timedelta(hours=1))) is None


async def test_an_earlier_direct_message_is_found_in_the_app_conversation(
        world: SlackWorld) -> None:
    started = datetime.now(UTC)
    card = Card(title="Entry #1 disqualified", text="Off topic")
    sent = await world.running.platform.send_direct(world.fake.team_id, BOB, card,
                                                    nonce="laurels-4")
    fresh = SlackPlatform(SingleTokenClients(world.fake.web_client()), channel_interval=0)
    found = await fresh.find_direct(world.fake.team_id, BOB, card, nonce="laurels-4",
                                    window=window_after(started))
    assert found == sent and found is not None and found.channel_id.startswith("D")
    assert world.fake.calls_to("conversations.open")[-1].args["users"] == BOB


async def test_without_the_history_scope_the_row_is_parked_with_what_to_do(
        world: SlackWorld) -> None:
    await create_challenge(world)
    world.fake.fail_next("chat.postMessage", "internal_error", after_handler=True)
    await world.deliver()
    world.fake.fail_next("conversations.history", "missing_scope", needed="channels:history")
    world.clock.advance(timedelta(minutes=1))
    await world.deliver()

    [row] = await outbox(world)
    assert row.status == "parked"
    assert "channels:history" in (row.last_error or "") and "reinstall" in (row.last_error or "")
    assert len(world.fake.messages_in(ANNOUNCE)) == 1  # not posted again on a guess
