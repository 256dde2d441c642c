"""Order and ties: how entries, members and teams are put in order, and how tied scores
share a rank. Results, challenge standings, leaderboards, the digest and period closes
all order through here.

- Entries: most votes first; a tie goes to the earlier submission, then the lower id.
- Goal challenges: most progress first; a tie goes to whoever finished first (members
  still going count as finishing at the end), then the earlier participant; teams by
  total progress, then the earlier team.
- Ranks: ties share a rank and the next rank skips (1, 2, 2, 4) on every live board;
  results give each place once (the tie-break decides).
- Places: one per member (their best entry; `ONE_PLACE_RULE`), and only for an entry
  with at least the community's `place_min_votes` votes (a challenge nobody voted in
  has no podium).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, case, cast

from storage.tables import Entry

__all__ = ["ONE_PLACE_RULE", "TIEBREAK_RULE", "entry_order", "progress_key", "shared_ranks",
           "team_key", "tie_note"]

TIEBREAK_RULE = "Ties on votes go to the earlier submission."
ONE_PLACE_RULE = ("One place per member: a member's best entry places, and the next member's "
                  "entry moves up.")


def entry_order(votes: ColumnElement[Any]) -> tuple[ColumnElement[Any], ...]:
    """The ORDER BY of entries, given the expression of their vote counts."""
    return (votes.desc(), Entry.submitted_at, Entry.id)


def tie_note(votes: ColumnElement[Any]) -> ColumnElement[Any]:
    """What a placement says of a tie its entry was in (SQL, computed with the ranking):
    "tied on 3 votes; earlier submission ranks higher"."""
    return ("tied on " + cast(votes, String)
            + case((votes == 1, " vote"), else_=" votes")
            + "; earlier submission ranks higher")


def progress_key(progress: float, finished_at: datetime | None, ends_at: datetime,
                 participant_id: int) -> tuple[float, datetime, int]:
    """Sort key of a goal challenge's participant (smallest first)."""
    return (-progress, finished_at or ends_at, participant_id)


def team_key(total: float, team_id: int) -> tuple[float, int]:
    """Sort key of a team (smallest first)."""
    return (-total, team_id)


def shared_ranks(scores: Sequence[float]) -> list[int]:
    """Ranks of scores listed best first, ties sharing a rank: 10, 8, 8, 5 → 1, 2, 2, 4.
    (A rank index gives the same: 1 + how many score more.)"""
    ranks: list[int] = []
    for i, score in enumerate(scores):
        ranks.append(ranks[-1] if i and scores[i - 1] == score else i + 1)
    return ranks
