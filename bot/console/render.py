"""Plain-text rendering of cards for the terminal and for transcripts."""

from __future__ import annotations

import re

from engine import moments
from engine.messages import Card

__all__ = ["render_card"]

_MENTION = re.compile(r"<@([^>|]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([^>|]+)(?:\|[^>]*)?>")


def render_card(card: Card) -> list[str]:
    """The card as lines: title, text, fields, image, footer, buttons. Moments read as
    the engine worded them, in the community's zone (engine/moments.py)."""
    lines: list[str] = []
    if card.title:
        lines.append(card.title)
    if card.text:
        lines.extend(moments.plain(card.text).splitlines())
    for f in card.fields:
        value = moments.plain(f.value).splitlines() or [""]
        lines.append(f"{f.name}: {value[0]}")
        lines.extend(f"  {more}" for more in value[1:])
    if card.image_url:
        lines.append(f"[image {card.image_url}]")
    if card.footer:
        lines.append(f"({card.footer})")
    if card.buttons:
        lines.append(" ".join(f"[{b.label}]" for b in card.buttons))
    return [_plain(line) for line in lines] or [""]


def _plain(line: str) -> str:
    line = _MENTION.sub(r"@\1", line)
    line = _CHANNEL.sub(r"#\1", line)
    return line.replace("**", "").replace("`", "")
