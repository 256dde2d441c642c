"""Words for numbers: plurals, and a place on a board as people read it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.wording import SHARE_FROM, noun_for, number, plural, standing, top_share


@pytest.mark.parametrize(("n", "noun", "expected"), [
    (1, "vote", "1 vote"),
    (0, "vote", "0 votes"),
    (2, "entry", "2 entries"),
    (1, "entry", "1 entry"),
    (3, "day", "3 days"),
    (1, "person", "1 person"),
    (4, "person", "4 people"),
    (1, "pt", "1 pt"),
    (694, "pt", "694 pts"),
    (-1, "point", "-1 point"),
    (-5, "point", "-5 points"),
    (1.0, "member", "1 member"),
    (1_000_000, "member", "1,000,000 members"),
    (2.5, "challenge", "2.5 challenges"),
    (1e6, "vote", "1,000,000 votes"),
    (2, "match", "2 matches"),
])
def test_plural(n: float, noun: str, expected: str) -> None:
    assert plural(n, noun) == expected


def test_a_unit_keeps_its_spelling() -> None:
    assert plural(2.5, "km", "km") == "2.5 km"
    assert noun_for(2, "vote") == "votes" and noun_for(1, "vote") == "vote"


def test_numbers() -> None:
    assert [number(x) for x in (0, 1234, 1234.5, 1 / 3, 2.0)] == [
        "0", "1,234", "1,234.5", "0.33", "2"]


@pytest.mark.parametrize(("rank", "members", "expected"), [
    (1, 1, "#1 of 1"),                     # alone on the board
    (1, 3, "#1 of 3"),                     # a small board: the rank says it all
    (3, 3, "#3 of 3"),                     # last: never "top 100%"
    (1, 10, "#1 of 10 (top 10%)"),
    (9, 10, "#9 of 10 (top 90%)"),
    (10, 10, "#10 of 10"),
    (1, 1_000_000, "#1 of 1,000,000 (top 1%)"),
    (23, 25, "#23 of 25 (top 92%)"),
    (334, 1000, "#334 of 1,000 (top 34%)"),   # rounded up: never more flattering than true
    (100, 101, "#100 of 101 (top 99%)"),      # second to last is not "top 100%" either
])
def test_standing(rank: int, members: int, expected: str) -> None:
    assert standing(rank, members) == expected


@given(members=st.integers(1, 10**7), data=st.data())
def test_standing_reads_at_once(members: int, data: st.DataObject) -> None:
    rank = data.draw(st.integers(1, members))
    words = standing(rank, members)
    assert "100%" not in words and "." not in words  # whole percents, never 100
    if members >= SHARE_FROM and rank < members:
        share = top_share(rank, members)
        assert words.endswith(f"(top {share}%)") and 1 <= share <= 99
        # Rounded up: the claim holds (at most 1 point generous, at the very bottom).
        assert rank * 100 <= members * share or share == 99
    else:
        assert words == f"#{rank:,} of {members:,}"
