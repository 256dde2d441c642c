"""Members' pictures on Slack: users.info's profile `image_72` is kept on the member and
shown beside their name (the real slack-bolt app, FakeSlack on loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from engine.clock import FixedClock
from engine.refs import MemberRef
from engine.service import Engine
from tests.bot.slack.fake_slack import FakeSlack, clear_proxy_env
from tests.bot.slack.harness import (
    ADMIN,
    ALICE,
    ANNOUNCE,
    BOB,
    CAROL,
    ENTRIES,
    SlackWorld,
    add_members,
    slack_world,
)

ALICE_PICTURE = "https://avatars.slack-edge.com/2026-01-01/1_alice_72.png"


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch, engine: Engine, clock: FixedClock
                ) -> AsyncIterator[SlackWorld]:
    clear_proxy_env(monkeypatch)
    async with FakeSlack() as fake:
        add_members(fake)
        fake.add_user(ALICE, name="alice", image_72=ALICE_PICTURE)
        # Not https: never put in a page.
        fake.add_user(CAROL, name="carol", image_72="http://avatars.example/carol.png")
        async with slack_world(fake, engine, clock, "socket") as w:
            await w.command(ADMIN, f"/settings channel announcements <#{ANNOUNCE}|a>")
            await w.command(ADMIN, f"/settings channel entries <#{ENTRIES}|e>")
            yield w


async def test_a_command_and_a_vote_bring_the_members_pictures(world: SlackWorld) -> None:
    await world.command(ADMIN, "/challenge create submission Dreamscapes early_votes:yes")
    said = await world.command(ALICE, '/challenge submit dreamscapes "Night garden"')
    assert "is in!" in said.private_text
    await world.deliver()
    [entry] = world.fake.messages_in(ENTRIES)
    await world.react(BOB, "+1", entry["ts"])
    await world.react(CAROL, "+1", entry["ts"])
    assert (await world.engine.entry(world.community, 1)).votes == 2

    board = await world.engine.leaderboard(world.community)
    pictures = {r.member_external_id: r.avatar_url for r in board.rows}
    assert pictures == {ALICE: ALICE_PICTURE,
                        BOB: f"https://avatars.example/{BOB}_72.png",  # from the vote
                        CAROL: None}
    page = await world.engine.dashboard.member_page(world.community, ALICE)
    assert page.avatar_url == ALICE_PICTURE
    assert (await world.engine.profile(MemberRef(world.community, BOB))).avatar_url \
        == pictures[BOB]
