"""Posting announcements to Slack for the delivery worker (`bot.platform.Platform`).

Pacing: Slack allows about one message per second in a channel, so posts to one channel
are spaced `channel_interval` apart (a burst of achievement announcements after results
goes out at that pace instead of running into 429s).

Rate limits: Slack answers HTTP 429 with Retry-After. A short wait is taken inside the
call (slack_sdk's retry handler; a 429 means nothing was posted, so retrying cannot
double-post). A long one goes back to the outbox as `DeliveryError(retry_after=...)`, so
the worker does not sit on its lease and the row is retried when Slack allows.

Posting twice: Slack has no idempotency key for chat.postMessage, and a repeat would be a
second message (for an entry: a second copy splitting its votes). Every post carries
the outbox row's nonce in its message metadata (`event_type` "laurels_post"), and when
an earlier attempt may have landed, `find_posted` reads the channel's history in that
attempt's window (conversations.history with `include_all_metadata`: the
channels:history / groups:history scopes, and for direct messages im:history, with
im:write to open the conversation) for a message carrying that nonce.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import emoji as emoji_lib
from aiohttp import ClientConnectorError
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.platform import DeliveryError, PostWindow
from bot.slack.render import card_blocks, fallback_text
from engine.messages import Card
from engine.refs import MessageRef

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

__all__ = [
    "HISTORY_PAGE",
    "HISTORY_PAGES",
    "METADATA_EVENT",
    "BoundedRateLimitRetry",
    "ChannelPacer",
    "SingleTokenClients",
    "SlackPlatform",
    "TeamClients",
    "delivery_error",
    "lookup_error",
    "reaction_name",
    "retry_handlers",
    "slack_ts",
]

log = logging.getLogger(__name__)

# Errors that no retry can fix: the row is parked and the reason kept for the operator.
_PERMANENT = frozenset({"channel_not_found", "is_archived", "msg_too_long", "no_text",
                        "invalid_blocks", "invalid_arguments", "restricted_action",
                        "user_not_found", "cannot_dm_bot", "messages_tab_disabled",
                        "missing_scope", "invalid_metadata_format",
                        "invalid_metadata_schema"})

# The message metadata event type every post carries, with {"nonce": ...} as payload.
METADATA_EVENT = "laurels_post"
# Messages asked for per conversations.history page, and pages read at most in one
# lookup. A window is minutes long and bots post at most about one message per second
# in a channel, so 20 pages is far more than a window holds; running out means the
# lookup is retried later rather than guessed. (Apps outside the Slack Marketplace
# may be capped at 15 messages a page: more pages, same result.)
HISTORY_PAGE = 200
HISTORY_PAGES = 20


class TeamClients(Protocol):
    """The Web API client for a workspace. One bot token today; an OAuth installation
    store can implement this later without touching the rest of the adapter."""

    def client_for(self, team_id: str) -> AsyncWebClient: ...


class SingleTokenClients:
    """Every workspace is served with the same bot token (a single install, or an
    org-wide Enterprise Grid install)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    def client_for(self, team_id: str) -> AsyncWebClient:
        return self.client


class BoundedRateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """Retries a 429 in place only when Slack asks for a short wait."""

    def __init__(self, max_retry_count: int = 2, max_wait: float = 10.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None,
                               error: Exception | None = None) -> bool:
        if response is None or response.status_code != 429:
            return False
        return _retry_after(response.headers) <= self.max_wait


def retry_handlers(max_wait: float = 10.0) -> list[AsyncRetryHandler]:
    """What every Web API client of the adapter uses. Connection errors are retried only
    when the connection was never made: after a reset mid-request Slack may have posted
    the message already, and posting it again would show it twice."""
    return [AsyncConnectionErrorRetryHandler(error_types=[ClientConnectorError]),
            BoundedRateLimitRetry(max_wait=max_wait)]


class ChannelPacer:
    """Spaces the posts to one channel at least `interval` seconds apart."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next: dict[tuple[str, str], float] = {}

    async def wait_turn(self, team_id: str, channel: str) -> None:
        if self.interval <= 0:
            return
        now = asyncio.get_running_loop().time()
        if len(self._next) > 1_000:  # forget channels whose turn has long come
            self._next = {k: t for k, t in self._next.items() if t > now}
        slot = max(now, self._next.get((team_id, channel), now))
        self._next[(team_id, channel)] = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class SlackPlatform:
    """Posts cards with chat.postMessage and records each message's `ts`."""

    name = "slack"

    def __init__(self, clients: TeamClients, *, remember: int = 2_000,
                 channel_interval: float = 1.0) -> None:
        self.clients = clients
        self.remember = remember
        self.pacer = ChannelPacer(channel_interval)
        # nonce -> message already posted: if recording the post failed, the worker
        # tries again and gets the same message back instead of a second copy.
        self._posted: OrderedDict[str, MessageRef] = OrderedDict()

    async def post(self, community_external_id: str, channel_id: str, card: Card, *,
                   nonce: str) -> MessageRef:
        done = self._posted.get(nonce)
        if done is not None:
            return done
        client = self.clients.client_for(community_external_id)
        await self.pacer.wait_turn(community_external_id, channel_id)
        ref = await self._post(client, channel_id, card, nonce)
        self._record(nonce, ref)
        if card.react_with:
            await self._react(client, ref, card.react_with)
        return ref

    async def send_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str) -> MessageRef | None:
        # Posting to a user id lands in the app's Messages tab with them (chat:write only).
        return await self.post(community_external_id, user_id, card, nonce=nonce)

    async def find_posted(self, community_external_id: str, channel_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        done = self._posted.get(nonce)
        if done is not None:
            return done
        client = self.clients.client_for(community_external_id)
        found = await self._find(client, channel_id, nonce, window)
        if found is not None:
            self._record(nonce, found)
            if card.react_with:  # the earlier attempt may have died before reacting
                await self._react(client, found, card.react_with)
        return found

    async def find_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        if (done := self._posted.get(nonce)) is not None:
            return done
        client = self.clients.client_for(community_external_id)
        try:
            # The app's conversation with the member, where send_direct posted (im:write).
            opened = await client.conversations_open(users=user_id)
        except SlackApiError as exc:
            raise lookup_error(exc) from exc
        channel = str(opened["channel"]["id"])
        return await self.find_posted(community_external_id, channel, card, nonce=nonce,
                                      window=window)

    async def _find(self, client: AsyncWebClient, channel: str, nonce: str,
                    window: PostWindow) -> MessageRef | None:
        """The message in `channel` within `window` whose metadata carries `nonce`."""
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            try:
                page = await client.conversations_history(
                    channel=channel, oldest=slack_ts(window.start), latest=slack_ts(window.end),
                    inclusive=True, include_all_metadata=True, limit=HISTORY_PAGE,
                    cursor=cursor)
            except SlackApiError as exc:
                raise lookup_error(exc) from exc
            for message in page.get("messages") or []:
                if _nonce_of(message) == nonce:
                    return MessageRef(channel, str(message["ts"]))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or cursor is None:
                return None
        raise DeliveryError(f"more than {HISTORY_PAGES * HISTORY_PAGE} messages in "
                            f"{channel} to check for an earlier copy; will look again")

    async def _post(self, client: AsyncWebClient, channel: str, card: Card,
                    nonce: str) -> MessageRef:
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"nonce": nonce}}
        try:
            response = await client.chat_postMessage(
                channel=channel, text=fallback_text(card), blocks=card_blocks(card),
                unfurl_links=False, metadata=metadata)
        except SlackApiError as exc:
            if _error(exc) != "invalid_blocks" or not card.image_url:
                raise delivery_error(exc) from exc
            # Slack could not fetch the image: post with a link to it instead.
            log.info("image %s refused by Slack; posting it as a link", card.image_url)
            try:
                response = await client.chat_postMessage(
                    channel=channel, text=fallback_text(card),
                    blocks=card_blocks(card, with_image=False), unfurl_links=False,
                    metadata=metadata)
            except SlackApiError as again:
                raise delivery_error(again) from again
        return MessageRef(str(response["channel"]), str(response["ts"]))

    async def _react(self, client: AsyncWebClient, ref: MessageRef, emoji: str) -> None:
        # Best effort: the message is out and recorded; failing now would post it again.
        try:
            await client.reactions_add(channel=ref.channel_id, timestamp=ref.message_id,
                                       name=reaction_name(emoji))
        except SlackApiError as exc:
            if _error(exc) != "already_reacted":
                log.warning("could not add %s to %s: %s", emoji, ref, _error(exc))

    def _record(self, nonce: str, ref: MessageRef) -> None:
        self._posted[nonce] = ref
        while len(self._posted) > self.remember:
            self._posted.popitem(last=False)


def reaction_name(emoji: str) -> str:
    """A canonical emoji as Slack names it: 👍 -> "thumbsup", a custom one as it is."""
    name = emoji_lib.demojize(emoji, language="alias").strip(":")
    # demojize leaves text it doesn't know (custom emoji names) unchanged.
    return name if name and ":" not in name else emoji.strip(":")


def slack_ts(when: datetime) -> str:
    """A time as Slack writes message timestamps ("1700000000.000000")."""
    return f"{when.timestamp():.6f}"


def _nonce_of(message: dict[str, Any]) -> str | None:
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != METADATA_EVENT:
        return None
    payload = metadata.get("event_payload")
    return str(payload.get("nonce")) if isinstance(payload, dict) else None


def lookup_error(exc: SlackApiError) -> DeliveryError:
    """A failed look at the history: nothing may be posted until it succeeds."""
    if _error(exc) == "missing_scope":
        return DeliveryError(
            "Slack said missing_scope: before posting again after a failed attempt, "
            "Laurels looks for the first copy, which needs the channels:history, "
            "groups:history, im:history and im:write scopes (update the app from "
            "bot/slack/manifest.yml and reinstall it, then `laurels outbox retry ID`)",
            permanent=True)
    return delivery_error(exc)


def delivery_error(exc: SlackApiError) -> DeliveryError:
    error = _error(exc)
    status = getattr(exc.response, "status_code", 200)
    if status == 429 or error == "ratelimited":
        wait = _retry_after(getattr(exc.response, "headers", {}) or {})
        return DeliveryError(f"Slack rate limit: retry after {wait:g}s", retry_after=wait)
    hint = " (invite the bot to the channel with /invite @Laurels)" \
        if error == "not_in_channel" else ""
    return DeliveryError(f"Slack said {error}{hint}", permanent=error in _PERMANENT)


def _error(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or "unknown_error")
    except AttributeError:
        return "unknown_error"


def _retry_after(headers: object) -> float:
    """Retry-After in seconds from headers shaped as slack_sdk has them (str or [str])."""
    items = headers.items() if hasattr(headers, "items") else []
    for key, value in items:
        if str(key).lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return 1.0
