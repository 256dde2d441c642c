"""Errors that help: an unknown subcommand is named with the closest one, a span too short
says the minimum and that a date and time (ISO) works instead."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from commands.parsing import ParseError
from commands.timeparse import SpanTooShort, TimeParseError, parse_duration, parse_time
from commands.times import moment
from commands.tree import resolve
from engine.errors import InvalidInput

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("line", "said"), [
    (["/challenge", "explode"], "/challenge has no subcommand 'explode'. It has: list, info"),
    (["/challenge", "sumbit", "x"], "/challenge has no subcommand 'sumbit'. Did you mean "
                                    "/challenge submit? It has:"),
    (["/settings", "timezon"], "Did you mean /settings timezone?"),
    (["/challenge"], "/challenge needs a subcommand: list, info"),
    (["/leaderbord"], "Unknown command /leaderbord. Did you mean /leaderboard? Try /help."),
    (["/frobnicate"], "Unknown command /frobnicate. Try /help."),
])
def test_unknown_commands_are_named_with_the_closest(line: list[str], said: str) -> None:
    with pytest.raises(ParseError) as refused:
        resolve(line)
    assert said in refused.value.message


@pytest.mark.parametrize("text", ["30s", "59 seconds", "0.5m", "in 30 seconds"])
def test_a_span_too_short_says_the_minimum_and_that_times_work(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        moment(text, after=NOW, now=NOW, tz=ZoneInfo("UTC"), what="submission deadline")
    message = refused.value.message
    assert message.startswith("submission deadline: ")
    assert "at least 1 minute (1m, 90m, 2h, 5d)" in message
    assert "2026-12-01T18:00 (ISO" in message


def test_durations_alone_say_the_minimum_without_offering_a_time() -> None:
    with pytest.raises(SpanTooShort) as refused:
        parse_duration("30s")
    assert "at least 1 minute" in refused.value.message
    assert "ISO" not in refused.value.message  # a clock line takes no time of day
    with pytest.raises(TimeParseError, match="at least 1 minute"):
        parse_time("in 20 seconds", tz=ZoneInfo("UTC"), now=NOW)
