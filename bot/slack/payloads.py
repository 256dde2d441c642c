"""The Slack payload fields this adapter reads, as TypedDicts.

Only what the adapter uses is declared: Slack sends more, and Bolt hands us plain dicts.
Shapes follow Slack's reference pages (slash commands, Events API, interaction payloads,
users.info). In HTTP mode `bot.slack.inbound` checks each request against these before
Bolt sees it (with pydantic, which needs `typing_extensions.TypedDict` before Python 3.12).
"""

from __future__ import annotations

from typing import Literal, NotRequired

from typing_extensions import TypedDict

__all__ = [
    "ActionView",
    "AppHomeOpenedEvent",
    "BlockAction",
    "BlockActionsBody",
    "ButtonContainer",
    "EventCallbackBody",
    "IdRef",
    "ReactionEvent",
    "ReactionItem",
    "SlackUser",
    "SlackUserProfile",
    "SlashCommandBody",
    "UrlVerificationBody",
    "ViewState",
    "ViewSubmissionBody",
    "ViewSubmissionView",
]


class SlashCommandBody(TypedDict):
    """A slash command invocation (form fields, all strings)."""

    team_id: str
    team_domain: NotRequired[str]
    channel_id: str
    user_id: str
    user_name: NotRequired[str]
    command: str  # "/challenge"
    text: str  # "submit dreamscapes ..." with Slack's escaping (<@U1|x>, <https://...>, &amp;)
    response_url: str
    trigger_id: str


class ReactionItem(TypedDict):
    type: str  # "message", "file", "file_comment": only messages carry votes
    channel: NotRequired[str]
    ts: NotRequired[str]


class ReactionEvent(TypedDict):
    type: Literal["reaction_added", "reaction_removed"]
    user: str
    reaction: str  # bare name: "+1", "+1::skin-tone-3", "laurel"
    item: ReactionItem


class AppHomeOpenedEvent(TypedDict):
    type: Literal["app_home_opened"]
    user: str
    tab: str  # "home" or "messages"


class EventCallbackBody(TypedDict):
    """The Events API envelope around every event."""

    type: Literal["event_callback"]
    team_id: str
    event_id: str
    event: dict[str, object]


class UrlVerificationBody(TypedDict):
    """What Slack sends once to check an HTTP request URL; answered with `challenge`."""

    type: Literal["url_verification"]
    challenge: str


class IdRef(TypedDict):
    id: str


class ButtonContainer(TypedDict):
    type: str  # "message" or "view"
    is_ephemeral: NotRequired[bool]


class BlockAction(TypedDict):
    action_id: str
    type: str
    value: NotRequired[str]


class ActionView(TypedDict):
    """The view a button was pressed in (the Home tab, a modal)."""

    id: str
    type: str  # "home" or "modal"


class BlockActionsBody(TypedDict):
    type: Literal["block_actions"]
    team: IdRef | None
    user: IdRef
    trigger_id: str
    container: ButtonContainer
    actions: list[BlockAction]
    channel: NotRequired[IdRef]
    response_url: NotRequired[str]
    view: NotRequired[ActionView]


class ViewState(TypedDict):
    # {block_id: {action_id: {"type": ..., "value" | "selected_option" | ...}}}
    values: dict[str, dict[str, dict[str, object]]]


class ViewSubmissionView(TypedDict):
    callback_id: str
    private_metadata: str
    state: ViewState


class ViewSubmissionBody(TypedDict):
    type: Literal["view_submission"]
    team: IdRef | None
    user: IdRef
    view: ViewSubmissionView


class SlackUserProfile(TypedDict):
    display_name: NotRequired[str]
    real_name: NotRequired[str]
    image_72: NotRequired[str]  # the profile picture, 72 pixels square (https)


class SlackUser(TypedDict):
    """users.info's `user`: who they are and what they may do in the workspace."""

    id: str
    name: NotRequired[str]
    real_name: NotRequired[str]
    deleted: NotRequired[bool]
    is_bot: NotRequired[bool]
    is_admin: NotRequired[bool]
    is_owner: NotRequired[bool]
    profile: NotRequired[SlackUserProfile]
