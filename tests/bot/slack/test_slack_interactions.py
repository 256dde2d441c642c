"""The App Home tab, buttons and forms: what a member sees and clicks on Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from engine.clock import FixedClock
from engine.service import Engine
from tests.bot.slack.harness import (
    ADMIN,
    ALICE,
    ANNOUNCE,
    BOB,
    CAROL,
    GENERAL,
    SlackWorld,
    block_text,
    running_world,
)


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch, engine: Engine, clock: FixedClock
                ) -> AsyncIterator[SlackWorld]:
    async with running_world(monkeypatch, engine, clock, channels=True) as w:
        await w.command(ADMIN, "/challenge create submission Dreamscapes submissions:2d "
                               "voting:1d")
        await w.command(ADMIN, "/challenge create goal Marathon goal:42 unit:km ends:7d")
        yield w


def buttons(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every button in a view or message, by label."""
    found: dict[str, dict[str, Any]] = {}
    for block in view["blocks"]:
        for element in [block.get("accessory"), *block.get("elements", [])]:
            if isinstance(element, dict) and element.get("type") == "button":
                found[element["text"]["text"]] = element
    return found


def field_values(view: dict[str, Any]) -> dict[str, str]:
    """The Home's figures: {"Points": "75", "Rank": "#1 of 2", ...}."""
    out: dict[str, str] = {}
    for block in view["blocks"]:
        for f in block.get("fields", []):
            name, _, value = f["text"].partition("\n")
            out[name.strip("*")] = value
    return out


async def test_home_shows_the_members_real_figures(world: SlackWorld) -> None:
    await world.command(ALICE, '/challenge submit dreamscapes "Night garden"')
    await world.command(BOB, "/challenge join marathon")

    home = await world.open_home(ALICE)

    profile = await world.engine.profile(world.ref(ALICE))
    assert profile.points > 0 and profile.rank is not None
    figures = field_values(home)
    assert figures["Points"] == f"{profile.points:,}"
    # A small board: the rank alone, as on every card (engine.wording.standing).
    assert figures["Rank"] == f"#{profile.rank.rank} of {profile.rank.members}"
    assert figures["Streak"] == f"{profile.streak} day (best {profile.longest_streak})"
    assert figures["Badges"].startswith(str(profile.badges))
    text = block_text(home)
    assert "*Dreamscapes* · open" in text and "You: 1 entry" in text
    assert "<!date^" in text  # deadlines in each member's own time zone
    assert set(buttons(home)) >= {"Submit", "Join", "Leaderboard", "My profile"}
    assert "Moderator tools" not in text


async def test_moderators_get_their_tools_admins_and_the_configured_group(
        world: SlackWorld) -> None:
    admin_home = await world.open_home(ADMIN)
    assert "Moderator tools" in block_text(admin_home)
    assert {"Create a challenge", "Settings", "Advance"} <= set(buttons(admin_home))
    assert "confirm" in buttons(admin_home)["Advance"]

    assert "Moderator tools" not in block_text(await world.open_home(CAROL))
    world.fake.add_usergroup("S0MODS0001", [CAROL])
    await world.command(ADMIN, "/settings moderators <!subteam^S0MODS0001|@mods>")
    assert "Moderator tools" in block_text(await world.open_home(CAROL))
    said = await world.command(CAROL, "/challenge advance marathon")
    assert "*Marathon* is now" in said.private_text


async def test_home_is_refreshed_after_the_members_own_actions(world: SlackWorld) -> None:
    first = field_values(await world.open_home(ALICE))
    mark = world.fake.call_count

    await world.command(ALICE, '/challenge submit dreamscapes "Night garden"')

    refreshed = [c for c in world.fake.calls[mark:]
                 if c.method == "views.publish" and c.args["user_id"] == ALICE]
    assert len(refreshed) == 1
    after = field_values(world.fake.home_views[ALICE])
    points = (await world.engine.profile(world.ref(ALICE))).points
    assert first["Points"] == "0" and after["Points"] == f"{points:,}"
    # Others' actions do not republish Alice's Home, and Bob never opened his.
    mark = world.fake.call_count
    await world.command(BOB, "/challenge join marathon")
    assert not [c for c in world.fake.calls[mark:] if c.method == "views.publish"]


async def test_home_buttons_run_their_command_for_the_presser(world: SlackWorld) -> None:
    home = await world.open_home(ALICE)
    # "Submit" on the Home opens the entry form with the challenge chosen.
    said = await world.press(ALICE, buttons(home)["Submit"], view=home)
    form = said.modal
    chosen = form["blocks"][0]["element"]["initial_option"]["value"]
    assert chosen == "dreamscapes"
    # "My profile" answers in the app's Messages tab (no channel on a Home tab).
    said = await world.press(ALICE, buttons(home)["My profile"], view=home)
    assert said.private and said.private[0]["channel"] == ALICE
    assert "*Points*" in said.private_text


async def test_message_buttons_answer_the_presser_privately(world: SlackWorld) -> None:
    await world.deliver()
    announcement = next(m for m in world.fake.messages_in(ANNOUNCE)
                        if "Dreamscapes" in block_text(m))
    submit = buttons(announcement)["Submit an entry"]
    assert submit["value"] == "/challenge submit dreamscapes"
    said = await world.press(BOB, submit, message=announcement, channel=ANNOUNCE)
    assert said.modal["callback_id"] == "laurels_modal"

    board = await world.command(BOB, "/challenge standings marathon")
    assert board.public  # a public answer...
    said = await world.press(CAROL, {"action_id": "laurels_run_0",
                                     "value": "/challenge info dreamscapes"},
                             message=board.public[0], channel=GENERAL)
    # ...but a button press answers only the one who pressed it.
    assert not said.public and said.private[0]["response_type"] == "ephemeral"
    assert "Dreamscapes" in said.private_text


async def test_pager_on_a_private_answer_replaces_it(world: SlackWorld) -> None:
    said = await world.press(ALICE, {"action_id": "laurels_run_0", "value": "/achievements"},
                             ephemeral=True)
    assert said.private[0]["replace_original"] is True


async def test_forms_refuse_bad_values_under_the_input_and_keep_typed_values(
        world: SlackWorld) -> None:
    form = (await world.command(ADMIN, "/challenge create")).modal
    labels = [b["block_id"] for b in form["blocks"]]
    assert labels[:2] == ["kind", "name"] and "channel" in labels
    kind = {"type": "static_select", "selected_option": {"value": "submission"}}

    ack, said = await world.submit_form(ADMIN, form, {
        "kind": kind, "name": {"type": "plain_text_input", "value": "Skies"},
        "submissions": {"type": "plain_text_input", "value": "banana"}})
    assert ack is not None and ack["response_action"] == "errors"
    assert set(ack["errors"]) == {"submissions"}
    assert not said.private and not said.public

    ack, said = await world.submit_form(ADMIN, form, {
        "kind": kind, "name": {"type": "plain_text_input", "value": "Skies"},
        "submissions": {"type": "plain_text_input", "value": "3d"},
        "channel": {"type": "conversations_select", "selected_conversation": GENERAL}})
    assert ack is None or "response_action" not in ack
    assert "Created Skies" in said.private_text
    assert (await world.engine.challenge_info(world.ref(ADMIN), "skies")
            ).challenge.channel_id == GENERAL


async def test_engine_refusals_in_a_form_stay_in_the_form(world: SlackWorld) -> None:
    form = (await world.command(ALICE, "/challenge submit")).modal
    await world.command(ALICE, '/challenge submit dreamscapes "One"')
    await world.command(ALICE, '/challenge submit dreamscapes "Two"')
    await world.command(ALICE, '/challenge submit dreamscapes "Three"')
    ack, said = await world.submit_form(ALICE, form, {
        "challenge": {"type": "static_select", "selected_option": {"value": "dreamscapes"}},
        "title": {"type": "plain_text_input", "value": "Four"}})
    assert ack is not None and ack["response_action"] == "errors"
    assert "already submitted 3 of 3" in ack["errors"]["challenge"]
    # Once full, the form does not even open.
    said = await world.command(ALICE, "/challenge submit dreamscapes")
    assert not said.modals and "already submitted 3 of 3" in said.private_text


async def test_the_entry_forms_menu_offers_names_and_slugs_to_type(world: SlackWorld
                                                                  ) -> None:
    await world.command(ADMIN, '/challenge create submission "日本語のタイトル" "A haiku"')
    form = (await world.command(ALICE, "/challenge submit")).modal
    options = form["blocks"][0]["element"]["options"]
    # Slack filters a menu by what is typed in it: by the name or by the slug.
    assert {o["text"]["text"]: o["value"] for o in options} == {
        "日本語のタイトル (ri-ben-yu-notaitoru)": "ri-ben-yu-notaitoru",
        "Dreamscapes": "dreamscapes"}


async def test_create_form_is_for_moderators_only(world: SlackWorld) -> None:
    said = await world.command(BOB, "/challenge create")
    assert not said.modals and ("Only moderators can do that: here, workspace admins."
                                in said.private_text)


async def test_public_answers_where_the_bot_may_not_post_use_the_response_url(
        world: SlackWorld) -> None:
    world.fake.fail_next("chat.postMessage", "not_in_channel")
    said = await world.command(ALICE, "/leaderboard", channel="C0NOTJOINED")
    assert said.public and said.public[0]["response_type"] == "in_channel"
    assert "Leaderboard" in said.public_text


async def test_a_failure_on_our_side_is_told_to_the_member(world: SlackWorld) -> None:
    world.fake.fail_next("views.open", "internal_error")
    said = await world.command(ADMIN, "/challenge create")
    assert "Something went wrong on our side" in said.private_text


async def test_commands_are_acknowledged_fast_and_served_after_a_reconnect(
        world: SlackWorld) -> None:
    await world.fake.request_disconnect()
    await world.fake.wait_for_connection(count=2)
    said = await world.command(ALICE, "/challenge list")
    assert "Dreamscapes" in said.public_text
    assert world.fake.acks and all(a.latency < 3.0 for a in world.fake.acks.values())
