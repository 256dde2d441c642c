"""Discord application commands generated from the command tree, and reading them back.

The Discord tree is a projection of the one command tree (`commands.tree`), shaped by
permissions: Discord attaches default member permissions to a whole top-level command,
never to a subcommand, so a member sees every subcommand of a command they see. So:

* a top-level command (`/leaderboard`) stays one command;
* a group whose commands anyone may run, or only moderators (`/settings`), becomes one
  command with a subcommand each;
* a group that mixes both keeps its members' commands (`/challenge list`) and moves its
  moderators' ones under `/mod`, a command of subcommand groups (`/mod challenge
  create`, `/mod points award`).

A command whose subcommands are all for moderators is hidden from members without Manage
Server (server admins can grant it to the moderator role under Server Settings →
Integrations): a plain member sees exactly what they may run. The moderator check still
runs on our side (`commands.tree.execute`): permissions can be changed per server.
Texts that name a moved command (`/challenge create` in the help) are spelt the
Discord way when rendered (`discord_spelling`).

Typed options map to Discord's option types; times, spans and choices travel as strings
and are converted by the same rules as typed text (`commands.parsing.convert`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.discord.payloads import AttachmentData, CommandData, CommandOptionData
from commands.parsing import OptionSpec, OptionType, ParseError, convert
from commands.spec import Command
from commands.tree import COMMANDS, groups
from engine.ids import as_id

__all__ = [
    "MANAGE_GUILD",
    "MOD",
    "UPLOAD",
    "Invocation",
    "application_commands",
    "bind_options",
    "completion_source",
    "discord_options",
    "discord_path",
    "discord_spelling",
    "invocation",
]

MANAGE_GUILD = 1 << 5

# The top-level command holding the moderators' commands of groups that mix both.
MOD = "mod"
# Discord's limits: top-level commands, and options (subcommands, groups) per level.
MAX_COMMANDS, MAX_OPTIONS = 100, 25

# Discord's application command option types.
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 10, 11
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


def _mixed(group: str | None) -> bool:
    members = groups().get(group, []) if group else []
    return any(c.moderator for c in members) and not all(c.moderator for c in members)


def discord_path(command: Command) -> tuple[str, ...]:
    """Where `command` sits in Discord's tree: ('leaderboard',), ('challenge', 'list'),
    ('settings', 'show'), ('mod', 'challenge', 'create')."""
    if command.group is None:
        return (command.name,)
    if command.moderator and _mixed(command.group):
        return (MOD, command.group, command.name)
    return (command.group, command.name)


_BY_PATH: dict[tuple[str, ...], Command] = {discord_path(c): c for c in COMMANDS}
_MOVED = {c.path: " ".join(discord_path(c)) for c in COMMANDS if len(discord_path(c)) == 3}
_MOVED_TEXT = re.compile(r"(?<![\w/-])/(" + "|".join(re.escape(p).replace(r"\ ", r"\s+")
                                                     for p in _MOVED) + r")(?![\w-])"
                         ) if _MOVED else None


def discord_spelling(text: str) -> str:
    """`text` with the commands Discord spells differently spelt its way:
    "/challenge create" becomes "/mod challenge create"."""
    if _MOVED_TEXT is None or "/" not in text:
        return text
    return _MOVED_TEXT.sub(lambda m: "/" + _MOVED[" ".join(m[1].split())], text)


def _sub(command: Command) -> dict[str, Any]:
    return {"type": SUB_COMMAND, "name": command.name,
            "description": _cut(command.description), "options": discord_options(command)}


def _summary(name: str, commands: list[Command]) -> str:
    return f"{name.title()}: {', '.join(c.name for c in commands)}"


def application_commands() -> list[dict[str, Any]]:
    """The whole tree as the payload of a bulk overwrite (PUT .../commands)."""
    tops: dict[str, list[Command]] = {}
    for c in COMMANDS:
        tops.setdefault(discord_path(c)[0], []).append(c)
    out: list[dict[str, Any]] = []
    for name, members in tops.items():
        moderator = all(c.moderator for c in members)
        if name == MOD:
            by_group: dict[str, list[Command]] = {}
            for c in members:
                by_group.setdefault(str(c.group), []).append(c)
            options = [{"type": SUB_COMMAND_GROUP, "name": g, "description": _cut(
                _summary(g, cs)), "options": [_sub(c) for c in cs]}
                for g, cs in by_group.items()]
            text = "Moderators: " + ", ".join(by_group)
        elif len(members) == 1 and members[0].group is None:
            options, text = discord_options(members[0]), members[0].description
        else:
            options, text = [_sub(c) for c in members], _summary(name, members)
        if len(options) > MAX_OPTIONS or any(len(o.get("options") or []) > MAX_OPTIONS
                                             for o in options if o["type"] == SUB_COMMAND_GROUP):
            raise ValueError(f"/{name} holds more than Discord's {MAX_OPTIONS} per level")
        out.append(_top_level(name, text, moderator, options))
    if len(out) > MAX_COMMANDS:
        raise ValueError(f"{len(out)} commands: Discord takes {MAX_COMMANDS} at most")
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
    path = [data["name"]]
    while options and options[0]["type"] in (SUB_COMMAND_GROUP, SUB_COMMAND):
        path.append(options[0]["name"])
        options = list(options[0].get("options") or [])
    command = _BY_PATH.get(tuple(path))
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
