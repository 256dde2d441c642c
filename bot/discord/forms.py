"""Forms (Discord modals) for buttons whose command needs more than the button knows.

The "Submit an entry" button on an announcement runs `/challenge submit <slug>`: the
title (and a link, an image link) are still to come, so a form asks for them. The form
carries the button's command line in its custom_id; its inputs are the command's options
not given yet, converted by the same rules as typed text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import discord

from commands.parsing import OptionSpec, OptionType, ParseError, bind, convert, tokenize
from commands.spec import Command
from commands.tree import resolve

__all__ = ["FORM_PREFIX", "form_for", "read_form"]

FORM_PREFIX = "laurels-form:"
_TYPED = (OptionType.MEMBER, OptionType.CHANNEL)  # picked from lists, not typed
_INPUTS, _TITLE, _LABEL, _PLACEHOLDER, _CUSTOM_ID = 5, 45, 45, 100, 100


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _given(command: Command, rest: list[str], tz: ZoneInfo, now: datetime
           ) -> dict[str, object]:
    """The options the line already gives (nothing is required at this point)."""
    optional = [dataclasses.replace(s, required=False) for s in command.options]
    return bind(optional, rest, usage=command.usage, tz=tz, now=now)


def form_for(line: str, *, tz: ZoneInfo, now: datetime) -> discord.ui.Modal | None:
    """A form for `line` if it lacks required options a member can type; else None."""
    try:
        command, rest = resolve(tokenize(line))
        given = _given(command, rest, tz, now)
    except ParseError:
        return None
    missing = [s for s in command.options if given[s.name] is None]
    required = [s for s in missing if s.required]
    if not required or any(s.type in _TYPED for s in required):
        return None
    wanted = [*required, *(s for s in missing if not s.required and s.type not in _TYPED)]
    custom_id = FORM_PREFIX + line
    if len(custom_id) > _CUSTOM_ID or len(required) > _INPUTS:
        return None
    modal = discord.ui.Modal(title=_cut(command.description, _TITLE), custom_id=custom_id,
                             timeout=None)
    for spec in wanted[:_INPUTS]:
        modal.add_item(_input(spec))
    modal.stop()  # submissions are read by the adapter from the custom_id, not this object
    return modal


def _input(spec: OptionSpec) -> discord.ui.TextInput[Any]:
    long = (spec.max_length or 0) > 300
    return discord.ui.TextInput(
        label=_cut(spec.name.replace("_", " ").capitalize(), _LABEL), custom_id=spec.name,
        placeholder=_cut(spec.description, _PLACEHOLDER), required=spec.required,
        max_length=min(spec.max_length or 4000, 4000),
        style=discord.TextStyle.paragraph if long else discord.TextStyle.short)


def _values(components: list[Mapping[str, Any]]) -> dict[str, str]:
    """custom_id -> value of every text input in a submitted form (rows or labels)."""
    out: dict[str, str] = {}
    for c in components:
        if "value" in c and "custom_id" in c:
            out[str(c["custom_id"])] = str(c["value"])
        inner = c.get("components") or ([c["component"]] if "component" in c else [])
        out.update(_values(inner))
    return out


def read_form(data: Mapping[str, Any], *, tz: ZoneInfo, now: datetime
              ) -> tuple[Command, dict[str, object]] | None:
    """The command and its arguments from a submitted form (None: not a Laurels form).
    Raises ParseError for a value the command cannot use."""
    custom_id = str(data.get("custom_id") or "")
    if not custom_id.startswith(FORM_PREFIX):
        return None
    command, rest = resolve(tokenize(custom_id[len(FORM_PREFIX):]))
    args = _given(command, rest, tz, now)
    by_name = {s.name: s for s in command.options}
    for name, raw in _values(list(data.get("components") or [])).items():
        spec = by_name.get(name)
        if spec is not None and raw.strip():
            args[name] = convert(spec, raw, tz=tz, now=now, usage=command.usage)
    missing = [s.name for s in command.options if s.required and args.get(s.name) is None]
    if missing:
        raise ParseError(f"Missing {', '.join(missing)}.", option=missing[0],
                         usage=command.usage)
    return command, args
