"""The real slack-bolt AsyncApp and slack_sdk clients, end to end against FakeSlack.

Socket Mode uses slack-bolt's aiohttp handler (the `websockets` package is not installed,
and aiohttp is already a dependency). Every wait is bounded so nothing can hang CI.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

from tests.bot.slack import payloads
from tests.bot.slack.fake_slack import FakeSlack, clear_proxy_env
from tests.bot.slack.signing import compute_signature, serve_bolt_app

ACK_DEADLINE = 3.0  # Slack's limit for acknowledging a Socket Mode envelope / HTTP request


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeSlack]:
    clear_proxy_env(monkeypatch)
    async with FakeSlack() as server:
        yield server


@asynccontextmanager
async def socket_mode(app: AsyncApp, fake: FakeSlack, *, ping_interval: float = 0.5
                      ) -> AsyncIterator[AsyncSocketModeHandler]:
    """Connect `app` over Socket Mode; a short ping_interval makes lost sockets heal fast."""
    handler = AsyncSocketModeHandler(app, app_token=fake.app_token, ping_interval=ping_interval)
    try:
        async with asyncio.timeout(5):
            await handler.connect_async()
        await fake.wait_for_connection()
        yield handler
    finally:
        async with asyncio.timeout(5):
            await handler.close_async()


def new_app(fake: FakeSlack, **kwargs: Any) -> AsyncApp:
    return AsyncApp(client=fake.web_client(), **kwargs)


# ---------------------------------------------------------------- Socket Mode


async def test_slash_command_acked_and_respond_and_say_reach_the_fake(fake: FakeSlack) -> None:
    app = new_app(fake)
    seen: list[dict[str, Any]] = []

    @app.command("/laurels")
    async def laurels(ack: Any, body: dict[str, Any], respond: Any, say: Any) -> None:
        seen.append(body)
        await ack("on it")
        await respond(text="only you can see this")
        await say("hello channel")

    async with socket_mode(app, fake):
        assert fake.calls_to("apps.connections.open")[0].token == fake.app_token
        command = fake.make_slash_command("/laurels", "leaderboard week")
        envelope_id = await fake.push_slash_command(command)

        ack = await fake.wait_for_ack(envelope_id)
        assert ack.latency < ACK_DEADLINE
        assert ack.payload == {"text": "on it"}

        post = await fake.wait_for_response_url_post()
        assert post.url == command["response_url"]
        assert post.body["text"] == "only you can see this"

        call = await fake.wait_for_call("chat.postMessage")
        assert call.ok and call.args["channel"] == command["channel_id"]
        assert call.token == fake.bot_token
        # Bolt's per-request client adds the request's team_id to every Web API call.
        assert call.args["team_id"] == fake.team_id
        assert [m["text"] for m in fake.messages_in(command["channel_id"])] == ["hello channel"]

    assert seen[0]["text"] == "leaderboard week"
    assert seen[0]["user_id"] == command["user_id"]
    # AsyncApp verifies its token lazily: one auth.test before the first request is handled.
    assert len(fake.calls_to("auth.test")) == 1


async def test_reaction_added_event_reaches_handler(fake: FakeSlack) -> None:
    app = new_app(fake)
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    @app.event("reaction_added")
    async def on_reaction(event: dict[str, Any]) -> None:
        await received.put(event)

    async with socket_mode(app, fake):
        entry = fake.add_message("C0ENTRIES1", "my entry", user="U0MEMBER02")
        event = payloads.reaction_added("U0MEMBER01", ":thumbsup:", channel="C0ENTRIES1",
                                        ts=entry["ts"], item_user="U0MEMBER02")
        envelope_id = await fake.push_event(event)
        ack = await fake.wait_for_ack(envelope_id)  # events are acked by Bolt itself
        assert ack.payload is None
        async with asyncio.timeout(5):
            got = await received.get()

    assert got["reaction"] == "thumbsup"
    assert got["item"] == {"type": "message", "channel": "C0ENTRIES1", "ts": entry["ts"]}


async def test_events_by_the_bot_itself_are_ignored_by_bolt(fake: FakeSlack) -> None:
    app = new_app(fake)
    received: asyncio.Queue[str] = asyncio.Queue()

    @app.event("reaction_added")
    async def on_reaction(event: dict[str, Any]) -> None:
        await received.put(event["user"])

    async with socket_mode(app, fake):
        own = payloads.reaction_added(fake.bot_user_id, "star", channel="C1", ts="1.000001")
        other = payloads.reaction_added("U0MEMBER01", "star", channel="C1", ts="1.000001")
        # Bolt drops its own events in middleware, before it acks, so once this ack is
        # in, the handler can no longer be called for `own`.
        await fake.wait_for_ack(await fake.push_event(own))
        await fake.wait_for_ack(await fake.push_event(other))
        async with asyncio.timeout(5):
            assert await received.get() == "U0MEMBER01"
    assert received.empty()


async def test_refresh_requested_disconnect_reconnects_and_later_envelopes_arrive(
        fake: FakeSlack) -> None:
    app = new_app(fake)
    reactions: asyncio.Queue[str] = asyncio.Queue()

    @app.event("reaction_added")
    async def on_reaction(event: dict[str, Any]) -> None:
        await reactions.put(event["reaction"])

    async with socket_mode(app, fake):
        first = fake.active_connection
        assert first is not None
        await fake.request_disconnect("refresh_requested")
        second = await fake.wait_for_connection(count=2)
        assert second.id != first.id
        # The client fetched a fresh URL rather than re-dialling the old one.
        assert len(fake.calls_to("apps.connections.open")) == 2
        assert second.ticket != first.ticket

        event = payloads.reaction_added("U0MEMBER01", "tada", channel="C1", ts="1.000002")
        envelope_id = await fake.push_event(event)
        assert (await fake.wait_for_ack(envelope_id)).connection_id == second.id
        async with asyncio.timeout(5):
            assert await reactions.get() == "tada"


async def test_dropped_socket_is_replaced_through_apps_connections_open(fake: FakeSlack) -> None:
    app = new_app(fake)
    reactions: asyncio.Queue[str] = asyncio.Queue()

    @app.event("reaction_added")
    async def on_reaction(event: dict[str, Any]) -> None:
        await reactions.put(event["reaction"])

    async with socket_mode(app, fake, ping_interval=0.3):
        await fake.drop_connection()
        # slack_sdk notices the dead session on its next ping_interval tick.
        second = await fake.wait_for_connection(count=2, timeout=5)
        assert len(fake.calls_to("apps.connections.open")) == 2
        event = payloads.reaction_added("U0MEMBER01", "fire", channel="C1", ts="1.000003")
        envelope_id = await fake.push_event(event)
        assert (await fake.wait_for_ack(envelope_id)).connection_id == second.id
        async with asyncio.timeout(5):
            assert await reactions.get() == "fire"


async def test_interactions_and_app_home_over_socket_mode(fake: FakeSlack) -> None:
    app = new_app(fake)
    fake.add_user("U0MEMBER01", name="alice")
    clicks: list[str] = []

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: Any) -> None:
        await client.views_publish(user_id=event["user"], view={
            "type": "home", "blocks": [{"type": "section",
                                        "text": {"type": "mrkdwn", "text": "*Your points*"}}]})

    @app.action("vote")
    async def vote(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        clicks.append(body["actions"][0]["value"])

    @app.view("submit_entry")
    async def submit(ack: Any, view: dict[str, Any]) -> None:
        title = view["state"]["values"]["title"]["title_input"]["value"]
        if not title.strip():
            await ack(response_action="errors", errors={"title": "A title is required"})
        else:
            await ack()

    async with socket_mode(app, fake):
        await fake.push_event(payloads.app_home_opened("U0MEMBER01"))
        await fake.wait_for_call("views.publish")
        assert fake.home_views["U0MEMBER01"]["blocks"][0]["text"]["text"] == "*Your points*"

        click = payloads.block_actions([payloads.button_action("vote", "entry-5")],
                                       response_url=fake.new_response_url())
        await fake.wait_for_ack(await fake.push_interactive(click))

        empty = payloads.view_submission("submit_entry", {
            "title": {"title_input": {"type": "plain_text_input", "value": " "}}})
        ack = await fake.wait_for_ack(await fake.push_interactive(empty))
        assert ack.payload == {"response_action": "errors",
                               "errors": {"title": "A title is required"}}
    assert clicks == ["entry-5"]


# ---------------------------------------------------------------- HTTP mode


async def test_http_mode_checks_signatures_and_timestamps(fake: FakeSlack) -> None:
    app = new_app(fake, signing_secret=fake.signing_secret)
    handled: list[str] = []

    @app.command("/laurels")
    async def laurels(ack: Any, command: dict[str, Any]) -> None:
        handled.append(command["text"])
        await ack("done")

    async with serve_bolt_app(app) as url, fake.http_sender(url) as slack:
        good = await slack.post_slash_command(fake.make_slash_command("/laurels", "good"))
        assert (good.status, good.text) == (200, "done")

        bad = await slack.post_slash_command(fake.make_slash_command("/laurels", "forged"),
                                             secret="not-the-secret")
        assert bad.status == 401

        stale = await slack.post_slash_command(fake.make_slash_command("/laurels", "replayed"),
                                               stale=True)
        assert stale.status == 401

        old = int(time.time()) - 5 * 60 - 1  # one second past the five-minute window
        older = await slack.post_slash_command(fake.make_slash_command("/laurels", "old"),
                                               timestamp=old)
        assert older.status == 401

        garbage = await slack.post_slash_command(fake.make_slash_command("/laurels", "junk"),
                                                 signature="v0=deadbeef")
        assert garbage.status == 401

    assert handled == ["good"]


async def test_http_mode_events_interactions_and_retry_headers(fake: FakeSlack) -> None:
    app = new_app(fake, signing_secret=fake.signing_secret)
    retries: asyncio.Queue[tuple[str | None, str | None]] = asyncio.Queue()
    clicked: asyncio.Queue[str] = asyncio.Queue()

    @app.event("reaction_removed")
    async def on_removed(request: Any) -> None:
        await retries.put((request.headers.get("x-slack-retry-num", [None])[0],
                           request.headers.get("x-slack-retry-reason", [None])[0]))

    @app.action("vote")
    async def vote(ack: Any, action: dict[str, Any]) -> None:
        await ack()
        await clicked.put(action["value"])

    async with serve_bolt_app(app) as url, fake.http_sender(url) as slack:
        challenge = await slack.post_event(payloads.url_verification("abc"))
        assert challenge.status == 200 and challenge.json == {"challenge": "abc"}

        body = payloads.event_callback(
            payloads.reaction_removed("U0MEMBER01", "thumbsup", channel="C1", ts="1.000004"))
        first = await slack.post_event(body)
        again = await slack.post_event(body, retry_num=1, retry_reason="http_timeout")
        assert first.status == again.status == 200

        click = await slack.post_interaction(
            payloads.block_actions([payloads.button_action("vote", "entry-9")]))
        assert click.status == 200

        async with asyncio.timeout(5):
            # Bolt runs event listeners after answering, so the order can vary.
            seen = {await retries.get(), await retries.get()}
            assert seen == {(None, None), ("1", "http_timeout")}
            assert await clicked.get() == "entry-9"


async def test_quirk_http_form_containing_the_word_payload_is_dropped_by_bolt(
        fake: FakeSlack) -> None:
    """slack-bolt 1.30 parses any form body containing "payload" as an interaction
    (`slack_bolt.request.internals.parse_body`), so in HTTP mode a slash command whose
    text (or channel/user name) contains that word reaches no listener. Socket Mode is
    unaffected. If this starts failing, Bolt fixed it: delete this test."""
    app = new_app(fake, signing_secret=fake.signing_secret)
    handled: list[str] = []

    @app.command("/challenge")
    async def challenge(ack: Any, command: dict[str, Any]) -> None:
        handled.append(command["text"])
        await ack()

    async with serve_bolt_app(app) as url, fake.http_sender(url) as slack:
        lost = await slack.post_slash_command(
            fake.make_slash_command("/challenge", "submit dreamscapes payload.png"))
        assert lost.status == 404
        ok = await slack.post_slash_command(fake.make_slash_command("/challenge", "list"))
        assert ok.status == 200
    assert handled == ["list"]


async def test_deliver_event_http_retries_until_acknowledged(fake: FakeSlack) -> None:
    from aiohttp import web

    attempts: list[dict[str, str]] = []

    async def flaky(request: web.Request) -> web.Response:
        attempts.append({k.lower(): v for k, v in request.headers.items()
                         if k.lower().startswith("x-slack-retry")})
        return web.Response(status=500 if len(attempts) == 1 else 200)

    web_app = web.Application()
    web_app.router.add_post("/events", flaky)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/events"
        body = payloads.event_callback(payloads.app_home_opened("U0MEMBER01"))
        results = await fake.deliver_event_http(url, body)
    finally:
        await runner.cleanup()
    assert [r.status for r in results if r is not None] == [500, 200]
    assert attempts == [{}, {"x-slack-retry-num": "1", "x-slack-retry-reason": "http_error"}]


def test_signature_matches_slacks_documented_example() -> None:
    # The worked example from Slack's "Verifying requests from Slack" guide.
    body = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
            "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
            "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
            "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
            "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    assert compute_signature("8f742231b10e8888abcd99yyyzzz85a5", 1531420618, body) == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")


# ---------------------------------------------------------------- Web API


async def test_rate_limited_post_message_is_retried_and_stored_once(fake: FakeSlack) -> None:
    client = fake.web_client(retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    fake.rate_limit("chat.postMessage", times=1, retry_after=0)

    started = asyncio.get_running_loop().time()
    async with asyncio.timeout(5):
        response = await client.chat_postMessage(channel="C0GENERAL1", text="weekly results")
    assert response["ok"]

    statuses = [c.status for c in fake.calls_to("chat.postMessage")]
    assert statuses == [429, 200]
    assert [m["text"] for m in fake.messages_in("C0GENERAL1")] == ["weekly results"]
    retried = fake.calls_to("chat.postMessage")[1]
    assert retried.at >= started


async def test_rate_limit_without_retry_handler_surfaces_the_error(fake: FakeSlack) -> None:
    fake.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as info:
        await fake.web_client().chat_postMessage(channel="C1", text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"
    assert fake.messages_in("C1") == []


async def test_web_api_methods_tokens_and_recording(fake: FakeSlack) -> None:
    client = fake.web_client()
    fake.add_user("U0ADMIN001", name="mod", is_admin=True)
    fake.add_user("U0OWNER001", name="boss", is_owner=True)
    fake.add_usergroup("S0MODS0001", ["U0ADMIN001", "U0OWNER001"])

    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == (
        fake.bot_user_id, fake.bot_id, fake.team_id)

    admin = (await client.users_info(user="U0ADMIN001"))["user"]
    owner = (await client.users_info(user="U0OWNER001"))["user"]
    bot = (await client.users_info(user=fake.bot_user_id))["user"]
    assert (admin["is_admin"], admin["is_owner"], admin["is_bot"]) == (True, False, False)
    assert (owner["is_admin"], owner["is_owner"]) == (True, True)
    assert bot["is_bot"] is True
    with pytest.raises(SlackApiError, match="user_not_found"):
        await client.users_info(user="U0NOBODY01")
    assert (await client.usergroups_users_list(usergroup="S0MODS0001"))["users"] == [
        "U0ADMIN001", "U0OWNER001"]

    # JSON body (chat.update) and query-string params (reactions.add) are both understood.
    posted = await client.chat_postMessage(channel="C1", text="v1", blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": "v1"}}])
    await client.chat_update(channel="C1", ts=posted["ts"], text="v2")
    assert fake.find_message("C1", posted["ts"])["text"] == "v2"  # type: ignore[index]
    await client.reactions_add(channel="C1", timestamp=posted["ts"], name="trophy")
    with pytest.raises(SlackApiError, match="already_reacted"):
        await client.reactions_add(channel="C1", timestamp=posted["ts"], name="trophy")
    await client.reactions_remove(channel="C1", timestamp=posted["ts"], name="trophy")
    link = await client.chat_getPermalink(channel="C1", message_ts=posted["ts"])
    assert link["permalink"].endswith("/archives/C1/p" + posted["ts"].replace(".", ""))
    eph = await client.chat_postEphemeral(channel="C1", user="U0ADMIN001", text="psst")
    assert fake.ephemeral_messages[0]["ts"] == eph["message_ts"]

    dm = await client.conversations_open(users=["U0ADMIN001"])
    dm_again = await client.conversations_open(users="U0ADMIN001")
    assert dm["channel"]["id"] == dm_again["channel"]["id"] and dm_again["already_open"]
    await client.chat_postMessage(channel="U0ADMIN001", text="hi")  # user id -> the DM
    assert fake.messages_in(dm["channel"]["id"])[0]["text"] == "hi"

    modal = {"type": "modal", "callback_id": "m", "title": {"type": "plain_text", "text": "M"},
             "blocks": []}
    opened = await client.views_open(trigger_id="123.456.abc", view=modal)
    updated = await client.views_update(view_id=opened["view"]["id"],
                                        hash=opened["view"]["hash"], view=modal)
    with pytest.raises(SlackApiError, match="hash_conflict"):
        await client.views_update(view_id=opened["view"]["id"], hash="stale", view=modal)
    assert updated["view"]["id"] == opened["view"]["id"]

    # Form-encoded bodies (api_call with data=) decode JSON-typed fields such as blocks.
    await client.api_call("chat.postMessage", data={
        "channel": "C2", "blocks": '[{"type": "divider"}]'})
    assert fake.calls_to("chat.postMessage")[-1].args["blocks"] == [{"type": "divider"}]

    with pytest.raises(SlackApiError, match="unknown_method"):
        await client.api_call("chat.frobnicate", json={})

    with pytest.raises(SlackApiError, match="invalid_auth"):
        await fake.web_client(token="xoxb-wrong").auth_test()
    with pytest.raises(SlackApiError, match="not_allowed_token_type"):
        await fake.web_client(token=fake.app_token).chat_postMessage(channel="C1", text="x")
    with pytest.raises(SlackApiError, match="not_allowed_token_type"):
        await client.apps_connections_open(app_token=fake.bot_token)

    # Every call is recorded, failed ones included, with the token it carried.
    assert fake.calls[0].method == "auth.test" and fake.calls[0].token == fake.bot_token
    assert [c.response["error"] for c in fake.calls if not c.ok][-3:] == [
        "invalid_auth", "not_allowed_token_type", "not_allowed_token_type"]


async def test_custom_methods_and_queued_failures(fake: FakeSlack) -> None:
    client = fake.web_client()

    async def team_info(args: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"team": {"id": fake.team_id, "name": fake.team_name}}

    fake.set_method("team.info", team_info)
    assert (await client.team_info())["team"]["id"] == fake.team_id

    fake.fail_next("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await client.chat_postMessage(channel="C404", text="x")
    mark = fake.call_count
    await client.chat_postMessage(channel="C404", text="x")  # the failure was used up
    assert (await fake.wait_for_call("chat.postMessage", since=mark)).ok
    assert len(fake.messages_in("C404")) == 1


# ---------------------------------------------------------------- history and metadata


async def test_conversations_history_pages_newest_first_within_the_window(
        fake: FakeSlack) -> None:
    client = fake.web_client()
    stamps = [fake.add_message("C0HIST0001", f"m{i}", user="U0ALICE001",
                               ts=f"1700000000.{i:06d}")["ts"] for i in range(1, 8)]
    fake.add_message("C0OTHER001", "elsewhere", user="U0ALICE001", ts="1700000000.000004")

    # oldest and latest are excluded unless inclusive (Slack's reference).
    page = await client.conversations_history(channel="C0HIST0001", oldest=stamps[1],
                                              latest=stamps[5])
    assert [m["ts"] for m in page["messages"]] == [stamps[4], stamps[3], stamps[2]]
    assert page["has_more"] is False and "response_metadata" not in page.data

    seen: list[str] = []
    cursor = None
    calls = 0
    while True:
        page = await client.conversations_history(channel="C0HIST0001", oldest=stamps[1],
                                                  latest=stamps[5], inclusive=True, limit=2,
                                                  cursor=cursor)
        calls += 1
        seen += [m["ts"] for m in page["messages"]]
        if not page["has_more"]:
            break
        cursor = page["response_metadata"]["next_cursor"]
    assert seen == list(reversed(stamps[1:6])) and calls == 3

    with pytest.raises(SlackApiError) as bad:
        await client.conversations_history(channel="C0HIST0001", cursor="bm9wZQ==")
    assert bad.value.response["error"] == "invalid_cursor"
    with pytest.raises(SlackApiError) as user:
        await client.conversations_history(channel="U0ALICE001")
    assert user.value.response["error"] == "channel_not_found"


async def test_message_metadata_is_kept_and_returned_only_when_asked(fake: FakeSlack) -> None:
    client = fake.web_client()
    metadata = {"event_type": "laurels_post", "event_payload": {"nonce": "laurels-1"}}
    posted = await client.chat_postMessage(channel="C0HIST0001", text="hi", metadata=metadata)
    plain = await client.conversations_history(channel="C0HIST0001")
    assert "metadata" not in plain["messages"][0]
    full = await client.conversations_history(channel="C0HIST0001", include_all_metadata=True)
    assert full["messages"][0]["metadata"] == metadata
    assert full["messages"][0]["ts"] == posted["ts"]

    with pytest.raises(SlackApiError) as bad:
        await client.chat_postMessage(channel="C0HIST0001", text="hi",
                                      metadata={"event_type": "laurels_post"})
    assert bad.value.response["error"] == "invalid_metadata_format"


async def test_a_failure_after_the_handler_keeps_what_it_did(fake: FakeSlack) -> None:
    client = fake.web_client()
    fake.fail_next("chat.postMessage", "internal_error", after_handler=True)
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C0HIST0001", text="lost answer")
    assert [m["text"] for m in fake.messages_in("C0HIST0001")] == ["lost answer"]


def _input(block_id: str, element: dict[str, Any]) -> dict[str, Any]:
    return {"type": "input", "block_id": block_id, "element": element,
            "label": {"type": "plain_text", "text": block_id}}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


async def test_views_are_checked_as_slack_documents_them(fake: FakeSlack) -> None:
    client = fake.web_client()
    kinds = [{"text": _plain("Submission"), "value": "submission"},
             {"text": _plain("Goal"), "value": "goal"}]
    good = {"type": "modal", "callback_id": "m", "title": _plain("Create a challenge"),
            "submit": _plain("Next"), "blocks": [
                _input("kind", {"type": "radio_buttons", "action_id": "v", "options": kinds,
                                "initial_option": kinds[1]}),
                _input("when", {"type": "datetimepicker", "action_id": "v",
                                "initial_date_time": 1767776400}),
                _input("where", {"type": "conversations_select", "action_id": "v",
                                 "initial_conversation": "C0ANNOUNCE",
                                 "filter": {"include": ["public", "private"]}})]}
    opened = await client.views_open(trigger_id="1.2.a", view=good)
    assert opened["view"]["blocks"] == good["blocks"]

    bad_cases = {
        "title": {**good, "title": _plain("A title far longer than slack allows")},
        "submit": {key: value for key, value in good.items() if key != "submit"},
        "blocks/1/element/initial_date_time": {**good, "blocks": [
            _input("when", {"type": "datetimepicker", "action_id": "v",
                            "initial_date_time": 1767776400000})]},
        "blocks/0/element/initial_option": {**good, "blocks": [
            _input("kind", {"type": "radio_buttons", "action_id": "v", "options": kinds,
                            "initial_option": {"text": _plain("Other"), "value": "x"}})]},
        "blocks/0/accessory": {**good, "blocks": [
            {"type": "section", "text": _plain("When?"),
             "accessory": {"type": "datetimepicker", "action_id": "v"}}]},
        "blocks/0/element/filter/include": {**good, "blocks": [
            _input("where", {"type": "conversations_select", "action_id": "v",
                             "filter": {"include": ["everything"]}})]},
        "blocks/0/element": {**good, "blocks": [_input("x", {"type": "button"})]},
    }
    for pointer, view in bad_cases.items():
        with pytest.raises(SlackApiError) as caught:
            await client.views_open(trigger_id="1.2.a", view=view)
        assert caught.value.response["error"] == "invalid_arguments"
        messages = caught.value.response["response_metadata"]["messages"]
        assert any(pointer.split("/")[-1] in m for m in messages), (pointer, messages)


def test_a_submitted_modal_holds_what_was_shown_unless_changed() -> None:
    from tests.bot.slack.fake_views import submitted_state

    option = {"text": _plain("Goal"), "value": "goal"}
    view = {"blocks": [
        _input("kind", {"type": "static_select", "action_id": "v", "options": [option],
                        "initial_option": option}),
        _input("here", {"type": "conversations_select", "action_id": "v",
                        "default_to_current_conversation": True}),
        _input("there", {"type": "conversations_select", "action_id": "v",
                         "initial_conversation": "C0ANNOUNCE"}),
        _input("when", {"type": "datetimepicker", "action_id": "v"}),
        _input("name", {"type": "plain_text_input", "action_id": "v"}),
        {"type": "section", "text": _plain("not an input")}]}
    state = submitted_state(view, {"name": {"type": "plain_text_input", "value": "Comets"}},
                            channel="C0GENERAL1")
    assert state == {
        "kind": {"v": {"type": "static_select", "selected_option": option}},
        "here": {"v": {"type": "conversations_select", "selected_conversation": "C0GENERAL1"}},
        "there": {"v": {"type": "conversations_select", "selected_conversation": "C0ANNOUNCE"}},
        "when": {"v": {"type": "datetimepicker", "selected_date_time": None}},
        "name": {"v": {"type": "plain_text_input", "value": "Comets"}},
    }
