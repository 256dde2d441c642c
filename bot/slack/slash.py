"""Slack slash commands from the command tree: one per group or top-level command.

`/challenge submit x` arrives as command "/challenge", text "submit x"; the two are joined
back into the line the neutral grammar reads. `/laurels` takes a whole command line
(`/laurels challenge list`) and shows the help on its own: a generic name such as
`/help` would collide with other apps.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.text import command_text, truncate
from commands.tree import COMMANDS, groups

__all__ = ["HELP_COMMAND", "SlashCommand", "command_line", "slash_commands"]

HELP_COMMAND = "/laurels"


@dataclass(frozen=True, slots=True)
class SlashCommand:
    name: str  # "/challenge"
    description: str
    usage_hint: str


def slash_commands() -> list[SlashCommand]:
    """What the app registers with Slack, derived from the tree (see the manifest)."""
    out: list[SlashCommand] = []
    for group, members in groups().items():
        if group is None:
            continue
        anyone = [c.name for c in members if not c.moderator]
        mods = [c.name for c in members if c.moderator]
        if anyone:
            text = f"{group.title()}: {', '.join(anyone)}"
            text += f"; moderators: {', '.join(mods)}" if mods else ""
        else:
            text = f"{group.title()} (moderators): {', '.join(mods)}"
        out.append(SlashCommand(f"/{group}", truncate(text, 100),
                                truncate(" | ".join(anyone + mods), 100)))
    for c in COMMANDS:
        if c.group is None and c.name != "help":
            hint = c.usage.removeprefix(f"/{c.name}").strip()
            out.append(SlashCommand(f"/{c.name}", truncate(c.description, 100),
                                    truncate(hint, 100)))
    out.append(SlashCommand(HELP_COMMAND, "Laurels help, or any Laurels command",
                            "[command line, e.g. challenge list]"))
    return out


def command_line(command: str, text: str) -> str:
    """The neutral command line for a Slack slash command and its (escaped) text."""
    rest = command_text(text).strip()
    if command == HELP_COMMAND:
        return rest or "help"
    return f"{command} {rest}".strip()
