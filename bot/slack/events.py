"""Bolt listeners for Events API events: reaction votes and the App Home tab.

Bolt acknowledges events before these run. `EventDeduplication` counted each one as in
flight and skips replays; `finished` closes that count either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from bot.slack.payloads import AppHomeOpenedEvent, EventCallbackBody, ReactionEvent
from engine.refs import MessageRef

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.adapter import SlackAdapter
    from bot.slack.dedupe import EventDeduplication

__all__ = ["HANDLED_EVENTS", "register"]

HANDLED_EVENTS = frozenset({"reaction_added", "reaction_removed", "app_home_opened"})


def register(app: AsyncApp, adapter: SlackAdapter, dedupe: EventDeduplication) -> None:

    async def on_reaction(body: dict[str, Any], client: AsyncWebClient) -> None:
        envelope = cast(EventCallbackBody, body)
        event = cast(ReactionEvent, envelope["event"])
        ok = False
        try:
            item = event["item"]
            channel, ts = item.get("channel"), item.get("ts")
            # Reactions on files carry no vote: entries are messages.
            if item.get("type") == "message" and channel and ts:
                await adapter.reaction(client, envelope["team_id"], event["user"],
                                       MessageRef(channel, ts), event["reaction"],
                                       added=event["type"] == "reaction_added",
                                       event_id=envelope["event_id"])
            ok = True
        finally:
            dedupe.finished(envelope["event_id"], ok=ok)

    async def on_home_opened(body: dict[str, Any], client: AsyncWebClient) -> None:
        envelope = cast(EventCallbackBody, body)
        event = cast(AppHomeOpenedEvent, envelope["event"])
        ok = False
        try:
            if event.get("tab") == "home":
                member = await adapter.member(client, envelope["team_id"], event["user"])
                await adapter.publish_home(client, member)
            ok = True
        finally:
            dedupe.finished(envelope["event_id"], ok=ok)

    app.event("reaction_added")(on_reaction)
    app.event("reaction_removed")(on_reaction)
    app.event("app_home_opened")(on_home_opened)
