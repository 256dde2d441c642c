"""Where a list in a post is cut, and the line that says what the cut left out."""

from __future__ import annotations

import pytest

from engine.top_lists import TIE_ROOM, cut, more_line


@pytest.mark.parametrize(("scores", "shown"), [
    ([9, 8, 7], 3),                          # shorter than the limit: all of it
    ([9, 8, 7, 6, 5, 4], 5),                 # no tie at the cut
    ([9, 8, 7, 6, 5, 5, 4], 6),              # a tie of two at the cut: both shown
    ([9, 8, 7, 6, 5, 5, 5, 5], 8),           # the board ends in the tie, within the room
    ([9, 8, 7, 6, 5, 5, 5, 5, 4], 8),        # the tie ends within the room
    ([9, 8, 7, 6, 5, 5, 5, 5, 5], 5),        # the tie may run on past what was read
    ([5] * 20, 5),                           # everyone tied: counted
])
def test_a_tie_at_the_cut_is_shown_whole_only_when_it_fits(scores: list[int],
                                                            shown: int) -> None:
    assert TIE_ROOM == 3
    assert cut(scores[:5 + TIE_ROOM + 1], 5) == shown


def test_what_was_left_out_is_said_in_words() -> None:
    assert more_line(0, 0, "10 pts") is None
    assert more_line(0, 1, "10 pts") == "…and 1 more member"
    assert more_line(0, 1_200, "10 pts") == "…and 1,200 more members"
    assert more_line(1, 0, "1 pt") == "…and 1 more member tied on 1 pt"
    assert more_line(4, 1, "100 pts") == "…and 5 more members, 4 of them tied on 100 pts"
    assert more_line(2, 0, "9 days") == "…and 2 more members tied on 9 days"
