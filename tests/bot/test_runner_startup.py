"""`laurels run` starting with a platform that refuses its credentials or cannot be
reached: the runner itself (`bot.runner.run`) against FakeDiscord and FakeSlack.

A refusal ends the run with exit code 78 and one line naming the variable; a platform
that does not answer is tried again in the background, while the other platform, the
scheduler and the delivery worker do their work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.runner import EXIT_REFUSED, RunOptions, run
from config.settings import Settings
from engine.challenges import ChallengeDraft
from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from storage.db import Database
from storage.migrate import upgrade_async
from tests.bot.discord.fake_discord import FakeDiscord
from tests.bot.discord.harness import message_text
from tests.bot.slack.fake_slack import FakeSlack, clear_proxy_env


@pytest.fixture
async def fakes(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FakeDiscord,
                                                                        FakeSlack]]:
    clear_proxy_env(monkeypatch)
    async with FakeDiscord() as discord, FakeSlack() as slack:
        yield discord, slack


def settings(discord: FakeDiscord, slack: FakeSlack, url: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "discord_token": discord.token, "discord_api_base": discord.api_base,
        "discord_gateway_url": discord.gateway_url,
        "slack_bot_token": slack.bot_token, "slack_app_token": slack.app_token,
        "slack_signing_secret": slack.signing_secret, "slack_api_url": slack.api_url,
        "slack_ping_interval": 0.5,
        "connect_retry_delay": 0.1, "connect_retry_max_delay": 0.4}
    return Settings(**{**values, **changes})


async def seed_a_deadline_passed_while_stopped(url: str, discord: FakeDiscord) -> None:
    """A challenge on the Discord server whose submissions closed while the bot was
    down: on start, the scheduler opens its voting and the worker announces it."""
    await upgrade_async(url)
    db = Database(url)
    now = datetime.now(UTC)
    try:
        engine = Engine(db, FixedClock(now - timedelta(days=3)))
        guild = CommunityRef("discord", str(discord.seed.guild_id), "Laurels Test")
        await engine.ensure_community(guild,
                                      announce_channel=str(discord.seed.general_channel_id))
        mod = MemberRef(guild, str(discord.seed.owner_id), "mod", is_admin=True)
        await engine.create_challenge(mod, ChallengeDraft(
            kind="submission", name="Dreamscapes", starts_at=now - timedelta(days=3),
            submissions_close_at=now - timedelta(days=1),
            voting_close_at=now + timedelta(days=10)))
        await engine.close()
    finally:
        await db.dispose()


async def test_an_unreachable_slack_holds_up_neither_discord_nor_the_scheduler(
        fakes: tuple[FakeDiscord, FakeSlack], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    discord, slack = fakes
    url = f"sqlite+aiosqlite:///{tmp_path / 'laurels.db'}"
    await seed_a_deadline_passed_while_stopped(url, discord)
    caplog.set_level(logging.INFO)
    stop = asyncio.Event()
    with slack.unavailable("auth.test"):
        running = asyncio.create_task(run(settings(discord, slack, url), stop=stop))
        # Discord starts, the deadline that passed runs, its announcement goes out...
        await discord.wait_for(lambda: any(
            "Voting is open: Dreamscapes" in message_text(m)
            for m in discord.messages_in(discord.seed.general_channel_id)), timeout=30)
        # ...while Slack is still being tried, with growing pauses.
        assert "Slack platform started" not in caplog.text
        await slack.wait_for_calls("auth.test", 4, timeout=10)
    await slack.wait_for_connection(timeout=10)  # Slack is back: it starts by itself
    stop.set()
    assert await asyncio.wait_for(running, 30) == 0

    retries = [r for r in caplog.records if r.name == "bot.startup"]
    assert len(retries) >= 3
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in retries)
    assert retries[0].getMessage().startswith(
        "Slack could not check LAURELS_SLACK_BOT_TOKEN: service_unavailable (HTTP 503, "
        "auth.test); trying again in 0.1 s")
    pauses = [float(r.getMessage().rsplit(" in ", 1)[1].removesuffix(" s")) for r in retries]
    assert pauses[:3] == sorted(pauses[:3]) and pauses[2] > pauses[0]
    assert "Discord platform started" in caplog.text
    assert "Slack platform started (Socket Mode)" in caplog.text
    assert "Traceback" not in caplog.text


async def test_a_refused_app_token_ends_the_run_with_one_line(
        fakes: tuple[FakeDiscord, FakeSlack], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    discord, slack = fakes
    caplog.set_level(logging.INFO)
    config = settings(discord, slack, f"sqlite+aiosqlite:///{tmp_path / 'laurels.db'}",
                      slack_app_token="xapp-1-revoked")

    assert await asyncio.wait_for(run(config), 30) == EXIT_REFUSED

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "Slack refused LAURELS_SLACK_APP_TOKEN: invalid_auth (apps.connections.open); check "
        "the token (xapp-..., with connections:write)"]
    assert all(r.exc_info is None for r in caplog.records)
    assert len(slack.calls_to("apps.connections.open")) == 1  # asked once, not forever
    assert slack.connection_count == 0
    assert "xapp-1-revoked" not in caplog.text


async def test_every_refusal_is_reported_before_the_run_ends(
        fakes: tuple[FakeDiscord, FakeSlack], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    discord, slack = fakes
    config = settings(discord, slack, f"sqlite+aiosqlite:///{tmp_path / 'laurels.db'}",
                      slack_bot_token="xoxb-wrong", discord_token="wrong")

    assert await asyncio.wait_for(run(config), 30) == EXIT_REFUSED

    errors = sorted(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert len(errors) == 2
    assert errors[0].startswith("Discord refused LAURELS_DISCORD_TOKEN: ")
    assert errors[1].startswith("Slack refused LAURELS_SLACK_BOT_TOKEN: invalid_auth")


async def _http_port(caplog: pytest.LogCaptureFixture) -> int:
    """The port the run's HTTP server bound (it was asked for port 0), from its log."""
    async with asyncio.timeout(10):
        while True:
            for r in caplog.records:
                if r.getMessage().startswith("HTTP: listening on "):
                    return int(r.args[1])  # type: ignore[index]
            await asyncio.sleep(0.05)


async def test_slack_http_mode_serves_health_while_slack_is_unreachable(
        fakes: tuple[FakeDiscord, FakeSlack], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """The HTTP server is up from the start: /healthz answers and /slack/events says
    503 (Slack retries) until Slack could be checked."""
    from tests.bot.http.clients import request
    from tests.bot.slack.signing import SignedSender

    discord, slack = fakes
    caplog.set_level(logging.INFO)
    config = settings(discord, slack, f"sqlite+aiosqlite:///{tmp_path / 'laurels.db'}",
                      discord_token=None, http_port=0)
    stop = asyncio.Event()
    with slack.unavailable("auth.test"):
        running = asyncio.create_task(run(config, RunOptions(slack_http=True), stop=stop))
        await slack.wait_for_call("auth.test", timeout=10)
        port = await _http_port(caplog)
        health = await request(port, "GET", "/healthz")
        async with SignedSender(f"http://127.0.0.1:{port}/slack/events",
                                slack.signing_secret) as sender:
            early = await sender.post_event({"type": "url_verification", "challenge": "c"})
    async with SignedSender(f"http://127.0.0.1:{port}/slack/events",
                            slack.signing_secret) as sender:
        for _ in range(100):  # until Slack's checks went through (10 s at most)
            late = await sender.post_event({"type": "url_verification", "challenge": "c"})
            if late.status != 503:
                break
            await asyncio.sleep(0.1)
    stop.set()
    assert await asyncio.wait_for(running, 30) == 0
    assert (health.status, health.body) == (200, b"ok")
    assert early.status == 503
    assert (late.status, late.json) == (200, {"challenge": "c"})
