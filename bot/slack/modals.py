"""Modals for the commands that are awkward to type: creating a challenge, submitting.

A modal is built from the command's own option declarations (one input per option, in
declared order) and its submission is converted with the same `convert` as typed text,
so the form and the slash command accept and refuse exactly the same values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.slack.text import truncate
from commands.parsing import OptionSpec, OptionType, ParseError, convert, tokenize
from commands.spec import Command
from commands.tree import resolve

__all__ = [
    "MODAL_CALLBACK",
    "FormErrors",
    "ModalMeta",
    "ModalRequest",
    "modal_request",
    "modal_view",
    "read_submission",
]

MODAL_CALLBACK = "laurels_modal"
_ACTION = "value"  # every input's action_id: the block_id (option name) tells them apart
_MODAL_COMMANDS = ("challenge create", "challenge submit")
_LONG_TEXT = 1000  # strings allowed to be this long (a prompt) get a multi-line input


class FormErrors(Exception):
    """Values the command refuses, by option name (Slack shows each under its input)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class ModalRequest:
    """A command line that opens a form instead of running."""

    command: Command
    prefill: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModalMeta:
    """What the modal remembers until it is submitted (in `private_metadata`)."""

    command: str  # the command's path, "challenge submit"
    channel_id: str | None = None
    response_url: str | None = None  # the slash command's: valid 30 minutes, for the answer

    def dump(self) -> str:
        return json.dumps({"c": self.command, "ch": self.channel_id, "r": self.response_url})

    @classmethod
    def load(cls, raw: str) -> ModalMeta:
        data = json.loads(raw or "{}")
        return cls(str(data.get("c") or ""), data.get("ch"), data.get("r"))


def modal_request(line: str) -> ModalRequest | None:
    """`/challenge create` with nothing else, or `/challenge submit` with at most the
    challenge, opens a form; anything else runs as typed."""
    try:
        command, rest = resolve(tokenize(line))
    except ParseError:
        return None
    if command.path not in _MODAL_COMMANDS:
        return None
    if command.path == "challenge create":
        return ModalRequest(command) if not rest else None
    if not rest:
        return ModalRequest(command)
    if len(rest) == 1:
        value = rest[0]
        name, sep, named = value.partition(":")
        if sep and name.lower() == "challenge":
            value = named
        elif sep and getattr(value, "bare", 0) > len(name):
            return None  # some other option by name: let the grammar answer
        return ModalRequest(command, {"challenge": value})
    return None


def modal_view(command: Command, meta: ModalMeta, *,
               choices: Mapping[str, Sequence[tuple[str, str]]] | None = None,
               initial: Mapping[str, str] | None = None) -> dict[str, object]:
    """The modal for `command`. `choices` turns a free-text option into a menu of
    (value, label) pairs (e.g. the challenges taking entries); `initial` preselects."""
    choices = choices or {}
    initial = initial or {}
    blocks = [_input(opt, choices.get(opt.name), initial.get(opt.name))
              for opt in command.options]
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "title": _plain(truncate(command.description, 24)),
        "submit": _plain("Create" if command.name == "create" else "Submit"),
        "close": _plain("Cancel"),
        "private_metadata": meta.dump(),
        "blocks": blocks,
    }


def read_submission(command: Command, values: Mapping[str, Mapping[str, Mapping[str, object]]],
                    *, tz: ZoneInfo, now: datetime) -> dict[str, object]:
    """Typed arguments from a submitted modal's `state.values`; raises FormErrors."""
    args: dict[str, object] = {}
    errors: dict[str, str] = {}
    for opt in command.options:
        raw = _raw_value(values.get(opt.name, {}).get(_ACTION, {}))
        if raw is None or not raw.strip():
            args[opt.name] = None
            if opt.required:  # Slack checks this too; a hand-made payload may not
                errors[opt.name] = f"{_label(opt.name)} is required."
            continue
        try:
            args[opt.name] = convert(opt, raw, tz=tz, now=now, usage=command.usage)
        except ParseError as exc:
            errors[opt.name] = exc.message
    if errors:
        raise FormErrors(errors)
    return args


# --- building inputs -------------------------------------------------------------------


def _plain(text: str) -> dict[str, object]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _option(value: str, label: str) -> dict[str, object]:
    return {"text": _plain(truncate(label, 75)), "value": truncate(value, 150)}


def _input(opt: OptionSpec, menu: Sequence[tuple[str, str]] | None,
           initial: str | None) -> dict[str, object]:
    element = _element(opt, menu, initial)
    block: dict[str, object] = {
        "type": "input", "block_id": opt.name, "label": _plain(_label(opt.name)),
        "hint": _plain(truncate(opt.description, 2000)), "optional": not opt.required,
        "element": element,
    }
    return block


def _element(opt: OptionSpec, menu: Sequence[tuple[str, str]] | None,
             initial: str | None) -> dict[str, object]:
    if menu is not None or opt.type is OptionType.CHOICE:
        pairs = list(menu) if menu is not None else [(c, c) for c in opt.choices]
        options = [_option(value, label) for value, label in pairs[:100]]
        element: dict[str, object] = {"type": "static_select", "action_id": _ACTION,
                                      "options": options}
        chosen = next((o for o in options if o["value"] == initial), None)
        if chosen is None and opt.required and opt.type is OptionType.CHOICE:
            chosen = options[0]  # e.g. kind: submission, the common case
        if chosen is not None:
            element["initial_option"] = chosen
        return element
    if opt.type is OptionType.CHANNEL:
        return {"type": "conversations_select", "action_id": _ACTION,
                "default_to_current_conversation": True,
                "filter": {"include": ["public", "private"], "exclude_bot_users": True}}
    if opt.type is OptionType.MEMBER:
        return {"type": "users_select", "action_id": _ACTION}
    if opt.type is OptionType.BOOLEAN:
        return {"type": "checkboxes", "action_id": _ACTION,
                "options": [_option("yes", "Yes")]}
    if opt.type in (OptionType.INTEGER, OptionType.NUMBER):
        number: dict[str, object] = {"type": "number_input", "action_id": _ACTION,
                                     "is_decimal_allowed": opt.type is OptionType.NUMBER}
        for key, bound in (("min_value", opt.min_value), ("max_value", opt.max_value)):
            if bound is not None:
                # Slack wants plain decimals: "1000000000", never "1e+09".
                number[key] = (f"{bound:f}".rstrip("0").rstrip(".")
                               if opt.type is OptionType.NUMBER else str(int(bound)))
        if initial:
            number["initial_value"] = initial
        return number
    element = {"type": "plain_text_input", "action_id": _ACTION}
    if opt.max_length is not None:
        element["max_length"] = min(opt.max_length, 3000)
        element["multiline"] = opt.max_length >= _LONG_TEXT
    if initial:
        element["initial_value"] = initial
    return element


def _raw_value(state: Mapping[str, object]) -> str | None:
    """The submitted value of one input as the text the grammar would have received."""
    kind = state.get("type")
    if kind in ("static_select", "external_select"):
        option = state.get("selected_option")
        return str(option["value"]) if isinstance(option, dict) else None
    if kind == "conversations_select":
        return _str_or_none(state.get("selected_conversation"))
    if kind == "channels_select":
        return _str_or_none(state.get("selected_channel"))
    if kind == "users_select":
        return _str_or_none(state.get("selected_user"))
    if kind == "checkboxes":
        selected = state.get("selected_options")
        return "yes" if selected else None
    return _str_or_none(state.get("value"))


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
