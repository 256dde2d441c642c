"""What an HTTP request must be before Bolt sees it: signed with the signing secret within
the last five minutes, and a body of a shape the adapter reads.

Bolt turned both kinds of bad request into 500s with tracebacks: a non-numeric
`X-Slack-Request-Timestamp` (slack_sdk's verifier calls `int()` on it), and bodies that
are not what Slack sends (its parser and context builder assume well-formed JSON objects
and forms). Here each gets a reason, which `bot.slack.http` answers with 401 or 400 and
one log line.

Shapes are the TypedDicts of `bot.slack.payloads` (only the fields the adapter reads),
checked with pydantic; request kinds the adapter does not handle only need a `type`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from pydantic import TypeAdapter, ValidationError

from bot.slack.payloads import (
    AppHomeOpenedEvent,
    BlockActionsBody,
    EventCallbackBody,
    ReactionEvent,
    SlashCommandBody,
    UrlVerificationBody,
    ViewSubmissionBody,
)

__all__ = ["MAX_CLOCK_SKEW", "Malformed", "parse_body", "signature_problem"]

# Slack's replay window, in seconds.
MAX_CLOCK_SKEW = 5 * 60

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

_ENVELOPES: dict[str, TypeAdapter[Any]] = {
    "url_verification": TypeAdapter(UrlVerificationBody),
    "event_callback": TypeAdapter(EventCallbackBody),
}
_EVENTS: dict[str, TypeAdapter[Any]] = {
    "reaction_added": TypeAdapter(ReactionEvent),
    "reaction_removed": TypeAdapter(ReactionEvent),
    "app_home_opened": TypeAdapter(AppHomeOpenedEvent),
}
_INTERACTIONS: dict[str, TypeAdapter[Any]] = {
    "block_actions": TypeAdapter(BlockActionsBody),
    "view_submission": TypeAdapter(ViewSubmissionBody),
}
_COMMAND: TypeAdapter[Any] = TypeAdapter(SlashCommandBody)


class Malformed(ValueError):
    """A body no Slack feature sends; the message says what is wrong with it."""


def signature_problem(secret: str, body: bytes, headers: Mapping[str, str],
                      now: float | None = None) -> str | None:
    """None when `body` is signed with `secret` within the replay window; else why not
    (never quoting the body or the signature)."""
    raw_timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if not raw_timestamp:
        return "no X-Slack-Request-Timestamp"
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()):
        return "an X-Slack-Request-Timestamp that is not a number of seconds"
    skew = abs((time.time() if now is None else now) - int(raw_timestamp))
    if skew > MAX_CLOCK_SKEW:
        return f"an X-Slack-Request-Timestamp {skew:.0f} s away from now (replayed?)"
    if not signature:
        return "no X-Slack-Signature"
    # Slack's scheme (v0), on the raw bytes: slack_sdk's verifier decodes them as UTF-8
    # first, and fails on a body that is not.
    base = b"v0:" + raw_timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "a signature that does not match LAURELS_SLACK_SIGNING_SECRET"
    return None


def parse_body(raw: bytes, content_type: str | None) -> tuple[str, dict[str, Any]]:
    """The body as text and as the dict the adapter reads, or Malformed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("body that is not UTF-8") from None
    if not text:
        raise Malformed("empty body")
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == JSON:
        return text, _checked_envelope(_json_object(text, "body"))
    if kind == FORM:
        return text, _checked_form(dict(parse_qsl(text, keep_blank_values=True)))
    raise Malformed(f"body of type {kind or 'unknown'} (Slack sends JSON or forms)")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise Malformed(f"{what} that is not JSON") from None
    if not isinstance(value, dict):
        raise Malformed(f"{what} that is JSON but not an object")
    if not isinstance(value.get("type"), str):
        raise Malformed(f"{what} without a type")
    return value


def _checked_envelope(body: dict[str, Any]) -> dict[str, Any]:
    _check(_ENVELOPES.get(body["type"]), body, body["type"])
    if body["type"] == "event_callback":
        event = body["event"]
        kind = event.get("type")
        if not isinstance(kind, str):
            raise Malformed("event_callback whose event has no type")
        _check(_EVENTS.get(kind), event, f"{kind} event")
    return body


def _checked_form(fields: dict[str, str]) -> dict[str, Any]:
    if "payload" in fields:
        payload = _json_object(fields["payload"], "interaction payload")
        _check(_INTERACTIONS.get(payload["type"]), payload, payload["type"])
        return payload
    if "command" in fields:
        _check(_COMMAND, fields, "slash command")
        return fields
    if fields.get("ssl_check"):  # Slack checking the certificate; Bolt answers it
        return fields
    raise Malformed("form that is neither a slash command nor an interaction")


def _check(shape: TypeAdapter[Any] | None, value: dict[str, Any], what: str) -> None:
    if shape is None:  # a kind the adapter does not read: Bolt says it is unhandled
        return
    try:
        shape.validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise Malformed(f"{what} with {where}: {first['msg'].lower()}") from None
