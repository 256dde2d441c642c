"""Neutral messages: what an announcement or a command reply says, for any platform.

Times in a card's text and field values are moment tokens (engine/moments.py): data
until a platform renders them, so each reader sees their own zone and a live time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from engine import moments

__all__ = ["Button", "Card", "Field"]


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    value: str
    inline: bool = True


@dataclass(frozen=True, slots=True)
class Button:
    """A button: `action` is a command line the adapter runs for whoever presses it."""

    label: str
    action: str
    style: str = "secondary"  # primary | secondary | danger


@dataclass(frozen=True, slots=True)
class Card:
    """A rich message: Discord renders an embed, Slack Block Kit, the console plain text.

    `text` and field values may hold moments (engine/moments.py); `title` and `footer`
    are plain. `summary` is the card in one sentence, for what shows one line (a
    notification, a screen reader's announcement) when the card's text would not say
    enough on its own (a profile is all fields).
    """

    title: str = ""
    text: str = ""
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    image_url: str | None = None
    url: str | None = None
    footer: str | None = None
    color: str | None = None  # a name (gold, green, red, blue, grey); adapters map it
    mention: str | None = None  # a platform user id to mention
    react_with: str | None = None  # canonical emoji the bot adds after posting
    summary: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Card:
        # Rows written before a field existed lack it: its default applies.
        data = dict(data)
        data["fields"] = tuple(Field(**f) for f in data.get("fields", ()))
        data["buttons"] = tuple(Button(**b) for b in data.get("buttons", ()))
        return cls(**data)

    def plain_text(self) -> str:
        """The card as lines of text (console, notifications, fallbacks)."""
        lines = [f"**{self.title}**"] if self.title else []
        if self.text:
            lines.append(moments.plain(self.text))
        lines.extend(f"{f.name}: {moments.plain(f.value)}" for f in self.fields)
        if self.image_url:
            lines.append(f"[image] {self.image_url}")
        if self.footer:
            lines.append(f"_{self.footer}_")
        if self.buttons:
            lines.append(" ".join(f"[{b.label}]" for b in self.buttons))
        return "\n".join(lines)
