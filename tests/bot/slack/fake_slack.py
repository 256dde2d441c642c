"""A local fake of Slack: Web API, response_url, Socket Mode and signed HTTP event delivery.

It lets tests run the real slack-bolt `AsyncApp` (and slack_sdk clients) end to end over
loopback. One aiohttp server on 127.0.0.1 with an ephemeral port serves:

* ``/api/<method>``        Web API (point ``AsyncWebClient(base_url=fake.api_url)`` here)
* ``/response_url/<key>``  response_url targets handed out in slash commands/interactions
* ``/link/?ticket=...``    the Socket Mode websocket returned by ``apps.connections.open``

Typical use::

    async with FakeSlack() as fake:
        app = AsyncApp(client=fake.web_client())
        handler = AsyncSocketModeHandler(app, app_token=fake.app_token)
        await handler.connect_async()
        await fake.wait_for_connection()
        env_id = await fake.push_slash_command(fake.make_slash_command("/laurels", "help"))
        ack = await fake.wait_for_ack(env_id)
        call = await fake.wait_for_call("chat.postMessage")
        await handler.close_async()

Behaviour worth knowing:

* Every Web API request is recorded as an `ApiCall` (including rejected and rate-limited
  ones) in `fake.calls`. Waiters look at the whole history from `since` (default 0), so
  a call that already happened is found; pass ``since=fake.call_count`` for "the next one".
* Tokens: the bot token (and any `add_token` token) works for every method except
  ``apps.connections.open``, which needs the app-level token (as on Slack). Missing
  token -> ``not_authed``, unknown -> ``invalid_auth``, wrong kind -> ``not_allowed_token_type``.
  Errors are HTTP 200 with ``{"ok": false, "error": ...}``, like Slack.
* Validation is deliberately light: required arguments, Slack's block limits (50 per
  message, 100 per view), what views may hold (modal texts, input blocks, the elements
  forms use: see `fake_views.py`), ``no_text``, ``message_not_found`` for chat.update,
  ``already_reacted``/``no_reaction``, ``hash_conflict`` for views,
  ``invalid_metadata_format`` for message metadata without an ``event_type`` string and
  an ``event_payload`` object. Reactions and permalinks do not require the message to
  exist (events pushed by tests often point at messages the fake never saw). users.info
  and conversations.open do need the users registered with `add_user` (the bot user is
  pre-registered).
* Message metadata is stored with the message and, like Slack, returned by
  conversations.history only when asked with ``include_all_metadata``.
* conversations.history follows Slack's reference: messages newest first, between
  ``oldest`` (default 0) and ``latest`` (default now), both excluded unless
  ``inclusive``; ``limit`` (default 100, at most 999) per page; ``has_more`` and
  ``response_metadata.next_cursor`` (base64 of ``next_ts:<ts>``, as Slack's cursors
  are) for the next page, ``invalid_cursor`` for one it never gave. A user id is not a
  conversation (``channel_not_found``): open the DM with conversations.open first.
  Channels exist as soon as they are named (an unknown one has no messages).
* Posts to a response_url are recorded in `response_url_posts` only; even
  ``response_type: in_channel`` answers are not copied into `messages`.
* Socket Mode pushes go to the newest open connection. A listener that never calls
  ``ack()`` produces no ack at all (Bolt gives up after 3 s), so `wait_for_ack` times out.
* `rate_limit(method, times, retry_after)` answers HTTP 429 + ``Retry-After`` for the next
  calls; nothing is stored for them. `fail_next(method, error)` queues ``ok: false`` answers
  (HTTP 200 like Slack's refusals, or `status=503`; with ``after_handler=True``, after the
  method did its work: a lost answer); `unavailable(method, ...)` answers 503 for as long
  as its block lasts.
  `set_method(name, handler)` adds or replaces a method.
* slack_sdk reads ``HTTPS_PROXY``/``HTTP_PROXY`` itself and ignores ``NO_PROXY``, so a
  proxy variable in CI would divert loopback traffic: call `clear_proxy_env(monkeypatch)`.
"""

# Every wait here takes a `timeout` (default 5 s) on purpose, so no test can hang.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import inspect
import itertools
import json
import logging
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from tests.bot.loopback import LoopbackServer, close_websocket
from tests.bot.slack.fake_views import view_problems
from tests.bot.slack.payloads import (
    API_APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    SlashCommandForm,
    SocketEnvelope,
    SocketEnvelopeType,
    event_callback,
    slash_command,
    socket_envelope,
)
from tests.bot.slack.signing import SignedResponse, SignedSender

if TYPE_CHECKING:
    import pytest
    from slack_sdk.web.async_client import AsyncWebClient

__all__ = [
    "Ack",
    "ApiCall",
    "FakeSlack",
    "MethodHandler",
    "ResponseUrlPost",
    "SlackApiFailure",
    "SocketConnection",
    "clear_proxy_env",
]

log = logging.getLogger(__name__)

# Web API arguments that slack_sdk form-encodes as JSON strings when not sending JSON.
_JSON_ARGS = frozenset({"blocks", "attachments", "view", "metadata", "unfurls"})
_MAX_MESSAGE_BLOCKS = 50
_MAX_VIEW_BLOCKS = 100
_MAX_TEXT = 40_000
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


def clear_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset proxy variables: slack_sdk would send loopback requests through them."""
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


class SlackApiFailure(Exception):
    """Raise from a method handler to answer ``{"ok": false, "error": error}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


# A Web API method: (args, token) -> response body (``ok`` is added when missing).
MethodHandler = Callable[[dict[str, Any], str | None],
                         dict[str, Any] | Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class ApiCall:
    """One Web API request as the fake saw and answered it."""

    index: int
    method: str
    args: dict[str, Any]  # query + form/JSON body merged; the token is not included
    token: str | None
    http_verb: str
    status: int  # HTTP status of the answer (429 when rate limited)
    response: dict[str, Any]
    at: float  # loop.time()

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass(frozen=True)
class ResponseUrlPost:
    key: str
    url: str
    body: Any  # parsed JSON (what slack-bolt's respond() sends) or the raw text
    at: float


@dataclass(frozen=True)
class Ack:
    """The app's acknowledgement of a Socket Mode envelope."""

    envelope_id: str
    payload: dict[str, Any] | None  # response body carried by the ack, if any
    latency: float  # seconds from push to ack
    connection_id: int


@dataclass
class SocketConnection:
    id: int
    ticket: str
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    opened_at: float
    closed_at: float | None = None
    received: list[Any] = field(default_factory=list)  # every message the client sent

    @property
    def open(self) -> bool:
        return self.closed_at is None and not self.ws.closed


class FakeSlack(LoopbackServer):
    """The fake Slack server. Use as ``async with FakeSlack() as fake`` or start()/stop()."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-0000-fake-bot-token",
        app_token: str = "xapp-1-A0FAKE0001-fake-app-token",
        signing_secret: str = "fake-signing-secret",
        team_id: str = TEAM_ID,
        team_domain: str = TEAM_DOMAIN,
        team_name: str = "Laurels Test",
        api_app_id: str = API_APP_ID,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        bot_name: str = "laurels",
        single_use_tickets: bool = False,
    ) -> None:
        super().__init__()
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.team_domain = team_domain
        self.team_name = team_name
        self.api_app_id = api_app_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        # Whether a websocket URL may be used once only. slack_sdk re-dials the same URL
        # when a connect attempt fails, so this is off by default.
        self.single_use_tickets = single_use_tickets

        # --- observable state (read freely from tests)
        self.calls: list[ApiCall] = []
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ephemeral_messages: list[dict[str, Any]] = []
        self.reactions: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(dict)
        self.home_views: dict[str, dict[str, Any]] = {}  # user id -> published view
        self.views: dict[str, dict[str, Any]] = {}  # view id -> modal/home view
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.response_url_posts: list[ResponseUrlPost] = []
        self.connections: list[SocketConnection] = []
        self.pushed: list[SocketEnvelope] = []
        self.acks: dict[str, Ack] = {}

        self._tokens: set[str] = {bot_token}
        self._methods: dict[str, MethodHandler] = {}
        # method -> (error, HTTP status, extra fields, whether the method runs first)
        self._failures: dict[str, deque[tuple[str, int, dict[str, Any], bool]]] = \
            defaultdict(deque)
        self._outages: set[str] = set()
        self._rate_limits: dict[str, deque[int]] = defaultdict(deque)
        self._tickets: dict[str, int] = {}  # ticket -> times used
        self._response_keys: set[str] = set()
        self._dm_channels: dict[frozenset[str], str] = {}
        self._pushed_at: dict[str, float] = {}
        self._last_ts_us = 0
        self._conn_ids = itertools.count(1)

        self._register_builtin_methods()
        self.add_user(bot_user_id, name=bot_name, is_bot=True, bot_id=bot_id)

    # ------------------------------------------------------------------ lifecycle

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response_url/{key}", self._handle_response_url)
        app.router.add_get("/link/", self._handle_socket)
        return app

    async def on_stopping(self) -> None:
        for conn in self.connections:
            if conn.open:
                await self._close_ws(conn, aiohttp.WSCloseCode.GOING_AWAY)

    @property
    def api_url(self) -> str:
        """The Web API base URL, for ``AsyncWebClient(base_url=...)`` (trailing slash included)."""
        return f"{self.base_url}/api/"

    def web_client(self, token: str | None = None, **kwargs: Any) -> AsyncWebClient:
        """An `AsyncWebClient` pointed at the fake (bot token by default)."""
        from slack_sdk.web.async_client import AsyncWebClient

        return AsyncWebClient(token=token or self.bot_token, base_url=self.api_url, **kwargs)

    def http_sender(self, url: str) -> SignedSender:
        """A `SignedSender` using this fake's signing secret, for an HTTP-mode app at `url`."""
        return SignedSender(url, self.signing_secret)

    # ------------------------------------------------------------------ test setup

    def add_token(self, token: str) -> None:
        """Accept another bot or user token."""
        self._tokens.add(token)

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        display_name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
        is_bot: bool = False,
        bot_id: str | None = None,
        deleted: bool = False,
        tz: str = "UTC",
        team_id: str | None = None,
        image_72: str | None = None,
    ) -> dict[str, Any]:
        """Register a user for users.info, in the documented user object shape (`image_72`:
        their picture; Slack gives everyone one, a default image for those without)."""
        name = name or user_id.lower()
        real_name = real_name or name.title()
        profile: dict[str, Any] = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": display_name if display_name is not None else name,
            "display_name_normalized": display_name if display_name is not None else name,
            "image_72": image_72 or f"https://avatars.example/{user_id}_72.png",
            "team": team_id or self.team_id,
        }
        if bot_id is not None:
            profile["bot_id"] = bot_id
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": team_id or self.team_id,
            "name": name,
            "deleted": deleted,
            "real_name": real_name,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": 0,
            "profile": profile,
            "is_admin": is_admin or is_owner,  # owners are admins on Slack
            "is_owner": is_owner or is_primary_owner,
            "is_primary_owner": is_primary_owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }
        self.users[user_id] = user
        return user

    def add_usergroup(self, usergroup_id: str, user_ids: list[str]) -> None:
        self.usergroups[usergroup_id] = list(user_ids)

    def add_message(self, channel: str, text: str, *, user: str, ts: str | None = None,
                    thread_ts: str | None = None) -> dict[str, Any]:
        """Seed a message written by someone else (e.g. a member's entry)."""
        message: dict[str, Any] = {"type": "message", "user": user, "text": text,
                                   "ts": ts or self._next_ts(), "team": self.team_id}
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        self.messages[channel].append(message)
        self._bump()
        return message

    def set_method(self, method: str, handler: MethodHandler) -> None:
        """Add or replace a Web API method. Raise `SlackApiFailure` for ``ok: false``."""
        self._methods[method] = handler

    def fail_next(self, method: str, error: str, *, times: int = 1, status: int = 200,
                  after_handler: bool = False, **extra: Any) -> None:
        """The next `times` calls of `method` answer ``{"ok": false, "error": error, **extra}``
        with HTTP `status` (200 like Slack's refusals; 5xx for an outage).

        ``after_handler=True`` runs the method first (a message *is* posted) and then
        answers the error instead: an answer lost on the way, as far as the caller can
        tell, which is what an idempotent sender must survive."""
        for _ in range(times):
            self._failures[method].append((error, status, extra, after_handler))

    @contextlib.contextmanager
    def unavailable(self, *methods: str) -> Iterator[None]:
        """Every call of `methods` answers HTTP 503 ``service_unavailable`` (an outage)
        until the block ends."""
        self._outages.update(methods)
        try:
            yield
        finally:
            self._outages.difference_update(methods)

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` answer HTTP 429 with ``Retry-After: retry_after``.

        slack_sdk's AsyncRateLimitErrorRetryHandler sleeps retry_after plus up to one
        second of jitter, so ``retry_after=0`` keeps tests fast.
        """
        for _ in range(times):
            self._rate_limits[method].append(retry_after)

    def new_response_url(self) -> str:
        key = uuid.uuid4().hex
        self._response_keys.add(key)
        return f"{self.base_url}/response_url/{key}"

    def make_slash_command(self, command: str, text: str = "", **kwargs: Any
                           ) -> SlashCommandForm:
        """`payloads.slash_command` with a fresh response_url from this fake."""
        kwargs.setdefault("team_id", self.team_id)
        kwargs.setdefault("team_domain", self.team_domain)
        kwargs.setdefault("api_app_id", self.api_app_id)
        return slash_command(command, text, response_url=self.new_response_url(), **kwargs)

    # ------------------------------------------------------------------ observation

    @property
    def call_count(self) -> int:
        """Number of Web API calls so far; pass as ``since=`` to wait for later calls only."""
        return len(self.calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        return list(self.messages.get(channel, []))

    def find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    async def wait_for_call(
        self,
        method: str | None = None,
        predicate: Callable[[ApiCall], bool] | None = None,
        *,
        since: int = 0,
        timeout: float = 5.0,
    ) -> ApiCall:
        """The first recorded call at index >= `since` matching `method` and `predicate`."""

        def find() -> ApiCall | None:
            for call in self.calls[since:]:
                if (method is None or call.method == method) and (
                        predicate is None or predicate(call)):
                    return call
            return None

        return await self._wait(find, timeout, f"Web API call {method or '*'}")

    async def wait_for_calls(self, method: str, count: int, *, since: int = 0,
                             timeout: float = 5.0) -> list[ApiCall]:
        """Wait until `method` was called at least `count` times (from index `since`)."""

        def find() -> list[ApiCall] | None:
            found = [c for c in self.calls[since:] if c.method == method]
            return found if len(found) >= count else None

        return await self._wait(find, timeout, f"{count} calls to {method}")

    async def wait_for_response_url_post(
        self,
        predicate: Callable[[ResponseUrlPost], bool] | None = None,
        *,
        since: int = 0,
        timeout: float = 5.0,
    ) -> ResponseUrlPost:

        def find() -> ResponseUrlPost | None:
            return next((p for p in self.response_url_posts[since:]
                         if predicate is None or predicate(p)), None)

        return await self._wait(find, timeout, "a response_url POST")

    # ------------------------------------------------------------------ Socket Mode

    @property
    def connection_count(self) -> int:
        """Websocket connections accepted so far (open or closed)."""
        return len(self.connections)

    @property
    def active_connection(self) -> SocketConnection | None:
        """The newest open connection: where pushes go."""
        return next((c for c in reversed(self.connections) if c.open), None)

    async def wait_for_connection(self, count: int = 1, *, timeout: float = 5.0
                                  ) -> SocketConnection:
        """Wait until `count` connections were accepted in total and one is open (hello sent)."""

        def find() -> SocketConnection | None:
            if len(self.connections) < count:
                return None
            return self.active_connection

        return await self._wait(find, timeout, f"socket connection #{count}")

    async def push(
        self,
        type: SocketEnvelopeType,
        payload: Mapping[str, Any],
        *,
        envelope_id: str | None = None,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 5.0,
    ) -> str:
        """Send an envelope on the active connection (waiting for one); returns envelope_id."""
        conn = await self.wait_for_connection(timeout=timeout)
        envelope = socket_envelope(type, payload, envelope_id=envelope_id,
                                   accepts_response_payload=accepts_response_payload,
                                   retry_attempt=retry_attempt, retry_reason=retry_reason)
        envelope_id = envelope["envelope_id"]
        self.pushed.append(envelope)
        self._pushed_at[envelope_id] = self._now()
        await conn.ws.send_str(json.dumps(envelope))
        return envelope_id

    async def push_slash_command(self, form: Mapping[str, str], **kwargs: Any) -> str:
        return await self.push("slash_commands", form, **kwargs)

    async def push_event(self, event: Mapping[str, Any], **kwargs: Any) -> str:
        """Push an events_api envelope. A bare event (no ``event_id``) is wrapped with
        `payloads.event_callback` using this fake's team/app/bot ids."""
        if "event_id" not in event:
            event = event_callback(event, team_id=self.team_id, api_app_id=self.api_app_id,
                                   bot_user_id=self.bot_user_id)
        return await self.push("events_api", event, **kwargs)

    async def push_interactive(self, payload: Mapping[str, Any], **kwargs: Any) -> str:
        return await self.push("interactive", payload, **kwargs)

    async def wait_for_ack(self, envelope_id: str, *, timeout: float = 5.0) -> Ack:
        return await self._wait(lambda: self.acks.get(envelope_id), timeout,
                                f"ack of envelope {envelope_id}")

    async def request_disconnect(self, reason: str = "refresh_requested",
                                 conn: SocketConnection | None = None) -> SocketConnection:
        """Ask the client to reconnect, as Slack does before recycling a connection.
        The connection stays open; the client is expected to close it itself."""
        target = conn or await self.wait_for_connection(timeout=1.0)
        await target.ws.send_str(json.dumps({
            "type": "disconnect", "reason": reason,
            "debug_info": {"host": "fake-slack-applink"},
        }))
        return target

    async def drop_connection(self, conn: SocketConnection | None = None) -> SocketConnection:
        """Kill the TCP connection without a close frame (network loss)."""
        target = conn or await self.wait_for_connection(timeout=1.0)
        if target.transport is not None:
            target.transport.abort()
        target.closed_at = target.closed_at or self._now()
        self._bump()
        return target

    async def close_connection(self, conn: SocketConnection | None = None, *,
                               code: int = aiohttp.WSCloseCode.GOING_AWAY) -> SocketConnection:
        """Close cleanly with a websocket close frame."""
        target = conn or await self.wait_for_connection(timeout=1.0)
        await self._close_ws(target, code)
        return target

    # ------------------------------------------------------------------ HTTP event delivery

    async def deliver_event_http(
        self,
        url: str,
        body: Mapping[str, Any],
        *,
        ack_timeout: float = 3.0,
        max_retries: int = 3,
    ) -> list[SignedResponse | None]:
        """Deliver an Events API body to an HTTP-mode app the way Slack does: signed, and
        re-sent with X-Slack-Retry-Num/Reason while the app errors or takes longer than
        `ack_timeout` (Slack's 3 s). Retries are immediate here, not Slack's backoff.
        Returns one entry per attempt (None for a timeout)."""
        results: list[SignedResponse | None] = []
        reason: str | None = None
        async with self.http_sender(url) as sender:
            for attempt in range(max_retries + 1):
                try:
                    async with asyncio.timeout(ack_timeout):
                        resp = await sender.post_event(
                            body, retry_num=attempt or None,
                            retry_reason=reason if attempt else None)
                except TimeoutError:
                    results.append(None)
                    reason = "http_timeout"
                    await sender.close()  # the timed-out request is abandoned, as Slack does
                    continue
                results.append(resp)
                if 200 <= resp.status < 300:
                    break
                reason = "http_error"
        return results

    # ------------------------------------------------------------------ internals: waiting

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def recent_activity(self) -> str:
        recent = ", ".join(f"{c.method}({c.status})" for c in self.calls[-10:])
        return f"last calls: [{recent}]"

    # ------------------------------------------------------------------ internals: Web API

    async def _read_args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            elif request.content_type in ("application/x-www-form-urlencoded",
                                          "multipart/form-data"):
                for key, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        args[key] = {"filename": value.filename,
                                     "content_type": value.content_type,
                                     "size": len(value.file.read())}
                    else:
                        args[key] = value
        for key in _JSON_ARGS & args.keys():
            value = args[key]
            if isinstance(value, str) and value[:1] in ("[", "{"):
                args[key] = json.loads(value)
        return args

    def _auth_error(self, method: str, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        if method == "apps.connections.open":
            if token == self.app_token:
                return None
            return "not_allowed_token_type" if token in self._tokens else "invalid_auth"
        if token == self.app_token:
            return "not_allowed_token_type"
        return None if token in self._tokens else "invalid_auth"

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._read_args(request)
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else args.get("token")
        args.pop("token", None)

        status, headers = 200, {"X-OAuth-Scopes": "chat:write,commands,reactions:write,"
                                "users:read,usergroups:read,channels:history,"
                                "groups:history,im:history,im:write"}
        handler = self._methods.get(method)
        response: dict[str, Any]
        if handler is None:
            response = {"ok": False, "error": "unknown_method"}
        elif method in self._outages:
            status, response = 503, {"ok": False, "error": "service_unavailable"}
        elif (auth_error := self._auth_error(method, token)) is not None:
            response = {"ok": False, "error": auth_error}
        elif self._rate_limits[method]:
            retry_after = self._rate_limits[method].popleft()
            status = 429
            headers["Retry-After"] = str(retry_after)
            response = {"ok": False, "error": "ratelimited"}
        elif self._failures[method] and not self._failures[method][0][3]:
            error, status, extra, _ = self._failures[method].popleft()
            response = {"ok": False, "error": error, **extra}
        else:
            try:
                result = handler(args, token)
                response = await result if inspect.isawaitable(result) else result
                response = {"ok": True, **response}
            except SlackApiFailure as failure:
                response = {"ok": False, "error": failure.error, **failure.extra}
            if self._failures[method]:  # the method ran; its answer is lost
                error, status, extra, _ = self._failures[method].popleft()
                response = {"ok": False, "error": error, **extra}

        self.calls.append(ApiCall(index=len(self.calls), method=method, args=args, token=token,
                                  http_verb=request.method, status=status, response=response,
                                  at=self._now()))
        self._bump()
        return web.json_response(response, status=status, headers=headers)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if key not in self._response_keys:
            return web.Response(status=404, text="no_service")
        text = await request.text()
        try:
            body: Any = json.loads(text)
        except json.JSONDecodeError:
            body = text
        self.response_url_posts.append(ResponseUrlPost(key=key, url=str(request.url), body=body,
                                                       at=self._now()))
        self._bump()
        return web.Response(text="ok")  # what hooks.slack.com answers

    # ------------------------------------------------------------------ internals: websocket

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        uses = self._tickets.get(ticket)
        if uses is None or (self.single_use_tickets and uses > 0):
            return web.Response(status=401, text="invalid ticket")
        self._tickets[ticket] = uses + 1
        # timeout bounds how long close() waits for the client's close frame.
        ws = web.WebSocketResponse(timeout=2.0)
        await ws.prepare(request)
        conn = SocketConnection(id=next(self._conn_ids), ticket=ticket, ws=ws,
                                transport=request.transport, opened_at=self._now())
        await ws.send_str(json.dumps({
            "type": "hello",
            "num_connections": sum(1 for c in self.connections if c.open) + 1,
            "debug_info": {"host": "fake-slack-applink", "build_number": 1,
                           "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.api_app_id},
        }))
        self.connections.append(conn)
        self._bump()
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self._on_client_message(conn, msg.data)
        finally:
            conn.closed_at = conn.closed_at or self._now()
            self._bump()
        return ws

    def _on_client_message(self, conn: SocketConnection, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            message = data
        conn.received.append(message)
        if isinstance(message, dict) and "envelope_id" in message:
            envelope_id = message["envelope_id"]
            pushed_at = self._pushed_at.get(envelope_id, self._now())
            if envelope_id in self.acks:
                log.warning("envelope %s acknowledged twice", envelope_id)
            else:
                self.acks[envelope_id] = Ack(envelope_id=envelope_id,
                                             payload=message.get("payload"),
                                             latency=self._now() - pushed_at,
                                             connection_id=conn.id)
        self._bump()

    async def _close_ws(self, conn: SocketConnection, code: int) -> None:
        await close_websocket(conn.ws, conn.transport, code)
        conn.closed_at = conn.closed_at or self._now()
        self._bump()

    # ------------------------------------------------------------------ built-in methods

    def _register_builtin_methods(self) -> None:
        self._methods.update({
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.getPermalink": self._chat_get_permalink,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
        })

    def _next_ts(self) -> str:
        # Strictly increasing, like Slack's per-channel message ts.
        self._last_ts_us = max(int(time.time() * 1_000_000), self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    @staticmethod
    def _require(args: dict[str, Any], *names: str, error: str = "invalid_arguments") -> None:
        for name in names:
            if not args.get(name):
                raise SlackApiFailure(error, response_metadata={
                    "messages": [f"[ERROR] missing required field: {name}"]})

    def _channel_for(self, channel: str) -> str:
        # Posting to a user ID lands in the app's DM with that user.
        if channel[:1] in ("U", "W"):
            return self._dm_for([channel])
        return channel

    def _dm_for(self, users: list[str]) -> str:
        key = frozenset(users)
        if key not in self._dm_channels:
            self._dm_channels[key] = ("D" + users[0][1:] if len(users) == 1
                                      else "G" + uuid.uuid4().hex[:10].upper())
        return self._dm_channels[key]

    @staticmethod
    def _check_message_content(args: dict[str, Any]) -> None:
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            raise SlackApiFailure("no_text")
        blocks = args.get("blocks")
        if blocks is not None and (not isinstance(blocks, list)
                                   or len(blocks) > _MAX_MESSAGE_BLOCKS):
            raise SlackApiFailure("invalid_blocks")
        if len(str(args.get("text") or "")) > _MAX_TEXT:
            raise SlackApiFailure("msg_too_long")

    def _auth_test(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"url": f"https://{self.team_domain}.slack.com/", "team": self.team_name,
                "user": self.bot_name, "team_id": self.team_id, "user_id": self.bot_user_id,
                "bot_id": self.bot_id, "is_enterprise_install": False}

    def _apps_connections_open(self, args: dict[str, Any], token: str | None
                               ) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets[ticket] = 0
        host = self.base_url.replace("http://", "ws://")
        return {"url": f"{host}/link/?ticket={ticket}&app_id={self.api_app_id}"}

    @staticmethod
    def _check_metadata(args: dict[str, Any]) -> None:
        metadata = args.get("metadata")
        if metadata is None:
            return
        if not (isinstance(metadata, dict) and isinstance(metadata.get("event_type"), str)
                and isinstance(metadata.get("event_payload"), dict)):
            raise SlackApiFailure("invalid_metadata_format")

    def _chat_post_message(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        self._require(args, "channel", error="channel_not_found")
        self._check_message_content(args)
        self._check_metadata(args)
        channel = self._channel_for(args["channel"])
        message: dict[str, Any] = {"type": "message", "user": self.bot_user_id,
                                   "bot_id": self.bot_id, "text": args.get("text", ""),
                                   "ts": self._next_ts(), "team": self.team_id}
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if args.get(key) is not None:
                message[key] = args[key]
        self.messages[channel].append(message)
        return {"channel": channel, "ts": message["ts"], "message": message}

    def _chat_post_ephemeral(self, args: dict[str, Any], token: str | None
                             ) -> dict[str, Any]:
        self._require(args, "channel", error="channel_not_found")
        self._require(args, "user", error="user_not_found")
        self._check_message_content(args)
        ts = self._next_ts()
        self.ephemeral_messages.append({
            "channel": args["channel"], "user": args["user"], "ts": ts,
            "text": args.get("text", ""), "blocks": args.get("blocks"),
            "thread_ts": args.get("thread_ts")})
        return {"message_ts": ts}

    def _chat_update(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        self._require(args, "channel", error="channel_not_found")
        self._require(args, "ts", error="message_not_found")
        self._check_message_content(args)
        channel = self._channel_for(args["channel"])
        message = self.find_message(channel, args["ts"])
        if message is None:
            raise SlackApiFailure("message_not_found")
        if message.get("user") != self.bot_user_id:
            raise SlackApiFailure("cant_update_message")
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in args:
                message[key] = args[key]
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"channel": channel, "ts": message["ts"], "text": message.get("text", ""),
                "message": message}

    def _chat_get_permalink(self, args: dict[str, Any], token: str | None
                            ) -> dict[str, Any]:
        self._require(args, "channel", error="channel_not_found")
        self._require(args, "message_ts", error="message_not_found")
        channel, ts = args["channel"], args["message_ts"]
        return {"channel": channel, "permalink":
                f"https://{self.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"}

    def _build_view(self, view: Any, *, view_id: str, kind: str | None = None,
                    external_id: str | None = None) -> dict[str, Any]:
        if not isinstance(view, dict) or view.get("type") not in ("home", "modal"):
            raise SlackApiFailure("invalid_arguments", response_metadata={
                "messages": ["[ERROR] view.type must be home or modal"]})
        if kind is not None and view["type"] != kind:
            raise SlackApiFailure("invalid_arguments")
        blocks = view.get("blocks")
        if not isinstance(blocks, list) or len(blocks) > _MAX_VIEW_BLOCKS:
            raise SlackApiFailure("invalid_arguments", response_metadata={
                "messages": [f"[ERROR] blocks must be a list of at most {_MAX_VIEW_BLOCKS}"]})
        problems = view_problems(view)
        if problems:
            raise SlackApiFailure("invalid_arguments", response_metadata={"messages": problems})
        return {
            "id": view_id, "team_id": self.team_id, "type": view["type"], "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""), "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "title": view.get("title"), "close": view.get("close"),
            "submit": view.get("submit"), "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "external_id": external_id or view.get("external_id", ""),
            "app_id": self.api_app_id, "bot_id": self.bot_id,
            "root_view_id": view_id, "previous_view_id": None,
        }

    def _views_publish(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        self._require(args, "user_id", "view")
        user_id = args["user_id"]
        previous = self.home_views.get(user_id)
        if previous is not None and args.get("hash") and args["hash"] != previous["hash"]:
            raise SlackApiFailure("hash_conflict")
        view_id = previous["id"] if previous is not None else "V" + uuid.uuid4().hex[:10].upper()
        built = self._build_view(args["view"], view_id=view_id, kind="home")
        self.home_views[user_id] = built
        self.views[view_id] = built
        return {"view": built}

    def _views_open(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not (args.get("trigger_id") or args.get("interactivity_pointer")):
            self._require(args, "trigger_id")
        self._require(args, "view")
        view_id = "V" + uuid.uuid4().hex[:10].upper()
        built = self._build_view(args["view"], view_id=view_id, kind="modal")
        self.views[view_id] = built
        return {"view": built}

    def _views_update(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        self._require(args, "view")
        current: dict[str, Any] | None = None
        if args.get("view_id"):
            current = self.views.get(args["view_id"])
        elif args.get("external_id"):
            current = next((v for v in self.views.values()
                            if v.get("external_id") == args["external_id"]), None)
        else:
            self._require(args, "view_id")
        if current is None:
            raise SlackApiFailure("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackApiFailure("hash_conflict")
        built = self._build_view(args["view"], view_id=current["id"],
                                 external_id=current.get("external_id"))
        self.views[current["id"]] = built
        for user_id, home in self.home_views.items():
            if home["id"] == current["id"]:
                self.home_views[user_id] = built
        return {"view": built}

    def _reactions_add(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        self._require(args, "channel", error="channel_not_found")
        self._require(args, "timestamp", error="message_not_found")
        self._require(args, "name", error="invalid_name")
        users = self.reactions[(args["channel"], args["timestamp"])].setdefault(
            args["name"].strip(":"), [])
        if self.bot_user_id in users:
            raise SlackApiFailure("already_reacted")
        users.append(self.bot_user_id)
        return {}

    def _reactions_remove(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        self._require(args, "channel", error="channel_not_found")
        self._require(args, "timestamp", error="message_not_found")
        self._require(args, "name", error="invalid_name")
        on_message = self.reactions[(args["channel"], args["timestamp"])]
        users = on_message.get(args["name"].strip(":"), [])
        if self.bot_user_id not in users:
            raise SlackApiFailure("no_reaction")
        users.remove(self.bot_user_id)
        return {}

    def _users_info(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        self._require(args, "user", error="user_not_found")
        user = self.users.get(args["user"])
        if user is None:
            raise SlackApiFailure("user_not_found")
        return {"user": user}

    def _usergroups_users_list(self, args: dict[str, Any], token: str | None
                               ) -> dict[str, Any]:
        self._require(args, "usergroup", error="no_such_subteam")
        users = self.usergroups.get(args["usergroup"])
        if users is None:
            raise SlackApiFailure("no_such_subteam")
        return {"users": list(users)}

    def _conversations_history(self, args: dict[str, Any], token: str | None
                               ) -> dict[str, Any]:
        self._require(args, "channel", error="channel_not_found")
        channel = str(args["channel"])
        if channel[:1] in ("U", "W"):
            raise SlackApiFailure("channel_not_found")
        try:
            oldest = _ts_value(args.get("oldest") or "0")
            latest = _ts_value(args["latest"]) if args.get("latest") else None
            limit = int(args.get("limit") or 100)
        except ValueError:
            raise SlackApiFailure("invalid_arguments") from None
        limit = max(1, min(limit, 999))
        inclusive = _flag(args.get("inclusive"))

        def in_window(ts: str) -> bool:
            value = _ts_value(ts)
            after = value >= oldest if inclusive else value > oldest
            before = latest is None or (value <= latest if inclusive else value < latest)
            return after and before

        found = sorted((m for m in self.messages.get(channel, []) if in_window(m["ts"])),
                       key=lambda m: _ts_value(m["ts"]), reverse=True)
        if args.get("cursor"):
            start = _cursor_ts(str(args["cursor"]))
            found = [m for m in found if _ts_value(m["ts"]) <= start]
        page, rest = found[:limit], found[limit:]
        with_metadata = _flag(args.get("include_all_metadata"))
        messages = [{k: v for k, v in m.items() if with_metadata or k != "metadata"}
                    for m in page]
        response: dict[str, Any] = {"messages": messages, "has_more": bool(rest),
                                    "pin_count": 0}
        if rest:
            next_ts = rest[0]["ts"].replace(".", "")
            response["response_metadata"] = {
                "next_cursor": base64.b64encode(f"next_ts:{next_ts}".encode()).decode()}
        return response

    def _conversations_open(self, args: dict[str, Any], token: str | None
                            ) -> dict[str, Any]:
        if args.get("channel"):
            return {"channel": {"id": args["channel"]}, "no_op": True, "already_open": True}
        self._require(args, "users", error="users_list_not_supplied")
        users = [u for u in str(args["users"]).split(",") if u]
        missing = [u for u in users if u not in self.users]
        if missing:
            raise SlackApiFailure("user_not_found")
        existed = frozenset(users) in self._dm_channels
        channel: dict[str, Any] = {"id": self._dm_for(users)}
        if str(args.get("return_im", "")).lower() in ("1", "true"):
            channel.update({"created": int(time.time()), "is_im": len(users) == 1,
                            "is_mpim": len(users) > 1, "is_open": True})
            if len(users) == 1:
                channel["user"] = users[0]
        response: dict[str, Any] = {"channel": channel}
        if existed:
            response.update({"no_op": True, "already_open": True})
        return response


def _flag(value: Any) -> bool:
    """A boolean Web API argument: slack_sdk sends "1"/"0", JSON bodies send true/false."""
    return str(value).lower() in ("1", "true")


def _ts_value(ts: str) -> int:
    """A Slack timestamp ("1700000000.000100") in microseconds, to compare exactly."""
    seconds, _, micros = str(ts).partition(".")
    return int(seconds) * 1_000_000 + int((micros + "000000")[:6])


def _cursor_ts(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise SlackApiFailure("invalid_cursor") from None
    prefix, _, digits = text.partition(":")
    if prefix != "next_ts" or not digits.isdigit() or len(digits) <= 6:
        raise SlackApiFailure("invalid_cursor")
    return int(digits)
