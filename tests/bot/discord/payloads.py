"""Discord API v10 payload shapes and builders, as used by `tests.bot.discord.fake_discord`.

The TypedDicts follow the object tables of Discord's developer documentation (User, Role,
Channel, Guild Member, Guild, Message, Reaction, Interaction, Application Command, gateway
events). Snowflakes are strings on the wire, as Discord sends them; builders accept ints.
Only the fields the fake produces are declared; fields Discord marks optional ("?") are
``NotRequired``, nullable ones are ``X | None``.

Builders return plain dicts shaped like Discord's, so tests can hand-craft unusual payloads
(``fake.dispatch("MESSAGE_REACTION_ADD", payloads.reaction_add_event(...))``).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import IntEnum, IntFlag
from typing import Any, NotRequired, TypedDict

Snowflake = str  # Discord sends 64-bit ids as decimal strings
DISCORD_EPOCH_MS = 1_420_070_400_000  # 2015-01-01T00:00:00Z

# ---------------------------------------------------------------- enums


class GatewayOp(IntEnum):
    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class GatewayCloseCode(IntEnum):
    UNKNOWN_ERROR = 4000
    UNKNOWN_OPCODE = 4001
    DECODE_ERROR = 4002
    NOT_AUTHENTICATED = 4003
    AUTHENTICATION_FAILED = 4004
    ALREADY_AUTHENTICATED = 4005
    INVALID_SEQ = 4007
    RATE_LIMITED = 4008
    SESSION_TIMED_OUT = 4009
    INVALID_SHARD = 4010
    SHARDING_REQUIRED = 4011
    INVALID_API_VERSION = 4012
    INVALID_INTENTS = 4013
    DISALLOWED_INTENTS = 4014


class Intents(IntFlag):
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MODERATION = 1 << 2
    GUILD_EXPRESSIONS = 1 << 3
    GUILD_INTEGRATIONS = 1 << 4
    GUILD_WEBHOOKS = 1 << 5
    GUILD_INVITES = 1 << 6
    GUILD_VOICE_STATES = 1 << 7
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    DIRECT_MESSAGE_TYPING = 1 << 14
    MESSAGE_CONTENT = 1 << 15


class Permissions(IntFlag):
    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    SEND_MESSAGES_IN_THREADS = 1 << 38


ALL_PERMISSIONS = (1 << 51) - 1
# What a fresh guild's @everyone gets (the subset the bot cares about).
DEFAULT_EVERYONE_PERMISSIONS = int(
    Permissions.CREATE_INSTANT_INVITE | Permissions.ADD_REACTIONS | Permissions.VIEW_CHANNEL
    | Permissions.SEND_MESSAGES | Permissions.EMBED_LINKS | Permissions.ATTACH_FILES
    | Permissions.READ_MESSAGE_HISTORY | Permissions.USE_EXTERNAL_EMOJIS
    | Permissions.CHANGE_NICKNAME | Permissions.USE_APPLICATION_COMMANDS
    | Permissions.SEND_MESSAGES_IN_THREADS
)


class ChannelType(IntEnum):
    GUILD_TEXT = 0
    DM = 1
    GUILD_VOICE = 2
    GROUP_DM = 3
    GUILD_CATEGORY = 4
    GUILD_ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_STAGE_VOICE = 13
    GUILD_FORUM = 15


class MessageType(IntEnum):
    DEFAULT = 0
    REPLY = 19
    CHAT_INPUT_COMMAND = 20
    CONTEXT_MENU_COMMAND = 23


class MessageFlags(IntFlag):
    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15


class InteractionType(IntEnum):
    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    APPLICATION_COMMAND_AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class InteractionContextType(IntEnum):
    GUILD = 0
    BOT_DM = 1
    PRIVATE_CHANNEL = 2


class InteractionCallbackType(IntEnum):
    PONG = 1
    CHANNEL_MESSAGE_WITH_SOURCE = 4
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8
    MODAL = 9
    PREMIUM_REQUIRED = 10
    LAUNCH_ACTIVITY = 12


class ApplicationCommandType(IntEnum):
    CHAT_INPUT = 1
    USER = 2
    MESSAGE = 3
    PRIMARY_ENTRY_POINT = 4


class OptionType(IntEnum):
    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10
    ATTACHMENT = 11


class ComponentType(IntEnum):
    ACTION_ROW = 1
    BUTTON = 2
    STRING_SELECT = 3
    TEXT_INPUT = 4
    USER_SELECT = 5
    ROLE_SELECT = 6
    MENTIONABLE_SELECT = 7
    CHANNEL_SELECT = 8


class ReactionType(IntEnum):
    NORMAL = 0
    BURST = 1


# ---------------------------------------------------------------- snowflakes and time


def snowflake_time_ms(snowflake: int | str) -> int:
    """Unix milliseconds encoded in a snowflake."""
    return (int(snowflake) >> 22) + DISCORD_EPOCH_MS


class SnowflakeFactory:
    """Makes increasing, time-based snowflakes like Discord's (worker 1, process 0).

    discord.py derives ``created_at`` from ids and special-cases recent messages when
    deleting, so realistic timestamps matter a little.
    """

    def __init__(self, worker_id: int = 1) -> None:
        self._worker = worker_id & 0x1F
        self._last_ms = 0
        self._increment = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
            if now_ms > self._last_ms:
                self._last_ms, self._increment = now_ms, 0
            else:
                self._increment += 1
                if self._increment > 0xFFF:  # 4096 ids per ms: borrow the next ms
                    self._last_ms, self._increment = self._last_ms + 1, 0
            return (self._last_ms << 22) | (self._worker << 17) | self._increment


def iso_timestamp(when: datetime | None = None) -> str:
    """ISO8601 with offset, the format Discord uses (``2026-03-02T12:00:00.000000+00:00``)."""
    return (when or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")


def new_token(nbytes: int = 48) -> str:
    return secrets.token_urlsafe(nbytes)


# ---------------------------------------------------------------- objects


class UserPayload(TypedDict):
    id: Snowflake
    username: str
    discriminator: str  # "0" for accounts on the new username system
    global_name: str | None
    avatar: str | None
    bot: NotRequired[bool]
    system: NotRequired[bool]
    public_flags: NotRequired[int]
    flags: NotRequired[int]


class RoleColorsPayload(TypedDict):
    primary_color: int
    secondary_color: int | None
    tertiary_color: int | None


class RolePayload(TypedDict):
    id: Snowflake
    name: str
    color: int
    colors: RoleColorsPayload
    hoist: bool
    icon: str | None
    unicode_emoji: str | None
    position: int
    permissions: str
    managed: bool
    mentionable: bool
    flags: int


class PermissionOverwritePayload(TypedDict):
    id: Snowflake
    type: int  # 0 role, 1 member
    allow: str
    deny: str


class ChannelPayload(TypedDict):
    id: Snowflake
    type: int
    guild_id: NotRequired[Snowflake]
    position: NotRequired[int]
    permission_overwrites: NotRequired[list[PermissionOverwritePayload]]
    name: NotRequired[str | None]
    topic: NotRequired[str | None]
    nsfw: NotRequired[bool]
    last_message_id: NotRequired[Snowflake | None]
    rate_limit_per_user: NotRequired[int]
    parent_id: NotRequired[Snowflake | None]
    recipients: NotRequired[list[UserPayload]]
    permissions: NotRequired[str]  # only in interaction payloads
    flags: NotRequired[int]


class MemberPayload(TypedDict):
    user: NotRequired[UserPayload]  # absent in MESSAGE_CREATE.member and resolved data
    nick: NotRequired[str | None]
    avatar: NotRequired[str | None]
    roles: list[Snowflake]
    joined_at: str | None
    premium_since: NotRequired[str | None]
    deaf: bool
    mute: bool
    flags: int
    pending: NotRequired[bool]
    permissions: NotRequired[str]  # only in interaction payloads
    communication_disabled_until: NotRequired[str | None]


class UnavailableGuildPayload(TypedDict):
    id: Snowflake
    unavailable: bool


class EmojiPayload(TypedDict):
    id: Snowflake | None  # None for unicode emoji
    name: str | None
    animated: NotRequired[bool]


class GuildPayload(TypedDict):
    id: Snowflake
    name: str
    icon: str | None
    splash: str | None
    discovery_splash: str | None
    owner_id: Snowflake
    afk_channel_id: Snowflake | None
    afk_timeout: int
    verification_level: int
    default_message_notifications: int
    explicit_content_filter: int
    roles: list[RolePayload]
    emojis: list[dict[str, Any]]
    features: list[str]
    mfa_level: int
    application_id: Snowflake | None
    system_channel_id: Snowflake | None
    system_channel_flags: int
    rules_channel_id: Snowflake | None
    vanity_url_code: str | None
    description: str | None
    banner: str | None
    premium_tier: int
    premium_subscription_count: int
    preferred_locale: str
    public_updates_channel_id: Snowflake | None
    nsfw_level: int
    stickers: list[dict[str, Any]]
    premium_progress_bar_enabled: bool
    safety_alerts_channel_id: Snowflake | None
    approximate_member_count: NotRequired[int]
    approximate_presence_count: NotRequired[int]


class GuildCreatePayload(GuildPayload):
    """GUILD_CREATE: the guild object plus the gateway-only extra fields."""

    joined_at: str
    large: bool
    unavailable: NotRequired[bool]  # False when an outage ends / at startup; absent on join
    member_count: int
    voice_states: list[dict[str, Any]]
    members: list[MemberPayload]
    channels: list[ChannelPayload]
    threads: list[ChannelPayload]
    presences: list[dict[str, Any]]
    stage_instances: list[dict[str, Any]]
    guild_scheduled_events: list[dict[str, Any]]
    soundboard_sounds: list[dict[str, Any]]


class ReactionCountDetailsPayload(TypedDict):
    burst: int
    normal: int


class ReactionPayload(TypedDict):
    count: int
    count_details: ReactionCountDetailsPayload
    me: bool
    me_burst: bool
    emoji: EmojiPayload
    burst_colors: list[str]


class AttachmentPayload(TypedDict):
    id: Snowflake
    filename: str
    size: int
    url: str
    proxy_url: str
    content_type: NotRequired[str]


class MessageReferencePayload(TypedDict):
    type: NotRequired[int]  # 0 default (reply), 1 forward
    message_id: NotRequired[Snowflake]
    channel_id: NotRequired[Snowflake]
    guild_id: NotRequired[Snowflake]
    fail_if_not_exists: NotRequired[bool]


class MessageInteractionMetadataPayload(TypedDict):
    id: Snowflake
    type: int
    user: UserPayload
    authorizing_integration_owners: dict[str, Snowflake]
    original_response_message_id: NotRequired[Snowflake]
    interacted_message_id: NotRequired[Snowflake]


class MessagePayload(TypedDict):
    id: Snowflake
    channel_id: Snowflake
    author: UserPayload
    content: str
    timestamp: str
    edited_timestamp: str | None
    tts: bool
    mention_everyone: bool
    mentions: list[UserPayload]
    mention_roles: list[Snowflake]
    attachments: list[AttachmentPayload]
    embeds: list[dict[str, Any]]
    reactions: NotRequired[list[ReactionPayload]]
    nonce: NotRequired[int | str]
    pinned: bool
    webhook_id: NotRequired[Snowflake]
    type: int
    flags: int
    components: list[dict[str, Any]]
    application_id: NotRequired[Snowflake]
    message_reference: NotRequired[MessageReferencePayload]
    referenced_message: NotRequired[MessagePayload | None]
    interaction_metadata: NotRequired[MessageInteractionMetadataPayload]
    # Gateway MESSAGE_CREATE/UPDATE only:
    guild_id: NotRequired[Snowflake]
    member: NotRequired[MemberPayload]


class ApplicationPayload(TypedDict):
    """GET /oauth2/applications/@me (discord.py's login needs every key listed here)."""

    id: Snowflake
    name: str
    icon: str | None
    description: str
    bot_public: bool
    bot_require_code_grant: bool
    bot: NotRequired[UserPayload]
    owner: UserPayload
    verify_key: str
    team: dict[str, Any] | None
    flags: int
    interactions_endpoint_url: str | None
    redirect_uris: list[str]
    tags: NotRequired[list[str]]
    approximate_guild_count: NotRequired[int]


class CommandOptionChoicePayload(TypedDict):
    name: str
    value: str | int | float
    name_localizations: NotRequired[dict[str, str] | None]


class CommandOptionPayload(TypedDict):
    type: int
    name: str
    description: str
    required: NotRequired[bool]
    choices: NotRequired[list[CommandOptionChoicePayload]]
    options: NotRequired[list[CommandOptionPayload]]
    channel_types: NotRequired[list[int]]
    min_value: NotRequired[int | float]
    max_value: NotRequired[int | float]
    min_length: NotRequired[int]
    max_length: NotRequired[int]
    autocomplete: NotRequired[bool]


class ApplicationCommandPayload(TypedDict):
    """An application command as Discord stores and returns it."""

    id: Snowflake
    type: int
    application_id: Snowflake
    guild_id: NotRequired[Snowflake]
    name: str
    name_localizations: NotRequired[dict[str, str] | None]
    description: str
    description_localizations: NotRequired[dict[str, str] | None]
    options: NotRequired[list[CommandOptionPayload]]
    default_member_permissions: str | None
    dm_permission: NotRequired[bool]
    contexts: NotRequired[list[int] | None]
    integration_types: NotRequired[list[int]]
    nsfw: NotRequired[bool]
    version: Snowflake


class InteractionDataOption(TypedDict):
    """One option inside an interaction's ``data.options`` (recursive for subcommands)."""

    name: str
    type: int
    value: NotRequired[str | int | float | bool]
    options: NotRequired[list[InteractionDataOption]]
    focused: NotRequired[bool]


class ResolvedDataPayload(TypedDict, total=False):
    users: dict[Snowflake, UserPayload]
    members: dict[Snowflake, MemberPayload]  # without "user", deaf and mute
    roles: dict[Snowflake, RolePayload]
    channels: dict[Snowflake, ChannelPayload]
    messages: dict[Snowflake, MessagePayload]
    attachments: dict[Snowflake, AttachmentPayload]


class InteractionPayload(TypedDict):
    id: Snowflake
    application_id: Snowflake
    type: int
    data: NotRequired[dict[str, Any]]
    guild: NotRequired[dict[str, Any]]
    guild_id: NotRequired[Snowflake]
    channel: NotRequired[ChannelPayload]
    channel_id: NotRequired[Snowflake]
    member: NotRequired[MemberPayload]  # in guilds, with "permissions"
    user: NotRequired[UserPayload]  # in DMs
    token: str
    version: int
    message: NotRequired[MessagePayload]  # component interactions
    app_permissions: str
    locale: NotRequired[str]
    guild_locale: NotRequired[str]
    entitlements: list[dict[str, Any]]
    authorizing_integration_owners: dict[str, Snowflake]
    context: NotRequired[int]
    attachment_size_limit: int


class InteractionCallbackInfo(TypedDict):
    id: Snowflake
    type: int  # the interaction's type
    activity_instance_id: NotRequired[str]
    response_message_id: NotRequired[Snowflake]
    response_message_loading: NotRequired[bool]
    response_message_ephemeral: NotRequired[bool]


class InteractionCallbackResource(TypedDict):
    type: int  # the callback type
    message: NotRequired[MessagePayload]


class InteractionCallbackResponse(TypedDict):
    """Body of POST /interactions/{id}/{token}/callback?with_response=true."""

    interaction: InteractionCallbackInfo
    resource: NotRequired[InteractionCallbackResource]


# ---------------------------------------------------------------- gateway


class GatewayPayload(TypedDict):
    op: int
    d: Any
    s: int | None
    t: str | None


class ReadyEvent(TypedDict):
    v: int
    user: UserPayload
    guilds: list[UnavailableGuildPayload]
    session_id: str
    resume_gateway_url: str
    shard: NotRequired[list[int]]
    application: dict[str, Any]  # partial application: id and flags


class MessageReactionAddEvent(TypedDict):
    user_id: Snowflake
    channel_id: Snowflake
    message_id: Snowflake
    guild_id: NotRequired[Snowflake]
    member: NotRequired[MemberPayload]
    emoji: EmojiPayload
    message_author_id: NotRequired[Snowflake]
    burst: bool
    burst_colors: NotRequired[list[str]]
    type: int


class MessageReactionRemoveEvent(TypedDict):
    user_id: Snowflake
    channel_id: Snowflake
    message_id: Snowflake
    guild_id: NotRequired[Snowflake]
    emoji: EmojiPayload
    burst: bool
    type: int


class DiscordErrorBody(TypedDict):
    message: str
    code: int
    errors: NotRequired[dict[str, Any]]


# "global" is a Python keyword, hence the functional syntax.
RateLimitBody = TypedDict(
    "RateLimitBody",
    {"message": str, "retry_after": float, "global": bool, "code": NotRequired[int]},
)


# ---------------------------------------------------------------- builders


def gateway_payload(op: int, d: Any = None, *, s: int | None = None,
                    t: str | None = None) -> GatewayPayload:
    return {"op": int(op), "d": d, "s": s, "t": t}


def user(user_id: int, username: str, *, bot: bool = False, global_name: str | None = None,
         avatar: str | None = None) -> UserPayload:
    payload: UserPayload = {
        "id": str(user_id),
        "username": username,
        "discriminator": "0",
        "global_name": global_name if global_name is not None else (None if bot else username),
        "avatar": avatar,
        "public_flags": 0,
        "flags": 0,
    }
    if bot:
        payload["bot"] = True
    return payload


def role(role_id: int, name: str, *, permissions: int = 0, position: int = 0,
         color: int = 0, hoist: bool = False, mentionable: bool = False,
         managed: bool = False) -> RolePayload:
    return {
        "id": str(role_id),
        "name": name,
        "color": color,
        "colors": {"primary_color": color, "secondary_color": None, "tertiary_color": None},
        "hoist": hoist,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(permissions),
        "managed": managed,
        "mentionable": mentionable,
        "flags": 0,
    }


def everyone_role(guild_id: int, *, permissions: int = DEFAULT_EVERYONE_PERMISSIONS
                  ) -> RolePayload:
    """The @everyone role, whose id is the guild's id."""
    return role(guild_id, "@everyone", permissions=permissions)


def guild_channel(channel_id: int, guild_id: int, name: str, *,
                  type: int = ChannelType.GUILD_TEXT, position: int = 0,
                  parent_id: int | None = None, topic: str | None = None, nsfw: bool = False,
                  overwrites: Sequence[PermissionOverwritePayload] = ()) -> ChannelPayload:
    payload: ChannelPayload = {
        "id": str(channel_id),
        "type": int(type),
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "permission_overwrites": list(overwrites),
        "parent_id": str(parent_id) if parent_id is not None else None,
        "nsfw": nsfw,
        "flags": 0,
    }
    if type in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT, ChannelType.GUILD_FORUM):
        payload["topic"] = topic
        payload["last_message_id"] = None
        payload["rate_limit_per_user"] = 0
    return payload


def text_channel(channel_id: int, guild_id: int, name: str, **kwargs: Any) -> ChannelPayload:
    return guild_channel(channel_id, guild_id, name, type=ChannelType.GUILD_TEXT, **kwargs)


def dm_channel(channel_id: int, recipient: UserPayload) -> ChannelPayload:
    return {
        "id": str(channel_id),
        "type": ChannelType.DM,
        "last_message_id": None,
        "recipients": [recipient],
        "flags": 0,
    }


def member(member_user: UserPayload | None, *, roles: Iterable[int] = (),
           joined_at: str | None = None, nick: str | None = None) -> MemberPayload:
    """A guild member. Pass ``member_user=None`` for the user-less shapes (MESSAGE_CREATE,
    interaction resolved data)."""
    payload: MemberPayload = {
        "nick": nick,
        "avatar": None,
        "roles": [str(r) for r in roles],
        "joined_at": joined_at or iso_timestamp(),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if member_user is not None:
        payload["user"] = member_user
    return payload


def unavailable_guild(guild_id: int) -> UnavailableGuildPayload:
    return {"id": str(guild_id), "unavailable": True}


def guild(guild_id: int, name: str, *, owner_id: int, roles: Sequence[RolePayload],
          application_id: int | None = None, system_channel_id: int | None = None,
          features: Sequence[str] = (), locale: str = "en-US") -> GuildPayload:
    return {
        "id": str(guild_id),
        "name": name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "owner_id": str(owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "roles": list(roles),
        "emojis": [],
        "features": list(features),
        "mfa_level": 0,
        "application_id": str(application_id) if application_id is not None else None,
        "system_channel_id": str(system_channel_id) if system_channel_id is not None else None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": locale,
        "public_updates_channel_id": None,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": False,
        "safety_alerts_channel_id": None,
    }


def guild_create(base: GuildPayload, *, channels: Sequence[ChannelPayload],
                 members: Sequence[MemberPayload], joined_at: str,
                 unavailable: bool | None = False,
                 member_count: int | None = None) -> GuildCreatePayload:
    """GUILD_CREATE. ``unavailable=False`` at startup, ``None`` (key absent) for a new join."""
    payload: GuildCreatePayload = {
        **base,  # type: ignore[typeddict-item]
        "joined_at": joined_at,
        "large": (member_count or len(members)) >= 250,
        "member_count": member_count or len(members),
        "voice_states": [],
        "members": list(members),
        "channels": list(channels),
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }
    if unavailable is not None:
        payload["unavailable"] = unavailable
    return payload


def emoji(name: str, emoji_id: int | None = None, *, animated: bool = False) -> EmojiPayload:
    """A unicode emoji (``emoji("👍")``) or a custom one (``emoji("laurel", 123)``)."""
    payload: EmojiPayload = {"id": str(emoji_id) if emoji_id is not None else None,
                             "name": name}
    if animated:
        payload["animated"] = True
    return payload


def parse_emoji(route_value: str) -> EmojiPayload:
    """The emoji in a reaction route (URL-decoded): unicode, ``name:id``, ``:name:id`` (what
    discord.py sends for a ``"<:name:id>"`` string) or ``a:name:id``."""
    parts = route_value.split(":")
    if len(parts) == 3 and parts[0] in ("a", "") and parts[2].isdigit():
        return emoji(parts[1], int(parts[2]), animated=parts[0] == "a")
    if len(parts) == 2 and parts[1].isdigit():
        return emoji(parts[0], int(parts[1]))
    return emoji(route_value)


def emoji_key(e: EmojiPayload) -> str:
    """A stable key for comparing emoji: the id for custom ones, the name for unicode."""
    return e["id"] if e["id"] is not None else (e["name"] or "")


def message(message_id: int, channel_id: int, author: UserPayload, content: str = "", *,
            type: int = MessageType.DEFAULT, flags: int = 0,
            embeds: Sequence[dict[str, Any]] = (), components: Sequence[dict[str, Any]] = (),
            attachments: Sequence[AttachmentPayload] = (), tts: bool = False,
            nonce: int | str | None = None, webhook_id: int | None = None,
            application_id: int | None = None, timestamp: str | None = None) -> MessagePayload:
    payload: MessagePayload = {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "author": author,
        "content": content,
        "timestamp": timestamp or iso_timestamp(
            datetime.fromtimestamp(snowflake_time_ms(message_id) / 1000, UTC)),
        "edited_timestamp": None,
        "tts": tts,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": list(attachments),
        "embeds": list(embeds),
        "pinned": False,
        "type": int(type),
        "flags": int(flags),
        "components": list(components),
    }
    if nonce is not None:
        payload["nonce"] = nonce
    if webhook_id is not None:
        payload["webhook_id"] = str(webhook_id)
    if application_id is not None:
        payload["application_id"] = str(application_id)
    return payload


def reaction_add_event(*, user_id: int, channel_id: int, message_id: int,
                       emoji: EmojiPayload, guild_id: int | None = None,
                       member: MemberPayload | None = None,
                       message_author_id: int | None = None,
                       burst: bool = False) -> MessageReactionAddEvent:
    payload: MessageReactionAddEvent = {
        "user_id": str(user_id),
        "channel_id": str(channel_id),
        "message_id": str(message_id),
        "emoji": emoji,
        "burst": burst,
        "burst_colors": [],
        "type": ReactionType.BURST if burst else ReactionType.NORMAL,
    }
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
    if member is not None:
        payload["member"] = member
    if message_author_id is not None:
        payload["message_author_id"] = str(message_author_id)
    return payload


def reaction_remove_event(*, user_id: int, channel_id: int, message_id: int,
                          emoji: EmojiPayload, guild_id: int | None = None,
                          burst: bool = False) -> MessageReactionRemoveEvent:
    """MESSAGE_REACTION_REMOVE: like the add event but without member/message_author_id."""
    payload: MessageReactionRemoveEvent = {
        "user_id": str(user_id),
        "channel_id": str(channel_id),
        "message_id": str(message_id),
        "emoji": emoji,
        "burst": burst,
        "type": ReactionType.BURST if burst else ReactionType.NORMAL,
    }
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
    return payload


def option(name: str, type: int, value: str | int | float | bool | None = None, *,
           options: Sequence[InteractionDataOption] | None = None,
           focused: bool = False) -> InteractionDataOption:
    """One interaction option; subcommands (types 1, 2) carry ``options`` instead of a value."""
    payload: InteractionDataOption = {"name": name, "type": int(type)}
    if options is not None:
        payload["options"] = list(options)
    elif value is not None:
        payload["value"] = value
    if focused:
        payload["focused"] = True
    return payload


def infer_option_type(value: object) -> OptionType:
    """Option type for a plain Python value when no synced command says otherwise."""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return OptionType.BOOLEAN
    if isinstance(value, int):
        return OptionType.INTEGER
    if isinstance(value, float):
        return OptionType.NUMBER
    return OptionType.STRING


def interaction(*, interaction_id: int, application_id: int, type: int, token: str,
                data: Mapping[str, Any] | None, app_permissions: int,
                guild_id: int | None = None, guild_locale: str = "en-US",
                channel: ChannelPayload | None = None, member: MemberPayload | None = None,
                user: UserPayload | None = None, message: MessagePayload | None = None,
                locale: str = "en-US",
                attachment_size_limit: int = 10 * 1024 * 1024) -> InteractionPayload:
    """INTERACTION_CREATE. In a guild pass ``member`` (with user and permissions), in a DM
    pass ``user``."""
    payload: InteractionPayload = {
        "id": str(interaction_id),
        "application_id": str(application_id),
        "type": int(type),
        "token": token,
        "version": 1,
        "app_permissions": str(app_permissions),
        "locale": locale,
        "entitlements": [],
        # GUILD_INSTALL ("0") -> guild id, or "0" in the bot's DM.
        "authorizing_integration_owners": {"0": str(guild_id) if guild_id else "0"},
        "context": InteractionContextType.GUILD if guild_id else InteractionContextType.BOT_DM,
        "attachment_size_limit": attachment_size_limit,
    }
    if data is not None:
        payload["data"] = dict(data)
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
        payload["guild"] = {"id": str(guild_id), "locale": guild_locale, "features": []}
        payload["guild_locale"] = guild_locale
    if channel is not None:
        payload["channel"] = channel
        payload["channel_id"] = channel["id"]
    if member is not None:
        payload["member"] = member
    if user is not None:
        payload["user"] = user
    if message is not None:
        payload["message"] = message
    return payload


def application(app_id: int, name: str, *, bot_user: UserPayload, owner: UserPayload,
                flags: int = 0) -> ApplicationPayload:
    return {
        "id": str(app_id),
        "name": name,
        "icon": None,
        "description": "",
        "bot_public": False,
        "bot_require_code_grant": False,
        "bot": bot_user,
        "owner": owner,
        "verify_key": "0" * 64,
        "team": None,
        "flags": flags,
        "interactions_endpoint_url": None,  # set -> discord.py warns interactions won't arrive
        "redirect_uris": [],
        "approximate_guild_count": 0,
    }


def error_body(code: int, message: str, errors: Mapping[str, Any] | None = None
               ) -> DiscordErrorBody:
    """Discord's JSON error body, e.g. ``{"message": "Unknown Channel", "code": 10003}``."""
    body: DiscordErrorBody = {"message": message, "code": code}
    if errors:
        body["errors"] = dict(errors)
    return body


def field_error(code: str, message: str) -> dict[str, Any]:
    """One entry of an ``errors`` tree in a 50035 Invalid Form Body answer."""
    return {"_errors": [{"code": code, "message": message}]}


def rate_limit_body(retry_after: float, *, is_global: bool = False) -> RateLimitBody:
    return {"message": "You are being rate limited.", "retry_after": retry_after,
            "global": is_global}

