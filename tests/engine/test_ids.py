"""Ids typed as text: ASCII digits within the database's signed 64-bit range, anything
else written as a number refused clearly, names left to the caller."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InvalidInput
from engine.ids import INT64_MAX, as_id, id_ref, int64, parse_id


@pytest.mark.parametrize(("text", "value"), [
    ("12", 12), ("#12", 12), (" #12 ", 12), ("##7", 7), ("0", 0), ("#0007", 7),
    (str(INT64_MAX), INT64_MAX), ("0" * 40 + "5", 5),
])
def test_ids_in_range_are_read(text: str, value: int) -> None:
    assert as_id(text) == value
    assert parse_id(text, "entry") == value
    assert id_ref(text, "challenge") == value


@pytest.mark.parametrize(("text", "message"), [
    (str(INT64_MAX + 1), "too large to be an entry number"),
    ("#99999999999999999999", "too large to be an entry number"),
    ("9" * 5000, "too large to be an entry number"),  # int() itself refuses this many
    ("²", "with the digits 0-9"),
    ("#١٢", "with the digits 0-9"),
    ("１２", "with the digits 0-9"),  # fullwidth
    ("shiny", "'shiny' is not an entry number"),
    ("#", "is not an entry number"),
    ("-3", "is not an entry number"),
    ("1.5", "is not an entry number"),
])
def test_anything_else_is_refused_clearly(text: str, message: str) -> None:
    assert as_id(text) is None
    with pytest.raises(InvalidInput, match=message):
        parse_id(text, "entry")


def test_a_reference_that_is_not_written_as_a_number_is_a_name() -> None:
    assert id_ref("dreamscapes", "challenge") is None
    assert id_ref("#dreamscapes", "challenge") is None
    assert id_ref("12 monkeys", "challenge") is None
    with pytest.raises(InvalidInput, match="digits 0-9"):
        id_ref("#²", "challenge")


def test_the_message_never_echoes_a_whole_flood_of_digits() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_id("9" * 5000, "badge")
    assert len(caught.value.message) < 100


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(exclude_categories=()), max_size=40)
       | st.integers(-(2**70), 2**70).map(str) | st.from_regex(r"#?[0-9]{0,30}", fullmatch=True))
def test_never_anything_but_an_id_in_range_or_invalid_input(text: str) -> None:
    value = as_id(text)
    assert value is None or 0 <= value <= INT64_MAX
    try:
        parsed = parse_id(text, "entry")
    except InvalidInput as exc:
        assert value is None and exc.message
    else:
        assert parsed == value
    assert int64(text) is None or text.isascii()
