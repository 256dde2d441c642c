"""Posting announcements to Discord for the delivery worker (`bot.platform.Platform`).

Each post carries the outbox row's nonce with `enforce_nonce`, so a send that is retried
after a lost answer returns the first message instead of posting a second one.

What Discord guarantees, and what it does not: `enforce_nonce` makes Discord return the
message the same author created with the same nonce "in the past few minutes" (the
window is not documented more precisely), and the nonce is not stored with the message
(fetching it later returns none). A restart after a longer outage would post again. So
when an earlier attempt may have landed, `find_posted` reads the channel's messages in
that attempt's window (Read Message History) and recognises the bot's own message with
the same content and embed; only when there is none is the card posted again.

Errors: 403/404 (no access, channel gone) and other 4xx are permanent; the row is parked
with the reason. Rate limits: discord.py waits out a 429 itself when the wait is short
(the client's `max_ratelimit_timeout`); a longer one raises `RateLimited`, which goes
back to the outbox as `retry_after`. 5xx and network errors are retried later.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.discord.render import Rendered, render
from bot.platform import DeliveryError, PostWindow
from engine.emoji import canonical_emoji
from engine.ids import as_id
from engine.messages import Card
from engine.refs import MessageRef

if TYPE_CHECKING:
    from discord.abc import Messageable

__all__ = ["HISTORY_LIMIT", "DiscordPlatform", "delivery_error", "reaction_emoji"]

log = logging.getLogger(__name__)

# Messages read at most in one lookup (a window is minutes long; Discord lets a bot post
# about five messages per five seconds in a channel). Running out means the lookup is
# retried later rather than guessed.
HISTORY_LIMIT = 1_000

_NO_PINGS = discord.AllowedMentions.none()  # a mention shows who, without notifying


class DiscordPlatform:
    name = "discord"

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    async def post(self, community_external_id: str, channel_id: str, card: Card, *,
                   nonce: str) -> MessageRef:
        channel = self.client.get_partial_messageable(_snowflake(channel_id, "channel"),
                                                      guild_id=_int(community_external_id))
        message = await self._send(channel, card, nonce)
        if card.react_with:
            await self._react(message, community_external_id, card.react_with)
        return MessageRef(str(message.channel.id), str(message.id))

    async def send_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str) -> MessageRef | None:
        try:
            dm = await self.client.create_dm(discord.Object(_snowflake(user_id, "user")))
        except discord.HTTPException as exc:
            raise delivery_error(exc) from exc
        try:
            message = await self._send(dm, card, nonce)
        except DeliveryError as exc:
            if exc.permanent:
                # DMs closed to the bot: the member chose that; nothing to retry.
                log.info("could not message %s directly: %s", user_id, exc)
                return None
            raise
        return MessageRef(str(message.channel.id), str(message.id))

    async def find_posted(self, community_external_id: str, channel_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        channel = self.client.get_partial_messageable(_snowflake(channel_id, "channel"),
                                                      guild_id=_int(community_external_id))
        message = await self._find(channel, card, window)
        if message is None:
            return None
        if card.react_with:  # the earlier attempt may have died before reacting
            await self._react(message, community_external_id, card.react_with)
        return MessageRef(str(message.channel.id), str(message.id))

    async def find_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        try:
            dm = await self.client.create_dm(discord.Object(_snowflake(user_id, "user")))
        except discord.HTTPException as exc:
            raise delivery_error(exc) from exc
        message = await self._find(dm, card, window)
        return None if message is None else MessageRef(str(message.channel.id),
                                                       str(message.id))

    async def _find(self, channel: Messageable, card: Card, window: PostWindow
                    ) -> discord.Message | None:
        """The bot's own message in `window` that shows what `card` renders to."""
        me = self.client.user
        if me is None:
            raise DeliveryError("Discord login has not finished; will look again")
        want = fingerprint(render(card))
        seen = 0
        try:
            async for message in channel.history(limit=HISTORY_LIMIT, after=window.start,
                                                 before=window.end, oldest_first=True):
                seen += 1
                if message.author.id == me.id and message_fingerprint(message) == want:
                    return message
        except (discord.HTTPException, discord.RateLimited) as exc:
            raise delivery_error(exc) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"Discord unreachable: {type(exc).__name__}: {exc}") from exc
        if seen >= HISTORY_LIMIT:
            raise DeliveryError(f"more than {HISTORY_LIMIT} messages to check for an "
                                "earlier copy; will look again")
        return None

    async def _send(self, channel: Messageable, card: Card, nonce: str) -> discord.Message:
        out = render(card)
        try:
            return await channel.send(content=out.content, embed=out.embed,
                                      view=out.view or discord.utils.MISSING, nonce=nonce,
                                      allowed_mentions=_NO_PINGS)
        except (discord.HTTPException, discord.RateLimited) as exc:
            raise delivery_error(exc) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"Discord unreachable: {type(exc).__name__}: {exc}") from exc

    async def _react(self, message: discord.Message, guild_id: str, emoji: str) -> None:
        # Best effort: the message is out; failing now would post it again.
        found = reaction_emoji(emoji, self.client.get_guild(_int(guild_id) or 0))
        if found is None:
            log.warning("no emoji %r in server %s to react with", emoji, guild_id)
            return
        try:
            await message.add_reaction(found)
        except discord.HTTPException as exc:
            log.warning("could not add %s to %s: %s", emoji, message.id, exc)


Fingerprint = tuple[str, tuple[tuple[object, ...], ...]]


def fingerprint(out: Rendered) -> Fingerprint:
    """What a member sees of a rendered card: its text and its embed's texts."""
    return _fingerprint(out.content, [out.embed])


def message_fingerprint(message: discord.Message) -> Fingerprint:
    return _fingerprint(message.content, message.embeds)


def _fingerprint(content: str | None, embeds: list[discord.Embed]) -> Fingerprint:
    def text(value: object) -> str:
        return str(value or "").strip()

    return text(content), tuple(
        (text(e.title), text(e.description), text(e.footer.text),
         tuple((text(f.name), text(f.value)) for f in e.fields))
        for e in embeds)


def reaction_emoji(canonical: str, guild: discord.Guild | None
                   ) -> str | discord.Emoji | None:
    """What to react with for a canonical vote emoji: the unicode emoji itself, or the
    server's custom emoji of that name (None if the server has none)."""
    if canonical and canonical_emoji(canonical) == canonical and not canonical.isascii():
        return canonical
    if guild is None:
        return None
    return next((e for e in guild.emojis if e.name.casefold() == canonical.casefold()), None)


def delivery_error(exc: discord.HTTPException | discord.RateLimited) -> DeliveryError:
    if isinstance(exc, discord.RateLimited):
        return DeliveryError(f"Discord rate limit: retry after {exc.retry_after:g}s",
                             retry_after=exc.retry_after)
    status = exc.status
    said = f"Discord said {status} {exc.code}: {exc.text or 'no details'}"
    if status == 429:  # refused before reaching Discord (e.g. Cloudflare): back off
        return DeliveryError(said, retry_after=60.0)
    if status >= 500:
        return DeliveryError(said)
    hint = " (give the bot View Channel, Send Messages and Embed Links there)" \
        if status == 403 else ""
    return DeliveryError(said + hint, permanent=True)


def _snowflake(text: str, what: str) -> int:
    snowflake = as_id(text)
    if snowflake is None:
        # A name typed where an id belongs (/settings channel on another platform).
        raise DeliveryError(f"'{text[:40]}' is not a Discord {what} id", permanent=True)
    return snowflake


def _int(text: str) -> int | None:
    return as_id(text)
