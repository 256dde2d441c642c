"""Answers for the caller alone, and sharing them.

The rule, in one place: an answer to a member's own question (a board, a profile, a
challenge's details and their part in it) speaks to them, so it is theirs alone. It is
shown privately, with a Share button. Share runs the same command again for whoever
presses it and posts a public version: without what was the caller's own ("You: #3 with
120 pts"), or with it phrased for everyone, and naming who shared it.

Commands declare that they answer (`Command.answers`); their handlers say which line is
the caller's own with `answer(...)`. `commands.tree.execute` applies the rule
(`private`), and `/share <command line>` (the button's action) runs only such commands
and builds the public version (`public`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from commands.parsing import OptionType
from commands.spec import Answer, Command, Reply
from engine.messages import Button, Card, Field
from engine.refs import MemberRef

__all__ = ["SHARE", "answer", "line_of", "private", "public", "shared_line"]

SHARE = "/share"
_SHARE_LINE = re.compile(r"^\s*/?share(?:\s+(.*))?$", re.IGNORECASE | re.DOTALL)
_ID = re.compile(r"[A-Za-z0-9]+")
_QUOTED = re.compile(r"([\\\"'“”„‘’])")


def answer(card: Card, *, you: Field | None = None, you_shared: str | None = None,
           line_args: Mapping[str, object] | None = None) -> Reply:
    """The reply of a command that `answers`, with what in it is the caller's own.

    `you`: the caller's own line, in `card` (shown to them alone). `you_shared`: how it
    reads when they share it, after "Shared by @name, "; None leaves it out. `line_args`:
    values the Share button should give instead of what was typed (a challenge's slug
    for a name typed in full)."""
    return Reply(card, ephemeral=True,
                 answer=Answer(you, you_shared, dict(line_args or {})))


def private(reply: Reply, command: Command, args: Mapping[str, object]) -> Reply:
    """The rule applied: an answer is shown to the caller alone, with a Share button."""
    if not command.answers or reply.is_error:
        return reply
    found = reply.answer or Answer()
    line = line_of(command, {**args, **found.line_args})
    buttons = reply.card.buttons
    if line is not None:
        buttons = (*buttons, Button("Share", f"{SHARE} {line}"))
    return replace(reply, card=replace(reply.card, buttons=buttons), ephemeral=True,
                   answer=found)


def public(reply: Reply, sharer: MemberRef) -> Reply | None:
    """The shared version of an answer, naming who shared it (None: not an answer)."""
    if reply.answer is None:
        return None
    you, you_shared = reply.answer.you, reply.answer.you_shared
    fields = [f for f in reply.card.fields if you is None or f != you]
    by = f"<@{sharer.user_id}>" + (f", {you_shared}" if you_shared else "")
    fields.append(Field("Shared by", by, inline=False))
    buttons = tuple(b for b in reply.card.buttons if not b.action.startswith(SHARE))
    card = replace(reply.card, fields=tuple(fields), buttons=buttons)
    return Reply(card, ephemeral=False, shared=True)


def shared_line(text: str) -> str | None:
    """The command line a `/share <line>` asks to share; None for any other line."""
    m = _SHARE_LINE.match(text)
    return None if m is None else (m[1] or "").strip()


def line_of(command: Command, args: Mapping[str, object]) -> str | None:
    """A command line that runs `command` with `args` again (None: a value a line cannot
    carry). Values go by name, quoted, so the grammar reads back exactly `args`."""
    parts = [f"/{command.path}"]
    for spec in command.options:
        value = args.get(spec.name)
        if value is None:
            continue
        text = _value(spec.type, value)
        if text is None:
            return None
        parts.append(f"{spec.name}:{text}")
    return " ".join(parts)


def _value(kind: OptionType, value: object) -> str | None:
    if kind in (OptionType.INTEGER, OptionType.CHOICE):
        return str(value)
    if kind is OptionType.BOOLEAN:
        return "yes" if value else "no"
    if kind is OptionType.MEMBER and _ID.fullmatch(str(value)):
        return f"<@{value}>"
    if kind is OptionType.MEMBER:
        return _quote(f"@{value}")
    if kind is OptionType.CHANNEL and _ID.fullmatch(str(value)):
        return f"<#{value}>"
    if kind is OptionType.TIME and isinstance(value, datetime):
        return value.isoformat()
    if kind is OptionType.STRING:
        return _quote(str(value))
    return None  # numbers and spans: no command that answers takes one


def _quote(text: str) -> str:
    return '"' + _QUOTED.sub(r"\\\1", text) + '"'
