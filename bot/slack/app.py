"""Starting Laurels on Slack: a slack-bolt `AsyncApp` over Socket Mode or HTTP.

Socket Mode (the default) needs no public URL: the bot dials out with the app-level token
(`LAURELS_SLACK_APP_TOKEN`). HTTP mode (`laurels run --slack-http`) receives Slack's
signed requests at `/slack/events` on the process's HTTP server, checked with
`LAURELS_SLACK_SIGNING_SECRET`. Both run the same app and listeners.

Each credential is checked once at start: the bot token with `auth.test`, the app-level
token with one `apps.connections.open` (whose URL the Socket Mode client then uses). A
refusal raises a permanent `SlackConfigError` naming the variable and Slack's answer; no
answer (connection refused, a timeout, a 5xx, a rate limit) a transient one, which the
runner retries later (slack_sdk's own client would retry a refused app token forever,
with a traceback each time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass

import aiohttp
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.platform import StartError
from bot.slack import events, interactions
from bot.slack.adapter import SlackAdapter
from bot.slack.dedupe import EventDeduplication
from bot.slack.http import SlackEvents
from bot.slack.platform import SingleTokenClients, SlackPlatform, retry_handlers
from bot.startup import unreachable
from config.settings import Settings
from engine.service import Engine

__all__ = ["RunningSlack", "SlackConfigError", "build_app", "start_slack"]

log = logging.getLogger(__name__)

# Slack's answers that mean the token itself is wrong: no retry can help.
REFUSALS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired",
                      "account_inactive", "not_allowed_token_type", "missing_scope",
                      "no_permission", "team_disabled", "ekm_access_denied",
                      "org_login_required"})
# Seconds a start-up check waits for Slack's answer.
CHECK_TIMEOUT = 15


class SlackConfigError(StartError):
    """Slack cannot start with these settings (or, not `permanent`, cannot be reached
    yet); the message says which setting and what Slack answered."""


def build_app(adapter: SlackAdapter, client: AsyncWebClient, *,
              signing_secret: str | None) -> AsyncApp:
    """The Bolt app with every Laurels listener. `signing_secret`: HTTP mode (requests
    are verified); None: Socket Mode (the websocket is authenticated instead)."""
    app = AsyncApp(client=client, signing_secret=signing_secret or "",
                   request_verification_enabled=signing_secret is not None,
                   process_before_response=False)
    dedupe = EventDeduplication(adapter.inflight, events.HANDLED_EVENTS)
    app.middleware(dedupe)
    interactions.register(app, adapter)
    events.register(app, adapter, dedupe)
    return app


@dataclass
class RunningSlack:
    """A started Slack adapter (`bot.platform.RunningPlatform`)."""

    platform: SlackPlatform
    adapter: SlackAdapter
    app: AsyncApp
    socket: AsyncSocketModeHandler | None = None
    http: SlackEvents | None = None

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking requests, then finish (for up to `grace` seconds) what was
        already acknowledged: Slack will not send it again."""
        if self.socket is not None:
            await self.socket.close_async()
        if self.http is not None:
            self.http.detach()
        if not await self.adapter.inflight.wait_idle(grace):
            log.warning("stopped with %d Slack requests unfinished",
                        self.adapter.inflight.count)


async def start_slack(engine: Engine, settings: Settings, *, http: SlackEvents | None = None,
                      check_timeout: float = CHECK_TIMEOUT) -> RunningSlack:
    """Check the credentials, then connect over Socket Mode, or (given `http`, the route
    of the process's HTTP server) take Slack's requests there. Raises SlackConfigError:
    permanent for a missing or refused credential, transient when Slack did not answer."""
    bot_token = _secret(settings.slack_bot_token, "LAURELS_SLACK_BOT_TOKEN")
    if http is not None:
        secret = _secret(settings.slack_signing_secret, "LAURELS_SLACK_SIGNING_SECRET",
                         why=" (needed by --slack-http)")
    else:
        app_token = _secret(settings.slack_app_token, "LAURELS_SLACK_APP_TOKEN",
                            why=" (needed by Socket Mode; or run with --slack-http)")
    client = AsyncWebClient(token=bot_token, base_url=_api_url(settings.slack_api_url),
                            retry_handlers=retry_handlers())
    signed_in = await _check(client.auth_test(), "auth.test", "LAURELS_SLACK_BOT_TOKEN",
                             "xoxb-...", check_timeout)
    log.info("Slack: signed in as %s in %s", signed_in.get("user"), signed_in.get("team"))
    clients = SingleTokenClients(client)
    adapter = SlackAdapter(engine, clients)
    platform = SlackPlatform(clients, channel_interval=settings.slack_channel_interval)
    if http is not None:
        app = build_app(adapter, client, signing_secret=secret)
        http.attach(app, secret)
        return RunningSlack(platform, adapter, app, http=http)
    opened = await _check(client.apps_connections_open(app_token=app_token),
                          "apps.connections.open", "LAURELS_SLACK_APP_TOKEN",
                          "xapp-..., with connections:write", check_timeout)
    app = build_app(adapter, client, signing_secret=None)
    handler = AsyncSocketModeHandler(app, app_token=app_token,
                                     ping_interval=settings.slack_ping_interval)
    # Just handed out: connect with it rather than asking again.
    handler.client.wss_uri = str(opened["url"])
    try:
        await handler.connect_async()
    except BaseException:  # stopped while connecting
        await handler.close_async()
        raise
    return RunningSlack(platform, adapter, app, socket=handler)


def _secret(value: SecretStr | None, name: str, why: str = "") -> str:
    raw = value.get_secret_value().strip() if value is not None else ""
    if not raw:
        raise SlackConfigError(f"{name} is not set{why}.")
    return raw


def _api_url(url: str | None) -> str:
    if not url:
        return AsyncWebClient.BASE_URL
    return url if url.endswith("/") else url + "/"


async def _check(call: Awaitable[AsyncSlackResponse], method: str, variable: str,
                 expected: str, within: float) -> AsyncSlackResponse:
    """Slack's answer to `call` (made once, with the token in `variable`): fail at start,
    naming the variable, rather than on the first member's command."""
    try:
        async with asyncio.timeout(within):
            return await call
    except SlackApiError as exc:
        error = _error_of(exc)
        if error in REFUSALS:
            raise SlackConfigError(f"Slack refused {variable}: {error} ({method}); check "
                                   f"the token ({expected})") from None
        status = getattr(exc.response, "status_code", 0)
        raise SlackConfigError(f"Slack could not check {variable}: {error or 'no answer'}"
                               f" (HTTP {status}, {method})", permanent=False) from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise unreachable(f"Slack could not check {variable} ({method})", exc,
                          error=SlackConfigError) from None


def _error_of(exc: SlackApiError) -> str | None:
    try:
        error = exc.response.get("error")
    except (AttributeError, TypeError):
        return None
    return str(error) if error else None
