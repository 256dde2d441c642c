"""Commands declared once: names, typed options, who may run them, and a handler.

Adapters register the same tree as Discord application commands, Slack slash commands
and console commands; handlers return a neutral `Reply`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from commands.parsing import OptionSpec, OptionType
from engine.messages import Card, Field
from engine.refs import MemberRef
from engine.service import Engine

__all__ = [
    "Answer",
    "Command",
    "Context",
    "Handler",
    "OptionSpec",
    "OptionType",
    "Reply",
]


@dataclass(frozen=True, slots=True)
class Answer:
    """What makes a reply an answer to the caller's own question (commands/sharing.py)."""

    you: Field | None = None  # the caller's own line in the card
    you_shared: str | None = None  # that line as it reads when they share it
    line_args: dict[str, object] = field(default_factory=dict)  # for the Share line


@dataclass(frozen=True, slots=True)
class Reply:
    """What a command answers: a card, shown to everyone or only to the caller.

    `answer`: what a command that `answers` says of the caller alone (its "You" line;
    `commands.sharing.answer`). `shared`: the public version of an answer, posted for
    everyone even when it answers a button press (whose answers are otherwise private)."""

    card: Card
    ephemeral: bool = False
    answer: Answer | None = None
    shared: bool = False

    @classmethod
    def text(cls, text: str, *, title: str = "", ephemeral: bool = False) -> Reply:
        return cls(Card(title=title, text=text), ephemeral)

    @classmethod
    def error(cls, message: str, *, usage: str | None = None) -> Reply:
        text = f"{message}\nUsage: `{usage}`" if usage else message
        return cls(Card(title="", text=f"⚠️ {text}", color="red"), ephemeral=True)

    @property
    def is_error(self) -> bool:
        """An `error` answer (a refusal, a parse error): red, private, "⚠️ ..."."""
        return self.ephemeral and self.card.color == "red" and self.card.text.startswith("⚠️")


@dataclass(frozen=True, slots=True)
class Context:
    """One invocation: who, where, with which typed arguments."""

    engine: Engine
    member: MemberRef
    args: dict[str, object]
    channel_id: str | None
    now: datetime
    tz: ZoneInfo

    def arg(self, name: str, default: object = None) -> object:
        value = self.args.get(name)
        return default if value is None else value

    def str_arg(self, name: str) -> str | None:
        value = self.args.get(name)
        return None if value is None else str(value)


Handler = Callable[[Context], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Command:
    """A slash command (`group` + `name`, or a top-level `name`)."""

    name: str
    description: str
    handler: Handler
    group: str | None = None
    options: tuple[OptionSpec, ...] = ()
    moderator: bool = False
    # Answers the caller's own question (a board, a profile): private, with a Share button
    # (commands/sharing.py).
    answers: bool = False
    # option name -> completion source: "challenge", "entry", "badge"
    autocomplete: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"{self.group} {self.name}" if self.group else self.name

    @property
    def usage(self) -> str:
        parts = [f"/{self.path}"]
        for opt in self.options:
            parts.append(f"<{opt.name}>" if opt.required else f"[{opt.name}]")
        return " ".join(parts)
