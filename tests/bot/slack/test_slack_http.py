"""HTTP mode: Slack's signed requests at /slack/events, and what is refused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import func, select

from engine.clock import FixedClock
from engine.service import Engine
from storage.tables import Base
from tests.bot.http.clients import closed_within, stall
from tests.bot.slack import payloads
from tests.bot.slack.harness import (
    ADMIN,
    ALICE,
    SlackWorld,
    running_world,
)
from tests.bot.slack.signing import MAX_CLOCK_SKEW


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch, engine: Engine, clock: FixedClock
                ) -> AsyncIterator[SlackWorld]:
    async with running_world(monkeypatch, engine, clock, "http") as w:
        yield w


async def row_counts(engine: Engine) -> dict[str, int]:
    async with engine.db.session() as session:
        return {t.name: int(await session.scalar(select(func.count()).select_from(t)) or 0)
                for t in Base.metadata.sorted_tables}


CREATE = '/challenge create submission Forged submissions:2d voting:1d'


@pytest.mark.parametrize("forgery", ["bad signature", "stale timestamp", "no signature"])
async def test_unsigned_or_stale_requests_are_refused_and_change_nothing(
        world: SlackWorld, forgery: str) -> None:
    assert world.sender is not None
    before = await row_counts(world.engine)
    calls = world.fake.call_count
    knobs: dict[str, object] = {
        "bad signature": {"secret": "not-the-signing-secret"},
        "stale timestamp": {"timestamp": int(time.time()) - MAX_CLOCK_SKEW - 1},
        "no signature": {"signature": ""},
    }[forgery]  # type: ignore[assignment]
    command = world.fake.make_slash_command("/challenge", CREATE.removeprefix("/challenge "),
                                            user_id=ADMIN, user_name="mod")
    vote = payloads.event_callback(payloads.reaction_added(ALICE, "+1", channel="C1",
                                                           ts="1.000001"))
    home = payloads.block_actions([payloads.button_action("laurels_run_0", "/profile")])

    answers = [await world.sender.post_slash_command(command, **knobs),  # type: ignore[arg-type]
               await world.sender.post_event(vote, **knobs),  # type: ignore[arg-type]
               await world.sender.post_interaction(home, **knobs)]  # type: ignore[arg-type]

    assert [a.status for a in answers] == [401, 401, 401]
    await world.settle()
    assert await row_counts(world.engine) == before
    assert world.fake.calls[calls:] == []
    assert world.fake.response_url_posts == []


async def test_signed_requests_within_five_minutes_are_served(world: SlackWorld) -> None:
    assert world.sender is not None
    late = world.fake.make_slash_command("/laurels", "", user_id=ALICE)
    answer = await world.sender.post_slash_command(late, timestamp=int(time.time()) - 240)
    assert answer.status == 200
    await world.settle()
    assert "Laurels commands" in str(world.fake.response_url_posts[-1].body)


async def test_url_verification_and_health(world: SlackWorld) -> None:
    assert world.sender is not None and world.server is not None
    challenge = await world.sender.post_event(payloads.url_verification("abc123"))
    assert (challenge.status, challenge.json) == (200, {"challenge": "abc123"})
    async with aiohttp.ClientSession(world.server.url, trust_env=False) as session:
        async with session.get("/healthz") as resp:
            assert (resp.status, await resp.text()) == (200, "ok")
        async with session.get("/readyz") as resp:
            assert (resp.status, await resp.json()) == (200, {"status": "ready"})


async def test_command_text_containing_the_word_payload_still_arrives(world: SlackWorld) -> None:
    """slack-bolt 1.30 alone drops such a form (see test_fake_slack); bot.slack.http
    hands it over as the form it is."""
    await world.command(ADMIN, "/settings channel entries <#C0ENTRIES1|entries>")
    await world.command(ADMIN, CREATE.replace("Forged", "Payloads"))
    said = await world.command(
        ALICE, '/challenge submit payloads "The payload" <https://example.com/payload.png>')
    assert "“The payload” is in!" in said.private_text


async def test_stalled_connections_neither_hold_up_slack_nor_stay_open(world: SlackWorld
                                                                       ) -> None:
    """Half a request, then nothing: the old server kept such connections for good."""
    assert world.server is not None
    stalled = [await stall(world.server.port, b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
               for _ in range(20)]
    try:
        said = await world.command(ALICE, "/laurels")
        assert "Laurels commands" in said.private_text
        closed = await asyncio.gather(*(closed_within(c, 3.0) for c in stalled))
    finally:
        for conn in stalled:
            conn.close()
    assert all(closed)
