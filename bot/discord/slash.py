"""Discord application commands generated from the command tree, and reading them back.

A group (`/challenge`) becomes one command with a subcommand per member of the group; a
top-level command (`/leaderboard`) stays one command. Typed options map to Discord's
option types; times, spans and choices travel as strings and are converted by the same
rules as typed text (`commands.parsing.convert`).

Permissions: Discord attaches default member permissions to a whole top-level command,
never to a subcommand. A command or group that only moderators may run is hidden from
members without Manage Server (server admins can grant it to the moderator role under
Server Settings → Integrations); mixed groups such as `/challenge` are visible to all.
Either way the moderator check runs on our side too (`commands.tree.execute`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.discord.payloads import AttachmentData, CommandData, CommandOptionData
from commands.parsing import OptionSpec, OptionType, ParseError, convert
from commands.spec import Command
from commands.tree import COMMANDS, TREE, groups
from engine.ids import as_id

__all__ = [
    "MANAGE_GUILD",
    "UPLOAD",
    "Invocation",
    "application_commands",
    "bind_options",
    "completion_source",
    "discord_options",
    "invocation",
]

MANAGE_GUILD = 1 << 5

# Discord's application command option types.
SUB_COMMAND, STRING, INTEGER, BOOLEAN, USER, CHANNEL, NUMBER, ATTACHMENT = 1, 3, 4, 5, 6, 7, 10, 11
OPTION_TYPES: dict[OptionType, int] = {
    OptionType.STRING: STRING, OptionType.INTEGER: INTEGER, OptionType.NUMBER: NUMBER,
    OptionType.BOOLEAN: BOOLEAN, OptionType.MEMBER: USER, OptionType.CHANNEL: CHANNEL,
    OptionType.TIME: STRING, OptionType.DURATION: STRING, OptionType.CHOICE: STRING,
}
_TEXT_CHANNELS = [0, 5]  # text and announcement channels
_GUILD_ONLY = [0]  # interaction context: servers (a community is a server)

# `/challenge submit` on Discord also takes an uploaded image; its URL becomes `image`
# (Discord's CDN signs attachment links; its clients refresh them where they are shown).
UPLOAD = "upload"
_UPLOAD_OPTION: dict[str, Any] = {"type": ATTACHMENT, "name": UPLOAD, "required": False,
                                  "description": "An image file to enter (instead of a link)"}


# Discord also completes entry numbers as they are typed (`/challenge feature entry:`).
_EXTRA_COMPLETION = {"entry": "entry"}


def completion_source(command: Command, option: str) -> str | None:
    """Where suggestions for `option` come from: challenge, entry, badge, or None."""
    return command.autocomplete.get(option) or _EXTRA_COMPLETION.get(option)


def _cut(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _option(spec: OptionSpec, command: Command) -> dict[str, Any]:
    out: dict[str, Any] = {"type": OPTION_TYPES[spec.type], "name": spec.name,
                           "description": _cut(spec.description), "required": spec.required}
    if spec.type is OptionType.CHOICE:
        out["choices"] = [{"name": c, "value": c} for c in spec.choices]
    elif completion_source(command, spec.name) is not None:
        out["autocomplete"] = True
    if spec.type is OptionType.CHANNEL:
        out["channel_types"] = _TEXT_CHANNELS
    if spec.type in (OptionType.INTEGER, OptionType.NUMBER):
        bound = int if spec.type is OptionType.INTEGER else float
        if spec.min_value is not None:
            out["min_value"] = bound(spec.min_value)
        if spec.max_value is not None:
            out["max_value"] = bound(spec.max_value)
    if OPTION_TYPES[spec.type] == STRING and spec.max_length is not None:
        out["max_length"] = min(spec.max_length, 6000)
    return out


def discord_options(command: Command) -> list[dict[str, Any]]:
    """A command's options as Discord declares them (required ones first, as it wants)."""
    options = [_option(s, command) for s in command.options]
    if command.path == "challenge submit":
        options.append(dict(_UPLOAD_OPTION))
    return sorted(options, key=lambda o: not o["required"])


def _top_level(name: str, description: str, moderator: bool,
               options: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": 1, "name": name, "description": _cut(description), "options": options,
            "default_member_permissions": str(MANAGE_GUILD) if moderator else None,
            "contexts": _GUILD_ONLY, "integration_types": [0]}


def application_commands() -> list[dict[str, Any]]:
    """The whole tree as the payload of a bulk overwrite (PUT .../commands)."""
    out: list[dict[str, Any]] = []
    for group, members in groups().items():
        if group is None:
            continue
        anyone = [c.name for c in members if not c.moderator]
        mods = [c.name for c in members if c.moderator]
        text = f"{group.title()}: {', '.join(anyone + mods)}"
        subs = [{"type": SUB_COMMAND, "name": c.name, "description": _cut(c.description),
                 "options": discord_options(c)} for c in members]
        out.append(_top_level(group, text, not anyone, subs))
    for c in COMMANDS:
        if c.group is None:
            out.append(_top_level(c.name, c.description, c.moderator, discord_options(c)))
    return out


@dataclass(frozen=True, slots=True)
class Invocation:
    """What a command interaction names: the command, the values given, which one is
    being typed (autocomplete), and the attachments it carries."""

    command: Command
    values: dict[str, object]
    focused: str | None
    attachments: Mapping[str, AttachmentData]


def invocation(data: CommandData) -> Invocation | None:
    """Read an interaction's command data; None for a command not in the tree."""
    options: list[CommandOptionData] = list(data.get("options") or [])
    path = data["name"]
    if options and options[0]["type"] == SUB_COMMAND:
        path = f"{path} {options[0]['name']}"
        options = list(options[0].get("options") or [])
    command = TREE.get(path)
    if command is None:
        return None
    values: dict[str, object] = {}
    focused: str | None = None
    for o in options:
        if "value" in o:
            values[o["name"]] = o["value"]
        if o.get("focused"):
            focused = o["name"]
    attachments = (data.get("resolved") or {}).get("attachments") or {}
    return Invocation(command, values, focused, attachments)


def bind_options(inv: Invocation, *, tz: ZoneInfo, now: datetime) -> dict[str, object]:
    """The neutral arguments for an invocation: every declared option, typed (None when
    not given). Raises ParseError as typed text would."""
    command = inv.command
    args: dict[str, object] = {}
    for spec in command.options:
        raw = inv.values.get(spec.name)
        if raw is None:
            args[spec.name] = None
        elif OPTION_TYPES[spec.type] == STRING or spec.type in (OptionType.INTEGER,
                                                                OptionType.NUMBER):
            # Numbers too: typed text's rules (ranges, NaN, 64 bits) hold for any payload.
            args[spec.name] = convert(spec, str(raw), tz=tz, now=now, usage=command.usage)
        elif spec.type is OptionType.BOOLEAN:
            args[spec.name] = bool(raw)
        else:  # members and channels arrive as ids (snowflakes)
            snowflake = as_id(str(raw))
            if snowflake is None:
                raise ParseError(f"{spec.name} must be a {spec.type.value} of this server.",
                                 option=spec.name, usage=command.usage)
            args[spec.name] = str(snowflake)
    upload = inv.values.get(UPLOAD)
    if upload is not None:
        args["image"] = _uploaded_image(inv, str(upload), args.get("image"))
    missing = [s.name for s in command.options if s.required and args[s.name] is None]
    if missing:
        raise ParseError(f"Missing {', '.join(missing)}.", option=missing[0],
                         usage=command.usage)
    return args


def _uploaded_image(inv: Invocation, attachment_id: str, link: object) -> str:
    if link:
        raise ParseError("Give an image link or upload an image, not both.", option="image",
                         usage=inv.command.usage)
    found = inv.attachments.get(attachment_id)
    if found is None:
        raise ParseError("The uploaded file did not arrive; please try again.",
                         option=UPLOAD, usage=inv.command.usage)
    if not found.get("content_type", "").startswith("image/"):
        raise ParseError(f"{found['filename']} is not an image: upload a picture, or give a "
                         "link instead.", option=UPLOAD, usage=inv.command.usage)
    return found["url"]
