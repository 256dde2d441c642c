"""Cards as embeds within Discord's limits, and who counts as a moderator."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import discord

from bot.discord.identity import matches_setting
from bot.discord.render import BUTTON_PREFIX, COLOURS, action_of, render
from commands.tree import help_card
from engine import moments
from engine.messages import Button, Card, Field

CLOSE = datetime(2026, 1, 8, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


async def test_a_card_becomes_an_embed_with_buttons() -> None:
    card = Card(title="Dreamscapes", text="Paint a dream", color="blue",
                fields=(Field("Phase", "open"), Field("You", "joined", inline=False)),
                image_url="https://example.com/a.png", footer="Submissions close in 2 days",
                url="https://example.com", mention="42",
                buttons=(Button("Join", "/challenge join dreamscapes", "primary"),))
    out = render(card)
    e = out.embed
    assert (e.title, e.description, e.colour) == ("Dreamscapes", "Paint a dream",
                                                  discord.Colour(COLOURS["blue"]))
    assert [(f.name, f.value, f.inline) for f in e.fields] == [
        ("Phase", "open", True), ("You", "joined", False)]
    assert e.image.url == "https://example.com/a.png" and e.url == "https://example.com"
    assert e.footer.text == "Submissions close in 2 days"
    assert out.content == "<@42>"
    assert out.view is not None and out.view.is_finished()  # handled by custom_id alone
    [button] = out.view.children
    assert isinstance(button, discord.ui.Button)
    assert button.custom_id == BUTTON_PREFIX + "/challenge join dreamscapes"
    assert button.style is discord.ButtonStyle.primary
    assert action_of(button.custom_id) == "/challenge join dreamscapes"
    assert action_of("someone-else:1") is None


async def test_discord_limits_are_respected() -> None:
    card = Card(title="t" * 300, text="x" * 5000,
                fields=tuple(Field(f"f{i}", "v" * 1100) for i in range(30)),
                image_url="not a link", footer="y" * 3000,
                buttons=(Button("Long", "/challenge info " + "z" * 100),))
    out = render(card)
    e = out.embed
    assert len(e.title or "") == 256 and len(e.footer.text or "") == 2048
    assert len(e) == 6000 and not e.fields  # the text is shortened to fit the total
    assert (e.description or "").endswith("…")
    fields = render(Card(text="x", fields=tuple(Field(f"f{i}", "v" * 1100)
                                               for i in range(30)))).embed
    assert len(fields.fields) == 5 and all(len(f.value or "") == 1024 for f in fields.fields)
    assert e.image.url is None  # only http(s) links can be embedded
    assert out.view is None  # the one button's action does not fit a custom_id
    assert render(Card()).embed.description  # never an empty embed


def test_moments_are_discord_timestamps_where_discord_shows_them() -> None:
    stamp = int(CLOSE.timestamp())
    card = Card(title=f"Closes {moments.relative(CLOSE, NOW, PARIS)}",
                text=f"Voting closes {moments.relative(CLOSE, NOW, PARIS)}.",
                fields=(Field("Voting until", moments.at(CLOSE, PARIS)),),
                footer=f"Ends {moments.at(CLOSE, PARIS)}")
    e = render(card).embed
    assert e.description == f"Voting closes <t:{stamp}:R>."
    assert e.fields[0].value == f"<t:{stamp}:f> (<t:{stamp}:R>)"
    # Titles and footers cannot show timestamps: the engine's wording, Paris time.
    assert e.title == "Closes in 3 days"
    assert e.footer.text == "Ends Thu 08 Jan 2026 10:00 CET"


def test_commands_are_named_as_discord_members_see_them() -> None:
    e = render(help_card()).embed
    assert "`/mod challenge create <kind> <name>" in (e.description or "")
    assert "`/mod points award <member>" in (e.description or "")
    assert "`/challenge list [phase] [page]`" in (e.description or "")
    assert "/mod challenge list" not in (e.description or "")
    card = Card(text="Moderators can start one with `/challenge create`.")
    assert render(card).embed.description == ("Moderators can start one with "
                                              "`/mod challenge create`.")


def role(role_id: int, name: str) -> discord.Role:
    return SimpleNamespace(id=role_id, name=name)  # type: ignore[return-value]


def test_the_moderator_setting_names_roles_or_people() -> None:
    roles = [role(111111111111111111, "Stewards"), role(222222222222222222, "Art Team")]
    assert matches_setting("<@&111111111111111111>", 5, roles)
    assert matches_setting("111111111111111111", 5, roles)
    assert matches_setting("@stewards", 5, roles)
    assert matches_setting("Art Team", 5, roles)
    assert matches_setting("<@&999>, @Art Team", 5, []) is False
    assert matches_setting("<@5> <@6>", 5, [])
    assert not matches_setting("<@&333333333333333333>", 5, roles)
    assert not matches_setting("Moderators", 5, roles)
