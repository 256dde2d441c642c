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
from engine.messages import Card
from engine.refs import MemberRef
from engine.service import Engine

__all__ = [
    "Command",
    "Context",
    "Handler",
    "OptionSpec",
    "OptionType",
    "Reply",
]


@dataclass(frozen=True, slots=True)
class Reply:
    """What a command answers: a card, shown to everyone or only to the caller."""

    card: Card
    ephemeral: bool = False

    @classmethod
    def text(cls, text: str, *, title: str = "", ephemeral: bool = False) -> Reply:
        return cls(Card(title=title, text=text), ephemeral)

    @classmethod
    def error(cls, message: str, *, usage: str | None = None) -> Reply:
        text = f"{message}\nUsage: `{usage}`" if usage else message
        return cls(Card(title="", text=f"⚠️ {text}", color="red"), ephemeral=True)


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
