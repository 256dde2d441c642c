"""Buttons, pagers, autocomplete, slow commands and moderator roles on Discord."""

from __future__ import annotations

import pytest

from engine.refs import MemberRef
from tests.bot.discord.harness import DiscordWorld, message_text
from tests.bot.discord.payloads import InteractionCallbackType as Callback
from tests.bot.discord.payloads import MessageFlags

MOD_ONLY = "Only moderators can do that: here, server managers (Manage Server)"


def labels(message: dict[str, object]) -> list[str]:
    rows = message.get("components") or []
    return [c["label"] for row in rows for c in row["components"]]  # type: ignore[index,union-attr]


async def test_leaderboard_pages_turn_for_the_presser(world: DiscordWorld) -> None:
    admin = world.ref("mod", admin=True)
    for i in range(12):
        await world.engine.award_points(admin, MemberRef(world.community, f"{9000 + i}",
                                                         f"member{i}"), 10 + i, "seed")
    said = await world.command("alice", "leaderboard")
    [board] = said.private  # an answer to alice's question: hers alone
    assert "Page 1/2" in message_text(board) and labels(board) == ["Next ▶", "Share"]

    # Next on that private answer turns it in place...
    turned = await world.press("alice", board, "Next ▶")
    assert turned.record.response_type == Callback.UPDATE_MESSAGE
    assert "Page 2/2" in message_text(board) and labels(board) == ["◀ Previous", "Share"]

    # ...and on a shared board it answers the presser alone, leaving the board as it is.
    shared = await world.press("alice", board, "Share")
    [public] = shared.public
    assert "Page 2/2" in message_text(public) and labels(public) == ["◀ Previous"]
    back = await world.press("bob", public, "◀ Previous")
    [answer] = back.messages
    assert answer["flags"] & MessageFlags.EPHEMERAL and "Page 1/2" in message_text(answer)
    assert "Page 2/2" in message_text(public)  # everyone else still sees page 2


async def test_share_posts_a_public_version_naming_who_shared_it(world: DiscordWorld) -> None:
    admin = world.ref("mod", admin=True)
    await world.engine.award_points(admin, world.ref("alice"), 120, "seed")
    await world.engine.award_points(admin, world.ref("bob"), 80, "seed")
    said = await world.command("alice", "leaderboard")
    [private] = said.private
    assert not said.public and "You\n#1 of 2 with 120 pts" in message_text(private)

    shared = await world.press("alice", private, "Share")
    [public] = shared.public
    assert int(public["channel_id"]) == world.fake.seed.general_channel_id
    text = message_text(public)
    alice = world.users["alice"]
    assert f"Shared by\n<@{alice}>, #1 of 2 with 120 pts" in text
    assert "\nYou\n" not in text and "Share" not in labels(public)
    assert "posted in the channel" not in message_text(private)  # the answer stays

    # A challenge's details: the presser's own part is left out of the shared version.
    await world.command("mod", "challenge create", {"kind": "submission", "name": "Dune"})
    [info] = (await world.command("bob", "challenge info", {"challenge": "dune"})).private
    assert "0/3 entries" in message_text(info)
    [public] = (await world.press("bob", info, "Share")).public
    assert "0/3 entries" not in message_text(public) and "Dune" in message_text(public)
    assert f"<@{world.users['bob']}>" in message_text(public)


async def test_join_button_on_a_goal_challenge_announcement(world: DiscordWorld) -> None:
    await world.command("mod", "challenge create", {"kind": "goal", "name": "Marathon",
                                                     "goal": 42, "unit": "km"})
    await world.deliver()
    announcement = next(m for m in world.fake.messages_in(world.fake.seed.general_channel_id)
                        if "Challenge started: Marathon" in message_text(m))
    assert labels(announcement) == ["Join"]
    said = await world.press("bob", announcement, "Join")
    assert said.private and "You joined **Marathon**" in said.text
    info = await world.engine.challenge_info(world.ref("bob"), "marathon")
    assert info.joined


async def test_submit_button_opens_a_form(world: DiscordWorld) -> None:
    await world.command("mod", "challenge create", {"kind": "submission",
                                                     "name": "Dreamscapes"})
    await world.deliver()
    announcement = next(m for m in world.fake.messages_in(world.fake.seed.general_channel_id)
                        if "New challenge: Dreamscapes" in message_text(m))
    pressed = await world.press("alice", announcement, "Submit an entry")
    assert pressed.record.response_type == Callback.MODAL
    form = pressed.record.modal
    assert form is not None and form["title"] == "Submit an entry"
    inputs = [c["components"][0] for c in form["components"]]
    assert [(i["custom_id"], i["required"]) for i in inputs] == [
        ("title", True), ("link", False), ("image", False)]

    said = await world.submit_form("alice", form, {"title": "Night garden", "link": "",
                                                   "image": "https://example.com/g.png"})
    assert said.private and "Entry #1 “Night garden” is in!" in said.text
    entry = await world.engine.entry(world.community, 1)
    assert entry.image_url == "https://example.com/g.png"
    refused = await world.submit_form("bob", form, {"title": "Cloud", "link": "nowhere"})
    assert refused.private and "⚠️" in refused.text and "link" in refused.text


async def test_slow_commands_are_deferred_then_answered(world: DiscordWorld) -> None:
    world.running.adapter.defer_after = 0  # as if the database were slow

    said = await world.command("mod", "challenge create", {"kind": "submission",
                                                            "name": "Dreamscapes"})
    callback = said.record.callback or world.fake.requests_to(
        "POST", f"/interactions/{said.record.id}/{said.record.token}/callback")[0]
    assert callback.json["type"] == Callback.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    assert callback.json["data"]["flags"] & MessageFlags.EPHEMERAL
    [original] = said.messages
    assert not original["flags"] & MessageFlags.LOADING
    assert "Created Dreamscapes" in message_text(original)

    # A public answer after a private "thinking..." is posted for everyone.
    said = await world.command("mod", "points award", {"member": world.users["bob"],
                                                       "amount": 5, "reason": "Helping"})
    public = said.public
    assert len(public) == 1 and "Awarded 5 points" in message_text(public[0])
    assert "posted in the channel" in message_text(said.private[0])


async def test_autocomplete_suggests_challenges_and_badges(world: DiscordWorld) -> None:
    for name in ("Dreamscapes", "Dragons", "Reading"):
        await world.command("mod", "challenge create", {"kind": "submission", "name": name})
    choices = await world.autocomplete("alice", "challenge info", {"challenge": "dr"},
                                       focused="challenge")
    assert sorted(c["value"] for c in choices) == ["dragons", "dreamscapes"]
    assert any(c["name"].startswith("Dreamscapes") for c in choices)
    await world.command("alice", "challenge submit", {"challenge": "dragons",
                                                       "title": "Night garden"})
    await world.command("bob", "challenge submit", {"challenge": "dreamscapes",
                                                     "title": "Cloud harbour"})
    entries = await world.autocomplete("mod", "challenge feature", {"entry": "garden"},
                                       focused="entry")
    assert [(c["name"], c["value"]) for c in entries] == [
        ("#1 Night garden by alice (Dragons)", "#1")]
    everything = await world.autocomplete("mod", "challenge feature", {"entry": ""},
                                          focused="entry")
    assert sorted(c["value"] for c in everything) == ["#1", "#2"]
    badges = await world.autocomplete("mod", "badge award", {"badge": ""}, focused="badge")
    assert badges and all(c["value"] for c in badges)


async def test_challenges_named_in_any_script_are_autocompleted_by_name(
        world: DiscordWorld) -> None:
    said = await world.command("mod", "challenge create", {"kind": "submission",
                                                            "name": "日本語のタイトル"})
    assert "Challenge `ri-ben-yu-notaitoru`" in said.text
    for typed in ("日本語", "タイトル", "ri-ben"):
        choices = await world.autocomplete("alice", "challenge info", {"challenge": typed},
                                           focused="challenge")
        assert [(c["name"], c["value"]) for c in choices] == [
            ("日本語のタイトル (ri-ben-yu-notaitoru)", "ri-ben-yu-notaitoru")], typed


async def test_a_moderator_role_named_in_settings_moderates(world: DiscordWorld) -> None:
    fake = world.fake
    stewards = fake.add_role(fake.seed.guild_id, "Stewards")  # no permissions at all
    fake.set_member_roles(fake.seed.guild_id, world.users["carol"], [int(stewards["id"])])
    refused = await world.command("carol", "challenge create", {"kind": "submission",
                                                                 "name": "Early"})
    assert f"{MOD_ONLY}." in refused.text
    # discord.py learns of the new role when Discord says so.
    await fake.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(fake.seed.guild_id),
                                              "role": stewards})
    # A refusal names who the moderators are: a role mention shows as the role there.
    for setting, shown in ((f"<@&{stewards['id']}>", f"<@&{stewards['id']}>"),
                           ("Stewards", "@Stewards")):
        said = await world.command("mod", "settings moderators", {"role": setting})
        assert f"Moderators are now server managers (Manage Server) and {shown}." in said.text
        ok = await world.command("carol", "challenge create", {"kind": "submission",
                                                                "name": f"By {setting[:3]}"})
        assert "Created" in ok.text, ok.text
        no = await world.command("dave", "challenge create", {"kind": "submission",
                                                               "name": "Sneaky"})
        assert f"{MOD_ONLY} and {shown}." in no.text


async def test_a_failure_on_our_side_is_told_not_swallowed(world: DiscordWorld,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(world.engine, "list_challenges", broken)
    said = await world.command("alice", "challenge list")
    assert said.private and "Something went wrong on our side" in said.text
