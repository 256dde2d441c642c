"""The real discord.py client, end to end against FakeDiscord over loopback.

Nothing of discord.py is mocked: the client logs in over REST, speaks the zlib-compressed
gateway, and answers interactions through the webhook adapter, all against the fake. Every
wait is bounded (STEP seconds) so nothing can hang CI.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.bot.discord import payloads
from tests.bot.discord.fake_discord import CLIENT_TEST_OPTIONS, FakeDiscord
from tests.bot.discord.payloads import GatewayOp

STEP = 5.0  # seconds allowed for any single awaited step
MESSAGE_POSTS = re.compile(r"/channels/\d+/messages")


def new_client(intents: discord.Intents | None = None) -> discord.Client:
    return discord.Client(intents=intents or discord.Intents.default(), **CLIENT_TEST_OPTIONS)


def expect(client: discord.Client, event: str, check: Any = None) -> asyncio.Future[Any]:
    """Register a wait_for *before* triggering the event, so it cannot be missed."""
    return asyncio.ensure_future(client.wait_for(event, check=check, timeout=STEP))


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    async with fake.run_client(new_client()) as running:
        yield running


def general(client: discord.Client, fake: FakeDiscord) -> discord.TextChannel:
    channel = client.get_channel(fake.seed.general_channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


# ---------------------------------------------------------------- login and gateway


async def test_client_logs_in_and_on_ready_has_the_guild(fake: FakeDiscord) -> None:
    client = new_client()
    ready_guilds: list[list[str]] = []

    @client.event
    async def on_ready() -> None:
        ready_guilds.append([g.name for g in client.guilds])

    async with fake.run_client(client):
        assert ready_guilds == [["Laurels Test"]]
        assert client.user is not None and client.user.id == fake.bot_id
        assert client.application_id == fake.application_id
        guild = client.get_guild(fake.seed.guild_id)
        assert guild is not None and not guild.unavailable
        assert [c.name for c in guild.text_channels] == ["general", "challenges"]
        assert guild.me is not None and guild.me.id == fake.bot_id
        assert {r.name for r in guild.roles} >= {"@everyone", "Moderator", "laurels"}

        # login(): the two REST calls discord.py needs, both authenticated.
        assert [(r.method, r.path) for r in fake.requests[:2]] == [
            ("GET", "/users/@me"), ("GET", "/oauth2/applications/@me")]
        assert fake.requests[0].headers["Authorization"] == f"Bot {fake.token}"
        # discord.py 2.7 asks for zlib-stream transport compression by default.
        conn = fake.connections[0]
        assert conn.compress == "zlib-stream" and conn.binary_frames_sent >= 3
        identify = next(f for f in fake.gateway_log if f.op == GatewayOp.IDENTIFY)
        assert identify.d["intents"] == discord.Intents.default().value
        # The client heartbeats right after HELLO and the fake ACKs.
        await fake.wait_for(lambda: conn.heartbeats >= 1, timeout=STEP)


async def test_members_intent_chunks_guild_members_at_startup(fake: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.members = True
    async with fake.run_client(new_client(intents)) as client:
        guild = client.get_guild(fake.seed.guild_id)
        assert guild is not None and guild.chunked
        assert {m.name for m in guild.members} == {"laurels", "owner", "alice", "bob"}
        assert any(f.op == GatewayOp.REQUEST_GUILD_MEMBERS for f in fake.gateway_log)


async def test_wrong_token_fails_login(fake: FakeDiscord) -> None:
    client = new_client()
    with fake.patch_discord(), pytest.raises(discord.LoginFailure):
        async with asyncio.timeout(STEP):
            await client.login("not-the-token")
    await client.close()
    assert fake.requests[-1].status == 401


async def test_guild_create_for_a_newly_joined_guild(fake: FakeDiscord,
                                                     client: discord.Client) -> None:
    joined = expect(client, "guild_join")
    state = await fake.join_guild("Second Community", channels=("lobby",),
                                  member_ids=[fake.seed.alice_id])
    guild: discord.Guild = await joined
    assert (guild.id, guild.name) == (state.id, "Second Community")
    assert [c.name for c in guild.text_channels] == ["lobby"]
    assert client.get_guild(state.id) is guild


# ---------------------------------------------------------------- application commands


async def test_command_tree_sync_reaches_put_and_is_stored(fake: FakeDiscord,
                                                           client: discord.Client) -> None:
    tree = app_commands.CommandTree(client)

    @tree.command(description="Check the bot is alive")
    async def ping(interaction: discord.Interaction) -> None: ...

    challenge = app_commands.Group(name="challenge", description="Challenges")

    @challenge.command(description="Start a challenge")
    async def create(interaction: discord.Interaction, name: str, days: int = 7) -> None: ...

    tree.add_command(challenge)
    async with asyncio.timeout(STEP):
        synced = await tree.sync()

    put = fake.requests_to("PUT", f"/applications/{fake.application_id}/commands")
    assert len(put) == 1 and put[0].status == 200
    assert sorted(c["name"] for c in put[0].json) == ["challenge", "ping"]
    assert sorted(fake.command_names()) == ["challenge", "ping"]
    assert {c.name: c.id for c in synced} == {c["name"]: int(c["id"]) for c in fake.commands()}
    stored = next(c for c in fake.commands() if c["name"] == "challenge")
    sub = stored["options"][0]
    assert (sub["name"], sub["type"]) == ("create", payloads.OptionType.SUB_COMMAND)
    assert [(o["name"], o["type"], o.get("required", False)) for o in sub["options"]] == [
        ("name", payloads.OptionType.STRING, True), ("days", payloads.OptionType.INTEGER, False)]

    # Guild-scoped sync lands in its own store; re-syncing keeps command ids.
    guild = discord.Object(fake.seed.guild_id)
    tree.copy_global_to(guild=guild)
    async with asyncio.timeout(STEP):
        await tree.sync(guild=guild)
        again = await tree.sync()
    assert sorted(fake.command_names(fake.seed.guild_id)) == ["challenge", "ping"]
    assert {c.id for c in again} == {c.id for c in synced}


async def test_command_sync_validation_answers_invalid_form_body(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as http:
        url = f"{fake.api_base}/applications/{fake.application_id}/commands"
        body = [{"name": "Bad Name", "description": "x", "type": 1},
                {"name": "ok", "description": "", "type": 1}]
        async with http.put(url, json=body) as resp:
            assert resp.status == 400
            answer = await resp.json()
    assert answer["code"] == 50035
    assert set(answer["errors"]) == {"0", "1"}
    assert fake.commands() == []


async def test_command_sync_refuses_nesting_discord_does_not_allow(fake: FakeDiscord) -> None:
    def sub(name: str, *options: dict[str, object]) -> dict[str, object]:
        return {"type": 1, "name": name, "description": "x", "options": list(options)}

    def group(name: str, *options: dict[str, object]) -> dict[str, object]:
        return {"type": 2, "name": name, "description": "x", "options": list(options)}

    text = {"type": 3, "name": "text", "description": "x"}
    good = {"name": "mod", "description": "x", "type": 1,
            "options": [group("challenge", sub("create", text)), sub("help")]}
    bad = [{"name": "deep", "description": "x", "type": 1,  # a group in a group
            "options": [group("a", group("b", sub("c")))]},
           {"name": "inside", "description": "x", "type": 1,  # a group in a subcommand
            "options": [sub("a", group("b", sub("c")))]},
           {"name": "mixed", "description": "x", "type": 1,  # subcommands beside options
            "options": [sub("a"), text]}]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as http:
        url = f"{fake.api_base}/applications/{fake.application_id}/commands"
        async with http.put(url, json=[good, *bad]) as resp:
            assert resp.status == 400
            answer = await resp.json()
        assert set(answer["errors"]) == {"1", "2", "3"}
        assert fake.commands() == []
        async with http.put(url, json=[good]) as resp:
            assert resp.status == 200
    assert fake.command_names() == ["mod"]


async def test_slash_command_reaches_the_app_command_and_its_response_is_recorded(
        fake: FakeDiscord, client: discord.Client) -> None:
    tree = app_commands.CommandTree(client)
    calls: list[tuple[discord.Member, int]] = []

    @tree.command(description="Give points")
    async def points(interaction: discord.Interaction, member: discord.Member,
                     amount: int) -> None:
        calls.append((member, amount))
        await interaction.response.send_message(f"{member.display_name} +{amount}")

    async with asyncio.timeout(STEP):
        await tree.sync()
    # Option types come from the synced command: "member" is a USER option with resolved data.
    rec = await fake.dispatch_slash_command("points", {"member": fake.seed.alice_id, "amount": 5})
    callback = await fake.wait_for_interaction_response(rec)

    assert callback.status == 200 and callback.query == {"with_response": "1"}
    assert callback.json["type"] == payloads.InteractionCallbackType.CHANNEL_MESSAGE_WITH_SOURCE
    assert callback.json["data"]["content"] == "alice +5"
    assert callback.response["resource"]["message"]["id"] == str(rec.original_message_id)
    [(member, amount)] = calls
    assert isinstance(member, discord.Member) and member.id == fake.seed.alice_id
    assert amount == 5
    original = rec.original
    assert original is not None and original["content"] == "alice +5"
    assert original["type"] == payloads.MessageType.CHAT_INPUT_COMMAND
    assert fake.messages_in(fake.seed.general_channel_id)[-1] is original


async def test_subcommand_defer_followup_and_edit_original(fake: FakeDiscord,
                                                           client: discord.Client) -> None:
    tree = app_commands.CommandTree(client)
    challenge = app_commands.Group(name="challenge", description="Challenges")

    @challenge.command(description="Start a challenge")
    async def create(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(f"only you see {name}", ephemeral=True)
        await interaction.edit_original_response(content=f"challenge {name} created")

    tree.add_command(challenge)
    async with asyncio.timeout(STEP):
        await tree.sync()
    rec = await fake.dispatch_slash_command("challenge create", {"name": "push-ups"})
    base = f"/webhooks/{fake.application_id}/{rec.token}"
    await fake.wait_for_request(method="PATCH", path=f"{base}/messages/@original", since=0)

    callback = await fake.wait_for_interaction_response(rec)
    assert callback.json == {"type": payloads.InteractionCallbackType
                             .DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE}
    followup = fake.requests_to("POST", base)
    assert len(followup) == 1 and followup[0].query["wait"] == "1"
    [followup_id] = rec.followup_ids
    assert rec.messages[followup_id]["flags"] & payloads.MessageFlags.EPHEMERAL
    original = rec.original
    assert original is not None and original["content"] == "challenge push-ups created"
    assert not original["flags"] & payloads.MessageFlags.LOADING
    # The ephemeral followup is not in the channel; the original is.
    channel_ids = [m["id"] for m in fake.messages_in(fake.seed.general_channel_id)]
    assert original["id"] in channel_ids and str(followup_id) not in channel_ids


async def test_autocomplete_answers_choices(fake: FakeDiscord, client: discord.Client) -> None:
    tree = app_commands.CommandTree(client)

    @tree.command(description="Join a challenge")
    async def join(interaction: discord.Interaction, challenge: str) -> None: ...

    @join.autocomplete("challenge")
    async def suggest(interaction: discord.Interaction,
                      current: str) -> list[app_commands.Choice[str]]:
        names = ["push-ups", "pull-ups", "reading"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

    async with asyncio.timeout(STEP):
        await tree.sync()
    rec = await fake.dispatch_autocomplete("join", {"challenge": "pu"}, focused="challenge")
    callback = await fake.wait_for_interaction_response(rec)
    assert callback.json["type"] == payloads.InteractionCallbackType \
        .APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    assert [c["value"] for c in rec.autocomplete_choices or []] == ["push-ups", "pull-ups"]


async def test_button_click_reaches_the_view_and_updates_the_message(
        fake: FakeDiscord, client: discord.Client) -> None:
    clicked: list[int] = []

    class Vote(discord.ui.View):
        @discord.ui.button(label="Vote", custom_id="vote:1")
        async def vote(self, interaction: discord.Interaction,
                       button: discord.ui.Button[Vote]) -> None:
            clicked.append(interaction.user.id)
            await interaction.response.edit_message(content="1 vote")

    async with asyncio.timeout(STEP):
        sent = await general(client, fake).send("Vote now", view=Vote(timeout=STEP))
    stored = fake.get_message(sent.id)
    assert stored is not None and stored["components"][0]["components"][0]["custom_id"] == "vote:1"

    rec = await fake.dispatch_component("vote:1", message_id=sent.id, user_id=fake.seed.bob_id)
    callback = await fake.wait_for_interaction_response(rec)
    assert callback.json["type"] == payloads.InteractionCallbackType.UPDATE_MESSAGE
    assert clicked == [fake.seed.bob_id]
    assert stored["content"] == "1 vote" and stored["edited_timestamp"] is not None


async def test_late_interaction_response_gets_unknown_interaction(
        fake: FakeDiscord, client: discord.Client) -> None:
    fake.interaction_ack_deadline = 0.05  # Discord's is 3 s
    tree = app_commands.CommandTree(client)
    errors: list[BaseException] = []

    @tree.command(description="Too slow")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.1)
        await interaction.response.send_message("late")

    @tree.error
    async def on_error(interaction: discord.Interaction,
                       error: app_commands.AppCommandError) -> None:
        errors.append(error.__cause__ or error)

    rec = await fake.dispatch_slash_command("slow")
    callback = await fake.wait_for_interaction_response(rec)
    assert callback.status == 404 and callback.response["code"] == 10062
    await fake.wait_for(lambda: bool(errors), timeout=STEP)
    assert isinstance(errors[0], discord.NotFound) and errors[0].code == 10062


# ---------------------------------------------------------------- reactions


async def test_raw_reaction_events_fire_for_uncached_messages(
        fake: FakeDiscord, client: discord.Client) -> None:
    cached_events: list[str] = []

    @client.event
    async def on_reaction_add(*_: object) -> None:
        cached_events.append("add")

    # A message from before the bot started: the client never saw it.
    old = fake.add_message(fake.seed.general_channel_id, "old entry", author_id=fake.seed.bob_id)
    mid = int(old["id"])

    added = expect(client, "raw_reaction_add", lambda p: p.message_id == mid)
    await fake.dispatch_reaction_add(message_id=mid, user_id=fake.seed.alice_id, emoji="🏆")
    event: discord.RawReactionActionEvent = await added
    assert (event.user_id, event.channel_id, event.guild_id) == (
        fake.seed.alice_id, fake.seed.general_channel_id, fake.seed.guild_id)
    assert event.emoji.name == "🏆" and event.emoji.id is None
    assert isinstance(event.member, discord.Member) and event.member.name == "alice"
    assert event.message_author_id == fake.seed.bob_id
    assert fake.reaction_users(mid, "🏆") == [fake.seed.alice_id]

    removed = expect(client, "raw_reaction_remove", lambda p: p.message_id == mid)
    await fake.dispatch_reaction_remove(message_id=mid, user_id=fake.seed.alice_id,
                                        emoji=payloads.emoji("laurel", 4242))
    gone: discord.RawReactionActionEvent = await removed
    assert (gone.emoji.name, gone.emoji.id, gone.member) == ("laurel", 4242, None)
    assert cached_events == []  # the message is not in the client's cache


async def test_bot_reactions_go_through_rest_and_are_echoed(
        fake: FakeDiscord, client: discord.Client) -> None:
    async with asyncio.timeout(STEP):
        sent = await general(client, fake).send("React to me")
    echoed = expect(client, "raw_reaction_add", lambda p: p.message_id == sent.id)
    async with asyncio.timeout(STEP):
        await sent.add_reaction("👍")
        await sent.add_reaction("<:laurel:4242>")
    assert (await echoed).user_id == fake.bot_id
    put = fake.requests_to("PUT")
    # discord.py strips only the angle brackets of "<:laurel:4242>".
    assert [r.path.split("/")[-2] for r in put] == ["👍", ":laurel:4242"]
    assert fake.reaction_users(sent.id, "👍") == [fake.bot_id]
    async with asyncio.timeout(STEP):
        await sent.remove_reaction("👍", discord.Object(fake.bot_id))
    assert fake.reaction_users(sent.id, "👍") == []
    assert [r["emoji"]["name"] for r in fake.get_message(sent.id)["reactions"]] == ["laurel"]


async def test_reaction_events_need_the_reactions_intent(fake: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.reactions = False
    async with fake.run_client(new_client(intents)):
        await fake.dispatch_reaction_add(message_id=123, user_id=fake.seed.alice_id)
        assert not any(f.t == "MESSAGE_REACTION_ADD" for f in fake.gateway_log)


# ---------------------------------------------------------------- messages


async def test_channel_send_lands_in_the_store(fake: FakeDiscord, client: discord.Client) -> None:
    echoed = expect(client, "message", lambda m: m.content == "hello laurels")
    async with asyncio.timeout(STEP):
        sent = await general(client, fake).send("hello laurels")
    [stored] = fake.messages_in(fake.seed.general_channel_id)
    assert int(stored["id"]) == sent.id and stored["content"] == "hello laurels"
    assert stored["author"]["id"] == str(fake.bot_id)
    [post] = fake.requests_to("POST", MESSAGE_POSTS)
    assert post.json["enforce_nonce"] is True and stored["nonce"] == post.json["nonce"]
    # Discord echoes the bot's own message over the gateway.
    assert (await echoed).author == client.user

    async with asyncio.timeout(STEP):
        edited = await sent.edit(content="hello again")
        await sent.reply("a reply")
    assert edited.content == "hello again" and stored["content"] == "hello again"
    reply = fake.messages_in(fake.seed.general_channel_id)[-1]
    assert reply["type"] == payloads.MessageType.REPLY
    assert reply["message_reference"]["message_id"] == str(sent.id)
    async with asyncio.timeout(STEP):
        await sent.delete()
    assert fake.get_message(sent.id) is None


async def test_file_upload_is_recorded_as_an_attachment(fake: FakeDiscord,
                                                        client: discord.Client) -> None:
    async with asyncio.timeout(STEP):
        sent = await general(client, fake).send(
            "leaderboard", file=discord.File(io.BytesIO(b"\x89PNG fake"), "board.png"))
    [post] = fake.requests_to("POST", MESSAGE_POSTS)
    assert post.json["content"] == "leaderboard"  # from the multipart payload_json part
    assert [(f.filename, f.data) for f in post.files] == [("board.png", b"\x89PNG fake")]
    assert [(a.filename, a.size) for a in sent.attachments] == [("board.png", 9)]


async def test_user_messages_need_the_message_content_intent(
        fake: FakeDiscord, client: discord.Client) -> None:
    plain = expect(client, "message")
    await fake.dispatch_message_create("my secret entry", author_id=fake.seed.alice_id)
    assert (await plain).content == ""  # default intents: no MESSAGE_CONTENT
    mention = expect(client, "message")
    await fake.dispatch_message_create("hey bot", mentions=[fake.bot_id])
    message: discord.Message = await mention
    assert message.content == "hey bot" and isinstance(message.author, discord.Member)


async def test_rate_limited_post_is_retried_and_stored_exactly_once(
        fake: FakeDiscord, client: discord.Client) -> None:
    fake.rate_limit_message_posts(2, retry_after=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(STEP):
        sent = await general(client, fake).send("scores are in")
    elapsed = loop.time() - started

    posts = fake.requests_to("POST", MESSAGE_POSTS)
    assert [p.status for p in posts] == [429, 429, 200]
    assert posts[0].response == {"message": "You are being rate limited.", "retry_after": 0.05,
                                 "global": False}
    assert len({p.json["nonce"] for p in posts}) == 1  # the same payload was retried
    assert elapsed >= 0.1  # it waited retry_after twice instead of giving up
    assert [int(m["id"]) for m in fake.messages_in(fake.seed.general_channel_id)] == [sent.id]


async def test_lost_response_is_retried_and_deduplicated_by_nonce(
        fake: FakeDiscord, client: discord.Client) -> None:
    # The message is stored but the 502 loses the answer; discord.py retries after 1 s
    # with the same nonce, and enforce_nonce returns the stored message instead of a copy.
    fake.fail_next(1, status=502, after_handler=True)
    async with asyncio.timeout(STEP):
        sent = await general(client, fake).send("only once")
    posts = fake.requests_to("POST", MESSAGE_POSTS)
    assert [p.status for p in posts] == [502, 200]
    assert posts[0].json["nonce"] == posts[1].json["nonce"]
    assert fake.deduplicated_sends == 1
    assert [int(m["id"]) for m in fake.messages_in(fake.seed.general_channel_id)] == [sent.id]


async def test_a_nonce_is_enforced_for_a_few_minutes_and_never_read_back(
        fake: FakeDiscord, client: discord.Client) -> None:
    channel = general(client, fake)
    async with asyncio.timeout(STEP):
        first = await channel.send("once", nonce="laurels-1")
        again = await channel.send("once", nonce="laurels-1")  # within the window
        assert again.id == first.id and fake.deduplicated_sends == 1
        fake.nonce_window = 0  # minutes later: Discord has forgotten the nonce
        later = await channel.send("once", nonce="laurels-1")
        assert later.id != first.id
        # Discord does not store the nonce with the message: reads come back without it.
        fetched = await channel.fetch_message(first.id)
        history = [m async for m in channel.history(limit=10)]
    assert fetched.nonce is None and all(m.nonce is None for m in history)
    assert {m.id for m in history} == {first.id, later.id}


async def test_direct_messages(fake: FakeDiscord, client: discord.Client) -> None:
    async with asyncio.timeout(STEP):
        alice = await client.fetch_user(fake.seed.alice_id)
        await alice.send("you earned a laurel")
    dm = fake.dm_channel_for(fake.seed.alice_id)
    assert [m["content"] for m in fake.messages_in(int(dm["id"]))] == ["you earned a laurel"]
    assert fake.requests_to("POST", "/users/@me/channels")[0].json == {
        "recipient_id": fake.seed.alice_id}

    fake.set_dms_closed(fake.seed.bob_id)
    async with asyncio.timeout(STEP):
        bob = await client.fetch_user(fake.seed.bob_id)
        with pytest.raises(discord.Forbidden) as info:
            await bob.send("hi")
    assert info.value.code == 50007


async def test_rest_lookups_and_unknown_routes(fake: FakeDiscord,
                                               client: discord.Client) -> None:
    async with asyncio.timeout(STEP):
        channel = await client.fetch_channel(fake.seed.challenges_channel_id)
        guild = await client.fetch_guild(fake.seed.guild_id)
        member = await guild.fetch_member(fake.seed.alice_id)
        with pytest.raises(discord.NotFound) as missing:
            await general(client, fake).fetch_message(1)
    assert isinstance(channel, discord.TextChannel) and channel.name == "challenges"
    assert guild.name == "Laurels Test" and member.name == "alice"
    assert missing.value.code == 10008

    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession(headers=headers) as http, \
            http.get(f"{fake.api_base}/no/such/route") as resp:
        assert resp.status == 404
        assert await resp.json() == {"message": "404: Not Found", "code": 0}
    assert (fake.requests[-1].path, fake.requests[-1].status) == ("/no/such/route", 404)


# ---------------------------------------------------------------- resilience


async def test_dropped_connection_resumes_and_replays_missed_events_exactly_once(
        fake: FakeDiscord, client: discord.Client) -> None:
    seen: list[int] = []

    @client.event
    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        seen.append(payload.message_id)

    before = expect(client, "raw_reaction_add", lambda p: p.message_id == 1)
    await fake.dispatch_reaction_add(message_id=1)
    await before
    first_conn = fake.active_connection

    async with fake.hold_reconnects():
        await fake.drop_connection()
        await fake.dispatch_reaction_add(message_id=2)  # queued: nobody is connected
        assert not any(f.t == "MESSAGE_REACTION_ADD" and f.d["message_id"] == "2"
                       for f in fake.gateway_log)
    session = await fake.wait_for_resumed(timeout=STEP)

    after = expect(client, "raw_reaction_add", lambda p: p.message_id == 3)
    await fake.dispatch_reaction_add(message_id=3)
    await after  # events arrive in order, so any duplicate of 1 or 2 came before this
    assert seen == [1, 2, 3]
    assert fake.identify_count == 1 and session.resumes == 1
    resumed_on = fake.active_connection
    assert resumed_on is not None and resumed_on is not first_conn
    assert resumed_on.is_resume_url  # it used READY's resume_gateway_url
    resume = next(f for f in fake.gateway_log if f.op == GatewayOp.RESUME)
    assert resume.d["session_id"] == session.session_id


async def test_reconnect_opcode_makes_the_client_resume(fake: FakeDiscord,
                                                        client: discord.Client) -> None:
    await fake.send_reconnect()
    await fake.wait_for_resumed(timeout=STEP)
    got = expect(client, "raw_reaction_add")
    await fake.dispatch_reaction_add(message_id=7)
    assert (await got).message_id == 7
    assert fake.identify_count == 1


async def test_invalid_session_resumable_and_not(fake: FakeDiscord,
                                                 client: discord.Client) -> None:
    await fake.send_invalid_session(resumable=True)
    await fake.wait_for_resumed(timeout=STEP)
    assert fake.identify_count == 1

    ready_again = expect(client, "ready")
    await fake.send_invalid_session(resumable=False)
    await fake.wait_until_ready(count=2, timeout=STEP)  # a fresh IDENTIFY -> READY
    await ready_again
    assert fake.identify_count == 2 and fake.sessions[0].invalidated
    got = expect(client, "raw_reaction_add")
    await fake.dispatch_reaction_add(message_id=9)
    assert (await got).message_id == 9


async def test_gateway_protocol_without_a_library(fake: FakeDiscord) -> None:
    """Plain JSON frames (no compress param), IDENTIFY -> READY, and a bad RESUME."""
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{fake.gateway_url}?v=10&encoding=json") as ws:
            hello = await ws.receive_json(timeout=STEP)
            assert hello["op"] == GatewayOp.HELLO
            assert hello["d"]["heartbeat_interval"] == 500
            await ws.send_json({"op": GatewayOp.HEARTBEAT, "d": None})
            assert (await ws.receive_json(timeout=STEP))["op"] == GatewayOp.HEARTBEAT_ACK
            await ws.send_json({"op": GatewayOp.IDENTIFY,
                                "d": {"token": fake.token, "intents": 513, "properties": {}}})
            ready = await ws.receive_json(timeout=STEP)
            assert (ready["t"], ready["s"]) == ("READY", 1)
            assert ready["d"]["guilds"] == [{"id": str(fake.seed.guild_id), "unavailable": True}]
            assert ready["d"]["resume_gateway_url"] == fake.resume_gateway_url
            guild_create = await ws.receive_json(timeout=STEP)
            assert (guild_create["t"], guild_create["d"]["unavailable"]) == ("GUILD_CREATE", False)

        async with http.ws_connect(f"{fake.resume_gateway_url}?v=10&encoding=json"
                                   "&compress=zlib-stream") as ws:
            inflate = zlib.decompressobj()
            frame = await ws.receive_bytes(timeout=STEP)
            assert frame.endswith(b"\x00\x00\xff\xff")
            assert json.loads(inflate.decompress(frame))["op"] == GatewayOp.HELLO
            await ws.send_json({"op": GatewayOp.RESUME,
                                "d": {"token": fake.token, "session_id": "nope", "seq": 1}})
            invalid = json.loads(inflate.decompress(await ws.receive_bytes(timeout=STEP)))
            assert (invalid["op"], invalid["d"]) == (GatewayOp.INVALID_SESSION, False)
