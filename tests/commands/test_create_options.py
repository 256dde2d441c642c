"""What each kind of challenge is made of: the forms ask for exactly what `create` reads."""

from __future__ import annotations

from commands.challenge import CREATE_OPTIONS, DEADLINES
from commands.timeparse import parse_duration
from commands.tree import TREE


def test_every_option_of_create_belongs_to_a_kind() -> None:
    options = {o.name for o in TREE["challenge create"].options}
    listed = {name for names in CREATE_OPTIONS.values() for name in names}
    assert listed | {"kind"} == options
    assert set(CREATE_OPTIONS) == set(TREE["challenge create"].options[0].choices)
    assert "ends" not in CREATE_OPTIONS["submission"]
    assert not {"submissions", "voting", "max_entries"} & set(CREATE_OPTIONS["goal"])


def test_deadlines_are_options_with_a_default_span_after_another() -> None:
    options = {o.name for o in TREE["challenge create"].options}
    for name, (default, after) in DEADLINES.items():
        assert name in options
        if default is not None:
            assert parse_duration(default).total_seconds() > 0 and after in DEADLINES
