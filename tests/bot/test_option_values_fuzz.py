"""Option values as Discord and Slack deliver them, of any type and over all of Unicode:
each binds to a typed value within the option's rules or is refused with a message,
never an exception (issue 16)."""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord.slash import Invocation, bind_options
from bot.slack.modals import FormErrors, read_submission
from commands.parsing import OptionType, ParseError
from commands.tree import COMMANDS
from engine.ids import INT64_MAX
from engine.text import clean_text
from tests.commands.test_commands_fuzz import CHAR, NUMBER, TEXT
from tests.conftest import START

UTC = ZoneInfo("UTC")
RAW = st.one_of(st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.floats(), TEXT,
                NUMBER, st.text(CHAR, max_size=3))


def _within_rules(command: object, args: dict[str, object]) -> None:
    for spec in command.options:  # type: ignore[attr-defined]
        value = args.get(spec.name)
        if value is None:
            continue
        if spec.type in (OptionType.INTEGER, OptionType.NUMBER):
            assert isinstance(value, int | float) and math.isfinite(value)
            assert abs(value) <= INT64_MAX
            assert spec.min_value is None or value >= spec.min_value
            assert spec.max_value is None or value <= spec.max_value
        if isinstance(value, str):
            value.encode("utf-8")
            assert clean_text(value, multiline=True) == value


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_discord_option_values_bind_within_the_rules_or_are_refused(data: st.DataObject
                                                                    ) -> None:
    command = data.draw(st.sampled_from(COMMANDS))
    values = {spec.name: data.draw(RAW) for spec in command.options}
    try:
        args = bind_options(Invocation(command, values, None, {}), tz=UTC, now=START)
    except ParseError as exc:
        assert exc.message
        return
    _within_rules(command, args)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_slack_form_values_bind_within_the_rules_or_are_refused(data: st.DataObject) -> None:
    command = data.draw(st.sampled_from(COMMANDS))
    state = {spec.name: {"value": {"type": "plain_text_input",
                                           "value": data.draw(st.one_of(TEXT, NUMBER))}}
             for spec in command.options}
    try:
        args = read_submission(command, state, tz=UTC, now=START)
    except FormErrors as exc:
        assert exc.errors and all(exc.errors.values())
        return
    _within_rules(command, args)
