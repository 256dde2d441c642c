"""Starting Laurels on Slack: a slack-bolt `AsyncApp` over Socket Mode or HTTP.

Socket Mode (the default) needs no public URL: the bot dials out with the app-level token
(`LAURELS_SLACK_APP_TOKEN`). HTTP mode (`laurels run --slack-http --port N`) receives
Slack's signed requests at `/slack/events`, checked with `LAURELS_SLACK_SIGNING_SECRET`.
Both run the same app and listeners.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import events, interactions
from bot.slack.adapter import SlackAdapter
from bot.slack.dedupe import EventDeduplication
from bot.slack.http import HttpServer, serve_http
from bot.slack.platform import SingleTokenClients, SlackPlatform, retry_handlers
from config.settings import Settings
from engine.service import Engine

__all__ = ["RunningSlack", "SlackConfigError", "build_app", "start_slack"]

log = logging.getLogger(__name__)


class SlackConfigError(RuntimeError):
    """Slack cannot start with these settings; the message says which one to fix."""


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
    http: HttpServer | None = None

    @property
    def url(self) -> str | None:
        """HTTP mode: the events URL as bound."""
        return self.http.url if self.http else None

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking requests, then finish (for up to `grace` seconds) what was
        already acknowledged: Slack will not send it again."""
        if self.socket is not None:
            await self.socket.close_async()
        if self.http is not None:
            await self.http.stop()
        if not await self.adapter.inflight.wait_idle(grace):
            log.warning("stopped with %d Slack requests unfinished",
                        self.adapter.inflight.count)


async def start_slack(engine: Engine, settings: Settings, *, http: bool = False,
                      port: int = 3000, host: str = "0.0.0.0",
                      ping_interval: float = 10.0) -> RunningSlack:
    """Connect to Slack (Socket Mode, or serve HTTP on `host:port`) and return the
    running adapter. Raises SlackConfigError for missing or refused credentials."""
    bot_token = _secret(settings.slack_bot_token, "LAURELS_SLACK_BOT_TOKEN")
    client = AsyncWebClient(token=bot_token, base_url=_api_url(settings.slack_api_url),
                            retry_handlers=retry_handlers())
    await _check_token(client)
    clients = SingleTokenClients(client)
    adapter = SlackAdapter(engine, clients)
    platform = SlackPlatform(clients, channel_interval=settings.slack_channel_interval)
    if http:
        secret = _secret(settings.slack_signing_secret, "LAURELS_SLACK_SIGNING_SECRET",
                         why=" (needed by --slack-http)")
        app = build_app(adapter, client, signing_secret=secret)
        server = await serve_http(app, host=host, port=port)
        return RunningSlack(platform, adapter, app, http=server)
    app_token = _secret(settings.slack_app_token, "LAURELS_SLACK_APP_TOKEN",
                        why=" (needed by Socket Mode; or run with --slack-http)")
    app = build_app(adapter, client, signing_secret=None)
    handler = AsyncSocketModeHandler(app, app_token=app_token, ping_interval=ping_interval)
    try:
        await handler.connect_async()
    except SlackApiError as exc:
        raise SlackConfigError(
            f"Slack refused the app-level token ({exc.response.get('error')}): check "
            "LAURELS_SLACK_APP_TOKEN (xapp-..., with connections:write)") from None
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


async def _check_token(client: AsyncWebClient) -> None:
    """Fail at start, with a clear reason, rather than on the first member's command."""
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        raise SlackConfigError(
            f"Slack refused the bot token ({exc.response.get('error')}): check "
            "LAURELS_SLACK_BOT_TOKEN (xoxb-...)") from None
    log.info("Slack: signed in as %s in %s", auth.get("user"), auth.get("team"))
