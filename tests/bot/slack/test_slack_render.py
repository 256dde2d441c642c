"""Block Kit rendering, Slack's text escaping both ways, and the shipped app manifest."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.slack.events import HANDLED_EVENTS
from bot.slack.identity import moderator_ids
from bot.slack.manifest import BOT_SCOPES, HEADER, MANIFEST_PATH, manifest, to_yaml
from bot.slack.render import MAX_BLOCKS, card_blocks, fallback_text
from bot.slack.slash import command_line, slash_commands
from bot.slack.text import command_text, mrkdwn
from commands.render import profile_card
from commands.tree import COMMANDS, TREE
from engine import moments
from engine.leaderboards import ViewerRank
from engine.messages import Button, Card, Field
from engine.views import Profile
from tests.bot.slack.harness import SCOPE_OF_METHOD


def test_a_card_becomes_header_sections_image_context_and_buttons() -> None:
    card = Card(title="Night garden", text="Entry #1 by alice for **Dreamscapes**",
                fields=(Field("Votes", "2"), Field("Phase", "voting"),
                        Field("About", "A long story", inline=False)),
                buttons=(Button("Standings", "/challenge standings dreamscapes", "primary"),
                         Button("Info", "/challenge info dreamscapes")),
                image_url="https://example.com/garden.png", footer="React with 👍 to vote",
                mention="U0ALICE001")
    blocks = card_blocks(card)
    assert [b["type"] for b in blocks] == ["header", "section", "section", "section", "image",
                                           "context", "actions"]
    assert blocks[0]["text"] == {"type": "plain_text", "text": "Night garden", "emoji": True}
    assert blocks[1]["text"]["text"] == "Entry #1 by alice for *Dreamscapes*"
    assert [f["text"] for f in blocks[2]["fields"]] == ["*Votes*\n2", "*Phase*\nvoting"]
    assert blocks[3]["text"]["text"] == "*About*\nA long story"
    assert blocks[5]["elements"][0]["text"] == "<@U0ALICE001> · React with 👍 to vote"
    first, second = blocks[6]["elements"]
    assert (first["action_id"], first["value"], first["style"]) == (
        "laurels_run_0", "/challenge standings dreamscapes", "primary")
    assert second["action_id"] == "laurels_run_1" and "style" not in second
    assert fallback_text(card).startswith("*Night garden*\nEntry #1")


def test_moments_are_slack_dates_with_the_communitys_time_as_fallback() -> None:
    close = datetime(2026, 1, 8, 9, 0, tzinfo=UTC)
    paris = ZoneInfo("Europe/Paris")
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    date = (f"<!date^{int(close.timestamp())}^{{date_short_pretty}} {{time}}"
            f"|Thu 08 Jan 2026 10:00 CET>")
    card = Card(title=f"Closes {moments.relative(close, now, paris)}",
                text=f"Voting closes {moments.relative(close, now, paris)} for **all**.",
                fields=(Field("Voting until", moments.at(close, paris)),),
                footer=f"Ends {moments.at(close, paris)}")
    blocks = card_blocks(card)
    assert blocks[0]["text"]["text"] == "Closes in 3 days"  # a header is plain text
    assert blocks[1]["text"]["text"] == f"Voting closes {date} for *all*."
    assert blocks[2]["fields"][0]["text"] == f"*Voting until*\n{date}"
    assert blocks[3]["elements"][0]["text"] == f"Ends {date}"
    assert fallback_text(card) == f"*Closes in 3 days*\nVoting closes {date} for *all*."


def test_the_fallback_text_is_a_sentence_not_a_bare_name() -> None:
    profile = Profile("U0ALICE001", "alice", 1250, ViewerRank(3, 1250, 40), 4, 9, [], 2, [],
                      [])
    assert fallback_text(profile_card(profile)) == (
        "alice has 1,250 points, ranked #3 of 40 (top 8%), a streak of 4 days (best 9) "
        "and 2 badges.")
    # A card without text or summary says its fields rather than its title alone.
    card = Card(title="Settings", fields=(Field("Time zone", "UTC"), Field("Digest", "off")))
    assert fallback_text(card) == "*Settings*\nTime zone: UTC; Digest: off"


def test_block_kit_limits_are_respected() -> None:
    long_text = "\n".join(f"line {i} " + "x" * 90 for i in range(200))
    card = Card(title="T" * 400, text=long_text,
                fields=tuple(Field(f"f{i}", "v" * 3000) for i in range(25)),
                buttons=tuple(Button("B" * 100, "/help") for i in range(30)))
    blocks = card_blocks(card)
    assert len(blocks) <= MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= 150
    for block in blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
        for f in block.get("fields", []):
            assert len(f["text"]) <= 2000
        assert len(block.get("fields", [])) <= 10
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75
    assert sum(len(b.get("elements", [])) for b in blocks if b["type"] == "actions") <= 25


def test_member_text_cannot_ping_everyone_but_mentions_and_links_work() -> None:
    assert mrkdwn("<!channel> look at <@U123|bob>'s <https://x.example|entry> & more") == (
        "@channel look at <@U123|bob>'s <https://x.example|entry> &amp; more")
    assert mrkdwn("Moderators: <!subteam^S0MODS|@mods>") == "Moderators: @mods"
    assert mrkdwn("a <b> tag") == "a &lt;b&gt; tag"
    title = card_blocks(Card(title="<!here>", text="by <!everyone>"))
    assert title[1]["text"]["text"] == "by @everyone"


def test_slack_command_text_is_unescaped_for_the_grammar() -> None:
    assert command_text('submit x "Night &amp; day" <https://x.example/a.png> '
                        "<mailto:a@b.example|a@b.example> &lt;3") == (
        'submit x "Night & day" https://x.example/a.png mailto:a@b.example <3')
    assert command_text("award <@U1|bob> <#C1|general>") == "award <@U1|bob> <#C1|general>"
    assert command_line("/challenge", "submit x") == "/challenge submit x"
    assert command_line("/laurels", "") == "help"
    assert command_line("/laurels", "challenge list") == "challenge list"


def test_moderator_settings_name_groups_and_users() -> None:
    assert moderator_ids("<!subteam^S0MODS0001|@mods>") == (frozenset({"S0MODS0001"}),
                                                            frozenset())
    assert moderator_ids("<@U0ALICE001|alice> <@U0BOB00001> S0HELPERS1") == (
        frozenset({"S0HELPERS1"}), frozenset({"U0ALICE001", "U0BOB00001"}))
    assert moderator_ids("Moderators") == (frozenset(), frozenset())


def test_the_shipped_manifest_is_the_generated_one() -> None:
    assert MANIFEST_PATH.read_text("utf-8") == HEADER + to_yaml(manifest()), (
        "regenerate: uv run python -m bot.slack.manifest > bot/slack/manifest.yml")


def test_the_manifest_registers_every_command_once_with_escaping() -> None:
    commands = manifest()["features"]["slash_commands"]
    names = [c["command"] for c in commands]
    tops = {c.group or c.name for c in COMMANDS} - {"help"}
    assert sorted(names) == sorted({f"/{t}" for t in tops} | {"/laurels"})
    assert all(c["should_escape"] is True for c in commands)
    assert all(len(c["description"]) <= 100 for c in commands)
    # Every command of the tree is reachable through one of them.
    for path in TREE:
        head = path.split()[0]
        assert f"/{head}" in names or path == "help"
    assert [c.name for c in slash_commands()] == names


def test_the_manifest_asks_for_exactly_the_scopes_and_events_used() -> None:
    m = manifest()
    assert m["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    needed = {s for scopes in SCOPE_OF_METHOD.values() for s in scopes} | {
        "commands", "reactions:read"}
    assert set(BOT_SCOPES) == needed
    assert set(m["settings"]["event_subscriptions"]["bot_events"]) == HANDLED_EVENTS
    assert m["settings"]["socket_mode_enabled"] is True
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    http = manifest(http_url="https://laurels.example/")
    urls = {c["url"] for c in http["features"]["slash_commands"]}
    assert urls == {"https://laurels.example/slack/events"}
    assert http["settings"]["event_subscriptions"]["request_url"] == (
        "https://laurels.example/slack/events")
    assert http["settings"]["socket_mode_enabled"] is False
