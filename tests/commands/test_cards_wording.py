"""Cards word counts and places as people read them, and say the rule they follow."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from commands.render import board_card, challenge_list_card, profile_card
from engine.leaderboards import Board, BoardRow, ViewerRank
from engine.views import Page, Profile
from engine.wording import standing_rule

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _board(viewer: ViewerRank | None, members: int) -> Board:
    return Board("all", "all time", [BoardRow(1, "alice", 1.0, "alice")], 1, 1, members,
                 1.0, 1.0, viewer)


def _fields(card: object) -> dict[str, str]:
    return {f.name: f.value for f in card.fields}  # type: ignore[attr-defined]


def test_a_board_card_words_the_viewers_place() -> None:
    last = board_card(_board(ViewerRank(3, 1, 3), 3))
    assert _fields(last)["You"] == "#3 of 3 with 1 pt"
    assert "1. alice: 1 pt" in last.text
    assert "%" not in (last.footer or "")

    big = board_card(_board(ViewerRank(1, 1, 1_000_000), 1_000_000))
    assert _fields(big)["You"] == "#1 of 1,000,000 (top 1%) with 1 pt"
    assert _fields(big)["Members"] == "1,000,000"
    # The card that shows a share says what it means.
    assert big.footer == f"Page 1/1 · {standing_rule()}"


def test_a_profile_card_words_the_rank() -> None:
    def profile(rank: ViewerRank | None) -> Profile:
        return Profile("alice", "alice", 1, rank, 1, 1, [], 1, [], [])

    alone = profile_card(profile(ViewerRank(1, 1, 1)))
    assert _fields(alone)["Rank"] == "#1 of 1" and alone.footer is None
    assert _fields(alone)["Streak"] == "1 day (best 1)"
    first = profile_card(profile(ViewerRank(1, 1, 3)))
    assert _fields(first)["Rank"] == "#1 of 3"
    crowd = profile_card(profile(ViewerRank(40, 1, 200)))
    assert _fields(crowd)["Rank"] == "#40 of 200 (top 20%)"
    assert crowd.footer == standing_rule()


def test_an_empty_list_says_what_hides_the_rest() -> None:
    none_at_all = challenge_list_card(Page([], 1, 1, 0), None, ZoneInfo("UTC"), NOW)
    assert none_at_all.text.startswith("No challenges here yet")
    filtered = challenge_list_card(Page([], 1, 1, 0), "cancelled", ZoneInfo("UTC"), NOW,
                                   unfiltered=1)
    assert filtered.text == ("No cancelled challenges right now; 1 other challenge in "
                             "`/challenge list`.")
    past = challenge_list_card(Page([], 4, 2, 12), None, ZoneInfo("UTC"), NOW)
    assert past.text == "Page 4 is past the end: the list has 2 pages."
