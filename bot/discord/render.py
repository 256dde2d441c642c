"""Neutral cards as Discord embeds, with buttons where the card has them.

Moments (engine/moments.py) become Discord timestamps in the description and field
values, where Discord renders them in each reader's zone and keeps relative times live;
titles and footers cannot show them, so there they are plain text.

Every limit below is Discord's; going over one makes it refuse the whole message
(400 Invalid Form Body), so text is cut rather than sent too long.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import discord

from bot.discord.slash import discord_spelling
from engine import moments
from engine.messages import Button, Card

__all__ = ["BUTTON_PREFIX", "COLOURS", "Rendered", "action_of", "render", "timestamp"]

log = logging.getLogger(__name__)

# custom_id of a button whose rest is a command line run for whoever presses it.
BUTTON_PREFIX = "laurels:"
COLOURS = {"gold": 0xF1C40F, "green": 0x2ECC71, "red": 0xE74C3C, "blue": 0x3498DB,
           "grey": 0x95A5A6}
_DEFAULT_COLOUR = 0x5865F2
_STYLES = {"primary": discord.ButtonStyle.primary, "danger": discord.ButtonStyle.danger,
           "secondary": discord.ButtonStyle.secondary}

_TITLE, _TEXT, _FIELDS, _FIELD_NAME, _FIELD_VALUE = 256, 4096, 25, 256, 1024
_FOOTER, _EMBED_TOTAL, _CUSTOM_ID, _LABEL, _BUTTONS = 2048, 6000, 100, 80, 25


@dataclass(frozen=True, slots=True)
class Rendered:
    """What a card sends: an optional mention line, the embed, and its buttons."""

    content: str | None
    embed: discord.Embed
    view: discord.ui.View | None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _is_link(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("http://", "https://"))


def timestamp(moment: moments.Moment) -> str:
    """A moment as Discord timestamps: a date and time also says how far it is."""
    if moment.style == moments.RELATIVE:
        return f"<t:{moment.unix}:R>"
    return f"<t:{moment.unix}:f> (<t:{moment.unix}:R>)"


def _rich(text: str) -> str:
    return moments.render(discord_spelling(text), timestamp)


def _plain(text: str) -> str:
    return moments.plain(discord_spelling(text))


def embed(card: Card) -> discord.Embed:
    e = discord.Embed(title=_cut(_plain(card.title), _TITLE) if card.title else None,
                      description=_cut(_rich(card.text), _TEXT) if card.text else None,
                      colour=COLOURS.get(card.color or "", _DEFAULT_COLOUR),
                      url=card.url if _is_link(card.url) and card.title else None)
    for f in card.fields[:_FIELDS]:
        e.add_field(name=_cut(_plain(f.name), _FIELD_NAME) or "\u200b",
                    value=_cut(_rich(f.value), _FIELD_VALUE) or "\u200b", inline=f.inline)
    if _is_link(card.image_url):
        e.set_image(url=card.image_url)
    if card.footer:
        e.set_footer(text=_cut(_plain(card.footer), _FOOTER))
    # The total limit counts every text in the embed: drop trailing fields, then shorten.
    while len(e) > _EMBED_TOTAL and e.fields:
        e.remove_field(-1)
    if len(e) > _EMBED_TOTAL and e.description:
        e.description = _cut(e.description, max(1, len(e.description) - (len(e) - _EMBED_TOTAL)))
    if len(e) > _EMBED_TOTAL and e.footer.text:
        e.set_footer(text=_cut(e.footer.text, max(1, len(e.footer.text)
                                                  - (len(e) - _EMBED_TOTAL))))
    if not (e.title or e.description or e.fields or e.image):
        e.description = "\u200b"
    return e


def buttons(card_buttons: tuple[Button, ...]) -> discord.ui.View | None:
    """A view of buttons that run their action for whoever presses them.

    The view is stopped before sending: presses are handled by the adapter from the
    custom_id alone (after a restart too), not by this object.
    """
    view = discord.ui.View(timeout=None)
    for b in card_buttons[:_BUTTONS]:
        custom_id = BUTTON_PREFIX + b.action
        if len(custom_id) > _CUSTOM_ID:
            log.warning("button %r left out: its action is too long for a custom_id", b.label)
            continue
        view.add_item(discord.ui.Button(label=_cut(b.label, _LABEL), custom_id=custom_id,
                                        style=_STYLES.get(b.style, _STYLES["secondary"])))
    if not view.children:
        return None
    view.stop()
    return view


def render(card: Card) -> Rendered:
    content = f"<@{card.mention}>" if card.mention else None
    return Rendered(content, embed(card), buttons(card.buttons))


def action_of(custom_id: str) -> str | None:
    """The command line behind a Laurels button, None for anyone else's."""
    return custom_id[len(BUTTON_PREFIX):] if custom_id.startswith(BUTTON_PREFIX) else None
