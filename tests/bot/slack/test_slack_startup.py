"""Starting on Slack with bad or unreachable credentials: each token is checked once, a
refusal names its variable and Slack's answer and is final, no answer is worth another
try later. FakeSlack answers as Slack does (invalid_auth, token_revoked, 429, 503)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from bot.slack.app import SlackConfigError, start_slack
from bot.slack.http import SlackEvents
from engine.service import Engine
from tests.bot.slack.fake_slack import FakeSlack, clear_proxy_env
from tests.bot.slack.harness import settings_for


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeSlack]:
    clear_proxy_env(monkeypatch)
    async with FakeSlack() as server:
        yield server


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Arrange = Callable[[FakeSlack], dict[str, Any]]

REFUSED: dict[str, tuple[Arrange, str]] = {
    "an unknown bot token": (
        lambda f: {"slack_bot_token": SecretStr("xoxb-wrong")},
        "Slack refused LAURELS_SLACK_BOT_TOKEN: invalid_auth (auth.test); check the token "
        "(xoxb-...)"),
    "a revoked bot token": (
        lambda f: f.fail_next("auth.test", "token_revoked") or {},
        "Slack refused LAURELS_SLACK_BOT_TOKEN: token_revoked (auth.test)"),
    "a deactivated workspace": (
        lambda f: f.fail_next("auth.test", "account_inactive") or {},
        "Slack refused LAURELS_SLACK_BOT_TOKEN: account_inactive (auth.test)"),
    "an unknown app-level token": (
        lambda f: {"slack_app_token": SecretStr("xapp-wrong")},
        "Slack refused LAURELS_SLACK_APP_TOKEN: invalid_auth (apps.connections.open); check "
        "the token (xapp-..., with connections:write)"),
    "the bot token given as the app-level token": (
        lambda f: {"slack_app_token": SecretStr(f.bot_token)},
        "Slack refused LAURELS_SLACK_APP_TOKEN: not_allowed_token_type (apps.connections.open)"),
    "no app-level token": (
        lambda f: {"slack_app_token": None},
        "LAURELS_SLACK_APP_TOKEN is not set (needed by Socket Mode; or run with --slack-http)."),
    "a blank bot token": (
        lambda f: {"slack_bot_token": SecretStr("  ")},
        "LAURELS_SLACK_BOT_TOKEN is not set."),
}


@pytest.mark.parametrize("case", list(REFUSED))
async def test_a_refused_or_missing_token_is_final_and_named(
        fake: FakeSlack, engine: Engine, case: str) -> None:
    arrange, message = REFUSED[case]
    settings = settings_for(fake, **arrange(fake))

    with pytest.raises(SlackConfigError) as raised:
        await start_slack(engine, settings)

    assert raised.value.permanent
    assert str(raised.value).startswith(message)
    assert "xoxb-0000" not in str(raised.value) and "xapp-1" not in str(raised.value)
    # Checked once, and no websocket was opened.
    assert len(fake.calls_to("apps.connections.open")) <= 1
    assert fake.connection_count == 0


async def _slow(args: dict[str, Any], token: str | None) -> dict[str, Any]:
    await asyncio.sleep(5)
    return {}


UNREACHABLE: dict[str, tuple[Arrange, str]] = {
    "Slack is down": (
        lambda f: {"slack_api_url": f"http://127.0.0.1:{closed_port()}/api/"},
        "Slack could not check LAURELS_SLACK_BOT_TOKEN (auth.test): Cannot connect to host"),
    "Slack answers 503": (
        lambda f: f.fail_next("auth.test", "service_unavailable", status=503) or {},
        "Slack could not check LAURELS_SLACK_BOT_TOKEN: service_unavailable (HTTP 503, "
        "auth.test)"),
    "Slack rate limits the check": (
        lambda f: f.rate_limit("auth.test", retry_after=60) or {},
        "Slack could not check LAURELS_SLACK_BOT_TOKEN: ratelimited (HTTP 429, auth.test)"),
    "Slack does not answer in time": (
        lambda f: f.set_method("auth.test", _slow) or {},
        "Slack could not check LAURELS_SLACK_BOT_TOKEN (auth.test): no answer in time"),
    "Socket Mode's endpoint answers 500": (
        lambda f: f.fail_next("apps.connections.open", "internal_error", status=500) or {},
        "Slack could not check LAURELS_SLACK_APP_TOKEN: internal_error (HTTP 500, "
        "apps.connections.open)"),
}


@pytest.mark.parametrize("case", list(UNREACHABLE))
async def test_no_answer_from_slack_is_worth_another_try(
        fake: FakeSlack, engine: Engine, case: str) -> None:
    arrange, message = UNREACHABLE[case]
    settings = settings_for(fake, **arrange(fake))

    with pytest.raises(SlackConfigError) as raised:
        await start_slack(engine, settings, check_timeout=2)

    assert not raised.value.permanent
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)
    assert fake.connection_count == 0


async def test_socket_mode_asks_for_its_url_once(fake: FakeSlack, engine: Engine) -> None:
    running = await start_slack(engine, settings_for(fake))
    try:
        await fake.wait_for_connection()
    finally:
        await running.stop(grace=1)
    assert [c.method for c in fake.calls] == ["auth.test", "apps.connections.open"]
    assert fake.connection_count == 1


async def test_http_mode_needs_the_signing_secret_and_no_app_token(
        fake: FakeSlack, engine: Engine) -> None:
    events = SlackEvents()
    no_secret = settings_for(fake, slack_signing_secret=None, slack_app_token=None)
    with pytest.raises(SlackConfigError, match="LAURELS_SLACK_SIGNING_SECRET is not set"):
        await start_slack(engine, no_secret, http=events)
    running = await start_slack(engine, settings_for(fake, slack_app_token=None), http=events)
    await running.stop(grace=1)
    assert [c.method for c in fake.calls] == ["auth.test"]
