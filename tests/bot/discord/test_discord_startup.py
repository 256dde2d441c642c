"""Starting on Discord with a bad token or an unreachable Discord: the token is checked
once (GET /users/@me), a refusal names LAURELS_DISCORD_TOKEN and is final, no answer is
worth another try later. FakeDiscord answers as Discord does (401, 429 with Via, 502)."""

from __future__ import annotations

import socket

import discord
import pytest
from pydantic import SecretStr

from bot.discord.app import DiscordConfigError, start_discord
from engine.service import Engine
from tests.bot.discord.fake_discord import FakeDiscord
from tests.bot.discord.harness import settings_for


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_refused_token_is_final_and_named(fake: FakeDiscord, engine: Engine) -> None:
    settings = settings_for(fake).model_copy(update={"discord_token": SecretStr("nope")})
    with pytest.raises(DiscordConfigError) as raised:
        await start_discord(engine, settings, ready_timeout=5)
    assert raised.value.permanent
    assert str(raised.value).startswith("Discord refused LAURELS_DISCORD_TOKEN: ")
    assert "(GET /users/@me)" in str(raised.value)
    assert [(r.method, r.path, r.status) for r in fake.requests] == [("GET", "/users/@me", 401)]
    assert discord.http.Route.BASE == "https://discord.com/api/v10"  # put back


async def test_discord_down_is_worth_another_try(engine: Engine) -> None:
    async with FakeDiscord() as fake:
        settings = settings_for(fake).model_copy(
            update={"discord_api_base": f"http://127.0.0.1:{closed_port()}/api/v10"})
    with pytest.raises(DiscordConfigError) as raised:
        await start_discord(engine, settings, ready_timeout=5)
    assert not raised.value.permanent
    assert str(raised.value).startswith(
        "Discord could not check LAURELS_DISCORD_TOKEN (GET /users/@me): Cannot connect to host")


async def test_a_long_rate_limit_is_worth_another_try(fake: FakeDiscord, engine: Engine
                                                      ) -> None:
    fake.rate_limit(method="GET", path="/users/@me", retry_after=120)
    with pytest.raises(DiscordConfigError) as raised:
        await start_discord(engine, settings_for(fake), ready_timeout=5)
    assert not raised.value.permanent
    assert "LAURELS_DISCORD_TOKEN" in str(raised.value)
    assert "\n" not in str(raised.value)


async def test_a_server_error_is_retried_and_start_goes_on(fake: FakeDiscord, engine: Engine
                                                           ) -> None:
    """discord.py retries a 5xx itself (after 1 s, up to five times)."""
    fake.fail_next(status=502, method="GET", path="/users/@me")
    running = await start_discord(engine, settings_for(fake), ready_timeout=5,
                                  guild_ready_timeout=0.1)
    await running.stop(grace=1)
    assert [r.status for r in fake.requests_to("GET", "/users/@me")] == [502, 200]


async def test_a_gateway_that_never_gets_ready_is_worth_another_try(
        fake: FakeDiscord, engine: Engine) -> None:
    async with fake.hold_reconnects():
        with pytest.raises(DiscordConfigError) as raised:
            await start_discord(engine, settings_for(fake), ready_timeout=0.5)
    assert not raised.value.permanent
    assert str(raised.value) == "Discord's gateway was not ready after 0.5 s"
