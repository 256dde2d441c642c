"""A whole submission challenge on Slack, over Socket Mode and over HTTP: the real
slack-bolt app started by `start_slack`, FakeSlack on loopback, the real delivery worker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from engine.clock import FixedClock
from engine.service import Engine
from tests.bot.slack.harness import (
    ADMIN,
    ALICE,
    ANNOUNCE,
    BOB,
    CAROL,
    DAVE,
    ENTRIES,
    SCOPE_OF_METHOD,
    SlackWorld,
    Transport,
    block_text,
    running_world,
)


@pytest.fixture(params=["socket", "http"])
async def world(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                engine: Engine, clock: FixedClock) -> AsyncIterator[SlackWorld]:
    transport: Transport = request.param
    async with running_world(monkeypatch, engine, clock, transport) as w:
        yield w


def posted(world: SlackWorld, channel: str) -> list[str]:
    return [block_text(m) for m in world.fake.messages_in(channel)]


async def votes(world: SlackWorld, entry_id: int) -> int:
    return (await world.engine.entry(world.community, entry_id)).votes


async def test_a_whole_submission_challenge(world: SlackWorld) -> None:
    fake = world.fake

    # A moderator picks the channels and creates the challenge; members can't.
    said = await world.command(ADMIN, "/settings channel announcements "
                                      f"<#{ANNOUNCE}|announcements>")
    assert f"Announcements go to <#{ANNOUNCE}>" in said.private_text
    await world.command(ADMIN, f"/settings channel entries <#{ENTRIES}|entries>")
    refused = await world.command(BOB, "/challenge create submission Sneaky")
    assert "Only moderators can do that: here, workspace admins." in refused.private_text
    said = await world.command(
        ADMIN, '/challenge create submission Dreamscapes "Paint the place you visit in '
               'dreams" submissions:2d voting:1d prize:"A framed print"')
    assert "Created Dreamscapes" in said.private_text and not said.public
    await world.deliver()
    assert any("New challenge: Dreamscapes" in text for text in posted(world, ANNOUNCE))

    # Alice types her entry (Slack escapes the link); Bob uses the form.
    said = await world.command(
        ALICE, '/challenge submit dreamscapes "Night garden" <https://example.com/garden.png>')
    assert "Entry #1 “Night garden” is in!" in said.private_text
    form = (await world.command(BOB, "/challenge submit")).modal
    ack, said = await world.submit_form(BOB, form, {
        "challenge": {"type": "static_select", "selected_option": {"value": "dreamscapes"}},
        "title": {"type": "plain_text_input", "value": "Cloud harbour"},
        "image": {"type": "plain_text_input", "value": "https://example.com/harbour.png"},
    })
    assert ack is None or ack.get("response_action") != "errors"
    assert "Entry #2 “Cloud harbour” is in!" in said.private_text
    await world.command(CAROL, '/challenge submit dreamscapes title:"Glass forest"')

    # The delivery worker posts each entry in #entries with the vote emoji under it.
    await world.deliver()
    entries = fake.messages_in(ENTRIES)
    assert [m["blocks"][0]["text"]["text"] for m in entries] == [
        "Night garden", "Cloud harbour", "Glass forest"]
    night, harbour, forest = (m["ts"] for m in entries)
    for ts in (night, harbour, forest):
        assert fake.reactions[(ENTRIES, ts)]["thumbsup"] == [fake.bot_user_id]
    # ...and Slack tells the bot about its own reaction, which is no vote.
    await world.react(fake.bot_user_id, "thumbsup", night)

    # Too early: voting opens when submissions close; the voter alone is told.
    await world.react(DAVE, "+1", night)
    assert fake.ephemeral_messages[-1]["user"] == DAVE
    assert "Voting on Dreamscapes opens in 2 days" in fake.ephemeral_messages[-1]["text"]

    await world.advance(timedelta(days=2))
    assert any("Voting is open: Dreamscapes" in text for text in posted(world, ANNOUNCE))

    # Votes, in every spelling Slack uses for the same emoji.
    counted = await world.react(BOB, "+1", night)
    await world.react(CAROL, "+1::skin-tone-3", night)
    await world.react(DAVE, "thumbsup", harbour)
    await world.react(DAVE, "fire", forest)  # not the vote emoji: ignored
    assert (await votes(world, 1), await votes(world, 2), await votes(world, 3)) == (2, 1, 0)

    # A self-vote is refused with an ephemeral explanation in the channel.
    before = len(fake.ephemeral_messages)
    await world.react(ALICE, "+1", night)
    told = fake.ephemeral_messages[before:]
    assert [(m["user"], m["channel"]) for m in told] == [(ALICE, ENTRIES)]
    assert "You can't vote for your own entry." in told[0]["text"]

    # Slack re-sends Bob's vote (same event id, a retry header): nothing changes.
    users_info = len(fake.calls_to("users.info"))
    await world.react(BOB, "+1", night, event_id=counted, retry=1)
    await world.react(BOB, "+1", night, event_id=counted)  # a duplicate delivery, too
    assert await votes(world, 1) == 2
    assert len(fake.calls_to("users.info")) == users_info  # skipped before any work

    # Removing a reaction takes the vote back.
    await world.react(DAVE, "thumbsup", harbour, added=False)
    assert await votes(world, 2) == 0

    # Voting closes: the results are posted.
    await world.advance(timedelta(days=1))
    results = [t for t in posted(world, ANNOUNCE) if "Results: Dreamscapes" in t]
    assert len(results) == 1
    assert "Night garden" in results[0] and "2 votes" in results[0]
    standings = await world.engine.standings(world.community, "dreamscapes")
    assert standings.rows[0].points == 2

    # After the close a vote is refused, and nothing changes.
    await world.react(DAVE, "+1", forest)
    assert "Voting on Dreamscapes closed" in fake.ephemeral_messages[-1]["text"]
    assert await votes(world, 3) == 0

    # Nothing but the methods the manifest's scopes cover was called.
    assert {c.method for c in fake.calls} <= set(SCOPE_OF_METHOD)
