"""What the fake Slack checks in views (modals, the Home tab), and what a submitted modal's
state holds, from Slack's Block Kit reference:

* a modal's `title`, `submit` and `close` are plain text of at most 24 characters; a modal
  with input blocks needs `submit`; `private_metadata` holds at most 3000 characters and
  `callback_id` 255;
* an input block has a plain-text `label` (2000 at most), an optional `hint` (2000), a
  `block_id` (255) and one `element` of the kinds an input takes;
* `datetimepicker` goes in input and actions blocks only; its `initial_date_time` is a
  UNIX time in seconds (at most ten digits);
* `radio_buttons` have 1 to 10 options, `static_select` at most 100; an
  `initial_option` must be one of the options, exactly;
* `conversations_select` may preselect `initial_conversation` (a conversation id) or
  `default_to_current_conversation` (true: the conversation the modal was opened from),
  and filter on `include` (im, mpim, private, public); `channels_select` preselects
  `initial_channel`.

A submitted modal's `state.values` holds every input block, with what the member left
in it: the initial value of an input they did not touch (the current conversation for
`default_to_current_conversation`), None (or an empty list) for an empty one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["INPUT_ELEMENTS", "submitted_state", "view_problems"]

INPUT_ELEMENTS = frozenset({
    "plain_text_input", "number_input", "email_text_input", "url_text_input",
    "static_select", "external_select", "users_select", "conversations_select",
    "channels_select", "multi_static_select", "multi_users_select",
    "multi_conversations_select", "multi_channels_select", "checkboxes", "radio_buttons",
    "datepicker", "timepicker", "datetimepicker", "file_input", "rich_text_input"})
_PICKER_BLOCKS = ("input", "actions")
_CONVERSATION_KINDS = frozenset({"im", "mpim", "private", "public"})


def _text_problem(value: Any, limit: int, *, plain: bool = True) -> str | None:
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        return "must be a text object"
    if plain and value.get("type") != "plain_text":
        return "must be plain_text"
    if not 1 <= len(value["text"]) <= limit:
        return f"must be between 1 and {limit} characters"
    return None


def view_problems(view: Mapping[str, Any]) -> list[str]:
    """Slack's refusals of `view`, each as `[ERROR] <why> [json-pointer:/view/...]`."""
    out: list[str] = []

    def problem(where: str, why: str) -> None:
        out.append(f"[ERROR] {why} [json-pointer:/view{where}]")

    blocks = view.get("blocks") or []
    if view.get("type") == "modal":
        for key, required in (("title", True), ("submit", False), ("close", False)):
            if key in view or required:
                why = _text_problem(view.get(key), 24)
                if why:
                    problem(f"/{key}", why)
        if any(b.get("type") == "input" for b in blocks) and "submit" not in view:
            problem("/submit", "submit is required when the view has input blocks")
    if len(str(view.get("private_metadata") or "")) > 3000:
        problem("/private_metadata", "must be at most 3000 characters")
    if len(str(view.get("callback_id") or "")) > 255:
        problem("/callback_id", "must be at most 255 characters")
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        kind = block.get("type")
        if kind == "input":
            _input_problems(block, where, problem)
        elif kind == "actions":
            for j, element in enumerate(block.get("elements") or []):
                _element_problems(element, f"{where}/elements/{j}", problem)
        else:
            accessory = block.get("accessory")
            if isinstance(accessory, dict):
                if accessory.get("type") == "datetimepicker":
                    problem(f"{where}/accessory", "datetimepicker is not allowed here")
                _element_problems(accessory, f"{where}/accessory", problem)
    return out


def _input_problems(block: Mapping[str, Any], where: str, problem: Any) -> None:
    why = _text_problem(block.get("label"), 2000)
    if why:
        problem(f"{where}/label", why)
    if "hint" in block:
        why = _text_problem(block.get("hint"), 2000)
        if why:
            problem(f"{where}/hint", why)
    if len(str(block.get("block_id") or "")) > 255:
        problem(f"{where}/block_id", "must be at most 255 characters")
    element = block.get("element")
    if not isinstance(element, dict) or element.get("type") not in INPUT_ELEMENTS:
        problem(f"{where}/element", "must be an input element")
        return
    _element_problems(element, f"{where}/element", problem)


def _element_problems(element: Mapping[str, Any], where: str, problem: Any) -> None:
    kind = element.get("type")
    if kind == "datetimepicker" and "initial_date_time" in element:
        stamp = element["initial_date_time"]
        if not isinstance(stamp, int) or isinstance(stamp, bool) or not 0 <= stamp <= 9_999_999_999:
            problem(f"{where}/initial_date_time", "must be a UNIX time in seconds")
    if kind in ("radio_buttons", "static_select", "checkboxes"):
        options = element.get("options") or []
        most = {"radio_buttons": 10, "static_select": 100, "checkboxes": 10}[kind]
        if not 1 <= len(options) <= most:
            problem(f"{where}/options", f"must hold between 1 and {most} options")
        initial = element.get("initial_option")
        if initial is not None and initial not in options:
            problem(f"{where}/initial_option", "must be one of the options")
    if kind == "conversations_select":
        initial = element.get("initial_conversation")
        if initial is not None and not (isinstance(initial, str) and initial):
            problem(f"{where}/initial_conversation", "must be a conversation id")
        current = element.get("default_to_current_conversation")
        if current is not None and not isinstance(current, bool):
            problem(f"{where}/default_to_current_conversation", "must be a boolean")
        include = (element.get("filter") or {}).get("include")
        if include is not None and not set(include) <= _CONVERSATION_KINDS:
            problem(f"{where}/filter/include", "must be im, mpim, private or public")
    if kind == "channels_select" and "initial_channel" in element \
            and not isinstance(element["initial_channel"], str):
        problem(f"{where}/initial_channel", "must be a channel id")


def submitted_state(view: Mapping[str, Any], changed: Mapping[str, Mapping[str, Any]], *,
                    channel: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    """`state.values` of `view` submitted with `changed` ({block_id: element state}) and
    every other input as it was shown (`channel`: where the modal was opened)."""
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element = block.get("element") or {}
        action_id = str(element.get("action_id") or "")
        block_id = str(block.get("block_id") or "")
        if block_id in changed:
            values[block_id] = {action_id: dict(changed[block_id])}
            continue
        values[block_id] = {action_id: _as_shown(element, channel)}
    return values


def _as_shown(element: Mapping[str, Any], channel: str | None) -> dict[str, Any]:
    kind = element.get("type")
    state: dict[str, Any] = {"type": kind}
    if kind in ("static_select", "external_select", "radio_buttons"):
        state["selected_option"] = element.get("initial_option")
    elif kind == "conversations_select":
        current = channel if element.get("default_to_current_conversation") else None
        state["selected_conversation"] = element.get("initial_conversation") or current
    elif kind == "channels_select":
        state["selected_channel"] = element.get("initial_channel")
    elif kind == "users_select":
        state["selected_user"] = element.get("initial_user")
    elif kind == "datetimepicker":
        state["selected_date_time"] = element.get("initial_date_time")
    elif kind == "datepicker":
        state["selected_date"] = element.get("initial_date")
    elif kind == "timepicker":
        state["selected_time"] = element.get("initial_time")
    elif kind == "checkboxes":
        state["selected_options"] = list(element.get("initial_options") or [])
    else:
        state["value"] = element.get("initial_value")
    return state
