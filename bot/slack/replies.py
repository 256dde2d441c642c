"""Sending a command's `Reply` back to where the command came from.

Private answers go through the interaction's `response_url` (works in any conversation,
even ones the bot is not in), else chat.postEphemeral, else the app's Messages tab.
Public answers are posted with chat.postMessage; where the bot may not post (a DM
between two people, a channel it was not invited to) the response_url posts them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.platform import retry_handlers
from bot.slack.render import card_blocks, fallback_text
from commands.spec import Reply

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["Origin", "answer", "is_error"]

log = logging.getLogger(__name__)

_CANNOT_POST = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an interaction came from, so that its answer finds its way back."""

    team_id: str
    user_id: str
    channel_id: str | None = None
    response_url: str | None = None
    trigger_id: str | None = None
    # Button presses: the answer is for the presser alone, whatever the command says
    # (but a shared answer, which is for everyone).
    private_only: bool = False
    # A button on a private answer (a pager): the new answer replaces the old one.
    replace_original: bool = False
    # A button of the Home tab: the answer opens as a modal (`trigger_id`).
    home: bool = False
    # A button in a modal showing an answer: the new answer replaces it there.
    view_id: str | None = None


def is_error(reply: Reply) -> bool:
    """`Reply.error` answers (a refusal, a parse error): red, private, "⚠️ ..."."""
    return reply.is_error


async def answer(client: AsyncWebClient, origin: Origin, reply: Reply) -> None:
    blocks = card_blocks(reply.card)
    text = fallback_text(reply.card)
    if reply.ephemeral or (origin.private_only and not reply.shared):
        await _private(client, origin, blocks, text)
        return
    if origin.channel_id:
        try:
            await client.chat_postMessage(channel=origin.channel_id, text=text, blocks=blocks,
                                          unfurl_links=False)
            return
        except SlackApiError as exc:
            if exc.response.get("error") not in _CANNOT_POST or not origin.response_url:
                raise
        if await _webhook(origin.response_url, "in_channel", blocks, text):
            return
    await _private(client, origin, blocks, text)


async def _private(client: AsyncWebClient, origin: Origin, blocks: list[dict[str, Any]],
                   text: str) -> None:
    if origin.response_url and await _webhook(origin.response_url, "ephemeral", blocks, text,
                                              replace_original=origin.replace_original):
        return
    if origin.channel_id:
        try:
            await client.chat_postEphemeral(channel=origin.channel_id, user=origin.user_id,
                                            text=text, blocks=blocks)
            return
        except SlackApiError as exc:
            if exc.response.get("error") not in _CANNOT_POST:
                raise
    # The App Home, or nowhere else left: the app's Messages tab with the member.
    await client.chat_postMessage(channel=origin.user_id, text=text, blocks=blocks,
                                  unfurl_links=False)


async def _webhook(url: str | None, response_type: str, blocks: list[dict[str, Any]],
                   text: str, *, replace_original: bool = False) -> bool:
    if not url:
        return False
    webhook = AsyncWebhookClient(url, retry_handlers=retry_handlers())
    response = await webhook.send(text=text, blocks=blocks, response_type=response_type,
                                  replace_original=replace_original)
    if response.status_code != 200:
        # response_urls expire after 30 minutes or 5 uses; fall back to the Web API.
        log.info("response_url answered %s %s", response.status_code, response.body)
        return False
    return True
