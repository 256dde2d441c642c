"""Neutral cards as Slack Block Kit: header, sections with fields, image, context, buttons.

Moments (engine/moments.py) become Slack dates (`<!date^...>`) wherever mrkdwn is shown:
each reader sees their own zone, the community's time being the fallback. Headers are
plain text, so there a moment is the engine's wording.

Every limit below is Block Kit's; going over one makes Slack refuse the whole message
(`invalid_blocks`), so text is cut rather than sent too long.
"""

from __future__ import annotations

from typing import Any

from bot.slack.text import mrkdwn, slack_date, truncate
from engine import moments
from engine.messages import Button, Card, Field

__all__ = ["RUN_ACTION", "Block", "button", "card_blocks", "fallback_text", "rich", "section"]

Block = dict[str, Any]

# action_id prefix of a button whose value is a command line run for whoever presses it.
RUN_ACTION = "laurels_run"

MAX_BLOCKS = 50
_HEADER = 150
_SECTION = 3000
_FIELD = 2000
_FIELDS_PER_SECTION = 10
_BUTTON_LABEL = 75
_BUTTON_VALUE = 2000
_BUTTONS_PER_ACTIONS = 25
_FALLBACK = 3000


def rich(text: str) -> str:
    """Neutral card text as mrkdwn, its moments as Slack dates."""
    return moments.render(text, lambda m: slack_date(m.at, m.local), mrkdwn)


def card_blocks(card: Card, *, with_image: bool = True) -> list[Block]:
    """The card as blocks. `with_image=False` links the image instead of embedding it
    (Slack refuses a message whose image it cannot fetch)."""
    blocks: list[Block] = []
    if card.title:
        blocks.append({"type": "header",
                       "text": {"type": "plain_text",
                                "text": truncate(moments.plain(card.title), _HEADER),
                                "emoji": True}})
    text = card.text
    if card.url and card.url not in text:
        text = f"{text}\n{card.url}".strip()
    if card.image_url and not with_image and card.image_url not in text:
        text = f"{text}\n{card.image_url}".strip()
    blocks.extend(section(chunk) for chunk in _chunks(rich(text), _SECTION))
    blocks.extend(_field_sections(card.fields))
    if card.image_url and with_image:
        blocks.append({"type": "image", "image_url": card.image_url,
                       "alt_text": truncate(moments.plain(card.title) or "image", 2000)})
    context = [part for part in (f"<@{card.mention}>" if card.mention else "",
                                 rich(card.footer or "")) if part]
    if context:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": truncate(" · ".join(context), _SECTION)}]})
    if card.buttons:
        blocks.append(actions(card.buttons))
    return blocks[:MAX_BLOCKS]


def fallback_text(card: Card) -> str:
    """The `text` shown in notifications, read by screen readers and by clients that
    cannot show blocks: the card's one-sentence summary when it has one, else its title
    and text, else its title and fields ("Points: 120; Rank: #3 …"), never a bare name."""
    if card.summary:
        return truncate(rich(card.summary), _FALLBACK)
    head = f"*{mrkdwn(moments.plain(card.title))}*" if card.title else ""
    body = rich(card.text) or "; ".join(f"{mrkdwn(f.name)}: {rich(f.value)}"
                                        for f in card.fields)
    return truncate("\n".join(x for x in (head, body) if x) or "Laurels", _FALLBACK)


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def actions(buttons: tuple[Button, ...] | list[Button], *, start: int = 0) -> Block:
    return {"type": "actions", "elements": [
        button(b, start + i) for i, b in enumerate(buttons[:_BUTTONS_PER_ACTIONS])]}


def button(b: Button, index: int, *, confirm: Block | None = None) -> Block:
    """A button that runs `b.action` for whoever presses it.

    `index` keeps action ids unique within one message or view, as Slack requires."""
    element: Block = {"type": "button", "action_id": f"{RUN_ACTION}_{index}",
                      "text": {"type": "plain_text", "text": truncate(b.label, _BUTTON_LABEL),
                               "emoji": True},
                      "value": truncate(b.action, _BUTTON_VALUE)}
    if b.style in ("primary", "danger"):  # Slack has no "secondary": that is the default
        element["style"] = b.style
    if confirm is not None:
        element["confirm"] = confirm
    return element


def _field_sections(fields: tuple[Field, ...]) -> list[Block]:
    """Inline fields side by side (two columns, ten per section), others full width."""
    out: list[Block] = []
    row: list[Block] = []
    for f in fields:
        text = {"type": "mrkdwn",
                "text": truncate(f"*{mrkdwn(f.name)}*\n{rich(f.value)}", _FIELD)}
        if f.inline:
            row.append(text)
            if len(row) == _FIELDS_PER_SECTION:
                out.append({"type": "section", "fields": row})
                row = []
            continue
        if row:
            out.append({"type": "section", "fields": row})
            row = []
        out.append({"type": "section", "text": {**text, "text": truncate(text["text"],
                                                                          _SECTION)}})
    if row:
        out.append({"type": "section", "fields": row})
    return out


def _chunks(text: str, limit: int) -> list[str]:
    """Split at line breaks into pieces of at most `limit` characters."""
    if not text.strip():
        return []
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one very long line: hard cut
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return chunks
