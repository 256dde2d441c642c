"""Starting Laurels on Discord: a discord.py client over the gateway, commands synced.

The client listens to what Laurels needs and no more: the `guilds` intent (servers, their
channels and roles, interactions), `guild_reactions` (votes) and `emojis_and_stickers`
(a server's custom emoji, so the bot can add a custom vote emoji under each entry). No
privileged intent: neither message content nor the member list is read.

The token is checked once at start (`login`: GET /users/@me). A refusal (401) raises a
permanent `DiscordConfigError` naming LAURELS_DISCORD_TOKEN; no answer (connection
refused, a timeout, a 5xx after discord.py's own retries, a long rate limit) a transient
one, which the runner retries later.

`LAURELS_DISCORD_API_BASE` and `LAURELS_DISCORD_GATEWAY_URL` point the client elsewhere
(a proxy, a local stand-in). discord.py reads both from class attributes
(`discord.http.Route.BASE`, `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`); they are
only changed when set, and restored on stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.discord.adapter import DiscordAdapter
from bot.discord.platform import DiscordPlatform
from bot.discord.slash import application_commands
from bot.platform import StartError
from bot.startup import unreachable
from config.settings import Settings
from engine.ids import as_id
from engine.service import Engine

__all__ = ["DiscordConfigError", "LaurelsClient", "RunningDiscord", "intents", "point_at",
           "start_discord", "sync_commands"]

log = logging.getLogger(__name__)

# 429s asking for a longer wait than this (seconds; discord.py's minimum) are not waited
# out inside a call: the outbox retries the announcement later instead.
MAX_RATELIMIT_WAIT = 30.0
# Seconds the start-up calls (login, command sync) may take, discord.py's retries of 5xx
# answers included.
CHECK_TIMEOUT = 60.0
# What a start-up call raises when Discord could not be reached or did not answer.
_UNREACHABLE = (aiohttp.ClientError, OSError, TimeoutError, discord.RateLimited)


class DiscordConfigError(StartError):
    """Discord cannot start with these settings (or, not `permanent`, cannot be reached
    yet); the message says which setting and what Discord answered."""


def intents() -> discord.Intents:
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_reactions = True
    wanted.emojis_and_stickers = True
    return wanted


class LaurelsClient(discord.Client):
    """Routes the events Laurels handles to the adapter, each counted as in flight."""

    def __init__(self, engine: Engine, *, defer_after: float = 2.0, **options: Any) -> None:
        super().__init__(**options)
        self.adapter = DiscordAdapter(engine, self, defer_after=defer_after)
        a = self.adapter
        self._laurels_routes: dict[str, Callable[..., Coroutine[Any, Any, None]]] = {
            "interaction": a.interaction,
            "raw_reaction_add": lambda e: a.reaction(e, added=True),
            "raw_reaction_remove": lambda e: a.reaction(e, added=False),
            "guild_join": a.guild_joined,
            "guild_available": a.guild_available,
        }

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        super().dispatch(event, *args, **kwargs)
        handler = getattr(self, "_laurels_routes", {}).get(event)
        if handler is not None:
            # Counted before the handler's first step, so "idle" means really idle.
            self.adapter.inflight.spawn(handler(*args), f"laurels-discord-{event}")


@dataclass
class RunningDiscord:
    """A started Discord adapter (`bot.platform.RunningPlatform`)."""

    platform: DiscordPlatform
    adapter: DiscordAdapter
    client: LaurelsClient
    task: asyncio.Task[None]
    restore: Callable[[], None] = field(default=lambda: None)

    async def stop(self, grace: float = 10.0) -> None:
        """Finish (for up to `grace` seconds) what events started, then disconnect."""
        if not await self.adapter.inflight.wait_idle(grace):
            log.warning("stopped with %d Discord events unfinished",
                        self.adapter.inflight.count)
        with contextlib.suppress(Exception):
            await self.client.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            async with asyncio.timeout(grace):
                await self.task
        self.restore()


def point_at(api_base: str | None, gateway_url: str | None) -> Callable[[], None]:
    """Use another REST base / gateway URL; returns what puts the defaults back."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    if api_base:
        Route.BASE = api_base.rstrip("/")
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    def restore() -> None:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway

    return restore


def guild_ids(setting: str) -> list[int]:
    """`LAURELS_DISCORD_GUILDS`: server ids separated by commas or spaces."""
    out: list[int] = []
    for part in setting.replace(",", " ").split():
        guild_id = as_id(part)
        if guild_id is None:
            raise DiscordConfigError(f"LAURELS_DISCORD_GUILDS: '{part}' is not a server id.")
        out.append(guild_id)
    return out


async def sync_commands(client: discord.Client, guilds: list[int]) -> None:
    """Register the command tree: to each listed server (instant), else globally."""
    app_id = client.application_id
    assert app_id is not None, "sync after login"
    payload = application_commands()
    if not guilds:
        await client.http.bulk_upsert_global_commands(app_id, payload)
        log.info("Discord: %d commands synced globally", len(payload))
        return
    for gid in guilds:
        await client.http.bulk_upsert_guild_commands(app_id, gid, payload)
    log.info("Discord: %d commands synced to %d servers", len(payload), len(guilds))


async def start_discord(engine: Engine, settings: Settings, *, ready_timeout: float = 60.0,
                        guild_ready_timeout: float = 2.0, defer_after: float = 2.0,
                        check_timeout: float = CHECK_TIMEOUT) -> RunningDiscord:
    """Log in, sync the commands, connect to the gateway and wait until ready.

    Raises DiscordConfigError: permanent for a missing or refused token or a bad server
    list, transient when Discord did not answer (or its gateway was not ready in time)."""
    token = settings.discord_token.get_secret_value().strip() \
        if settings.discord_token is not None else ""
    if not token:
        raise DiscordConfigError("LAURELS_DISCORD_TOKEN is not set.")
    guilds = guild_ids(settings.discord_guilds)
    restore = point_at(settings.discord_api_base, settings.discord_gateway_url)
    client = LaurelsClient(engine, defer_after=defer_after, intents=intents(),
                           max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
                           guild_ready_timeout=guild_ready_timeout,
                           allowed_mentions=discord.AllowedMentions.none())
    try:
        await _login(client, token, check_timeout)
        await _sync(client, guilds, check_timeout)
        task = asyncio.create_task(client.connect(reconnect=True), name="laurels-discord")
        await _wait_ready(client, task, ready_timeout)
    except BaseException:
        with contextlib.suppress(Exception):
            await client.close()
        restore()
        raise
    user = client.user
    log.info("Discord: signed in as %s in %d servers", user, len(client.guilds))
    return RunningDiscord(DiscordPlatform(client), client.adapter, client, task, restore)


async def _login(client: discord.Client, token: str, within: float) -> None:
    try:
        async with asyncio.timeout(within):
            await client.login(token)
    except discord.LoginFailure as exc:
        raise DiscordConfigError(f"Discord refused LAURELS_DISCORD_TOKEN: {exc} (GET "
                                 "/users/@me); check the bot token (Developer Portal → your "
                                 "app → Bot → Token)") from None
    except discord.HTTPException as exc:
        raise _http_error("Discord could not check LAURELS_DISCORD_TOKEN", exc) from None
    except _UNREACHABLE as exc:
        raise unreachable("Discord could not check LAURELS_DISCORD_TOKEN (GET /users/@me)",
                          exc, error=DiscordConfigError) from None


async def _sync(client: discord.Client, guilds: list[int], within: float) -> None:
    try:
        async with asyncio.timeout(within):
            await sync_commands(client, guilds)
    except discord.Forbidden:
        raise DiscordConfigError(
            "Discord refused the command sync: is the bot in every server of "
            "LAURELS_DISCORD_GUILDS, invited with the applications.commands scope? "
            "(laurels discord invite-url)") from None
    except discord.HTTPException as exc:
        raise _http_error("Discord refused the command sync", exc) from None
    except _UNREACHABLE as exc:
        raise unreachable("Discord could not sync the commands", exc,
                          error=DiscordConfigError) from None


def _http_error(what: str, exc: discord.HTTPException) -> DiscordConfigError:
    """5xx and 429 answers pass; any other refusal will not."""
    permanent = exc.status < 500 and exc.status != 429
    return DiscordConfigError(f"{what}: {exc.status} {exc.text or exc.response.reason}"[:300],
                              permanent=permanent)


async def _wait_ready(client: discord.Client, task: asyncio.Task[None],
                      within: float) -> None:
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        done, _ = await asyncio.wait({ready, task}, timeout=within,
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        ready.cancel()  # done already, or no longer wanted (stopped while waiting)
    if ready not in done:
        if task in done:
            exc = task.exception()
            if isinstance(exc, discord.PrivilegedIntentsRequired):
                raise DiscordConfigError(str(exc)) from exc
            if isinstance(exc, discord.LoginFailure):
                raise DiscordConfigError(f"Discord's gateway refused LAURELS_DISCORD_TOKEN: "
                                         f"{exc}") from exc
            if isinstance(exc, discord.ConnectionClosed):  # codes discord.py gives up on
                raise DiscordConfigError(f"Discord's gateway closed the connection: {exc}"
                                         ) from exc
            if exc is not None:
                raise exc
            raise DiscordConfigError("Discord's gateway closed before it was ready",
                                     permanent=False)
        task.cancel()
        raise DiscordConfigError(f"Discord's gateway was not ready after {within:g} s",
                                 permanent=False)
