"""Builders for the payloads Slack sends to an app, in Slack's documented shapes.

Everything here is plain data (dicts typed as TypedDicts) so the same payload can be
delivered over Socket Mode (as an envelope's `payload`) or over HTTP (signed, see
`signing.py`). Field sets follow Slack's reference pages:

* slash commands: https://docs.slack.dev/interactivity/implementing-slash-commands
* Events API envelope: https://docs.slack.dev/apis/events-api/#callback-field
* reaction_added / reaction_removed / app_home_opened: https://docs.slack.dev/reference/events
* block_actions / view_submission: https://docs.slack.dev/reference/interaction-payloads
* Socket Mode envelopes: https://docs.slack.dev/apis/events-api/using-socket-mode

IDs default to the constants below, which `FakeSlack` also uses, so a payload built
with defaults matches what the fake's `auth.test` reports.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NotRequired, TypedDict
from urllib.parse import urlencode

__all__ = [
    "API_APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "VERIFICATION_TOKEN",
    "AppHomeOpenedEvent",
    "Authorization",
    "BlockAction",
    "BlockActionsPayload",
    "EventCallback",
    "ReactionEvent",
    "ReactionItem",
    "SlashCommandForm",
    "SocketEnvelope",
    "SocketEnvelopeType",
    "ViewSubmissionPayload",
    "app_home_opened",
    "block_actions",
    "button_action",
    "encode_form",
    "encode_interaction",
    "event_callback",
    "new_id",
    "new_ts",
    "reaction_added",
    "reaction_removed",
    "slash_command",
    "socket_envelope",
    "url_verification",
    "view_submission",
]

TEAM_ID = "T0FAKE0001"
TEAM_DOMAIN = "laurels-test"
API_APP_ID = "A0FAKE0001"
BOT_USER_ID = "U0FAKEBOT1"
BOT_ID = "B0FAKEBOT1"
# The deprecated verification token Slack still puts in payloads; Bolt ignores it.
VERIFICATION_TOKEN = "fake-verification-token"

_ts_counter = itertools.count(1)


def new_id(prefix: str) -> str:
    """A fresh Slack-looking ID: `prefix` plus upper-case alphanumerics (e.g. `Ev0A1B2C3D4E`)."""
    return prefix + uuid.uuid4().hex[:10].upper()


def new_ts() -> str:
    """A unique message/event timestamp in Slack's `seconds.micros` string form."""
    # The counter keeps values unique even when two are made in the same microsecond.
    return f"{int(time.time())}.{next(_ts_counter) % 1_000_000:06d}"


def _trigger_id() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


# --------------------------------------------------------------------------- slash commands


class SlashCommandForm(TypedDict):
    """The form fields of a slash command (all strings, as Slack form-encodes them)."""

    token: str
    team_id: str
    team_domain: str
    channel_id: str
    channel_name: str
    user_id: str
    user_name: str
    command: str
    text: str
    api_app_id: str
    is_enterprise_install: str
    response_url: str
    trigger_id: str
    enterprise_id: NotRequired[str]
    enterprise_name: NotRequired[str]


def slash_command(
    command: str,
    text: str = "",
    *,
    response_url: str,
    user_id: str = "U0MEMBER01",
    user_name: str = "alice",
    channel_id: str = "C0GENERAL1",
    channel_name: str = "general",
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
    trigger_id: str | None = None,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
) -> SlashCommandForm:
    """A slash command invocation.

    `response_url` usually comes from `FakeSlack.new_response_url()`."""
    form = SlashCommandForm(
        token=VERIFICATION_TOKEN,
        team_id=team_id,
        team_domain=team_domain,
        channel_id=channel_id,
        channel_name=channel_name,
        user_id=user_id,
        user_name=user_name,
        command=command if command.startswith("/") else "/" + command,
        text=text,
        api_app_id=api_app_id,
        is_enterprise_install="true" if enterprise_id else "false",
        response_url=response_url,
        trigger_id=trigger_id or _trigger_id(),
    )
    if enterprise_id is not None:
        form["enterprise_id"] = enterprise_id
        form["enterprise_name"] = enterprise_name or "Fake Enterprise"
    return form


# --------------------------------------------------------------------------- Events API


class Authorization(TypedDict):
    enterprise_id: str | None
    team_id: str
    user_id: str
    is_bot: bool
    is_enterprise_install: bool


class ReactionItem(TypedDict):
    type: Literal["message"]
    channel: str
    ts: str


class ReactionEvent(TypedDict):
    type: Literal["reaction_added", "reaction_removed"]
    user: str
    reaction: str
    item: ReactionItem
    event_ts: str
    item_user: NotRequired[str]


class AppHomeOpenedEvent(TypedDict):
    type: Literal["app_home_opened"]
    user: str
    channel: str
    tab: Literal["home", "messages"]
    event_ts: str
    view: NotRequired[dict[str, Any]]


class EventCallback(TypedDict):
    """The outer `event_callback` wrapper around every Events API event."""

    token: str
    team_id: str
    api_app_id: str
    event: Mapping[str, Any]
    type: Literal["event_callback"]
    event_id: str
    event_time: int
    authorizations: list[Authorization]
    is_ext_shared_channel: bool
    event_context: str
    enterprise_id: NotRequired[str]


def _reaction(kind: Literal["reaction_added", "reaction_removed"], user: str, reaction: str,
              channel: str, ts: str, item_user: str | None, event_ts: str | None
              ) -> ReactionEvent:
    event = ReactionEvent(
        type=kind,
        user=user,
        reaction=reaction.strip(":"),  # Slack sends the bare name: "thumbsup", "+1"
        item=ReactionItem(type="message", channel=channel, ts=ts),
        event_ts=event_ts or new_ts(),
    )
    if item_user is not None:
        event["item_user"] = item_user
    return event


def reaction_added(user: str, reaction: str, *, channel: str, ts: str,
                   item_user: str | None = None, event_ts: str | None = None) -> ReactionEvent:
    """`user` reacted with `reaction` (bare name, no colons) to message `ts` in `channel`."""
    return _reaction("reaction_added", user, reaction, channel, ts, item_user, event_ts)


def reaction_removed(user: str, reaction: str, *, channel: str, ts: str,
                     item_user: str | None = None, event_ts: str | None = None) -> ReactionEvent:
    return _reaction("reaction_removed", user, reaction, channel, ts, item_user, event_ts)


def app_home_opened(user: str, *, channel: str | None = None,
                    tab: Literal["home", "messages"] = "home",
                    view: dict[str, Any] | None = None, event_ts: str | None = None
                    ) -> AppHomeOpenedEvent:
    """`view` is only present when the user has a published Home view (omit it for first opens)."""
    event = AppHomeOpenedEvent(
        type="app_home_opened",
        user=user,
        channel=channel or "D" + user[1:],
        tab=tab,
        event_ts=event_ts or new_ts(),
    )
    if view is not None:
        event["view"] = view
    return event


def event_callback(
    event: Mapping[str, Any],
    *,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
    event_id: str | None = None,
    event_time: int | None = None,
    bot_user_id: str = BOT_USER_ID,
    enterprise_id: str | None = None,
) -> EventCallback:
    """Wrap an event. Reuse `event_id` to model Slack re-delivering the same event."""
    body = EventCallback(
        token=VERIFICATION_TOKEN,
        team_id=team_id,
        api_app_id=api_app_id,
        event=event,
        type="event_callback",
        event_id=event_id or new_id("Ev"),
        event_time=event_time if event_time is not None else int(time.time()),
        authorizations=[Authorization(enterprise_id=enterprise_id, team_id=team_id,
                                      user_id=bot_user_id, is_bot=True,
                                      is_enterprise_install=False)],
        is_ext_shared_channel=False,
        event_context="4-" + uuid.uuid4().hex,
    )
    if enterprise_id is not None:
        body["enterprise_id"] = enterprise_id
    return body


def url_verification(challenge: str = "fake-challenge") -> dict[str, str]:
    """The handshake Slack sends when an Events API request URL is configured (HTTP mode)."""
    return {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}


# --------------------------------------------------------------------------- interactivity


class BlockAction(TypedDict):
    action_id: str
    block_id: str
    type: str
    action_ts: str
    value: NotRequired[str]
    text: NotRequired[dict[str, Any]]
    selected_option: NotRequired[dict[str, Any]]


class _User(TypedDict):
    id: str
    username: str
    name: str
    team_id: str


class _Team(TypedDict):
    id: str
    domain: str


class BlockActionsPayload(TypedDict):
    type: Literal["block_actions"]
    user: _User
    api_app_id: str
    token: str
    container: dict[str, Any]
    trigger_id: str
    team: _Team
    enterprise: dict[str, Any] | None
    is_enterprise_install: bool
    actions: list[BlockAction]
    state: dict[str, Any]
    channel: NotRequired[dict[str, str]]
    message: NotRequired[dict[str, Any]]
    response_url: NotRequired[str]
    view: NotRequired[dict[str, Any]]


class ViewSubmissionPayload(TypedDict):
    type: Literal["view_submission"]
    team: _Team
    user: _User
    api_app_id: str
    token: str
    trigger_id: str
    view: dict[str, Any]
    response_urls: list[dict[str, str]]
    is_enterprise_install: bool
    enterprise: dict[str, Any] | None


def _user(user_id: str, user_name: str, team_id: str) -> _User:
    return _User(id=user_id, username=user_name, name=user_name, team_id=team_id)


def button_action(action_id: str, value: str = "", *, block_id: str | None = None,
                  text: str = "Button") -> BlockAction:
    """One clicked button inside a block_actions payload."""
    return BlockAction(
        action_id=action_id,
        block_id=block_id or new_id("b"),
        type="button",
        action_ts=new_ts(),
        value=value,
        text={"type": "plain_text", "text": text, "emoji": True},
    )


def block_actions(
    actions: Sequence[BlockAction],
    *,
    user_id: str = "U0MEMBER01",
    user_name: str = "alice",
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
    channel_id: str | None = "C0GENERAL1",
    channel_name: str = "general",
    message: dict[str, Any] | None = None,
    response_url: str | None = None,
    view: dict[str, Any] | None = None,
    trigger_id: str | None = None,
    state_values: dict[str, Any] | None = None,
) -> BlockActionsPayload:
    """A click in a message (give `channel_id`/`message`/`response_url`) or in a view
    such as App Home or a modal (give `view`; Slack then sends no channel or response_url)."""
    if view is not None:
        container: dict[str, Any] = {"type": "view", "view_id": view.get("id", new_id("V"))}
    else:
        msg = message or {"type": "message", "ts": new_ts(), "text": "", "user": BOT_USER_ID}
        container = {"type": "message", "message_ts": msg.get("ts"), "channel_id": channel_id,
                     "is_ephemeral": False}
    payload = BlockActionsPayload(
        type="block_actions",
        user=_user(user_id, user_name, team_id),
        api_app_id=api_app_id,
        token=VERIFICATION_TOKEN,
        container=container,
        trigger_id=trigger_id or _trigger_id(),
        team=_Team(id=team_id, domain=TEAM_DOMAIN),
        enterprise=None,
        is_enterprise_install=False,
        actions=list(actions),
        state={"values": state_values or {}},
    )
    if view is not None:
        payload["view"] = view
    else:
        payload["channel"] = {"id": channel_id or "", "name": channel_name}
        payload["message"] = msg
        if response_url is not None:
            payload["response_url"] = response_url
    return payload


def view_submission(
    callback_id: str,
    values: dict[str, dict[str, Any]] | None = None,
    *,
    user_id: str = "U0MEMBER01",
    user_name: str = "alice",
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
    view_id: str | None = None,
    private_metadata: str = "",
    title: str = "Modal",
    blocks: list[dict[str, Any]] | None = None,
    response_urls: list[dict[str, str]] | None = None,
    trigger_id: str | None = None,
) -> ViewSubmissionPayload:
    """A modal submitted by a user. `values` is `state.values`:
    `{block_id: {action_id: {"type": "plain_text_input", "value": "..."}}}`."""
    view_id = view_id or new_id("V")
    view: dict[str, Any] = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": blocks or [],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": values or {}},
        "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "title": {"type": "plain_text", "text": title, "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": api_app_id,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": BOT_ID,
    }
    return ViewSubmissionPayload(
        type="view_submission",
        team=_Team(id=team_id, domain=TEAM_DOMAIN),
        user=_user(user_id, user_name, team_id),
        api_app_id=api_app_id,
        token=VERIFICATION_TOKEN,
        trigger_id=trigger_id or _trigger_id(),
        view=view,
        response_urls=response_urls or [],
        is_enterprise_install=False,
        enterprise=None,
    )


# --------------------------------------------------------------------------- Socket Mode

SocketEnvelopeType = Literal["slash_commands", "events_api", "interactive"]


class SocketEnvelope(TypedDict):
    envelope_id: str
    type: SocketEnvelopeType
    payload: Mapping[str, Any]
    accepts_response_payload: bool
    retry_attempt: NotRequired[int]
    retry_reason: NotRequired[str]


def socket_envelope(
    type: SocketEnvelopeType,
    payload: Mapping[str, Any],
    *,
    envelope_id: str | None = None,
    accepts_response_payload: bool | None = None,
    retry_attempt: int = 0,
    retry_reason: str = "",
) -> SocketEnvelope:
    """Wrap a payload the way Slack does on the Socket Mode websocket.

    Slack sets `accepts_response_payload` for slash commands and for interactions that
    may answer in the ack (view_submission, block_suggestion); `retry_*` only on events.
    """
    if accepts_response_payload is None:
        accepts_response_payload = type == "slash_commands" or (
            type == "interactive"
            and payload.get("type") in ("view_submission", "block_suggestion"))
    envelope = SocketEnvelope(
        envelope_id=envelope_id or str(uuid.uuid4()),
        type=type,
        payload=payload,
        accepts_response_payload=accepts_response_payload,
    )
    if type == "events_api":
        envelope["retry_attempt"] = retry_attempt
        envelope["retry_reason"] = retry_reason
    return envelope


# --------------------------------------------------------------------------- HTTP encodings


def encode_form(form: Mapping[str, str]) -> str:
    """Slash commands arrive over HTTP as `application/x-www-form-urlencoded`."""
    return urlencode(dict(form))


def encode_interaction(payload: Mapping[str, Any]) -> str:
    """Interactions arrive over HTTP as a form with one field, `payload`, holding JSON."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
