"""The OAuth2 URL that adds Laurels to a server, asking for exactly what it uses.

Scopes: `bot` (the bot user joins) and `applications.commands` (its slash commands).
Permissions: see channels and their history, post messages with embeds, add reactions
(the vote emoji under each entry) and manage messages (take a refused vote's reaction
off). Nothing else: no administrator, no member list, no message content.
"""

from __future__ import annotations

import discord

from bot.discord.app import DiscordConfigError, point_at
from config.settings import Settings

__all__ = ["SCOPES", "application_id", "invite_url", "permissions"]

SCOPES = ("bot", "applications.commands")


def permissions() -> discord.Permissions:
    return discord.Permissions(view_channel=True, read_message_history=True,
                               send_messages=True, embed_links=True, add_reactions=True,
                               manage_messages=True)


def invite_url(client_id: int | str) -> str:
    return discord.utils.oauth_url(int(client_id), permissions=permissions(), scopes=SCOPES)


async def application_id(settings: Settings) -> int:
    """The application's id, asked of Discord with the bot token."""
    token = settings.discord_token.get_secret_value().strip() \
        if settings.discord_token is not None else ""
    if not token:
        raise DiscordConfigError("Give --client-id, or set LAURELS_DISCORD_CLIENT_ID or "
                                 "LAURELS_DISCORD_TOKEN.")
    restore = point_at(settings.discord_api_base, None)
    client = discord.Client(intents=discord.Intents.none())
    try:
        await client.login(token)
        assert client.application_id is not None
        return client.application_id
    except discord.LoginFailure:
        raise DiscordConfigError("Discord refused LAURELS_DISCORD_TOKEN.") from None
    finally:
        await client.close()
        restore()
