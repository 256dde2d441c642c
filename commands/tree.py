"""The whole command tree, and running a command from typed arguments or from text."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from commands import challenge, dashboard, members, points, settings, sharing
from commands.parsing import OptionType, ParseError, bind, closest, shorten, tokenize
from commands.spec import Command, Context, Reply
from engine.errors import LaurelsError
from engine.messages import Card
from engine.refs import MemberRef
from engine.service import Engine
from engine.text import clean_text

__all__ = ["COMMANDS", "TREE", "execute", "execute_text", "groups", "help_card", "resolve"]

log = logging.getLogger(__name__)


async def _help(ctx: Context) -> Reply:
    return Reply(help_card(), ephemeral=True)


COMMANDS: tuple[Command, ...] = (
    *challenge.COMMANDS, *members.COMMANDS, *points.COMMANDS, *settings.COMMANDS,
    *dashboard.COMMANDS,
    Command("help", "What Laurels can do", _help),
)
TREE: dict[str, Command] = {c.path: c for c in COMMANDS}


def groups() -> dict[str | None, list[Command]]:
    out: dict[str | None, list[Command]] = {}
    for c in COMMANDS:
        out.setdefault(c.group, []).append(c)
    return out


def help_card() -> Card:
    lines = [f"`{c.usage}`{' (moderators)' if c.moderator else ''}: {c.description}"
             for c in COMMANDS]
    return Card(title="Laurels commands", text="\n".join(lines),
                footer="Options can be given in order or as name:value; quote text with spaces.")


def resolve(tokens: list[str], help_hint: str = "/help") -> tuple[Command, list[str]]:
    """The command named by the first one or two tokens, and the remaining tokens.

    `help_hint` is how the platform's members reach the help (Slack: `/laurels help`).
    """
    if not tokens:
        raise ParseError(f"Type a command, e.g. /challenge list. Try {help_hint}.", option=None)
    head = tokens[0].lstrip("/").lower()
    if len(tokens) > 1 and f"{head} {tokens[1].lower()}" in TREE:
        return TREE[f"{head} {tokens[1].lower()}"], tokens[2:]
    if head in TREE:
        return TREE[head], tokens[1:]
    subs = [c.name for c in COMMANDS if c.group == head]
    if subs and len(tokens) > 1:
        typed = tokens[1].lower()
        hint = closest(typed, subs)
        fix = f" Did you mean /{head} {hint}?" if hint else ""
        raise ParseError(f"/{head} has no subcommand '{shorten(tokens[1])}'.{fix} "
                         f"It has: {', '.join(subs)}.", option=None)
    if subs:
        raise ParseError(f"/{head} needs a subcommand: {', '.join(subs)}.", option=None)
    hint = closest(head, sorted({c.group or c.name for c in COMMANDS}))
    fix = f" Did you mean /{hint}?" if hint else ""
    raise ParseError(f"Unknown command /{shorten(head)}.{fix} Try {help_hint}.", option=None)


async def _context(engine: Engine, member: MemberRef, args: dict[str, object],
                   channel_id: str | None) -> Context:
    community = await engine.community(member.community)
    return Context(engine, member, args, channel_id, engine.clock.now(),
                   ZoneInfo(community.timezone))


async def execute(engine: Engine, command: Command, member: MemberRef,
                  args: dict[str, object], channel_id: str | None = None) -> Reply:
    """Run a command with already-typed arguments (Discord options, buttons, modals)."""
    try:
        if command.moderator:
            await engine.require_moderator(member)
        reply = await command.handler(await _context(engine, member, args, channel_id))
        return sharing.private(reply, command, args)
    except LaurelsError as exc:
        return Reply.error(exc.message)
    except ParseError as exc:
        return Reply.error(exc.message, usage=command.usage)


async def execute_text(engine: Engine, member: MemberRef, text: str,
                       channel_id: str | None = None, *, help_hint: str = "/help") -> Reply:
    """Run a command typed as text (Slack, the console): `/challenge submit x "Title"`.

    `/share <line>` (a Share button's action) runs `line` and posts its answer publicly,
    naming who shared it (commands/sharing.py)."""
    command: Command | None = None
    text = clean_text(text, multiline=True)  # what cannot be stored or shown goes first
    line = sharing.shared_line(text)
    if line is not None:
        return await _share(engine, member, line, channel_id, help_hint)
    try:
        command, rest = resolve(tokenize(text), help_hint)
        community = await engine.community(member.community)
        tz = ZoneInfo(community.timezone)
        args = bind(command.options, rest, usage=command.usage, tz=tz, now=engine.clock.now())
    except ParseError as exc:
        return Reply.error(exc.message, usage=exc.usage or (command.usage if command else None))
    return await execute(engine, command, member, args, channel_id)


async def _share(engine: Engine, member: MemberRef, line: str, channel_id: str | None,
                 help_hint: str) -> Reply:
    try:
        command, _ = resolve(tokenize(line), help_hint)
    except ParseError as exc:
        return Reply.error(exc.message)
    if not command.answers:  # refused before it runs: Share never acts
        return Reply.error("Only answers can be shared, like /leaderboard or /profile.")
    reply = await execute_text(engine, member, line, channel_id, help_hint=help_hint)
    shared = sharing.public(reply, member)
    if shared is not None:
        return shared
    if reply.is_error:
        return reply  # a refusal: said to the presser alone
    return Reply.error("Only answers can be shared, like /leaderboard or /profile.")


def option_types(commands: Iterable[Command] = COMMANDS) -> set[OptionType]:
    return {o.type for c in commands for o in c.options}
