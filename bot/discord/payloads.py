"""The raw Discord payload fields this adapter reads, as TypedDicts.

discord.py hands interaction data over as plain dicts (`Interaction.data`); only what the
adapter reads is declared. Shapes follow Discord's API reference (Interactions, Application
Commands).
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

__all__ = [
    "AttachmentData",
    "CommandData",
    "CommandOptionData",
    "ComponentData",
    "ResolvedData",
]


class CommandOptionData(TypedDict):
    """One option of an invoked command; subcommands nest their options."""

    name: str
    type: int
    value: NotRequired[str | int | float | bool]
    options: NotRequired[list[CommandOptionData]]
    focused: NotRequired[bool]


class AttachmentData(TypedDict):
    id: str
    filename: str
    url: str
    size: int
    content_type: NotRequired[str]


class ResolvedData(TypedDict, total=False):
    attachments: dict[str, AttachmentData]


class CommandData(TypedDict):
    """`data` of an APPLICATION_COMMAND or APPLICATION_COMMAND_AUTOCOMPLETE interaction."""

    id: str
    name: str
    type: int
    options: NotRequired[list[CommandOptionData]]
    resolved: NotRequired[ResolvedData]


class ComponentData(TypedDict):
    """`data` of a MESSAGE_COMPONENT interaction (a button press)."""

    custom_id: str
    component_type: int
