"""Modals: forms for the commands awkward to type (creating a challenge, submitting), and
answers shown where a member pressed a button of the Home tab.

A form is built from the command's own option declarations (one input per option, in
declared order) and its submission is converted with the same `convert` as typed text,
so the form and the slash command accept and refuse exactly the same values.

Creating a challenge takes two steps: the first picks the kind, the second asks only for
what that kind uses (`commands.challenge.CREATE_OPTIONS`). Deadlines are date and time
pickers (each member picks in their own zone; left empty, a deadline takes its default
span after the milestone before it). The channel starts at the community's configured
announcements channel: left there, the challenge follows the configured channels (its
entries go to the entries channel).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.slack.render import Block, card_blocks
from bot.slack.text import truncate
from commands.challenge import CREATE_OPTIONS, DEADLINES
from commands.parsing import OptionSpec, OptionType, ParseError, convert, tokenize
from commands.sharing import SHARE
from commands.spec import Command, Reply
from commands.timeparse import parse_duration
from commands.tree import resolve
from engine.timefmt import span

__all__ = [
    "ANSWER_CALLBACK",
    "KIND_CALLBACK",
    "MODAL_CALLBACK",
    "FormErrors",
    "ModalMeta",
    "ModalRequest",
    "answer_view",
    "kind_view",
    "modal_request",
    "modal_view",
    "read_kind",
    "read_submission",
]

MODAL_CALLBACK = "laurels_modal"  # a command's form
KIND_CALLBACK = "laurels_kind"  # creating a challenge, first step: its kind
ANSWER_CALLBACK = "laurels_answer"  # an answer shown in a modal (no inputs, no submit)
CREATE = "challenge create"
_ACTION = "value"  # every input's action_id: the block_id (option name) tells them apart
_MODAL_COMMANDS = (CREATE, "challenge submit")
_LONG_TEXT = 1000  # strings allowed to be this long (a prompt) get a multi-line input
_KINDS = {"submission": "Submission: members post entries, everyone votes by reaction",
          "goal": "Goal: members log progress toward a target, alone or in teams"}


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
    fixed: dict[str, str] = field(default_factory=dict)  # options decided before the form
    default_channel: str | None = None  # preselected: kept, it means "the configured ones"
    home: bool = False  # opened from the Home tab: the answer shows there, not in Messages

    def dump(self) -> str:
        return json.dumps({"c": self.command, "ch": self.channel_id, "r": self.response_url,
                           "f": self.fixed, "dc": self.default_channel, "h": self.home})

    @classmethod
    def load(cls, raw: str) -> ModalMeta:
        data = json.loads(raw or "{}")
        fixed = data.get("f") if isinstance(data.get("f"), dict) else {}
        return cls(str(data.get("c") or ""), data.get("ch"), data.get("r"),
                   {str(k): str(v) for k, v in fixed.items()}, data.get("dc"),
                   data.get("h") is True)


def modal_request(line: str) -> ModalRequest | None:
    """`/challenge create` with at most its kind, or `/challenge submit` with at most the
    challenge, opens a form; anything else runs as typed."""
    try:
        command, rest = resolve(tokenize(line))
    except ParseError:
        return None
    if command.path not in _MODAL_COMMANDS:
        return None
    if not rest:
        return ModalRequest(command)
    if len(rest) != 1:
        return None
    first = command.options[0].name  # kind, challenge
    value = rest[0]
    name, sep, named = value.partition(":")
    if sep and name.lower() == first:
        value = named
    elif sep and getattr(value, "bare", 0) > len(name):
        return None  # some other option by name: let the grammar answer
    if command.path == CREATE and value.lower() not in _KINDS:
        return None  # the grammar says what kinds there are
    return ModalRequest(command, {first: value.lower() if command.path == CREATE else value})


def kind_view(meta: ModalMeta) -> dict[str, object]:
    """Creating a challenge, first step: which kind."""
    options = [_option(kind, label) for kind, label in _KINDS.items()]
    return {
        "type": "modal", "callback_id": KIND_CALLBACK,
        "title": _plain("Create a challenge"), "submit": _plain("Next"),
        "close": _plain("Cancel"), "private_metadata": meta.dump(),
        "blocks": [{"type": "input", "block_id": "kind", "label": _plain("Kind"),
                    "element": {"type": "radio_buttons", "action_id": _ACTION,
                                "options": options, "initial_option": options[0]}}],
    }


def read_kind(values: Mapping[str, Mapping[str, Mapping[str, object]]]) -> str:
    raw = _raw_value(values.get("kind", {}).get(_ACTION, {}))
    if raw not in _KINDS:
        raise FormErrors({"kind": "Pick submission or goal."})
    return raw


def modal_view(command: Command, meta: ModalMeta, *,
               choices: Mapping[str, Sequence[tuple[str, str]]] | None = None,
               initial: Mapping[str, str] | None = None) -> dict[str, object]:
    """The form for `command`, without the options `meta` already fixes (a challenge's
    kind; then only that kind's options). `choices` turns a free-text option into a menu
    of (value, label) pairs (e.g. the challenges taking entries); `initial` preselects."""
    choices = choices or {}
    initial = dict(initial or {})
    if meta.default_channel:
        initial.setdefault("channel", meta.default_channel)
    blocks = [_input(opt, choices.get(opt.name), initial.get(opt.name))
              for opt in _shown(command, meta)]
    title = command.description
    if command.path == CREATE and meta.fixed.get("kind") in _KINDS:
        title = f"New {meta.fixed['kind']} challenge"
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "title": _plain(truncate(title, 24)),
        "submit": _plain("Create" if command.name == "create" else "Submit"),
        "close": _plain("Cancel"),
        "private_metadata": meta.dump(),
        "blocks": blocks,
    }


def _shown(command: Command, meta: ModalMeta) -> list[OptionSpec]:
    """The inputs of the form, in order: a kind's own for a challenge of that kind."""
    kind = meta.fixed.get("kind")
    if command.path == CREATE and kind in CREATE_OPTIONS:
        by_name = {o.name: o for o in command.options}
        return [by_name[name] for name in CREATE_OPTIONS[kind]]
    return [o for o in command.options if o.name not in meta.fixed]


def read_submission(command: Command, values: Mapping[str, Mapping[str, Mapping[str, object]]],
                    *, tz: ZoneInfo, now: datetime,
                    fixed: Mapping[str, str] | None = None) -> dict[str, object]:
    """Typed arguments from a submitted modal's `state.values` (and the options fixed
    before the form); raises FormErrors."""
    fixed = fixed or {}
    args: dict[str, object] = {}
    errors: dict[str, str] = {}
    for opt in command.options:
        raw = fixed.get(opt.name)
        if raw is None:
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


def answer_view(reply: Reply) -> dict[str, object]:
    """An answer as a modal (where a Home tab's button was pressed). Its buttons work in
    the modal; Share is left out: there is no conversation to share into."""
    card = reply.card
    card = replace(card, buttons=tuple(b for b in card.buttons
                                       if not b.action.startswith(SHARE)))
    blocks: list[Block] = card_blocks(card)
    return {"type": "modal", "callback_id": ANSWER_CALLBACK, "title": _plain("Laurels"),
            "close": _plain("Close"), "blocks": blocks[:100]}


# --- building inputs -------------------------------------------------------------------


def _plain(text: str) -> dict[str, object]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _option(value: str, label: str) -> dict[str, object]:
    return {"text": _plain(truncate(label, 75)), "value": truncate(value, 150)}


_AFTER = {"start": "the start", "submissions": "submissions close"}


def _hint(opt: OptionSpec) -> str:
    if opt.name in DEADLINES:
        default, after = DEADLINES[opt.name]
        if default is None:
            return "Empty: now. Pick in your own time zone."
        return f"Empty: {span(parse_duration(default))} after {_AFTER.get(after, after)}."
    if opt.type is OptionType.CHANNEL:
        return ("Where its announcements and entries go. Left as preselected (or empty): "
                "the configured channels, entries in the entries channel.")
    return opt.description


def _input(opt: OptionSpec, menu: Sequence[tuple[str, str]] | None,
           initial: str | None) -> dict[str, object]:
    element = _element(opt, menu, initial)
    block: dict[str, object] = {
        "type": "input", "block_id": opt.name, "label": _plain(_label(opt.name)),
        "hint": _plain(truncate(_hint(opt), 2000)), "optional": not opt.required,
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
    if opt.name in DEADLINES:
        return {"type": "datetimepicker", "action_id": _ACTION}
    if opt.type is OptionType.CHANNEL:
        channel: dict[str, object] = {
            "type": "conversations_select", "action_id": _ACTION,
            "filter": {"include": ["public", "private"], "exclude_bot_users": True}}
        if initial:
            channel["initial_conversation"] = initial
        return channel
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
    if kind in ("static_select", "external_select", "radio_buttons"):
        option = state.get("selected_option")
        return str(option["value"]) if isinstance(option, dict) else None
    if kind == "datetimepicker":
        # A moment, whatever zone the member picked it in: ISO with its offset.
        stamp = state.get("selected_date_time")
        if stamp is None:
            return None
        try:
            return datetime.fromtimestamp(int(str(stamp)), UTC).isoformat()
        except (ValueError, OverflowError, OSError):
            return str(stamp)  # the grammar refuses it, under the input
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
