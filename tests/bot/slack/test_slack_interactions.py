"""The App Home tab, buttons and forms: what a member sees and clicks on Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.slack import interactions
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
    # "My profile" answers over the Home, in a modal: never in the Messages tab.
    said = await world.press(ALICE, buttons(home)["My profile"], view=home)
    assert not said.private and not said.public
    assert said.modal["callback_id"] == "laurels_answer" and "*Points*" in block_text(said.modal)
    assert "Share" not in buttons(said.modal)  # no conversation to share into
    # "Join" runs, answers in a modal, and the Home shows the new state.
    said = await world.press(ALICE, buttons(home)["Join"], view=home)
    assert "You joined *Marathon*" in block_text(said.modal)
    assert (await world.engine.challenge_info(world.ref(ALICE), "marathon")).joined
    assert not [c for c in world.fake.calls if c.method == "chat.postMessage"
                and c.args.get("channel") == ALICE]


async def test_buttons_in_an_answer_on_the_home_turn_it_in_place(world: SlackWorld) -> None:
    admin = world.ref(ADMIN, admin=True)
    for i in range(12):
        await world.engine.award_points(admin, world.ref(f"U0SEED{i:04d}"), 10 + i, "seed")
    home = await world.open_home(ALICE)
    said = await world.press(ALICE, buttons(home)["Leaderboard"], view=home)
    board = said.modal
    assert "Page 1/2" in block_text(board)
    turned = await world.press(ALICE, buttons(board)["Next ▶"], view=board)
    [page2] = turned.updated
    assert page2["id"] == board["id"] and "Page 2/2" in block_text(page2)
    assert not turned.modals and not turned.private


async def test_a_home_answer_too_late_for_a_modal_heads_the_home(world: SlackWorld) -> None:
    home = await world.open_home(ALICE)
    world.fake.fail_next("views.open", "expired_trigger_id")
    said = await world.press(ALICE, buttons(home)["My profile"], view=home)
    assert not said.private and not said.modals
    blocks = world.fake.home_views[ALICE]["blocks"]
    assert blocks[0]["text"]["text"] == "alice" and "🏅 Your Laurels" in block_text(
        world.fake.home_views[ALICE])


async def test_a_form_opened_from_the_home_answers_over_the_home(world: SlackWorld) -> None:
    home = await world.open_home(ALICE)
    form = (await world.press(ALICE, buttons(home)["Submit"], view=home)).modal
    ack, said = await world.submit_form(ALICE, form, {
        "title": {"type": "plain_text_input", "value": "Night garden"}})
    # The form turns into the answer, in place; nothing in the Messages tab.
    assert ack is not None and ack["response_action"] == "update"
    assert ack["view"]["callback_id"] == "laurels_answer" and not world.fake_view_problems(
        ack["view"])
    assert "Night garden" in block_text(ack["view"])
    assert not said.private and not [c for c in world.fake.calls if c.method ==
                                     "chat.postMessage" and c.args.get("channel") == ALICE]
    points = (await world.engine.profile(world.ref(ALICE))).points
    assert field_values(world.fake.home_views[ALICE])["Points"] == f"{points:,}"


async def test_a_home_form_answered_late_heads_the_home(
        world: SlackWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    home = await world.open_home(ADMIN)
    first = (await world.press(ADMIN, buttons(home)["Create a challenge"], view=home)).modal
    ack, _ = await world.submit_form(ADMIN, first, {"kind": {
        "type": "radio_buttons", "selected_option": {"value": "goal"}}})
    assert ack is not None
    form = ack["view"]
    monkeypatch.setattr(interactions, "FORM_BUDGET", 0)  # past Slack's 3 seconds
    ack, said = await world.submit_form(ADMIN, form, {
        "name": {"type": "plain_text_input", "value": "Comets"},
        "goal": {"type": "number_input", "value": "10"}})
    assert ack is None or "response_action" not in ack  # the form closes
    assert not said.private and not said.public
    blocks = world.fake.home_views[ADMIN]["blocks"]
    ours = next(i for i, b in enumerate(blocks) if "Your Laurels" in block_text({"blocks": [b]}))
    assert "Created Comets" in block_text({"blocks": blocks[:ours]})


async def test_message_buttons_answer_the_presser_privately(world: SlackWorld) -> None:
    await world.deliver()
    announcement = next(m for m in world.fake.messages_in(ANNOUNCE)
                        if "Dreamscapes" in block_text(m))
    submit = buttons(announcement)["Submit an entry"]
    assert submit["value"] == "/challenge submit dreamscapes"
    said = await world.press(BOB, submit, message=announcement, channel=ANNOUNCE)
    assert said.modal["callback_id"] == "laurels_modal"

    # A button on a public message answers only the one who pressed it.
    said = await world.press(CAROL, {"action_id": "laurels_run_0",
                                     "value": "/challenge info dreamscapes"},
                             message=announcement, channel=ANNOUNCE)
    assert not said.public and said.private[0]["response_type"] == "ephemeral"
    assert "Dreamscapes" in said.private_text


async def test_answers_are_private_and_share_posts_them_naming_who_shared(
        world: SlackWorld) -> None:
    await world.engine.award_points(world.ref(ADMIN, admin=True), world.ref(ALICE), 120, "x")
    said = await world.command(ALICE, "/leaderboard")
    assert not said.public and said.private[0]["response_type"] == "ephemeral"
    assert "#1 of 1 with 120 pts" in said.private_text
    share = buttons(said.private[0])["Share"]
    assert share["value"] == "/share /leaderboard"

    shared = await world.press(ALICE, share, ephemeral=True, channel=GENERAL)
    [post] = shared.public
    assert post["channel"] == GENERAL and not shared.private
    text = block_text(post)
    assert f"<@{ALICE}>, #1 of 1 with 120 pts" in text and "*You*" not in text
    assert "Share" not in buttons(post)
    # What was the sharer's own part in a challenge stays out of the shared version.
    info = await world.command(BOB, "/challenge info marathon")
    assert "not joined" in info.private_text
    shared = await world.press(BOB, buttons(info.private[0])["Share"], ephemeral=True)
    assert "Marathon" in shared.public_text and "not joined" not in shared.public_text
    assert f"<@{BOB}>" in shared.public_text


async def test_pager_on_a_private_answer_replaces_it(world: SlackWorld) -> None:
    said = await world.press(ALICE, {"action_id": "laurels_run_0", "value": "/achievements"},
                             ephemeral=True)
    assert said.private[0]["replace_original"] is True


def by_block(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


async def test_create_asks_the_kind_first_then_only_what_that_kind_uses(
        world: SlackWorld) -> None:
    first = (await world.command(ADMIN, "/challenge create")).modal
    assert first["callback_id"] == "laurels_kind" and list(by_block(first)) == ["kind"]
    ack, _ = await world.submit_form(ADMIN, first, {"kind": {
        "type": "radio_buttons", "selected_option": {"value": "goal"}}})
    assert ack is not None and ack["response_action"] == "update"
    form = ack["view"]
    assert not world.fake_view_problems(form)
    inputs = by_block(form)
    assert list(inputs) == ["name", "goal", "unit", "team_mode", "prompt", "description",
                            "start", "ends", "prize", "sponsor", "sponsor_link", "channel"]
    assert {inputs[k]["type"] for k in ("start", "ends")} == {"datetimepicker"}
    submission = (await world.command(ADMIN, "/challenge create submission")).modal
    inputs = by_block(submission)
    assert "kind" not in inputs and "goal" not in inputs and "team_mode" not in inputs
    assert [k for k, e in inputs.items() if e["type"] == "datetimepicker"] == [
        "start", "submissions", "voting"]
    assert len(inputs) == 13


async def test_deadlines_are_picked_and_refused_under_their_input(world: SlackWorld) -> None:
    form = (await world.command(ADMIN, "/challenge create submission")).modal
    now = int(world.engine.clock.now().timestamp())
    ack, said = await world.submit_form(ADMIN, form, {
        "name": {"type": "plain_text_input", "value": "Skies"},
        "submissions": {"type": "datetimepicker", "selected_date_time": now - 3600}})
    assert ack is not None and ack["response_action"] == "errors"
    assert set(ack["errors"]) == {"submissions"} and "past" in ack["errors"]["submissions"]
    assert not said.private and not said.public

    ack, said = await world.submit_form(ADMIN, form, {
        "name": {"type": "plain_text_input", "value": "Skies"},
        "submissions": {"type": "datetimepicker", "selected_date_time": now + 86400},
        "channel": {"type": "conversations_select", "selected_conversation": GENERAL}})
    assert ack is None or "response_action" not in ack
    assert "Created Skies" in said.private_text
    skies = (await world.engine.challenge_info(world.ref(ADMIN), "skies")).challenge
    assert skies.channel_id == GENERAL  # picked on purpose
    assert int(skies.submissions_close_at.timestamp()) == now + 86400
    assert skies.voting_close_at - skies.submissions_close_at == timedelta(days=2)


async def test_a_challenge_created_from_general_announces_in_the_configured_channel(
        world: SlackWorld) -> None:
    first = (await world.command(ADMIN, "/challenge create", channel=GENERAL)).modal
    ack, _ = await world.submit_form(ADMIN, first, {"kind": {
        "type": "radio_buttons", "selected_option": {"value": "submission"}}})
    assert ack is not None
    form = ack["view"]
    channel = by_block(form)["channel"]
    assert channel.get("initial_conversation") == ANNOUNCE
    assert not channel.get("default_to_current_conversation")
    # Submitted as shown, from #general: the configured channels, entries to #entries.
    ack, said = await world.submit_form(ADMIN, form, {
        "name": {"type": "plain_text_input", "value": "Comets"}}, channel=GENERAL)
    assert "Created Comets" in said.private_text
    comets = (await world.engine.challenge_info(world.ref(ADMIN), "comets")).challenge
    assert comets.channel_id is None
    await world.deliver()
    assert any("Comets" in block_text(m) for m in world.fake.messages_in(ANNOUNCE))
    assert not any("Comets" in block_text(m) for m in world.fake.messages_in(GENERAL))


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
    said = await world.command(ADMIN, f'/points award <@{BOB}> 5 "Helping"',
                               channel="C0NOTJOINED")
    assert said.public and said.public[0]["response_type"] == "in_channel"
    assert "Awarded 5 points" in said.public_text
    # Sharing an answer there goes the same way.
    answer = await world.command(ALICE, "/leaderboard", channel="C0NOTJOINED")
    world.fake.fail_next("chat.postMessage", "not_in_channel")
    shared = await world.press(ALICE, buttons(answer.private[0])["Share"], ephemeral=True,
                               channel="C0NOTJOINED")
    assert shared.public and shared.public[0]["response_type"] == "in_channel"
    assert shared.public[0]["replace_original"] is False
    assert "Shared by" in shared.public_text


async def test_a_failure_on_our_side_is_told_to_the_member(world: SlackWorld) -> None:
    world.fake.fail_next("views.open", "internal_error")
    said = await world.command(ADMIN, "/challenge create")
    assert "Something went wrong on our side" in said.private_text


async def test_commands_are_acknowledged_fast_and_served_after_a_reconnect(
        world: SlackWorld) -> None:
    await world.fake.request_disconnect()
    await world.fake.wait_for_connection(count=2)
    said = await world.command(ALICE, "/challenge list")
    assert "Dreamscapes" in said.private_text
    assert world.fake.acks and all(a.latency < 3.0 for a in world.fake.acks.values())


async def test_the_profiles_notification_text_is_a_sentence(world: SlackWorld) -> None:
    said = await world.command(ALICE, "/profile")
    [answer] = said.private
    assert answer["text"] == ("alice has 0 points, not ranked yet, a streak of 0 days "
                              "(best 0) and 0 badges.")
