"""A local fake of Discord's REST API (v10) and gateway, for running the REAL discord.py client.

One aiohttp server on 127.0.0.1 (ephemeral port) serves:

* ``/api/v10/...``       REST (`api_base`): the routes listed in `FakeDiscord._routes`
* ``/gateway/``          the gateway websocket (`gateway_url`, also returned by GET /gateway/bot)
* ``/gateway-resume/``   the same gateway under the ``resume_gateway_url`` handed out in READY,
                         so tests can see that a client resumed where Discord told it to

Pointing discord.py at the fake
-------------------------------
discord.py has no base-URL option. Two class attributes decide where it goes:

* ``discord.http.Route.BASE``: read whenever a ``Route`` is built, by ``HTTPClient`` *and* by
  the webhook adapter that sends interaction responses and followups. (Subclassing
  ``HTTPClient`` would therefore miss interaction traffic.)
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``: the plain ``Client`` never calls
  GET /gateway/bot; it dials this URL first and again after a non-resumable INVALID_SESSION.
  (Only ``AutoShardedClient`` asks GET /gateway/bot.) Resumes go to READY's
  ``resume_gateway_url``.

`FakeDiscord.patch_discord()` sets both and restores them; `FakeDiscord.run_client()` also
starts the client and waits until it is ready::

    async with FakeDiscord() as fake:
        client = discord.Client(intents=discord.Intents.default(), **CLIENT_TEST_OPTIONS)
        async with fake.run_client(client):          # patches, logs in, waits for on_ready
            channel = client.get_channel(fake.seed.general_channel_id)
            await channel.send("hi")
            assert fake.messages_in(fake.seed.general_channel_id)[-1]["content"] == "hi"

or with pytest's monkeypatch (restored automatically)::

    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        yarl.URL(fake.gateway_url))
    await client.start(fake.token)  # in a task; the fake only accepts its own token

discord.py behaviour worth knowing (2.7)
----------------------------------------
* ``on_ready`` fires ``guild_ready_timeout`` (default 2 s!) after the last GUILD_CREATE; pass
  `CLIENT_TEST_OPTIONS` (0.1 s) to the client constructor.
* After a non-resumable INVALID_SESSION discord.py sleeps 5 s in ``before_identify_hook``;
  `run_client(skip_identify_delay=True)` (default) replaces that hook on the instance.
* With the members intent, ``chunk_guilds_at_startup`` makes the client send op 8
  REQUEST_GUILD_MEMBERS and wait for GUILD_MEMBERS_CHUNK; the fake answers it. (Like
  Discord, GUILD_CREATE lists only the bot as member unless the presences intent is on.)
* REST answers must have ``Content-Type: application/json`` exactly: discord.py compares the
  header verbatim and treats ``application/json; charset=utf-8`` (aiohttp's
  ``json_response``) as text, then fails with ``TypeError`` on ``data["..."]``.
* Transport compression: discord.py always asks ``compress=zlib-stream`` (``zstd-stream`` if
  the ``zstandard`` package or Python 3.14's ``compression.zstd`` is importable); both are
  served. IDENTIFY's ``"compress": true`` (payload compression) is ignored, as Discord does
  when transport compression is on.
* A 429 is only retried if the response has a ``Via`` header (otherwise discord.py assumes a
  Cloudflare ban and raises); the fake sends ``Via: 1.1 google`` like Discord. The delay
  comes from the JSON ``retry_after``. 500/502/504 are retried after ``1 + 2*try`` seconds.
* ``channel.send`` always sends a random ``nonce`` with ``enforce_nonce: true`` and retries
  reuse the payload, so the fake's nonce de-duplication makes retries idempotent.
* Nonces, as on Discord: with ``enforce_nonce`` a repeat of the same author's nonce
  "in the past few minutes" returns the first message instead of creating one. The
  fake keeps a nonce `nonce_window` seconds (default 300; Discord documents no exact
  span; set 0 to test a repeat after the window has passed). The nonce is echoed in the
  POST answer and in MESSAGE_CREATE, but it is not stored with the message: GET
  /channels/{id}/messages and GET .../messages/{id} answer without it.
* Interaction responses go to POST /interactions/{id}/{token}/callback?with_response=1 and
  discord.py reads the InteractionCallbackResponse body (``interaction`` + ``resource``).
  Followups and ``edit_original_response`` use /webhooks/{application_id}/{token}/...
  (no Authorization header), sent by the webhook adapter, not ``HTTPClient``.
* ``login()`` calls GET /users/@me and GET /oauth2/applications/@me (every key of
  `payloads.ApplicationPayload` is required). Interaction payloads need
  ``attachment_size_limit``; members need ``roles`` and ``flags``; MESSAGE_REACTION_* need
  ``type``. A missing key is a KeyError deep in discord.py's parsers.
* ``add_reaction("<:name:id>")`` sends ``:name:id`` (only the brackets are stripped);
  Discord and the fake accept ``name:id``, ``:name:id`` and ``a:name:id``.
* ``Client.close()`` asks for close code 1000, but its reader task wins the race and the
  server sees 4000, so the session stays resumable (on Discord too). The fake ends a session
  only when the client really closes with 1000/1001.

Helpers (see each docstring)
----------------------------
* setup: `add_user`, `add_guild`, `add_channel`, `add_role`, `add_member`, `set_member_roles`,
  `add_message`, `dm_channel_for`, `set_dms_closed`; the default world's ids are `seed`.
* inspection: `requests`, `requests_to`, `messages_in`, `get_message`, `reaction_users`,
  `commands`/`command_names`, `interactions`, `gateway_log`, `connections`, `sessions`.
* waiting: `wait_for_request(s)`, `wait_until_ready`, `wait_for_resumed`,
  `wait_for_interaction_response`, `wait_for_gateway_frame`, `wait_for(predicate)`.
* events: `dispatch`, `dispatch_slash_command`, `dispatch_autocomplete`,
  `dispatch_component`, `dispatch_modal_submit`, `dispatch_interaction`,
  `dispatch_reaction_add`/`_remove`,
  `dispatch_message_create`, `dispatch_guild_create`, `join_guild`.
* faults: `rate_limit`, `rate_limit_message_posts`, `fail_next`, `drop_connection`,
  `close_connection`, `send_reconnect`, `send_invalid_session`, `request_heartbeat`,
  `hold_reconnects`, ``ack_heartbeats = False``.

Behaviour of the fake
---------------------
* Every REST request (including 401/404/429 answers and unknown routes) is recorded as a
  `RecordedRequest` in `requests`. `wait_for_request` looks from ``since`` (default: the
  moment of the call, i.e. "the next matching request"; pass ``since=0`` for the whole
  history or ``since=fake.request_count`` taken before triggering something).
* Gateway frames both ways are in `gateway_log`. Dispatches are filtered by the session's
  intents like Discord (no reaction events without GUILD_MESSAGE_REACTIONS; message
  content blanked without MESSAGE_CONTENT unless the bot wrote or is mentioned in it).
* Events are kept per session for replay: RESUME with ``seq`` replays every later event,
  then sends RESUMED. An unknown/invalidated session or a bad seq gets op 9 ``false``.
* Own actions are echoed like Discord does (``echo_own_events``): a message the bot posts
  arrives as MESSAGE_CREATE, its reactions as MESSAGE_REACTION_ADD, edits as
  MESSAGE_UPDATE. Adapters must ignore their own events.
* Interactions must be answered within `interaction_ack_deadline` (3 s, like Discord), else
  the callback gets 404 Unknown interaction (10062); a second callback gets 40060.
* Validation is light: empty/too long messages (50006/50035), unknown ids (100xx), command
  names/descriptions/duplicates on sync (50035), DMs to users with closed DMs (50007).
* REST answers carry no X-RateLimit-* headers, so discord.py never pre-emptively waits.
"""

# Every wait takes a `timeout` (default 5 s) on purpose, so no test can hang.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import math
import re
import time
import zlib
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, cast

import aiohttp
import yarl
from aiohttp import web

from tests.bot.discord import payloads
from tests.bot.discord.payloads import (
    ChannelPayload,
    ChannelType,
    EmojiPayload,
    GatewayCloseCode,
    GatewayOp,
    GatewayPayload,
    GuildPayload,
    Intents,
    InteractionCallbackType,
    InteractionDataOption,
    InteractionPayload,
    InteractionType,
    MemberPayload,
    MessageFlags,
    MessagePayload,
    MessageType,
    OptionType,
    Permissions,
    ResolvedDataPayload,
    RolePayload,
    UserPayload,
)
from tests.bot.loopback import LoopbackServer, close_websocket

if TYPE_CHECKING:
    import discord

try:  # discord.py prefers zstd-stream when one of these imports; mirror its choice.
    from zstandard import ZstdCompressor as _ZstdCompressor  # type: ignore[import-not-found]

    _HAS_ZSTD = True
except ImportError:
    try:
        from compression.zstd import ZstdCompressor as _ZstdCompressor  # type: ignore

        _HAS_ZSTD = True
    except ImportError:
        _HAS_ZSTD = False

log = logging.getLogger(__name__)

JSON = Any
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Per-request/response storage shared by the recording middleware and the routes.
_BODY: Final = web.RequestKey("fake_body", object)
_FILES: Final = web.RequestKey("fake_files", tuple)
_JSON: Final = web.ResponseKey("fake_json", object)

API_VERSION: Final = 10
# Pass to discord.Client(...) in tests: on_ready 0.1 s after the last GUILD_CREATE, not 2 s.
CLIENT_TEST_OPTIONS: Final[dict[str, Any]] = {"guild_ready_timeout": 0.1}

_SNOWFLAKE_RE = re.compile(r"\d{1,20}")
_COMMAND_NAME_RE = re.compile(r"[-_'\w]{1,32}")
_MESSAGE_POST_RE = re.compile(r"/channels/\d+/messages")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_ALLOWED_MESSAGE_FLAGS = int(MessageFlags.SUPPRESS_EMBEDS | MessageFlags.SUPPRESS_NOTIFICATIONS
                             | MessageFlags.IS_COMPONENTS_V2)
_BOT_ROLE_PERMISSIONS = int(
    Permissions.VIEW_CHANNEL | Permissions.SEND_MESSAGES | Permissions.EMBED_LINKS
    | Permissions.ATTACH_FILES | Permissions.READ_MESSAGE_HISTORY | Permissions.ADD_REACTIONS
    | Permissions.MANAGE_MESSAGES | Permissions.USE_EXTERNAL_EMOJIS
    | Permissions.USE_APPLICATION_COMMANDS | Permissions.SEND_MESSAGES_IN_THREADS
)

# Which intent an event needs, in a guild and in a DM (events not listed are always sent).
_GUILD_EVENT_INTENTS: Final[dict[str, Intents]] = {
    **dict.fromkeys(("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE", "GUILD_ROLE_CREATE",
                     "GUILD_ROLE_UPDATE", "GUILD_ROLE_DELETE", "CHANNEL_CREATE",
                     "CHANNEL_UPDATE", "CHANNEL_DELETE", "THREAD_CREATE", "THREAD_UPDATE",
                     "THREAD_DELETE"), Intents.GUILDS),
    **dict.fromkeys(("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE"),
                    Intents.GUILD_MEMBERS),
    **dict.fromkeys(("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE",
                     "MESSAGE_DELETE_BULK"), Intents.GUILD_MESSAGES),
    **dict.fromkeys(("MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE",
                     "MESSAGE_REACTION_REMOVE_ALL", "MESSAGE_REACTION_REMOVE_EMOJI"),
                    Intents.GUILD_MESSAGE_REACTIONS),
    "TYPING_START": Intents.GUILD_MESSAGE_TYPING,
}
_DM_EVENT_INTENTS: Final[dict[str, Intents]] = {
    **dict.fromkeys(("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"),
                    Intents.DIRECT_MESSAGES),
    **dict.fromkeys(("MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE",
                     "MESSAGE_REACTION_REMOVE_ALL", "MESSAGE_REACTION_REMOVE_EMOJI"),
                    Intents.DIRECT_MESSAGE_REACTIONS),
    "TYPING_START": Intents.DIRECT_MESSAGE_TYPING,
}


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class RecordedFile:
    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request as the fake saw and answered it."""

    index: int
    method: str
    path: str  # below the API base, e.g. "/channels/1/messages" (full path if outside it)
    query: dict[str, str]
    json: JSON  # parsed JSON body; multipart: the payload_json part; None without body
    files: tuple[RecordedFile, ...]
    headers: dict[str, str]  # Authorization, Content-Type, User-Agent, X-Audit-Log-Reason
    status: int
    response: JSON  # the JSON answered, None for 204
    fault: str | None  # "rate_limited" / "injected" when a switch answered, else None
    at: float  # loop.time()

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class GatewayFrame:
    """One gateway payload, ``direction="in"`` from the client, ``"out"`` from the fake."""

    index: int
    connection_id: int
    direction: Literal["in", "out"]
    op: int
    t: str | None
    s: int | None
    d: JSON
    at: float


@dataclass(eq=False)
class GatewayConnection:
    """One websocket connection to the gateway."""

    id: int
    path: str
    query: dict[str, str]
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    compress: str | None
    opened_at: float
    session: GatewaySession | None = None
    close_code: int | None = None
    closed_by_server: bool = False
    heartbeats: int = 0
    last_heartbeat_seq: int | None = None
    binary_frames_sent: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _compressor: Any = None
    _send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def open(self) -> bool:
        return not self.done.is_set() and not self.ws.closed

    @property
    def is_resume_url(self) -> bool:
        return self.path.startswith("/gateway-resume")

    async def send_json(self, payload: Mapping[str, Any]) -> None:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        if _LONE_SURROGATE.search(text):
            # Not UTF-8: JSON can only spell it as an escape (\uXXXX), which a client's
            # JSON parser turns back into the lone surrogate.
            text = json.dumps(payload, separators=(",", ":"))
        # Compress and send under one lock: the stream's state must follow send order.
        async with self._send_lock:
            if self.compress == "zlib-stream":
                if self._compressor is None:
                    self._compressor = zlib.compressobj()
                data = self._compressor.compress(text.encode())
                data += self._compressor.flush(zlib.Z_SYNC_FLUSH)  # ends in 00 00 ff ff
                await self.ws.send_bytes(data)
                self.binary_frames_sent += 1
            elif self.compress == "zstd-stream":
                if self._compressor is None:
                    self._compressor = _zstd_stream()
                await self.ws.send_bytes(self._compressor(text.encode()))
                self.binary_frames_sent += 1
            else:
                await self.ws.send_str(text)


def _zstd_stream() -> Callable[[bytes], bytes]:
    """One zstd stream per connection, each message flushed to a decodable block."""
    cctx: Any = _ZstdCompressor()
    if hasattr(cctx, "compressobj"):  # zstandard
        import zstandard  # type: ignore[import-not-found]

        cobj = cctx.compressobj()
        return lambda data: cobj.compress(data) + cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    return lambda data: cctx.compress(data, cctx.FLUSH_BLOCK)  # compression.zstd


@dataclass(eq=False)
class GatewaySession:
    """A gateway session (IDENTIFY -> READY), which survives reconnects until invalidated."""

    session_id: str
    intents: int
    shard: tuple[int, int] | None
    identify: dict[str, Any]
    seq: int = 0
    events: list[GatewayPayload] = field(default_factory=list)  # all dispatches, for replay
    connection: GatewayConnection | None = None
    invalidated: bool = False
    resumes: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def has_intent(self, intent: int) -> bool:
        return bool(self.intents & intent)

    def wants_guild(self, guild_id: int) -> bool:
        if self.shard is None:
            return True
        shard_id, shard_count = self.shard
        return (guild_id >> 22) % shard_count == shard_id


@dataclass(eq=False)
class GuildState:
    """A guild the fake knows; ``in_guild`` is whether the bot is a member."""

    id: int
    payload: GuildPayload  # REST shape; payload["roles"] is the live role list
    channels: dict[int, ChannelPayload]
    members: dict[int, MemberPayload]  # with "user"
    joined_at: str
    in_guild: bool

    @property
    def name(self) -> str:
        return self.payload["name"]

    @property
    def roles(self) -> list[RolePayload]:
        return self.payload["roles"]

    def text_channel_ids(self) -> list[int]:
        return [cid for cid, c in self.channels.items() if c["type"] == ChannelType.GUILD_TEXT]


@dataclass(eq=False)
class InteractionRecord:
    """An interaction the fake dispatched, and what the app answered."""

    id: int
    token: str
    payload: InteractionPayload
    created_at: float
    callback: RecordedRequest | None = None
    response_type: int | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    messages: dict[int, MessagePayload] = field(default_factory=dict)  # incl. ephemeral
    autocomplete_choices: list[dict[str, Any]] | None = None
    modal: dict[str, Any] | None = None

    @property
    def type(self) -> int:
        return self.payload["type"]

    @property
    def channel_id(self) -> int:
        channel = self.payload.get("channel")
        return int(channel["id"] if channel is not None else self.payload["channel_id"])

    @property
    def guild_id(self) -> int | None:
        gid = self.payload.get("guild_id")
        return int(gid) if gid is not None else None

    @property
    def original(self) -> MessagePayload | None:
        if self.original_message_id is None:
            return None
        return self.messages.get(self.original_message_id)

    @property
    def acknowledged(self) -> bool:
        return self.response_type is not None


@dataclass(frozen=True)
class SeedIds:
    """Ids of the default world (``FakeDiscord(seed=True)``)."""

    guild_id: int
    general_channel_id: int
    challenges_channel_id: int
    everyone_role_id: int
    moderator_role_id: int
    owner_id: int
    alice_id: int
    bob_id: int


@dataclass
class _Fault:
    method: str | None
    path: re.Pattern[str]
    remaining: int
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    after_handler: bool
    kind: str

    def matches(self, method: str, path: str) -> bool:
        return (self.remaining > 0 and (self.method is None or self.method == method)
                and self.path.fullmatch(path) is not None)


class DiscordHTTPError(Exception):
    """Raised by route handlers; becomes Discord's JSON error answer."""

    def __init__(self, status: int, code: int, message: str,
                 errors: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body = payloads.error_body(code, message, errors)


def _unknown(what: str, code: int) -> DiscordHTTPError:
    return DiscordHTTPError(404, code, f"Unknown {what}")


def _form_error(errors: Mapping[str, Any]) -> DiscordHTTPError:
    return DiscordHTTPError(400, 50035, "Invalid Form Body", errors)


# ---------------------------------------------------------------- the fake


class FakeDiscord(LoopbackServer):
    """The fake Discord. Use as ``async with FakeDiscord() as fake`` or start()/stop()."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        bot_username: str = "laurels",
        application_id: int | None = None,
        heartbeat_interval: float = 0.5,
        seed: bool = True,
        echo_own_events: bool = True,
        interaction_ack_deadline: float = 3.0,
        nonce_window: float = 300.0,
    ) -> None:
        super().__init__()
        self.nonce_window = nonce_window  # seconds a nonce is remembered (enforce_nonce)
        self.token = token
        self.heartbeat_interval = heartbeat_interval  # seconds; sent in HELLO as ms
        self.echo_own_events = echo_own_events
        self.interaction_ack_deadline = interaction_ack_deadline
        self.ack_heartbeats = True  # False simulates a zombie connection
        self.snowflakes = payloads.SnowflakeFactory()

        # --- observable state (read freely from tests; the dicts are live, do not mutate)
        self.requests: list[RecordedRequest] = []
        self.gateway_log: list[GatewayFrame] = []
        self.connections: list[GatewayConnection] = []
        self.sessions: list[GatewaySession] = []
        self.users: dict[int, UserPayload] = {}
        self.guilds: dict[int, GuildState] = {}
        self.channels: dict[int, ChannelPayload] = {}  # guild channels and DMs
        self.messages: dict[int, dict[int, MessagePayload]] = {}  # channel -> id -> message
        self.interactions: dict[int, InteractionRecord] = {}
        self.global_commands: list[payloads.ApplicationCommandPayload] = []
        self.guild_commands: dict[int, list[payloads.ApplicationCommandPayload]] = {}
        self.dms_closed: set[int] = set()
        self.identify_count = 0
        self.ready_count = 0
        self.resume_count = 0
        self.deduplicated_sends = 0  # POSTs answered from the nonce cache

        self._message_channel: dict[int, int] = {}
        self._reactions: dict[int, dict[str, tuple[EmojiPayload, list[int]]]] = {}
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}  # -> (message, when)
        self._interactions_by_token: dict[str, InteractionRecord] = {}
        self._dm_by_user: dict[int, int] = {}
        self._faults: list[_Fault] = []
        self._conn_ids = itertools.count(1)
        self._gate = asyncio.Event()
        self._gate.set()
        self._stopping = False

        bot_id = application_id or self.snowflakes.next()
        # Modern applications share their id with the bot user.
        self.application_id = bot_id
        self.bot_user = payloads.user(bot_id, bot_username, bot=True)
        self.users[bot_id] = self.bot_user
        self.owner_user = self.add_user("owner")
        self.application = payloads.application(bot_id, bot_username, bot_user=self.bot_user,
                                                owner=self.owner_user)
        self._seed: SeedIds | None = self._seed_world() if seed else None

    # ------------------------------------------------------------------ lifecycle

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/gateway/", self._handle_gateway)
        app.router.add_get("/gateway-resume/", self._handle_gateway)
        prefix = f"/api/v{API_VERSION}"
        for method, path, handler in self._routes():
            app.router.add_route(method, prefix + path, handler)
        return app

    def on_started(self) -> None:
        self._stopping = False

    async def on_stopping(self) -> None:
        self._stopping = True
        self._gate.set()  # let held connections run into the shutdown
        for conn in self.connections:
            if conn.open:
                await self._close_ws(conn, aiohttp.WSCloseCode.GOING_AWAY)

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` must be, e.g. ``http://127.0.0.1:PORT/api/v10``."""
        return f"{self.base_url}/api/v{API_VERSION}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port_or_fail()}/gateway/"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port_or_fail()}/gateway-resume/"

    def _port_or_fail(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._port

    # ------------------------------------------------------------------ discord.py wiring

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway at this fake, then restore."""
        from discord.gateway import DiscordWebSocket
        from discord.http import Route

        old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
        Route.BASE = self.api_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            Route.BASE = old_base
            DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    @contextlib.asynccontextmanager
    async def run_client(self, client: discord.Client, *, timeout: float = 5.0,
                         skip_identify_delay: bool = True) -> AsyncIterator[discord.Client]:
        """Start `client` against the fake, wait for on_ready, and close it on exit.

        Errors from ``client.start()`` (e.g. LoginFailure) are raised here rather than lost
        in a background task.
        """
        if skip_identify_delay:
            async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
                return None

            # The default hook sleeps 5 s before every re-IDENTIFY.
            client.before_identify_hook = no_identify_delay  # type: ignore[method-assign]
        with self.patch_discord():
            ready_target = self.ready_count + 1
            start = asyncio.create_task(client.start(self.token), name="fake-discord-client")
            try:
                await self._wait_client_ready(client, start, ready_target, timeout)
                yield client
            except BaseException:
                await self._shutdown_client(client, start, timeout, raise_errors=False)
                raise
            else:
                await self._shutdown_client(client, start, timeout, raise_errors=True)

    async def _wait_client_ready(self, client: discord.Client, start: asyncio.Task[None],
                                 ready_target: int, timeout: float) -> None:
        async def ready() -> None:
            # wait_until_ready() raises before login() has run: wait for READY first.
            await self.wait_until_ready(count=ready_target, timeout=timeout)
            await client.wait_until_ready()

        waiter = asyncio.create_task(ready())
        try:
            done, _ = await asyncio.wait({waiter, start}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not waiter.done():
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await waiter
        if start in done:
            start.result()  # raise the client's error
            raise RuntimeError("discord client stopped before it was ready")
        if waiter not in done:
            raise TimeoutError(f"discord client not ready after {timeout}s; "
                               f"last requests: {self._recent_requests()}")
        waiter.result()

    async def _shutdown_client(self, client: discord.Client, start: asyncio.Task[None],
                               timeout: float, *, raise_errors: bool) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(timeout):
                await client.close()
        done, _ = await asyncio.wait({start}, timeout=timeout)
        if not done:
            start.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await start
            return
        exc = start.exception()
        if exc is not None and raise_errors:
            raise exc

    # ------------------------------------------------------------------ world setup

    def _seed_world(self) -> SeedIds:
        alice = self.add_user("alice")
        bob = self.add_user("bob")
        owner_id = int(self.owner_user["id"])
        g = self.add_guild("Laurels Test", owner_id=owner_id, channels=("general", "challenges"),
                           member_ids=(owner_id, int(alice["id"]), int(bob["id"])))
        mod = self.add_role(g.id, "Moderator",
                            permissions=int(Permissions.MANAGE_GUILD | Permissions.MANAGE_MESSAGES))
        self.set_member_roles(g.id, owner_id, [int(mod["id"])])
        general, challenges = g.text_channel_ids()[:2]
        return SeedIds(guild_id=g.id, general_channel_id=general,
                       challenges_channel_id=challenges, everyone_role_id=g.id,
                       moderator_role_id=int(mod["id"]), owner_id=owner_id,
                       alice_id=int(alice["id"]), bob_id=int(bob["id"]))

    @property
    def seed(self) -> SeedIds:
        if self._seed is None:
            raise RuntimeError("FakeDiscord(seed=False) has no default world")
        return self._seed

    @property
    def bot_id(self) -> int:
        return int(self.bot_user["id"])

    def add_user(self, username: str, *, user_id: int | None = None, bot: bool = False,
                 global_name: str | None = None) -> UserPayload:
        uid = user_id or self.snowflakes.next()
        u = payloads.user(uid, username, bot=bot, global_name=global_name)
        self.users[uid] = u
        return u

    def add_guild(self, name: str, *, guild_id: int | None = None, owner_id: int | None = None,
                  channels: Sequence[str] = ("general",), member_ids: Iterable[int] = (),
                  bot_permissions: int = _BOT_ROLE_PERMISSIONS,
                  in_guild: bool = True) -> GuildState:
        """Add a guild with text channels and members (the bot is always a member).

        ``in_guild=False`` keeps it out of READY until `join_guild`/`dispatch_guild_create`.
        """
        gid = guild_id or self.snowflakes.next()
        owner = owner_id if owner_id is not None else int(self.owner_user["id"])
        bot_role = payloads.role(self.snowflakes.next(), self.bot_user["username"],
                                 permissions=bot_permissions, position=1, managed=True)
        base = payloads.guild(gid, name, owner_id=owner,
                              roles=[payloads.everyone_role(gid), bot_role])
        state = GuildState(id=gid, payload=base, channels={}, members={},
                           joined_at=payloads.iso_timestamp(), in_guild=in_guild)
        self.guilds[gid] = state
        for position, channel_name in enumerate(channels):
            self.add_channel(gid, channel_name, position=position)
        if state.channels:
            base["system_channel_id"] = str(next(iter(state.channels)))
        self.add_member(gid, self.bot_id, roles=[int(bot_role["id"])])
        for uid in member_ids:
            self.add_member(gid, uid)
        return state

    def add_channel(self, guild_id: int, name: str, *, type: int = ChannelType.GUILD_TEXT,
                    position: int | None = None, parent_id: int | None = None,
                    topic: str | None = None) -> ChannelPayload:
        g = self.guilds[guild_id]
        cid = self.snowflakes.next()
        channel = payloads.guild_channel(cid, guild_id, name, type=type,
                                         position=len(g.channels) if position is None else position,
                                         parent_id=parent_id, topic=topic)
        g.channels[cid] = channel
        self.channels[cid] = channel
        self.messages.setdefault(cid, {})
        return channel

    def add_role(self, guild_id: int, name: str, *, permissions: int = 0) -> RolePayload:
        g = self.guilds[guild_id]
        r = payloads.role(self.snowflakes.next(), name, permissions=permissions,
                          position=len(g.roles))
        g.roles.append(r)
        return r

    def add_member(self, guild_id: int, user_id: int, *, roles: Iterable[int] = (),
                   nick: str | None = None) -> MemberPayload:
        m = payloads.member(self.users[user_id], roles=roles, nick=nick)
        self.guilds[guild_id].members[user_id] = m
        return m

    def set_avatar(self, user_id: int, avatar: str | None, *, guild_id: int | None = None
                   ) -> None:
        """Give a user a picture: an avatar hash on the user object, or with `guild_id`
        on their member object there (a server's own avatar, which Discord shows there
        instead). Payloads sent from now on carry it (members share the user object)."""
        if guild_id is None:
            self.users[user_id]["avatar"] = avatar
        else:
            self.guilds[guild_id].members[user_id]["avatar"] = avatar

    def set_member_roles(self, guild_id: int, user_id: int, roles: Iterable[int]) -> None:
        self.guilds[guild_id].members[user_id]["roles"] = [str(r) for r in roles]

    def set_dms_closed(self, user_id: int, closed: bool = True) -> None:
        """Make DMs to `user_id` fail with 403 50007, like a user who blocks server DMs."""
        (self.dms_closed.add if closed else self.dms_closed.discard)(user_id)

    def add_message(self, channel_id: int, content: str, *, author_id: int | None = None,
                    **kwargs: Any) -> MessagePayload:
        """Store a message without any gateway event (history the client never saw)."""
        author = self.users[author_id if author_id is not None else self.seed.alice_id]
        msg = payloads.message(self.snowflakes.next(), channel_id, author, content, **kwargs)
        self._store_message(msg)
        return msg

    def dm_channel_for(self, user_id: int) -> ChannelPayload:
        """The bot's DM channel with `user_id` (created on first use, like Discord)."""
        cid = self._dm_by_user.get(user_id)
        if cid is None:
            cid = self.snowflakes.next()
            self.channels[cid] = payloads.dm_channel(cid, self.users[user_id])
            self.messages.setdefault(cid, {})
            self._dm_by_user[user_id] = cid
        return self.channels[cid]

    # ------------------------------------------------------------------ inspection

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def requests_to(self, method: str | None = None, path: str | re.Pattern[str] | None = None,
                    *, since: int = 0) -> list[RecordedRequest]:
        return [r for r in self.requests[since:] if _request_matches(r, method, path)]

    def messages_in(self, channel_id: int) -> list[MessagePayload]:
        """Messages stored in a channel, oldest first (ephemeral ones are not here)."""
        return list(self.messages.get(channel_id, {}).values())

    def get_message(self, message_id: int) -> MessagePayload | None:
        cid = self._message_channel.get(message_id)
        return None if cid is None else self.messages[cid].get(message_id)

    def _interaction_message_by_id(self, message_id: int) -> MessagePayload | None:
        """A message sent in answer to an interaction, ephemeral ones included."""
        for rec in self.interactions.values():
            if message_id in rec.messages:
                return rec.messages[message_id]
        return None

    def reaction_users(self, message_id: int, emoji: str | EmojiPayload) -> list[int]:
        e = payloads.parse_emoji(emoji) if isinstance(emoji, str) else emoji
        entry = self._reactions.get(message_id, {}).get(payloads.emoji_key(e))
        return list(entry[1]) if entry else []

    def commands(self, guild_id: int | None = None) -> list[payloads.ApplicationCommandPayload]:
        """The synced command tree: global, or for one guild."""
        return self.global_commands if guild_id is None else self.guild_commands.get(guild_id, [])

    def command_names(self, guild_id: int | None = None) -> list[str]:
        return [c["name"] for c in self.commands(guild_id)]

    @property
    def active_session(self) -> GatewaySession | None:
        live = [s for s in self.sessions if not s.invalidated]
        return live[-1] if live else None

    @property
    def active_connection(self) -> GatewayConnection | None:
        live = [c for c in self.connections if c.open and c.session is not None]
        return live[-1] if live else None

    # ------------------------------------------------------------------ waiting

    def recent_activity(self) -> str:
        return f"last requests: {self._recent_requests()}"

    def _recent_requests(self) -> str:
        return ", ".join(f"{r.method} {r.path} ({r.status})" for r in self.requests[-8:])

    async def wait_for(self, predicate: Callable[[], bool], *, timeout: float = 5.0,
                       what: str = "condition") -> None:
        """Wait until `predicate()` holds; re-checked after every request and gateway frame."""
        await self._wait(lambda: True if predicate() else None, timeout, what)

    async def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        *,
        method: str | None = None,
        path: str | re.Pattern[str] | None = None,
        since: int | None = None,
        timeout: float = 5.0,
    ) -> RecordedRequest:
        """The first request from index `since` (default: now) matching method, path (exact
        string or regex fullmatch) and predicate."""
        start = self.request_count if since is None else since

        def find() -> RecordedRequest | None:
            for r in self.requests[start:]:
                if _request_matches(r, method, path) and (predicate is None or predicate(r)):
                    return r
            return None

        return await self._wait(find, timeout, f"request {method or '*'} {path or '*'}")

    async def wait_for_requests(self, count: int, *, method: str | None = None,
                                path: str | re.Pattern[str] | None = None, since: int = 0,
                                timeout: float = 5.0) -> list[RecordedRequest]:
        def find() -> list[RecordedRequest] | None:
            found = self.requests_to(method, path, since=since)
            return found if len(found) >= count else None

        return await self._wait(find, timeout, f"{count} requests {method or '*'} {path or '*'}")

    async def wait_until_ready(self, *, count: int = 1, timeout: float = 5.0) -> GatewaySession:
        """Wait until READY (and the GUILD_CREATEs after it) went out `count` times in total."""
        await self._wait(lambda: True if self.ready_count >= count else None, timeout,
                         f"READY #{count}")
        return cast(GatewaySession, self.active_session)

    async def wait_for_resumed(self, *, count: int = 1, timeout: float = 5.0) -> GatewaySession:
        """Wait until RESUMED went out `count` times in total (see `resume_count`)."""
        await self._wait(lambda: True if self.resume_count >= count else None, timeout,
                         f"RESUMED #{count}")
        return cast(GatewaySession, self.active_session)

    async def wait_for_gateway_frame(
        self, predicate: Callable[[GatewayFrame], bool], *, since: int | None = None,
        timeout: float = 5.0,
    ) -> GatewayFrame:
        start = len(self.gateway_log) if since is None else since

        def find() -> GatewayFrame | None:
            return next((f for f in self.gateway_log[start:] if predicate(f)), None)

        return await self._wait(find, timeout, "gateway frame")

    async def wait_for_interaction_response(self, interaction: InteractionRecord, *,
                                            timeout: float = 5.0) -> RecordedRequest:
        """The app's POST .../callback for `interaction` (already made or upcoming)."""
        return await self.wait_for_request(
            method="POST", path=f"/interactions/{interaction.id}/{interaction.token}/callback",
            since=0, timeout=timeout)

    # ------------------------------------------------------------------ fault switches

    def rate_limit(self, count: int = 1, *, retry_after: float = 0.05, method: str | None = "POST",
                   path: str | re.Pattern[str] = _MESSAGE_POST_RE,
                   is_global: bool = False) -> None:
        """Answer the next `count` matching requests with 429 (nothing is stored).

        Body ``{"message", "retry_after", "global"}`` and headers Retry-After, X-RateLimit-*
        and ``Via`` (discord.py only retries a 429 that has ``Via``).
        """
        headers = {
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Bucket": "fake-bucket",
            "X-RateLimit-Scope": "global" if is_global else "user",
            "Via": "1.1 google",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = dict(payloads.rate_limit_body(retry_after, is_global=is_global))
        self._faults.append(_Fault(method, _as_pattern(path), count, 429, body, headers,
                                   after_handler=False, kind="rate_limited"))

    def rate_limit_message_posts(self, count: int = 1, *, retry_after: float = 0.05) -> None:
        """429 for the next `count` POST /channels/{id}/messages."""
        self.rate_limit(count, retry_after=retry_after)

    def fail_next(self, count: int = 1, *, status: int = 500, code: int = 0,
                  message: str | None = None, method: str | None = "POST",
                  path: str | re.Pattern[str] = _MESSAGE_POST_RE,
                  after_handler: bool = False) -> None:
        """Answer the next `count` matching requests with an error.

        ``after_handler=True`` runs the route first (a message *is* stored) and then loses
        the answer, like a timeout at a proxy: the case nonces exist for.
        """
        body = dict(payloads.error_body(code, message or f"{status}: injected failure"))
        self._faults.append(_Fault(method, _as_pattern(path), count, status, body, {},
                                   after_handler=after_handler, kind="injected"))

    def clear_faults(self) -> None:
        self._faults.clear()

    # ------------------------------------------------------------------ gateway: dispatch

    async def dispatch(self, event: str, data: Mapping[str, Any], *,
                       session: GatewaySession | None = None) -> int:
        """Send a DISPATCH to every live session (or one), respecting intents and shards.

        Returns how many sessions got it; sessions that are disconnected but resumable queue
        it for replay. Raises if no client ever identified.
        """
        targets = [session] if session is not None else [s for s in self.sessions
                                                         if not s.invalidated]
        if not targets:
            raise RuntimeError(f"cannot dispatch {event}: no gateway session "
                               "(is the client connected?)")
        return await self._dispatch(event, data, targets)

    async def _dispatch(self, event: str, data: Mapping[str, Any],
                        targets: Sequence[GatewaySession] | None = None) -> int:
        if targets is None:
            targets = [s for s in self.sessions if not s.invalidated]
        sent = 0
        for s in targets:
            visible = self._visible_to(s, event, data)
            if visible is not None:
                await self._send_dispatch(s, event, visible)
                sent += 1
        return sent

    def _visible_to(self, session: GatewaySession, event: str,
                    data: Mapping[str, Any]) -> dict[str, Any] | None:
        """What `session` receives of an event: None if intents/shard exclude it."""
        guild_id = data.get("id") if event.startswith("GUILD_") and "guild_id" not in data \
            else data.get("guild_id")
        table = _GUILD_EVENT_INTENTS if guild_id is not None else _DM_EVENT_INTENTS
        needed = table.get(event)
        if needed is not None and not session.has_intent(needed):
            return None
        if guild_id is not None and not session.wants_guild(int(guild_id)):
            return None
        # Copy: the event is kept for replay and must not change with the store.
        out = copy.deepcopy(dict(data))
        if (event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and guild_id is not None
                and not session.has_intent(Intents.MESSAGE_CONTENT)
                and out.get("author", {}).get("id") != self.bot_user["id"]
                and not any(u.get("id") == self.bot_user["id"] for u in out.get("mentions", []))):
            out.update(content="", embeds=[], attachments=[], components=[])
            out.pop("poll", None)
        if event == "GUILD_CREATE" and not session.has_intent(Intents.GUILD_PRESENCES):
            # Without presences Discord only lists the bot (and voice members, not modelled),
            # which is why discord.py chunks members at startup when it has the members intent.
            out["members"] = [m for m in out.get("members", [])
                              if m.get("user", {}).get("id") == self.bot_user["id"]]
        return out

    async def _send_dispatch(self, session: GatewaySession, event: str,
                             data: Mapping[str, Any]) -> None:
        async with session.lock:
            session.seq += 1
            payload = payloads.gateway_payload(GatewayOp.DISPATCH, data, s=session.seq, t=event)
            session.events.append(payload)
            conn = session.connection
            if conn is not None and conn.open:
                await self._send(conn, payload)

    async def dispatch_interaction(self, interaction: InteractionPayload) -> InteractionRecord:
        """Dispatch a hand-built INTERACTION_CREATE; its token becomes valid for callbacks."""
        rec = InteractionRecord(id=int(interaction["id"]), token=interaction["token"],
                                payload=interaction, created_at=self._now())
        self.interactions[rec.id] = rec
        self._interactions_by_token[rec.token] = rec
        await self.dispatch("INTERACTION_CREATE", interaction)
        return rec

    async def dispatch_slash_command(
        self,
        name: str,
        options: Mapping[str, Any] | Sequence[InteractionDataOption] | None = None,
        *,
        user_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        in_dm: bool = False,
        resolved: ResolvedDataPayload | None = None,
        locale: str = "en-US",
    ) -> InteractionRecord:
        """A user runs ``/name`` (``"group sub"`` for subcommands).

        `options` as ``{"amount": 5, "member": alice_id}`` takes its types from the synced
        command when there is one (user/channel/role options then get ``resolved`` data),
        else from the Python values; or pass ready `payloads.option` dicts.
        """
        gid = None if in_dm else (guild_id or self.seed.guild_id)
        data = self._command_data(name, options, gid, focused=None, extra_resolved=resolved)
        return await self._new_interaction(InteractionType.APPLICATION_COMMAND, data,
                                           user_id=user_id, guild_id=gid, channel_id=channel_id,
                                           locale=locale)

    async def dispatch_autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        *,
        focused: str,
        user_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        in_dm: bool = False,
    ) -> InteractionRecord:
        """A user types in option `focused` of ``/name``; the app answers with choices."""
        gid = None if in_dm else (guild_id or self.seed.guild_id)
        data = self._command_data(name, options, gid, focused=focused, extra_resolved=None)
        return await self._new_interaction(InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE,
                                           data, user_id=user_id, guild_id=gid,
                                           channel_id=channel_id)

    async def dispatch_component(
        self,
        custom_id: str,
        *,
        message_id: int,
        component_type: int = payloads.ComponentType.BUTTON,
        values: Sequence[str] | None = None,
        user_id: int | None = None,
    ) -> InteractionRecord:
        """A user clicks a button (or picks select `values`) on a stored message, or on an
        ephemeral message an interaction answered with (only its user sees those)."""
        msg = self.get_message(message_id) or self._interaction_message_by_id(message_id)
        if msg is None:
            raise KeyError(f"message {message_id} is not in the fake's store")
        channel = self.channels[int(msg["channel_id"])]
        gid = int(channel["guild_id"]) if "guild_id" in channel else None
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": int(component_type)}
        if values is not None:
            data["values"] = list(values)
        return await self._new_interaction(InteractionType.MESSAGE_COMPONENT, data,
                                           user_id=user_id, guild_id=gid,
                                           channel_id=int(channel["id"]),
                                           message=copy.deepcopy(msg))

    async def dispatch_modal_submit(
        self,
        custom_id: str,
        values: Mapping[str, str],
        *,
        user_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> InteractionRecord:
        """A user submits a form (modal) the app opened: one text input per value."""
        gid = guild_id or self.seed.guild_id
        rows = [{"type": int(payloads.ComponentType.ACTION_ROW), "components": [
            {"type": int(payloads.ComponentType.TEXT_INPUT), "custom_id": key, "value": value}]}
            for key, value in values.items()]
        return await self._new_interaction(InteractionType.MODAL_SUBMIT,
                                           {"custom_id": custom_id, "components": rows},
                                           user_id=user_id, guild_id=gid,
                                           channel_id=channel_id)

    async def dispatch_reaction_add(
        self,
        *,
        message_id: int,
        user_id: int | None = None,
        emoji: str | EmojiPayload = "👍",
        channel_id: int | None = None,
        burst: bool = False,
    ) -> payloads.MessageReactionAddEvent:
        """A user reacts. The message need not be stored (then give `channel_id`, default:
        the seed's #general); if it is, the fake's reaction state follows."""
        uid = user_id if user_id is not None else self.seed.alice_id
        e = payloads.parse_emoji(emoji) if isinstance(emoji, str) else emoji
        cid, gid, msg = self._reaction_target(message_id, channel_id)
        member = None
        if gid is not None and uid in self.guilds[gid].members:
            member = copy.deepcopy(self.guilds[gid].members[uid])
        event = payloads.reaction_add_event(
            user_id=uid, channel_id=cid, message_id=message_id, emoji=e, guild_id=gid,
            member=member, burst=burst,
            message_author_id=int(msg["author"]["id"]) if msg is not None else None)
        if msg is not None:
            self._add_reaction(message_id, e, uid)
        await self.dispatch("MESSAGE_REACTION_ADD", event)
        return event

    async def dispatch_reaction_remove(
        self,
        *,
        message_id: int,
        user_id: int | None = None,
        emoji: str | EmojiPayload = "👍",
        channel_id: int | None = None,
        burst: bool = False,
    ) -> payloads.MessageReactionRemoveEvent:
        uid = user_id if user_id is not None else self.seed.alice_id
        e = payloads.parse_emoji(emoji) if isinstance(emoji, str) else emoji
        cid, gid, msg = self._reaction_target(message_id, channel_id)
        event = payloads.reaction_remove_event(user_id=uid, channel_id=cid,
                                               message_id=message_id, emoji=e, guild_id=gid,
                                               burst=burst)
        if msg is not None:
            self._remove_reaction(message_id, e, uid)
        await self.dispatch("MESSAGE_REACTION_REMOVE", event)
        return event

    async def dispatch_message_create(self, content: str, *, author_id: int | None = None,
                                      channel_id: int | None = None,
                                      mentions: Sequence[int] = ()) -> MessagePayload:
        """A user posts a message (stored, then MESSAGE_CREATE)."""
        cid = channel_id or self.seed.general_channel_id
        msg = self.add_message(cid, content, author_id=author_id)
        msg["mentions"] = [self.users[u] for u in mentions]
        await self.dispatch("MESSAGE_CREATE", self._gateway_message(msg))
        return msg

    async def dispatch_guild_create(self, guild_id: int, *,
                                    unavailable: bool | None = None) -> None:
        """GUILD_CREATE for a known guild: ``unavailable=None`` (key absent) means the bot
        just joined; ``False`` means an outage ended."""
        g = self.guilds[guild_id]
        g.in_guild = True
        await self.dispatch("GUILD_CREATE", self._guild_create(g, unavailable=unavailable))

    async def join_guild(self, name: str, **kwargs: Any) -> GuildState:
        """The bot is added to a new guild: `add_guild` + GUILD_CREATE (on_guild_join)."""
        g = self.add_guild(name, in_guild=False, **kwargs)
        await self.dispatch_guild_create(g.id)
        return g

    # ------------------------------------------------------------------ gateway: resilience

    def _target_connection(self, conn: GatewayConnection | None) -> GatewayConnection:
        target = conn or self.active_connection
        if target is None:
            raise RuntimeError("no open gateway connection")
        return target

    async def drop_connection(self, conn: GatewayConnection | None = None, *,
                              timeout: float = 5.0) -> GatewayConnection:
        """Cut the TCP connection without a close frame; returns once the fake saw it end.

        The session stays resumable; events dispatched meanwhile are queued for replay.
        """
        target = self._target_connection(conn)
        target.closed_by_server = True
        if target.transport is not None:
            target.transport.abort()
        else:  # pragma: no cover - aiohttp always gives us the transport
            await target.ws.close(code=aiohttp.WSCloseCode.ABNORMAL_CLOSURE)
        async with asyncio.timeout(timeout):
            await target.done.wait()
        return target

    async def close_connection(self, code: int = GatewayCloseCode.UNKNOWN_ERROR, *,
                               conn: GatewayConnection | None = None,
                               timeout: float = 5.0) -> GatewayConnection:
        """Close with a gateway close code (4000: client should resume; 4004: fatal ...)."""
        target = self._target_connection(conn)
        await self._close_ws(target, code)
        async with asyncio.timeout(timeout):
            await target.done.wait()
        return target

    async def send_reconnect(self, conn: GatewayConnection | None = None) -> GatewayConnection:
        """Op 7 RECONNECT: the client closes and resumes on resume_gateway_url."""
        target = self._target_connection(conn)
        await self._send(target, payloads.gateway_payload(GatewayOp.RECONNECT))
        return target

    async def send_invalid_session(self, resumable: bool = True, *,
                                   conn: GatewayConnection | None = None) -> GatewayConnection:
        """Op 9 INVALID_SESSION. ``resumable=False`` also ends the session here, so the
        client must IDENTIFY again (discord.py: after `before_identify_hook`)."""
        target = self._target_connection(conn)
        if not resumable and target.session is not None:
            target.session.invalidated = True
        await self._send(target, payloads.gateway_payload(GatewayOp.INVALID_SESSION, resumable))
        return target

    async def request_heartbeat(self, conn: GatewayConnection | None = None) -> None:
        """Op 1 from the server: the client must heartbeat immediately."""
        target = self._target_connection(conn)
        await self._send(target, payloads.gateway_payload(GatewayOp.HEARTBEAT))

    @contextlib.asynccontextmanager
    async def hold_reconnects(self) -> AsyncIterator[None]:
        """New gateway connections wait (before HELLO) until the block exits.

        Makes "event dispatched while the client is away" deterministic::

            async with fake.hold_reconnects():
                await fake.drop_connection()
                await fake.dispatch_reaction_add(...)   # queued, not delivered yet
            await fake.wait_for_resumed()
        """
        self._gate.clear()
        try:
            yield
        finally:
            self._gate.set()

    # ------------------------------------------------------------------ gateway: server side

    async def _handle_gateway(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        # timeout bounds how long close() waits for the client's close frame.
        ws = web.WebSocketResponse(timeout=2.0, max_msg_size=4 * 1024 * 1024)
        transport = request.transport
        await ws.prepare(request)
        conn = GatewayConnection(id=next(self._conn_ids), path=request.path, query=query, ws=ws,
                                 transport=transport, compress=query.get("compress"),
                                 opened_at=self._now())
        self.connections.append(conn)
        self._bump()
        try:
            await self._gate.wait()
            if self._stopping:
                return ws
            problem = self._check_gateway_query(query)
            if problem is not None:
                await self._close_ws(conn, problem[0], problem[1])
                return ws
            await self._send(conn, payloads.gateway_payload(
                GatewayOp.HELLO, {"heartbeat_interval": int(self.heartbeat_interval * 1000)}))
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await self._on_gateway_message(conn, msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    await self._close_ws(conn, GatewayCloseCode.DECODE_ERROR, "send JSON text")
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    break
        except ConnectionError:
            pass
        finally:
            conn.close_code = ws.close_code
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                # Discord ends the session when the *client* closes with 1000/1001.
                if not conn.closed_by_server and ws.close_code in (1000, 1001):
                    session.invalidated = True
            conn.done.set()
            self._bump()
        return ws

    @staticmethod
    def _check_gateway_query(query: Mapping[str, str]) -> tuple[int, str] | None:
        if query.get("v", str(API_VERSION)) not in ("9", "10"):
            return GatewayCloseCode.INVALID_API_VERSION, "Invalid API version"
        if query.get("encoding", "json") != "json":
            return GatewayCloseCode.DECODE_ERROR, "the fake only speaks encoding=json"
        compress = query.get("compress")
        if compress not in (None, "zlib-stream", "zstd-stream") or (
                compress == "zstd-stream" and not _HAS_ZSTD):
            return GatewayCloseCode.DECODE_ERROR, f"unsupported compress={compress}"
        return None

    async def _on_gateway_message(self, conn: GatewayConnection, text: str) -> None:
        try:
            payload = json.loads(text)
            op = int(payload["op"])
        except (ValueError, KeyError, TypeError):
            await self._close_ws(conn, GatewayCloseCode.DECODE_ERROR,
                                 "Error while decoding payload.")
            return
        d = payload.get("d")
        self._record_frame(conn, "in", payload)
        if op == GatewayOp.HEARTBEAT:
            conn.heartbeats += 1
            conn.last_heartbeat_seq = d
            if self.ack_heartbeats:
                await self._send(conn, payloads.gateway_payload(GatewayOp.HEARTBEAT_ACK))
        elif op == GatewayOp.IDENTIFY:
            await self._on_identify(conn, d or {})
        elif op == GatewayOp.RESUME:
            await self._on_resume(conn, d or {})
        elif conn.session is None:
            await self._close_ws(conn, GatewayCloseCode.NOT_AUTHENTICATED, "Not authenticated.")
        elif op == GatewayOp.REQUEST_GUILD_MEMBERS:
            await self._on_request_members(conn.session, d or {})
        elif op in (GatewayOp.PRESENCE_UPDATE, GatewayOp.VOICE_STATE_UPDATE):
            pass  # recorded in gateway_log only
        else:
            await self._close_ws(conn, GatewayCloseCode.UNKNOWN_OPCODE, "Unknown opcode.")
        self._bump()

    async def _on_identify(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        if conn.session is not None:
            await self._close_ws(conn, GatewayCloseCode.ALREADY_AUTHENTICATED,
                                 "Already authenticated.")
            return
        if d.get("token") != self.token:
            await self._close_ws(conn, GatewayCloseCode.AUTHENTICATION_FAILED,
                                 "Authentication failed.")
            return
        intents = d.get("intents")
        if not isinstance(intents, int):
            await self._close_ws(conn, GatewayCloseCode.INVALID_INTENTS, "Invalid intent(s).")
            return
        shard = d.get("shard")
        if shard is not None and not (len(shard) == 2 and 0 <= shard[0] < shard[1]):
            await self._close_ws(conn, GatewayCloseCode.INVALID_SHARD, "Invalid shard.")
            return
        session = GatewaySession(session_id=payloads.new_token(16), intents=intents,
                                 shard=(int(shard[0]), int(shard[1])) if shard else None,
                                 identify=d)
        self.sessions.append(session)
        self.identify_count += 1
        async with session.lock:
            session.connection = conn
            conn.session = session
        guilds = [g for g in self.guilds.values() if g.in_guild and session.wants_guild(g.id)]
        ready: payloads.ReadyEvent = {
            "v": API_VERSION,
            "user": self.bot_user,
            "guilds": [payloads.unavailable_guild(g.id) for g in guilds],
            "session_id": session.session_id,
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": str(self.application_id), "flags": self.application["flags"]},
        }
        if session.shard is not None:
            ready["shard"] = list(session.shard)
        await self._send_dispatch(session, "READY", ready)
        for g in guilds:
            await self._dispatch("GUILD_CREATE", self._guild_create(g, unavailable=False),
                                 [session])
        self.ready_count += 1
        self._bump()

    async def _on_resume(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        if d.get("token") != self.token:
            await self._close_ws(conn, GatewayCloseCode.AUTHENTICATION_FAILED,
                                 "Authentication failed.")
            return
        session = next((s for s in self.sessions if s.session_id == d.get("session_id")), None)
        seq = d.get("seq")
        if (session is None or session.invalidated or not isinstance(seq, int)
                or seq > session.seq):
            # Discord answers an impossible resume with a non-resumable INVALID_SESSION.
            await self._send(conn, payloads.gateway_payload(GatewayOp.INVALID_SESSION, False))
            return
        async with session.lock:
            session.connection = conn
            conn.session = session
            for event in session.events:
                if event["s"] is not None and event["s"] > seq:
                    await self._send(conn, event)
            session.seq += 1
            resumed = payloads.gateway_payload(GatewayOp.DISPATCH, {}, s=session.seq,
                                               t="RESUMED")
            session.events.append(resumed)
            await self._send(conn, resumed)
            session.resumes += 1
        self.resume_count += 1
        self._bump()

    async def _on_request_members(self, session: GatewaySession, d: dict[str, Any]) -> None:
        g = self.guilds.get(int(d.get("guild_id", 0)))
        if g is None:
            return
        members = list(g.members.values())
        user_ids = [int(u) for u in d.get("user_ids") or []]
        if user_ids:
            members = [m for m in members if int(m["user"]["id"]) in user_ids]
        elif d.get("query"):
            q = str(d["query"]).lower()
            members = [m for m in members if m["user"]["username"].lower().startswith(q)
                       or (m.get("nick") or "").lower().startswith(q)]
        if d.get("limit"):
            members = members[: int(d["limit"])]
        chunk: dict[str, Any] = {"guild_id": str(g.id), "members": members, "chunk_index": 0,
                                 "chunk_count": 1}
        found = {int(m["user"]["id"]) for m in members}
        if user_ids:
            chunk["not_found"] = [str(u) for u in user_ids if u not in found]
        if d.get("presences"):
            chunk["presences"] = []
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", copy.deepcopy(chunk))

    async def _send(self, conn: GatewayConnection, payload: Mapping[str, Any]) -> bool:
        try:
            await conn.send_json(payload)
        except (ConnectionError, RuntimeError) as exc:
            log.debug("gateway send on connection %s failed: %r", conn.id, exc)
            return False
        self._record_frame(conn, "out", payload)
        return True

    def _record_frame(self, conn: GatewayConnection, direction: Literal["in", "out"],
                      payload: Mapping[str, Any]) -> None:
        self.gateway_log.append(GatewayFrame(
            index=len(self.gateway_log), connection_id=conn.id, direction=direction,
            op=int(payload.get("op", -1)), t=payload.get("t"), s=payload.get("s"),
            d=payload.get("d"), at=self._now()))
        self._bump()

    async def _close_ws(self, conn: GatewayConnection, code: int, reason: str = "") -> None:
        conn.closed_by_server = True
        await close_websocket(conn.ws, conn.transport, code, reason.encode())
        self._bump()

    def _guild_create(self, g: GuildState, *,
                      unavailable: bool | None) -> payloads.GuildCreatePayload:
        return payloads.guild_create(copy.deepcopy(g.payload),
                                     channels=copy.deepcopy(list(g.channels.values())),
                                     members=copy.deepcopy(list(g.members.values())),
                                     joined_at=g.joined_at, unavailable=unavailable)

    # ------------------------------------------------------------------ interactions

    def _find_command(self, name: str, guild_id: int | None, type: int = 1
                      ) -> payloads.ApplicationCommandPayload | None:
        scopes = ([self.guild_commands.get(guild_id, [])] if guild_id else []) + \
            [self.global_commands]
        for commands in scopes:
            for c in commands:
                if c["name"] == name and c.get("type", 1) == type:
                    return c
        return None

    def _command_data(self, name: str,
                      options: Mapping[str, Any] | Sequence[InteractionDataOption] | None,
                      guild_id: int | None, *, focused: str | None,
                      extra_resolved: ResolvedDataPayload | None) -> dict[str, Any]:
        tokens = name.split()
        if not tokens:
            raise ValueError("empty command name")
        stored = self._find_command(tokens[0], guild_id)
        data: dict[str, Any] = {"id": stored["id"] if stored else str(self.snowflakes.next()),
                                "name": tokens[0], "type": 1}
        if stored is not None and "guild_id" in stored:
            data["guild_id"] = stored["guild_id"]
        top: list[InteractionDataOption] = []
        level, declared = top, (stored or {}).get("options")
        for i, token in enumerate(tokens[1:], start=2):
            decl = _find_option(declared, token)
            kind = decl["type"] if decl else (
                OptionType.SUB_COMMAND_GROUP if i < len(tokens) else OptionType.SUB_COMMAND)
            node = payloads.option(token, kind, options=[])
            level.append(node)
            level, declared = node["options"], (decl or {}).get("options")
        resolved: dict[str, dict[str, Any]] = {}
        if isinstance(options, Mapping):
            for key, value in options.items():
                decl = _find_option(declared, key)
                kind = OptionType(decl["type"]) if decl else payloads.infer_option_type(value)
                is_focused = key == focused
                if kind in (OptionType.USER, OptionType.CHANNEL, OptionType.ROLE,
                            OptionType.MENTIONABLE, OptionType.ATTACHMENT) and not is_focused:
                    value = str(int(value))
                    if focused is None:  # Discord sends no resolved data for autocomplete
                        self._resolve(kind, int(value), guild_id, resolved)
                level.append(payloads.option(key, kind, value, focused=is_focused))
        elif options is not None:
            level.extend(options)
        for key, values in (extra_resolved or {}).items():
            resolved.setdefault(key, {}).update(cast(dict[str, Any], values))
        if top:
            data["options"] = top
        if resolved:
            data["resolved"] = resolved
        return data

    def _resolve(self, kind: OptionType, object_id: int, guild_id: int | None,
                 resolved: dict[str, dict[str, Any]]) -> None:
        g = self.guilds.get(guild_id) if guild_id else None
        if kind in (OptionType.USER, OptionType.MENTIONABLE) and object_id in self.users:
            resolved.setdefault("users", {})[str(object_id)] = self.users[object_id]
            if g is not None and object_id in g.members:
                m = {k: v for k, v in g.members[object_id].items()
                     if k not in ("user", "deaf", "mute")}
                m["permissions"] = str(self._permissions(g, object_id))
                resolved.setdefault("members", {})[str(object_id)] = m
        elif kind in (OptionType.ROLE, OptionType.MENTIONABLE) and g is not None:
            role = next((r for r in g.roles if int(r["id"]) == object_id), None)
            if role is not None:
                resolved.setdefault("roles", {})[str(object_id)] = role
        elif kind == OptionType.CHANNEL and object_id in self.channels:
            ch = dict(self.channels[object_id])
            # Discord sends the invoker's permissions there; the bot's are close enough.
            ch["permissions"] = str(self._permissions(g, self.bot_id) if g is not None
                                    else payloads.ALL_PERMISSIONS)
            resolved.setdefault("channels", {})[str(object_id)] = ch

    async def _new_interaction(self, type: int, data: Mapping[str, Any], *,
                               user_id: int | None, guild_id: int | None,
                               channel_id: int | None, message: MessagePayload | None = None,
                               locale: str = "en-US") -> InteractionRecord:
        uid = user_id if user_id is not None else self.seed.alice_id
        user = self.users[uid]
        if guild_id is None:
            channel = copy.deepcopy(self.dm_channel_for(uid))
            member = None
            app_permissions = int(Permissions.VIEW_CHANNEL | Permissions.SEND_MESSAGES
                                  | Permissions.READ_MESSAGE_HISTORY | Permissions.ADD_REACTIONS
                                  | Permissions.EMBED_LINKS | Permissions.ATTACH_FILES)
        else:
            g = self.guilds[guild_id]
            cid = channel_id or g.text_channel_ids()[0]
            if uid not in g.members:
                raise KeyError(f"user {uid} is not a member of guild {guild_id}")
            channel = copy.deepcopy(self.channels[cid])
            channel["permissions"] = str(self._permissions(g, uid))
            member = copy.deepcopy(g.members[uid])
            member["permissions"] = str(self._permissions(g, uid))
            app_permissions = self._permissions(g, self.bot_id)
        payload = payloads.interaction(
            interaction_id=self.snowflakes.next(), application_id=self.application_id,
            type=type, token=payloads.new_token(), data=data, app_permissions=app_permissions,
            guild_id=guild_id, channel=channel, member=member,
            user=None if member is not None else user, message=message, locale=locale)
        return await self.dispatch_interaction(payload)

    def _permissions(self, g: GuildState, user_id: int) -> int:
        """Guild-level permissions (channel overwrites are not modelled)."""
        if int(g.payload["owner_id"]) == user_id:
            return payloads.ALL_PERMISSIONS
        m = g.members.get(user_id)
        role_ids = {str(g.id), *(m["roles"] if m else [])}
        perms = 0
        for r in g.roles:
            if r["id"] in role_ids:
                perms |= int(r["permissions"])
        return payloads.ALL_PERMISSIONS if perms & Permissions.ADMINISTRATOR else perms

    # ------------------------------------------------------------------ REST plumbing

    def _routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("GET", "/users/{user_id}", self._get_user),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/applications/{app_id}/commands", self._get_commands),
            ("PUT", "/applications/{app_id}/commands", self._put_commands),
            ("POST", "/applications/{app_id}/commands", self._post_command),
            ("DELETE", "/applications/{app_id}/commands/{command_id}", self._delete_command),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self._get_commands),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self._put_commands),
            ("POST", "/applications/{app_id}/guilds/{guild_id}/commands", self._post_command),
            ("DELETE", "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}",
             self._delete_command),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._callback),
            ("POST", "/webhooks/{app_id}/{token}", self._execute_webhook),
            ("PATCH", "/webhooks/{app_id}/{token}", self._modify_webhook),
            ("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self._get_webhook_message),
            ("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}",
             self._edit_webhook_message),
            ("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}",
             self._delete_webhook_message),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("GET", "/channels/{channel_id}/messages", self._get_messages),
            ("POST", "/channels/{channel_id}/messages", self._post_message),
            ("POST", "/channels/{channel_id}/typing", self._typing),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
             self._get_reactions),
            ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}",
             self._put_reaction),
            ("DELETE",
             "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}",
             self._delete_reaction),
            ("GET", "/guilds/{guild_id}", self._get_guild),
            ("GET", "/guilds/{guild_id}/channels", self._get_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self._get_guild_roles),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
        ]

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in ("/gateway/", "/gateway-resume/"):
            return await handler(request)
        prefix = f"/api/v{API_VERSION}"
        path = request.path[len(prefix):] if request.path.startswith(prefix + "/") \
            else request.path
        body: JSON = None
        files: tuple[RecordedFile, ...] = ()
        fault_kind: str | None = None
        try:
            body, files = await self._read_body(request)
            request[_BODY], request[_FILES] = body, files
            fault = next((f for f in self._faults if f.matches(request.method, path)), None)
            if fault is not None:
                fault.remaining -= 1
                fault_kind = fault.kind
            if fault is not None and not fault.after_handler:
                response = _json(fault.body, status=fault.status, headers=fault.headers)
            else:
                self._check_auth(request, path)
                response = await handler(request)
                if fault is not None:  # the route ran; its answer is lost
                    response = _json(fault.body, status=fault.status, headers=fault.headers)
        except DiscordHTTPError as exc:
            response = _json(exc.body, status=exc.status)
        except web.HTTPException as exc:  # the router's 404/405
            response = _json(payloads.error_body(0, f"{exc.status}: {exc.reason}"),
                             status=exc.status)
        self.requests.append(RecordedRequest(
            index=len(self.requests), method=request.method, path=path,
            query=dict(request.query), json=body, files=files,
            headers={k: v for k, v in request.headers.items()
                     if k.lower() in ("authorization", "content-type", "user-agent",
                                      "x-audit-log-reason")},
            status=response.status, response=response.get(_JSON), fault=fault_kind,
            at=self._now()))
        self._bump()
        return response

    async def _read_body(self, request: web.Request) -> tuple[JSON, tuple[RecordedFile, ...]]:
        if not request.can_read_body:
            return None, ()
        if request.content_type.startswith("multipart/"):
            body: JSON = None
            files: list[RecordedFile] = []
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, aiohttp.BodyPartReader):
                    continue
                if part.name == "payload_json":
                    body = json.loads(await part.text())
                else:
                    files.append(RecordedFile(field=part.name or "", filename=part.filename,
                                              content_type=part.headers.get("Content-Type"),
                                              data=bytes(await part.read())))
            return body, tuple(files)
        raw = await request.read()
        if not raw:
            return None, ()
        try:
            return json.loads(raw), ()
        except ValueError:
            raise DiscordHTTPError(400, 50109, "The request body contains invalid JSON.") \
                from None

    def _check_auth(self, request: web.Request, path: str) -> None:
        # Webhook and interaction routes authenticate by the token in the URL.
        if path.startswith(("/webhooks/", "/interactions/")) or path == "/gateway":
            return
        if request.headers.get("Authorization") != f"Bot {self.token}":
            raise DiscordHTTPError(401, 0, "401: Unauthorized")

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    # ------------------------------------------------------------------ REST: helpers

    @staticmethod
    def _body(request: web.Request) -> dict[str, Any]:
        body = request.get(_BODY)
        return body if isinstance(body, dict) else {}

    @staticmethod
    def _snowflake(request: web.Request, name: str) -> int:
        value = request.match_info[name]
        if not _SNOWFLAKE_RE.fullmatch(value):
            raise _form_error({name: payloads.field_error(
                "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')})
        return int(value)

    def _channel(self, request: web.Request) -> ChannelPayload:
        channel = self.channels.get(self._snowflake(request, "channel_id"))
        if channel is None:
            raise _unknown("Channel", 10003)
        return channel

    def _message(self, request: web.Request) -> MessagePayload:
        channel = self._channel(request)
        msg = self.messages[int(channel["id"])].get(self._snowflake(request, "message_id"))
        if msg is None:
            raise _unknown("Message", 10008)
        return msg

    def _guild(self, request: web.Request) -> GuildState:
        g = self.guilds.get(self._snowflake(request, "guild_id"))
        if g is None or not g.in_guild:
            raise _unknown("Guild", 10004)
        return g

    def _store_message(self, msg: MessagePayload) -> None:
        cid, mid = int(msg["channel_id"]), int(msg["id"])
        self.messages.setdefault(cid, {})[mid] = msg
        self._message_channel[mid] = cid
        channel = self.channels.get(cid)
        if channel is not None:
            channel["last_message_id"] = msg["id"]

    def _unstore_message(self, msg: MessagePayload) -> None:
        cid, mid = int(msg["channel_id"]), int(msg["id"])
        self.messages.get(cid, {}).pop(mid, None)
        self._message_channel.pop(mid, None)
        self._reactions.pop(mid, None)

    def _gateway_message(self, msg: MessagePayload) -> dict[str, Any]:
        """A stored message as MESSAGE_CREATE/UPDATE carry it (guild_id + member)."""
        data: dict[str, Any] = copy.deepcopy(dict(msg))
        channel = self.channels.get(int(msg["channel_id"]))
        if channel is not None and "guild_id" in channel:
            gid = int(channel["guild_id"])
            data["guild_id"] = str(gid)
            m = self.guilds[gid].members.get(int(msg["author"]["id"]))
            if m is not None and "webhook_id" not in msg:
                data["member"] = {k: v for k, v in m.items() if k != "user"}
        return data

    async def _echo(self, event: str, data: Mapping[str, Any]) -> None:
        if self.echo_own_events:
            await self._dispatch(event, data)

    def _message_fields(self, body: Mapping[str, Any], files: Sequence[RecordedFile],
                        channel_id: int) -> dict[str, Any]:
        """Validated content/embeds/components/attachments/flags from a create/edit body."""
        fields: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        if "content" in body:
            content = "" if body["content"] is None else str(body["content"])
            if len(content) > 2000:
                errors["content"] = payloads.field_error("BASE_TYPE_MAX_LENGTH",
                                                         "Must be 2000 or fewer in length.")
            fields["content"] = content
        if "embeds" in body:
            embeds = list(body["embeds"] or [])
            if len(embeds) > 10:
                errors["embeds"] = payloads.field_error("BASE_TYPE_MAX_LENGTH",
                                                        "Must be 10 or fewer in length.")
            fields["embeds"] = embeds
        if "components" in body:
            fields["components"] = list(body["components"] or [])
        if "flags" in body and body["flags"] is not None:
            fields["flags"] = int(body["flags"])
        if files or "attachments" in body:
            fields["attachments"] = self._attachments(body.get("attachments") or [], files,
                                                      channel_id)
        if errors:
            raise _form_error(errors)
        return fields

    def _attachments(self, meta: Sequence[Mapping[str, Any]], files: Sequence[RecordedFile],
                     channel_id: int) -> list[payloads.AttachmentPayload]:
        out: list[payloads.AttachmentPayload] = []
        for index, f in enumerate(files):
            info = meta[index] if index < len(meta) else {}
            aid = self.snowflakes.next()
            name = str(info.get("filename") or f.filename or f"file{index}")
            url = f"{self.base_url}/attachments/{channel_id}/{aid}/{name}"
            att: payloads.AttachmentPayload = {"id": str(aid), "filename": name,
                                               "size": len(f.data), "url": url, "proxy_url": url}
            if f.content_type:
                att["content_type"] = f.content_type
            out.append(att)
        return out

    # ------------------------------------------------------------------ REST: gateway, users

    async def _get_gateway(self, request: web.Request) -> web.StreamResponse:
        return _json({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.StreamResponse:
        return _json({"url": self.gateway_url, "shards": 1,
                      "session_start_limit": {"total": 1000, "remaining": 999,
                                              "reset_after": 14_400_000, "max_concurrency": 1}})

    async def _get_user(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["user_id"] == "@me":
            return _json(self.bot_user)
        u = self.users.get(self._snowflake(request, "user_id"))
        if u is None:
            raise _unknown("User", 10013)
        return _json(u)

    async def _get_application(self, request: web.Request) -> web.StreamResponse:
        return _json(self.application)

    async def _create_dm(self, request: web.Request) -> web.StreamResponse:
        recipient = self._body(request).get("recipient_id")
        try:
            uid = int(recipient)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            uid = -1
        if uid not in self.users or uid == self.bot_id:
            raise DiscordHTTPError(400, 50033, "Invalid Recipient(s)")
        return _json(self.dm_channel_for(uid))

    # ------------------------------------------------------------------ REST: commands

    def _command_scope(self, request: web.Request
                       ) -> tuple[int | None, list[payloads.ApplicationCommandPayload]]:
        if self._snowflake(request, "app_id") != self.application_id:
            raise DiscordHTTPError(403, 50001, "Missing Access")
        if "guild_id" not in request.match_info:
            return None, self.global_commands
        gid = self._snowflake(request, "guild_id")
        g = self.guilds.get(gid)
        if g is None or not g.in_guild:
            raise DiscordHTTPError(403, 50001, "Missing Access")
        return gid, self.guild_commands.setdefault(gid, [])

    async def _get_commands(self, request: web.Request) -> web.StreamResponse:
        _, commands = self._command_scope(request)
        return _json(commands)

    async def _put_commands(self, request: web.Request) -> web.StreamResponse:
        gid, existing = self._command_scope(request)
        submitted = request.get(_BODY)
        if not isinstance(submitted, list):
            raise _form_error({"_errors": [{"code": "LIST_TYPE_CONVERT",
                                            "message": "Only iterables may be used in a "
                                                       "ListType"}]})
        errors: dict[str, Any] = {}
        seen: set[tuple[str, int]] = set()
        for index, cmd in enumerate(submitted):
            problem = _validate_command(cmd) if isinstance(cmd, dict) else {
                "_errors": [{"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries may "
                                                                     "be used in a DictType"}]}
            key = (str(cmd.get("name")), int(cmd.get("type", 1))) if isinstance(cmd, dict) \
                else ("", 0)
            if key in seen:
                problem = {**(problem or {}), "name": payloads.field_error(
                    "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be "
                                                           "unique")}
            seen.add(key)
            if problem:
                errors[str(index)] = problem
        if len(submitted) > 100:
            errors["_errors"] = [{"code": "BASE_TYPE_MAX_LENGTH",
                                  "message": "Must be 100 or fewer in length."}]
        if errors:
            raise _form_error(errors)
        stored = [self._stored_command(c, existing, gid) for c in submitted]
        existing[:] = stored
        return _json(stored)

    async def _post_command(self, request: web.Request) -> web.StreamResponse:
        gid, existing = self._command_scope(request)
        cmd = self._body(request)
        problem = _validate_command(cmd)
        if problem:
            raise _form_error(problem)
        stored = self._stored_command(cmd, existing, gid)
        index = next((i for i, c in enumerate(existing) if c["id"] == stored["id"]), None)
        if index is None:
            existing.append(stored)
            return _json(stored, status=201)
        existing[index] = stored
        return _json(stored)

    async def _delete_command(self, request: web.Request) -> web.StreamResponse:
        _, existing = self._command_scope(request)
        cid = request.match_info["command_id"]
        index = next((i for i, c in enumerate(existing) if c["id"] == cid), None)
        if index is None:
            raise _unknown("application command", 10063)
        del existing[index]
        return web.Response(status=204)

    def _stored_command(self, cmd: Mapping[str, Any],
                        existing: Sequence[payloads.ApplicationCommandPayload],
                        guild_id: int | None) -> payloads.ApplicationCommandPayload:
        kind = int(cmd.get("type", 1))
        # Like Discord, an upsert keeps the id of the same-named command.
        prev = next((c for c in existing if c["name"] == cmd["name"] and c["type"] == kind),
                    None)
        stored: payloads.ApplicationCommandPayload = {
            "id": prev["id"] if prev else str(self.snowflakes.next()),
            "type": kind,
            "application_id": str(self.application_id),
            "name": cmd["name"],
            "name_localizations": cmd.get("name_localizations"),
            "description": cmd.get("description", ""),
            "description_localizations": cmd.get("description_localizations"),
            "default_member_permissions": cmd.get("default_member_permissions"),
            "contexts": cmd.get("contexts"),
            "integration_types": cmd.get("integration_types") or [0],
            "nsfw": bool(cmd.get("nsfw", False)),
            "version": str(self.snowflakes.next()),
        }
        if kind == 1:
            stored["options"] = copy.deepcopy(cmd.get("options") or [])
        if "dm_permission" in cmd:
            stored["dm_permission"] = cmd["dm_permission"]
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored

    # ------------------------------------------------------------------ REST: interactions

    def _interaction_by_url(self, request: web.Request) -> InteractionRecord:
        rec = self.interactions.get(self._snowflake(request, "interaction_id"))
        if rec is None or rec.token != request.match_info["token"]:
            raise DiscordHTTPError(404, 10062, "Unknown interaction")
        return rec

    def _webhook_interaction(self, request: web.Request) -> InteractionRecord:
        rec = self._interactions_by_token.get(request.match_info["token"])
        if rec is None or request.match_info["app_id"] != str(self.application_id):
            raise _unknown("Webhook", 10015)
        return rec

    async def _callback(self, request: web.Request) -> web.StreamResponse:
        rec = self._interaction_by_url(request)
        if self._now() - rec.created_at > self.interaction_ack_deadline:
            raise DiscordHTTPError(404, 10062, "Unknown interaction")
        if rec.acknowledged:
            raise DiscordHTTPError(400, 40060, "Interaction has already been acknowledged.")
        body = self._body(request)
        try:
            cb_type = InteractionCallbackType(int(body.get("type", 0)))
        except ValueError:
            raise _form_error({"type": payloads.field_error(
                "BASE_TYPE_CHOICES", "Value must be one of the interaction callback types.")}
            ) from None
        allowed = {
            InteractionType.PING: {InteractionCallbackType.PONG},
            InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE: {
                InteractionCallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT},
        }.get(InteractionType(rec.type), {
            InteractionCallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
            InteractionCallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            InteractionCallbackType.MODAL, InteractionCallbackType.PREMIUM_REQUIRED,
            InteractionCallbackType.LAUNCH_ACTIVITY,
            *((InteractionCallbackType.DEFERRED_UPDATE_MESSAGE,
               InteractionCallbackType.UPDATE_MESSAGE)
              if rec.type in (InteractionType.MESSAGE_COMPONENT, InteractionType.MODAL_SUBMIT)
              else ()),
        })
        if cb_type not in allowed:
            raise _form_error({"type": payloads.field_error(
                "INTERACTION_CALLBACK_TYPE_INVALID",
                f"Callback type {int(cb_type)} is not valid for interaction type {rec.type}.")})
        data = body.get("data") or {}
        info: payloads.InteractionCallbackInfo = {"id": str(rec.id), "type": rec.type}
        resource: payloads.InteractionCallbackResource | None = None
        msg: MessagePayload | None = None
        if cb_type in (InteractionCallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
                       InteractionCallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE):
            loading = cb_type == InteractionCallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
            msg = await self._interaction_message(rec, data, request[_FILES],
                                                  loading=loading)
            rec.original_message_id = int(msg["id"])
            info["response_message_loading"] = loading
        elif cb_type in (InteractionCallbackType.UPDATE_MESSAGE,
                         InteractionCallbackType.DEFERRED_UPDATE_MESSAGE):
            target = None
            if "message" in rec.payload:
                mid = int(rec.payload["message"]["id"])
                target = self.get_message(mid) or self._interaction_message_by_id(mid)
            if target is not None:
                rec.original_message_id = int(target["id"])
                rec.messages[int(target["id"])] = target
                if cb_type == InteractionCallbackType.UPDATE_MESSAGE:
                    await self._edit_stored(target, data, request[_FILES])
                    msg = target
        elif cb_type == InteractionCallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT:
            rec.autocomplete_choices = list(data.get("choices") or [])
        elif cb_type == InteractionCallbackType.MODAL:
            rec.modal = dict(data)
        rec.response_type = int(cb_type)
        if msg is not None:
            info["response_message_id"] = msg["id"]
            info["response_message_ephemeral"] = bool(msg["flags"] & MessageFlags.EPHEMERAL)
            resource = {"type": int(cb_type), "message": copy.deepcopy(msg)}
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        answer: payloads.InteractionCallbackResponse = {"interaction": info}
        if resource is not None:
            answer["resource"] = resource
        return _json(answer)

    async def _interaction_message(self, rec: InteractionRecord, data: Mapping[str, Any],
                                   files: Sequence[RecordedFile], *,
                                   loading: bool = False) -> MessagePayload:
        fields = self._message_fields(data, files, rec.channel_id)
        flags = int(fields.pop("flags", 0)) & (_ALLOWED_MESSAGE_FLAGS | int(MessageFlags.EPHEMERAL))
        if loading:
            flags |= int(MessageFlags.LOADING)
        if not loading and not (fields.get("content") or fields.get("embeds")
                                or fields.get("components") or fields.get("attachments")):
            raise DiscordHTTPError(400, 50006, "Cannot send an empty message")
        kind = MessageType.DEFAULT
        if rec.type == InteractionType.APPLICATION_COMMAND:
            kind = MessageType.CHAT_INPUT_COMMAND if rec.payload.get("data", {}).get(
                "type", 1) == 1 else MessageType.CONTEXT_MENU_COMMAND
        msg = payloads.message(self.snowflakes.next(), rec.channel_id, self.bot_user,
                               type=kind, flags=flags, webhook_id=self.application_id,
                               application_id=self.application_id)
        msg.update(fields)  # type: ignore[typeddict-item]
        invoker = rec.payload["member"]["user"] if "member" in rec.payload \
            else rec.payload["user"]
        metadata: payloads.MessageInteractionMetadataPayload = {
            "id": str(rec.id), "type": rec.type, "user": invoker,
            "authorizing_integration_owners": rec.payload["authorizing_integration_owners"]}
        if rec.original_message_id is not None:
            metadata["original_response_message_id"] = str(rec.original_message_id)
        if "message" in rec.payload:
            metadata["interacted_message_id"] = rec.payload["message"]["id"]
        msg["interaction_metadata"] = metadata
        rec.messages[int(msg["id"])] = msg
        if not flags & MessageFlags.EPHEMERAL:
            self._store_message(msg)
            await self._echo("MESSAGE_CREATE", self._gateway_message(msg))
        return msg

    async def _execute_webhook(self, request: web.Request) -> web.StreamResponse:
        rec = self._webhook_interaction(request)
        msg = await self._interaction_message(rec, self._body(request), request[_FILES])
        rec.followup_ids.append(int(msg["id"]))
        if request.query.get("wait", "").lower() in ("1", "true"):
            return _json(msg)
        return web.Response(status=204)

    async def _modify_webhook(self, request: web.Request) -> web.StreamResponse:
        self._webhook_interaction(request)
        body = self._body(request)
        return _json({"id": str(self.application_id), "type": 3,
                      "application_id": str(self.application_id),
                      "name": body.get("name", self.bot_user["username"]),
                      "avatar": None, "channel_id": None, "guild_id": None,
                      "token": request.match_info["token"]})

    def _webhook_message(self, request: web.Request) -> tuple[InteractionRecord, MessagePayload]:
        rec = self._webhook_interaction(request)
        ref = request.match_info["message_id"]
        mid = rec.original_message_id if ref == "@original" else (
            int(ref) if ref.isdigit() else None)
        msg = rec.messages.get(mid) if mid is not None else None
        if msg is None:
            raise _unknown("Message", 10008)
        return rec, msg

    async def _get_webhook_message(self, request: web.Request) -> web.StreamResponse:
        return _json(self._webhook_message(request)[1])

    async def _edit_webhook_message(self, request: web.Request) -> web.StreamResponse:
        _, msg = self._webhook_message(request)
        msg["flags"] &= ~int(MessageFlags.LOADING)  # editing a deferred response completes it
        await self._edit_stored(msg, self._body(request), request[_FILES])
        return _json(msg)

    async def _delete_webhook_message(self, request: web.Request) -> web.StreamResponse:
        rec, msg = self._webhook_message(request)
        rec.messages.pop(int(msg["id"]), None)
        await self._delete_stored(msg)
        return web.Response(status=204)

    # ------------------------------------------------------------------ REST: channels

    async def _get_channel(self, request: web.Request) -> web.StreamResponse:
        return _json(self._channel(request))

    async def _typing(self, request: web.Request) -> web.StreamResponse:
        self._channel(request)
        return web.Response(status=204)

    async def _get_messages(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        stored = sorted(self.messages[int(channel["id"])].values(), key=lambda m: int(m["id"]),
                        reverse=True)  # newest first, like Discord
        limit = max(1, min(100, int(request.query.get("limit", 50))))
        if "before" in request.query:
            stored = [m for m in stored if int(m["id"]) < int(request.query["before"])]
        if "after" in request.query:
            stored = [m for m in stored if int(m["id"]) > int(request.query["after"])][-limit:]
        if "around" in request.query:
            around = int(request.query["around"])
            older = [m for m in stored if int(m["id"]) <= around][: (limit + 1) // 2]
            newer = [m for m in stored if int(m["id"]) > around][-(limit // 2):] \
                if limit > 1 else []
            stored = newer + older
        return _json([_as_fetched(m) for m in stored[:limit]])

    async def _get_message(self, request: web.Request) -> web.StreamResponse:
        return _json(_as_fetched(self._message(request)))

    async def _post_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        cid = int(channel["id"])
        if channel["type"] == ChannelType.DM and int(channel["recipients"][0]["id"]) in \
                self.dms_closed:
            raise DiscordHTTPError(403, 50007, "Cannot send messages to this user")
        body = self._body(request)
        files: tuple[RecordedFile, ...] = request[_FILES]
        nonce = body.get("nonce")
        if nonce is not None and len(str(nonce)) > 25:
            raise _form_error({"nonce": payloads.field_error(
                "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")})
        nonce_key = (self.bot_id, str(nonce))
        if nonce is not None and body.get("enforce_nonce"):
            existing, at = self._nonces.get(nonce_key, (None, 0.0))
            if existing is not None and self._now() - at <= self.nonce_window \
                    and self.get_message(existing) is not None:
                self.deduplicated_sends += 1
                return _json(self.get_message(existing))
        fields = self._message_fields(body, files, cid)
        if not (fields.get("content") or fields.get("embeds") or fields.get("components")
                or fields.get("attachments") or body.get("sticker_ids") or body.get("poll")):
            raise DiscordHTTPError(400, 50006, "Cannot send an empty message")
        flags = int(fields.pop("flags", 0)) & _ALLOWED_MESSAGE_FLAGS
        msg = payloads.message(self.snowflakes.next(), cid, self.bot_user, tts=bool(
            body.get("tts", False)), flags=flags, nonce=nonce)
        msg.update(fields)  # type: ignore[typeddict-item]
        ref = body.get("message_reference")
        if isinstance(ref, dict) and ref.get("message_id") is not None:
            referenced = self.get_message(int(ref["message_id"]))
            if referenced is None and ref.get("fail_if_not_exists", True):
                raise _form_error({"message_reference": payloads.field_error(
                    "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")})
            msg["type"] = MessageType.REPLY
            msg["message_reference"] = {"type": 0, "message_id": str(ref["message_id"]),
                                        "channel_id": str(ref.get("channel_id", cid))}
            if "guild_id" in channel:
                msg["message_reference"]["guild_id"] = channel["guild_id"]
            msg["referenced_message"] = copy.deepcopy(referenced)
        self._store_message(msg)
        if nonce is not None:
            self._nonces[nonce_key] = (int(msg["id"]), self._now())
        await self._echo("MESSAGE_CREATE", self._gateway_message(msg))
        return _json(msg)

    async def _edit_message(self, request: web.Request) -> web.StreamResponse:
        msg = self._message(request)
        if msg["author"]["id"] != self.bot_user["id"]:
            raise DiscordHTTPError(403, 50005, "Cannot edit a message authored by another user")
        await self._edit_stored(msg, self._body(request), request[_FILES])
        return _json(msg)

    async def _edit_stored(self, msg: MessagePayload, body: Mapping[str, Any],
                           files: Sequence[RecordedFile]) -> None:
        fields = self._message_fields(body, files, int(msg["channel_id"]))
        if "flags" in fields:
            keep = msg["flags"] & int(MessageFlags.EPHEMERAL | MessageFlags.LOADING)
            fields["flags"] = (int(fields["flags"]) & _ALLOWED_MESSAGE_FLAGS) | keep
        msg.update(fields)  # type: ignore[typeddict-item]
        msg["edited_timestamp"] = payloads.iso_timestamp()
        if self.get_message(int(msg["id"])) is msg:
            await self._echo("MESSAGE_UPDATE", self._gateway_message(msg))

    async def _delete_message(self, request: web.Request) -> web.StreamResponse:
        await self._delete_stored(self._message(request))
        return web.Response(status=204)

    async def _delete_stored(self, msg: MessagePayload) -> None:
        if self.get_message(int(msg["id"])) is not msg:
            return  # ephemeral: nothing public to delete
        self._unstore_message(msg)
        event: dict[str, Any] = {"id": msg["id"], "channel_id": msg["channel_id"]}
        channel = self.channels.get(int(msg["channel_id"]))
        if channel is not None and "guild_id" in channel:
            event["guild_id"] = channel["guild_id"]
        await self._echo("MESSAGE_DELETE", event)

    # ------------------------------------------------------------------ REST: reactions

    def _reaction_target(self, message_id: int, channel_id: int | None
                         ) -> tuple[int, int | None, MessagePayload | None]:
        msg = self.get_message(message_id)
        cid = int(msg["channel_id"]) if msg is not None else (
            channel_id or self.seed.general_channel_id)
        channel = self.channels.get(cid)
        gid = int(channel["guild_id"]) if channel is not None and "guild_id" in channel \
            else None
        return cid, gid, msg

    def _add_reaction(self, message_id: int, e: EmojiPayload, user_id: int) -> bool:
        per_emoji = self._reactions.setdefault(message_id, {})
        _, users = per_emoji.setdefault(payloads.emoji_key(e), (e, []))
        if user_id in users:
            return False
        users.append(user_id)
        self._sync_reactions(message_id)
        return True

    def _remove_reaction(self, message_id: int, e: EmojiPayload, user_id: int) -> bool:
        entry = self._reactions.get(message_id, {}).get(payloads.emoji_key(e))
        if entry is None or user_id not in entry[1]:
            return False
        entry[1].remove(user_id)
        if not entry[1]:
            del self._reactions[message_id][payloads.emoji_key(e)]
        self._sync_reactions(message_id)
        return True

    def _sync_reactions(self, message_id: int) -> None:
        msg = self.get_message(message_id)
        if msg is None:
            return
        reactions: list[payloads.ReactionPayload] = [
            {"count": len(users), "count_details": {"burst": 0, "normal": len(users)},
             "me": self.bot_id in users, "me_burst": False, "emoji": e, "burst_colors": []}
            for e, users in self._reactions.get(message_id, {}).values()]
        if reactions:
            msg["reactions"] = reactions
        else:
            msg.pop("reactions", None)

    def _route_emoji(self, request: web.Request) -> EmojiPayload:
        value = request.match_info["emoji"]  # aiohttp has already percent-decoded it
        if not value:
            raise DiscordHTTPError(400, 10014, "Unknown Emoji")
        return payloads.parse_emoji(value)

    async def _get_reactions(self, request: web.Request) -> web.StreamResponse:
        msg = self._message(request)
        users = self.reaction_users(int(msg["id"]), self._route_emoji(request))
        if "after" in request.query:
            users = [u for u in users if u > int(request.query["after"])]
        limit = max(1, min(100, int(request.query.get("limit", 25))))
        return _json([self.users[u] for u in sorted(users)[:limit]])

    async def _put_reaction(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["user_id"] != "@me":
            raise DiscordHTTPError(405, 0, "405: Method Not Allowed")
        msg = self._message(request)
        e = self._route_emoji(request)
        if self._add_reaction(int(msg["id"]), e, self.bot_id):
            cid, gid, _ = self._reaction_target(int(msg["id"]), None)
            member = copy.deepcopy(self.guilds[gid].members.get(self.bot_id)) \
                if gid is not None else None
            await self._echo("MESSAGE_REACTION_ADD", payloads.reaction_add_event(
                user_id=self.bot_id, channel_id=cid, message_id=int(msg["id"]), emoji=e,
                guild_id=gid, member=member, message_author_id=int(msg["author"]["id"])))
        return web.Response(status=204)

    async def _delete_reaction(self, request: web.Request) -> web.StreamResponse:
        msg = self._message(request)
        e = self._route_emoji(request)
        raw_user = request.match_info["user_id"]
        uid = self.bot_id if raw_user == "@me" else self._snowflake(request, "user_id")
        if self._remove_reaction(int(msg["id"]), e, uid):
            cid, gid, _ = self._reaction_target(int(msg["id"]), None)
            await self._echo("MESSAGE_REACTION_REMOVE", payloads.reaction_remove_event(
                user_id=uid, channel_id=cid, message_id=int(msg["id"]), emoji=e, guild_id=gid))
        return web.Response(status=204)

    # ------------------------------------------------------------------ REST: guilds

    async def _get_guild(self, request: web.Request) -> web.StreamResponse:
        g = self._guild(request)
        body: dict[str, Any] = dict(g.payload)
        if request.query.get("with_counts", "").lower() in ("1", "true"):
            body["approximate_member_count"] = len(g.members)
            body["approximate_presence_count"] = 0
        return _json(body)

    async def _get_guild_channels(self, request: web.Request) -> web.StreamResponse:
        return _json(list(self._guild(request).channels.values()))

    async def _get_guild_roles(self, request: web.Request) -> web.StreamResponse:
        return _json(self._guild(request).roles)

    async def _get_member(self, request: web.Request) -> web.StreamResponse:
        g = self._guild(request)
        m = g.members.get(self._snowflake(request, "user_id"))
        if m is None:
            raise _unknown("Member", 10007)
        return _json(m)


# ---------------------------------------------------------------- module helpers


def _json(body: JSON, *, status: int = 200,
          headers: Mapping[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py compares the header verbatim and treats a
    # "; charset=utf-8" answer as text (then fails on data["..."]).
    response = web.Response(body=json.dumps(body, ensure_ascii=False).encode(), status=status,
                            headers={**(headers or {}), "Content-Type": "application/json"})
    response[_JSON] = body  # read back by the recording middleware
    return response


def _as_pattern(path: str | re.Pattern[str]) -> re.Pattern[str]:
    return path if isinstance(path, re.Pattern) else re.compile(re.escape(path))


def _request_matches(r: RecordedRequest, method: str | None,
                     path: str | re.Pattern[str] | None) -> bool:
    if method is not None and r.method != method.upper():
        return False
    if path is None:
        return True
    if isinstance(path, re.Pattern):
        return path.fullmatch(r.path) is not None
    return r.path == path


def _find_option(declared: Sequence[Mapping[str, Any]] | None,
                 name: str) -> Mapping[str, Any] | None:
    return next((o for o in declared or () if o.get("name") == name), None)


def _validate_command(cmd: Mapping[str, Any]) -> dict[str, Any] | None:
    """A light version of Discord's checks on application command payloads."""
    errors: dict[str, Any] = {}
    kind = int(cmd.get("type", 1))
    name = cmd.get("name")
    if not isinstance(name, str) or not name:
        errors["name"] = payloads.field_error("BASE_TYPE_REQUIRED", "This field is required")
    elif kind == 1 and (not _COMMAND_NAME_RE.fullmatch(name) or name != name.lower()):
        errors["name"] = payloads.field_error("APPLICATION_COMMAND_INVALID_NAME",
                                              "Command name is invalid")
    elif len(name) > 32:
        errors["name"] = payloads.field_error("BASE_TYPE_BAD_LENGTH",
                                              "Must be between 1 and 32 in length.")
    if kind == 1:
        description = cmd.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            errors["description"] = payloads.field_error(
                "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        option_errors = _validate_options(cmd.get("options") or [], "command")
        if option_errors:
            errors["options"] = option_errors
    return errors or None


_NESTING = (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP)
# What each level may hold (Discord's docs, "Subcommands and Subcommand Groups"): a command
# holds subcommands and groups, or plain options, never both; a group holds subcommands
# only; a subcommand holds plain options only (no deeper nesting).
_ALLOWED = {"group": (OptionType.SUB_COMMAND,), "subcommand": ()}


def _nesting_error(level: str, options: Sequence[Mapping[str, Any]], opt: Mapping[str, Any]
                   ) -> dict[str, Any] | None:
    kind = opt.get("type")
    nests = kind in _NESTING
    if level == "command":
        mixed = any(o.get("type") in _NESTING for o in options) and not all(
            o.get("type") in _NESTING for o in options)
        bad = mixed
    elif level == "group":
        bad = kind not in _ALLOWED["group"]
    else:
        bad = nests
    if not bad:
        return None
    return payloads.field_error("APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                                "Invalid option type for this level of nesting")


def _validate_options(options: Sequence[Mapping[str, Any]], level: str = "command"
                      ) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if len(options) > 25:
        errors["_errors"] = [{"code": "BASE_TYPE_MAX_LENGTH",
                              "message": "Must be 25 or fewer in length."}]
    seen_optional = False
    for index, opt in enumerate(options):
        problem: dict[str, Any] = {}
        nesting = _nesting_error(level, options, opt)
        if nesting is not None:
            problem["type"] = nesting
        name = opt.get("name")
        if not isinstance(name, str) or not _COMMAND_NAME_RE.fullmatch(name) \
                or name != name.lower():
            problem["name"] = payloads.field_error("APPLICATION_COMMAND_INVALID_NAME",
                                                   "Command name is invalid")
        description = opt.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            problem["description"] = payloads.field_error(
                "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if len(opt.get("choices") or []) > 25:
            problem["choices"] = payloads.field_error("BASE_TYPE_MAX_LENGTH",
                                                      "Must be 25 or fewer in length.")
        if opt.get("type") in _NESTING:
            inner = "group" if opt.get("type") == OptionType.SUB_COMMAND_GROUP else "subcommand"
            nested = _validate_options(opt.get("options") or [], inner)
            if nested:
                problem["options"] = nested
        elif opt.get("required"):
            if seen_optional:
                problem["required"] = payloads.field_error(
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options")
        else:
            seen_optional = True
        if problem:
            errors[str(index)] = problem
    return errors


def _as_fetched(msg: MessagePayload) -> MessagePayload:
    """A stored message as GET returns it: Discord does not keep the nonce."""
    fetched = dict(msg)
    fetched.pop("nonce", None)
    return cast(MessagePayload, fetched)
