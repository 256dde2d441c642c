"""HTTP mode: requests Slack never sends are refused with 400/401 and one log line each,
never a 500 or a traceback, and change nothing.

Slack's HTTP requests are signed; anyone can still send anything to the endpoint, and
whoever holds the signing secret can send bodies of any shape. Each case below is sent
over loopback as a real HTTP request."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from engine.clock import FixedClock
from engine.service import Engine
from storage.tables import Base
from tests.bot.slack import payloads
from tests.bot.slack.harness import ADMIN, ALICE, SlackWorld, running_world
from tests.bot.slack.signing import compute_signature

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch, engine: Engine, clock: FixedClock
                ) -> AsyncIterator[SlackWorld]:
    async with running_world(monkeypatch, engine, clock, "http") as w:
        yield w


async def row_counts(engine: Engine) -> dict[str, int]:
    async with engine.db.session() as session:
        return {t.name: int(await session.scalar(select(func.count()).select_from(t)) or 0)
                for t in Base.metadata.sorted_tables}


def _event(event: object, **envelope: object) -> str:
    body = payloads.event_callback(payloads.reaction_added(ALICE, "+1", channel="C1",
                                                           ts="1.000001"))
    body["event"] = event  # type: ignore[typeddict-item]
    body.update(envelope)  # type: ignore[typeddict-item]
    return json.dumps(body)


def _interaction(payload: object) -> str:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)})


def _command(**fields: str) -> str:
    return urlencode(fields)


_REACTION = {"type": "reaction_added", "user": ALICE, "reaction": "+1",
             "item": {"type": "message", "channel": "C1", "ts": "1.000001"}}
_USER = {"id": ALICE, "username": "alice", "team_id": payloads.TEAM_ID}

# (body, content type): bodies signed with the real secret that no Slack feature sends.
MALFORMED: dict[str, tuple[str | bytes, str]] = {
    "truncated JSON": ('{"type": "event_callback", "event": {', JSON),
    "not JSON": ("this is not json", JSON),
    "a JSON array": ("[]", JSON),
    "a JSON string": ('"event_callback"', JSON),
    "a JSON number": ("42", JSON),
    "JSON null": ("null", JSON),
    "an empty JSON object": ("{}", JSON),
    "a numeric type": ('{"type": 5}', JSON),
    "an event envelope without its event": ('{"type": "event_callback", "team_id": "T1"}', JSON),
    "an event that is a string": (_event("reaction_added"), JSON),
    "an event that is a number": (_event(5), JSON),
    "a reaction without user or item": (_event({"type": "reaction_added"}), JSON),
    "a reaction whose item is a string": (_event({**_REACTION, "item": "C1/1.000001"}), JSON),
    "a numeric team id": (_event(_REACTION, team_id=7), JSON),
    "a numeric event id": (_event(_REACTION, event_id=12345), JSON),
    "authorizations that are a number": (_event(_REACTION, authorizations=5), JSON),
    "a team that is a number": (_event(_REACTION, team=5), JSON),
    "a url_verification without its challenge": ('{"type": "url_verification"}', JSON),
    "bytes that are not UTF-8": (b'{"type": "event_callback", "x": "\xff\xfe"}', JSON),
    "an empty body": ("", JSON),
    "an interaction payload that is not JSON": (_interaction("{not json"), FORM),
    "an interaction payload that is an array": (_interaction([]), FORM),
    "an interaction payload without a type": (_interaction({"user": _USER}), FORM),
    "block actions without user or actions": (_interaction({"type": "block_actions"}), FORM),
    "block actions whose actions are a string": (_interaction(
        {"type": "block_actions", "user": _USER, "team": None, "trigger_id": "1.2.x",
         "container": {"type": "message"}, "actions": "laurels_run_0"}), FORM),
    "a view submission whose view is a number": (_interaction(
        {"type": "view_submission", "user": _USER, "team": None, "view": 5}), FORM),
    "a slash command with only its name": (_command(command="/challenge"), FORM),
    "a form that is neither command nor interaction": (_command(text="hello"), FORM),
    "a body of another content type": ("command=/challenge", "text/plain"),
}


def _logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.INFO]


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_bodies_with_valid_signatures_get_400_and_one_line(
        world: SlackWorld, caplog: pytest.LogCaptureFixture, case: str) -> None:
    assert world.sender is not None
    body, content_type = MALFORMED[case]
    before, calls = await row_counts(world.engine), world.fake.call_count
    caplog.set_level(logging.INFO)
    caplog.clear()

    answer = await world.sender.post_raw(body, content_type=content_type)
    await world.settle()

    assert answer.status == 400, answer
    logged = _logged(caplog)
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert logged[0].exc_info is None and "Traceback" not in caplog.text
    assert "Slack request refused" in logged[0].getMessage()
    assert await row_counts(world.engine) == before
    assert world.fake.calls[calls:] == []


BAD_TIMESTAMPS = ["yesterday", "", "1.5e9", "0x6553f100", "١٧٠٠٠٠٠٠٠٠"]


@pytest.mark.parametrize("timestamp", BAD_TIMESTAMPS)
async def test_a_non_numeric_timestamp_gets_401_and_one_line(
        world: SlackWorld, caplog: pytest.LogCaptureFixture, timestamp: str) -> None:
    """Signed with that very timestamp, so only the timestamp itself is wrong."""
    assert world.sender is not None
    form = world.fake.make_slash_command("/laurels", "", user_id=ALICE)
    body = urlencode(form)
    caplog.set_level(logging.INFO)
    caplog.clear()

    answer = await world.sender.post_raw(
        body, content_type=FORM,
        signature=compute_signature(world.fake.signing_secret, timestamp, body),
        extra_headers={"X-Slack-Request-Timestamp": timestamp})
    await world.settle()

    assert answer.status == 401, answer
    logged = _logged(caplog)
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert "X-Slack-Request-Timestamp" in logged[0].getMessage()
    assert logged[0].exc_info is None and "Traceback" not in caplog.text
    assert world.fake.response_url_posts == []


@pytest.mark.parametrize("forgery", ["bad signature", "stale timestamp", "no signature"])
async def test_forged_requests_get_401_and_one_line_without_the_body(
        world: SlackWorld, caplog: pytest.LogCaptureFixture, forgery: str) -> None:
    assert world.sender is not None
    command = world.fake.make_slash_command("/challenge", "list", user_id=ADMIN)
    knobs: dict[str, object] = {
        "bad signature": {"secret": "not-the-signing-secret"},
        "stale timestamp": {"timestamp": int(time.time()) - 6 * 60},
        "no signature": {"signature": ""},
    }[forgery]  # type: ignore[assignment]
    caplog.set_level(logging.INFO)
    caplog.clear()

    answer = await world.sender.post_slash_command(command, **knobs)  # type: ignore[arg-type]
    await world.settle()

    assert answer.status == 401
    logged = _logged(caplog)
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert command["response_url"] not in caplog.text  # the body is not logged
    assert world.fake.response_url_posts == []
