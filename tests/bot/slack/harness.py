"""Laurels on the real slack-bolt app, against FakeSlack, over Socket Mode or HTTP.

`SlackWorld` plays Slack's side (members typing commands, reacting, opening the Home tab,
pressing buttons, submitting forms) through whichever transport the test picked, and
reads back what the bot said. Each step waits until the bot has finished with it
(`inflight`), so assertions never race the bot; every wait is bounded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import pytest

from bot.delivery import DeliveryWorker
from bot.http.app import build_app
from bot.http.health import Readiness, health_routes
from bot.http.server import HttpOptions, RunningServer, serve
from bot.slack.app import RunningSlack, start_slack
from bot.slack.http import EVENTS_PATH, SlackEvents
from config.settings import Settings
from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from tests.bot.slack import payloads
from tests.bot.slack.fake_slack import ApiCall, FakeSlack, clear_proxy_env
from tests.bot.slack.fake_views import submitted_state, view_problems
from tests.bot.slack.signing import SignedSender

Transport = Literal["socket", "http"]

ADMIN = "U0ADMIN001"
ALICE = "U0ALICE001"
BOB = "U0BOB00001"
CAROL = "U0CAROL001"
DAVE = "U0DAVE0001"
NAMES = {ADMIN: "mod", ALICE: "alice", BOB: "bob", CAROL: "carol", DAVE: "dave"}
GENERAL = "C0GENERAL1"
ANNOUNCE = "C0ANNOUNCE"
ENTRIES = "C0ENTRIES1"


# Every Web API method the bot may call, and the bot scopes it needs (none: no scope, or
# the app-level token; several: one per kind of conversation). Tests check the bot calls
# nothing else and the manifest asks for exactly these scopes, plus "commands" and
# "reactions:read" for what Slack sends.
SCOPE_OF_METHOD: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "apps.connections.open": (),
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.open": ("im:write",),
    "reactions.add": ("reactions:write",),
    "users.info": ("users:read",),
    "usergroups.users.list": ("usergroups:read",),
    "views.open": (),
    "views.publish": (),
}


def settings_for(fake: FakeSlack, **changes: Any) -> Settings:
    """Settings pointing at `fake`, with its tokens, except for `changes`."""
    values: dict[str, Any] = {
        "slack_bot_token": fake.bot_token, "slack_app_token": fake.app_token,
        "slack_signing_secret": fake.signing_secret, "slack_api_url": fake.api_url,
        "database_url": "sqlite+aiosqlite://",
        # Pacing has its own test; here it would only slow the suite down.
        "slack_channel_interval": 0,
        "slack_ping_interval": 0.5}  # a lost socket heals fast
    return Settings(**{**values, **changes})


def add_members(fake: FakeSlack) -> None:
    for user, name in NAMES.items():
        fake.add_user(user, name=name, is_admin=user == ADMIN)


@dataclass
class Said:
    """What the bot said in answer to one step."""

    private: list[dict[str, Any]] = field(default_factory=list)  # {"blocks", "text"}
    public: list[dict[str, Any]] = field(default_factory=list)  # {"channel", "blocks", ...}
    modals: list[dict[str, Any]] = field(default_factory=list)  # views.open's view
    updated: list[dict[str, Any]] = field(default_factory=list)  # views.update's view

    @property
    def private_text(self) -> str:
        return "\n".join(block_text(m) for m in self.private)

    @property
    def public_text(self) -> str:
        return "\n".join(block_text(m) for m in self.public)

    @property
    def modal(self) -> dict[str, Any]:
        assert len(self.modals) == 1, f"expected one form, got {len(self.modals)}"
        return self.modals[0]


def block_text(message: dict[str, Any]) -> str:
    """Every text a member would read in a message's blocks (and its fallback text)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for key, value in node.items():
                if key != "text" or not isinstance(value, str):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    if not out and message.get("text"):
        out.append(str(message["text"]))
    return "\n".join(out)


@dataclass
class SlackWorld:
    fake: FakeSlack
    engine: Engine
    clock: FixedClock
    running: RunningSlack
    transport: Transport
    sender: SignedSender | None = None
    server: RunningServer | None = None  # HTTP mode: the process's HTTP server

    @property
    def community(self) -> CommunityRef:
        return CommunityRef("slack", self.fake.team_id)

    def ref(self, user: str, *, admin: bool = False) -> MemberRef:
        return MemberRef(self.community, user, NAMES.get(user, user), is_admin=admin)

    # -- what members do ----------------------------------------------------------------

    async def command(self, user: str, line: str, *, channel: str = GENERAL,
                      team_id: str | None = None) -> Said:
        """`user` types `line` (e.g. '/challenge list') in `channel`."""
        command, _, text = line.partition(" ")
        extra = {"team_id": team_id} if team_id else {}
        form = self.fake.make_slash_command(command, text, user_id=user,
                                            user_name=NAMES.get(user, user),
                                            channel_id=channel, **extra)
        return await self._step(lambda: self._send_command(form),
                                response_url=form["response_url"])

    async def react(self, user: str, emoji: str, ts: str, *, channel: str = ENTRIES,
                    added: bool = True, event_id: str | None = None, retry: int = 0) -> str:
        """`user` adds (or removes) `emoji` on message `ts`; returns the event id."""
        make = payloads.reaction_added if added else payloads.reaction_removed
        return await self.event(make(user, emoji, channel=channel, ts=ts),
                                event_id=event_id, retry=retry)

    async def event(self, event: dict[str, Any] | Any, *, event_id: str | None = None,
                    retry: int = 0, team_id: str | None = None) -> str:
        body = payloads.event_callback(event, team_id=team_id or self.fake.team_id,
                                       event_id=event_id)
        await self._step(lambda: self._send_event(body, retry))
        return body["event_id"]

    async def open_home(self, user: str) -> dict[str, Any]:
        """`user` opens the Home tab; returns the view the bot published for them."""
        mark = self.fake.call_count
        await self.event(payloads.app_home_opened(user))
        await self.fake.wait_for_call(
            "views.publish", lambda c: c.args.get("user_id") == user, since=mark, timeout=5)
        return self.fake.home_views[user]

    async def press(self, user: str, button: dict[str, Any], *,
                    message: dict[str, Any] | None = None, channel: str = GENERAL,
                    view: dict[str, Any] | None = None, ephemeral: bool = False) -> Said:
        """`user` presses `button` (a Block Kit element) in a message or in a view."""
        action = payloads.button_action(button["action_id"], button.get("value", ""))
        response_url = None if view is not None else self.fake.new_response_url()
        body = payloads.block_actions([action], user_id=user, user_name=NAMES.get(user, user),
                                      channel_id=channel, message=message,
                                      response_url=response_url, view=view)
        if ephemeral:
            body["container"]["is_ephemeral"] = True
        return await self._step(lambda: self._send_interaction(body), response_url=response_url)

    def fake_view_problems(self, view: dict[str, Any]) -> list[str]:
        """What Slack would refuse in `view` (a view given in an acknowledgement)."""
        return view_problems(view)

    async def submit_form(self, user: str, view: dict[str, Any],
                          values: dict[str, dict[str, Any]], *, channel: str = GENERAL
                          ) -> tuple[dict[str, Any] | None, Said]:
        """`user` submits form `view` with `values` ({option: element state}), every
        other input as it was shown (`channel`: where the form was opened); returns the
        acknowledgement's body (errors keep the form open) and what was said."""
        state = submitted_state(view, values, channel=channel)
        body = payloads.view_submission(view["callback_id"], state, user_id=user,
                                        user_name=NAMES.get(user, user),
                                        private_metadata=view["private_metadata"])
        acked: list[dict[str, Any] | None] = []

        async def send() -> None:
            acked.append(await self._send_interaction(body))

        said = await self._step(send)
        return acked[0], said

    # -- time and the delivery worker ------------------------------------------------------

    async def deliver(self) -> int:
        """Post every pending announcement through the real delivery worker."""
        worker = DeliveryWorker(self.engine, {"slack": self.running.platform})
        sent = 0
        while handled := await worker.run_once(limit=50):
            sent += handled
        return sent

    async def advance(self, delta: timedelta) -> None:
        """Let time pass: phase changes and reminders run, their announcements posted."""
        await self.engine.due.run_until(self.clock, self.clock.now() + delta,
                                               after_each=self.deliver)

    async def settle(self) -> None:
        assert await self.running.adapter.inflight.wait_idle(5), "the bot is still busy"

    # -- transports ----------------------------------------------------------------------

    async def _step(self, send: Any, *, response_url: str | None = None) -> Said:
        calls, posts = self.fake.call_count, len(self.fake.response_url_posts)
        await send()
        await self.settle()
        return self._said(self.fake.calls[calls:], self.fake.response_url_posts[posts:],
                          response_url)

    def _said(self, calls: list[ApiCall], posts: list[Any], response_url: str | None) -> Said:
        said = Said()
        for post in posts:
            if response_url is not None and post.url != response_url:
                continue
            target = said.public if post.body.get("response_type") == "in_channel" \
                else said.private
            target.append(post.body)
        for call in calls:
            if not call.ok:
                continue
            if call.method == "chat.postEphemeral":
                said.private.append(call.args)
            elif call.method == "chat.postMessage":
                target = said.private if str(call.args["channel"]).startswith("U") \
                    else said.public
                target.append(call.args)
            elif call.method == "views.open":
                said.modals.append(call.response["view"])
            elif call.method == "views.update":
                said.updated.append(call.response["view"])
        return said

    async def _send_command(self, form: Any) -> None:
        if self.sender is None:
            await self.fake.wait_for_ack(await self.fake.push_slash_command(form))
        else:
            response = await self.sender.post_slash_command(form)
            assert response.status == 200, response

    async def _send_event(self, body: Any, retry: int) -> None:
        if self.sender is None:
            envelope = await self.fake.push_event(
                body, retry_attempt=retry, retry_reason="timeout" if retry else "")
            await self.fake.wait_for_ack(envelope)
        else:
            response = await self.sender.post_event(
                body, retry_num=retry or None, retry_reason="http_timeout" if retry else None)
            assert response.status == 200, response

    async def _send_interaction(self, body: Any) -> dict[str, Any] | None:
        if self.sender is None:
            ack = await self.fake.wait_for_ack(await self.fake.push_interactive(body))
            return ack.payload
        response = await self.sender.post_interaction(body)
        assert response.status == 200, response
        return response.json


@asynccontextmanager
async def slack_world(fake: FakeSlack, engine: Engine, clock: FixedClock,
                      transport: Transport) -> AsyncIterator[SlackWorld]:
    """Laurels started with `start_slack` against `fake` (members already added); in HTTP
    mode behind the process's HTTP server, as `laurels run --slack-http` serves it."""
    if transport == "socket":
        running = await start_slack(engine, settings_for(fake))
        try:
            await fake.wait_for_connection()
            yield SlackWorld(fake, engine, clock, running, transport)
        finally:
            await running.stop(grace=5)
        return
    events = SlackEvents()
    app = build_app([*health_routes(Readiness(engine.db.probe)), *events.routes()])
    # Short timeouts: a test of stalled connections runs in seconds.
    server = await serve(app, HttpOptions(host="127.0.0.1", port=0, header_timeout=1.0,
                                          body_timeout=2.0))
    try:
        running = await start_slack(engine, settings_for(fake), http=events)
        try:
            async with fake.http_sender(server.url + EVENTS_PATH) as sender:
                yield SlackWorld(fake, engine, clock, running, transport, sender, server)
        finally:
            await running.stop(grace=5)
    finally:
        await server.stop()


@asynccontextmanager
async def running_world(monkeypatch: pytest.MonkeyPatch, engine: Engine, clock: FixedClock,
                        transport: Transport = "socket", *, channels: bool = False
                        ) -> AsyncIterator[SlackWorld]:
    """A fake Slack with the usual members and Laurels connected to it; with `channels`
    the announcement and entries channels are set first."""
    clear_proxy_env(monkeypatch)
    async with FakeSlack() as fake:
        add_members(fake)
        async with slack_world(fake, engine, clock, transport) as w:
            if channels:
                await w.command(ADMIN, f"/settings channel announcements <#{ANNOUNCE}|a>")
                await w.command(ADMIN, f"/settings channel entries <#{ENTRIES}|e>")
            yield w
