"""The rules of a vote, as pure functions over plain values: whether a reaction counts,
when a reaction's removal takes the vote back, and what a vote pays its voter.

The vote path (engine/votes.py), settlement (engine/vote_payments.py) and the read models
all call these; none of them restates a rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from engine.emoji import canonical_emoji, variant_emoji
from engine.errors import Forbidden, LaurelsError, WrongPhase
from engine.timefmt import ago_or_in

__all__ = ["Ballot", "Verdict", "holding", "judge", "letting_go", "pays_voter",
           "reaction_key", "retraction_counts", "tally_due", "votes_paid", "window_refusal"]

@dataclass(frozen=True, slots=True)
class Ballot:
    """What a vote's rules read of its challenge, entry and voter."""

    challenge_name: str
    phase: str
    vote_emoji: str
    early_votes: bool
    voting_close_at: datetime | None
    submissions_close_at: datetime | None
    entry_id: int
    author_id: int
    disqualified: bool
    voter_id: int
    voter_is_bot: bool


class Verdict(Enum):
    COUNT = "count"
    IGNORE = "ignore"  # not a vote: another emoji, or a bot reacting
    REPEAT = "repeat"  # the voter's vote on this entry is counted already
    REFUSE = "refuse"


def window_refusal(name: str, phase: str, early_votes: bool, voting_close_at: datetime | None,
                   submissions_close_at: datetime | None, at: datetime) -> WrongPhase | None:
    """Why a vote received `at` is outside the voting window (None: it is inside)."""
    if voting_close_at is not None and at >= voting_close_at:
        return WrongPhase(f"Voting on {name} closed {ago_or_in(voting_close_at, at)}.")
    if phase == "voting" or (phase == "open" and early_votes):
        return None
    if phase == "open" and submissions_close_at is not None:
        return WrongPhase(f"Voting on {name} opens {ago_or_in(submissions_close_at, at)}.")
    return WrongPhase(f"Voting on {name} is closed.")


def judge(ballot: Ballot, emoji: str, at: datetime, *, already_voted: bool = False
          ) -> tuple[Verdict, LaurelsError | None]:
    """Whether a reaction with `emoji`, received `at`, counts as a vote. A repeat of a vote
    already counted (a replayed event) is silently nothing, whatever the window says."""
    if canonical_emoji(emoji) != ballot.vote_emoji or ballot.voter_is_bot:
        return Verdict.IGNORE, None
    if already_voted:
        return Verdict.REPEAT, None
    refused: LaurelsError | None = window_refusal(
        ballot.challenge_name, ballot.phase, ballot.early_votes, ballot.voting_close_at,
        ballot.submissions_close_at, at)
    if refused is None and ballot.author_id == ballot.voter_id:
        refused = Forbidden("You can't vote for your own entry.")
    if refused is None and ballot.disqualified:
        refused = Forbidden(f"Entry #{ballot.entry_id} was disqualified; it can't receive "
                            "votes.")
    return (Verdict.COUNT, None) if refused is None else (Verdict.REFUSE, refused)


def retraction_counts(phase: str, voting_close_at: datetime | None, disqualified: bool,
                      at: datetime) -> bool:
    """Whether removing a vote's reaction `at` takes the vote back: only while voting is
    open (after the close the result stands) and while the entry stands (a disqualified
    entry's votes were settled when it was disqualified)."""
    if disqualified or phase not in ("open", "voting"):
        return False
    return voting_close_at is None or at < voting_close_at


def reaction_key(raw: str) -> str:
    """How a reaction variant is remembered: the emoji with its skin tone (Discord's 👍🏽
    and Slack's +1::skin-tone-4 are one; 👍 and :thumbsup: are one)."""
    return "".join(variant_emoji(raw).split())


def holding(held: str, raw: str) -> str:
    """The variants a voter holds after adding the reaction `raw` (space-separated)."""
    keys = held.split()
    key = reaction_key(raw)
    return " ".join([*keys, key]) if key and key not in keys else held


def letting_go(held: str, raw: str) -> str:
    """The variants a voter holds after removing the reaction `raw`. A vote stands while
    any is left: removing 👍🏽 keeps a vote whose 👍 is still there. (Votes counted before
    variants were kept hold none: removing any takes them back.)"""
    key = reaction_key(raw)
    return " ".join(k for k in held.split() if k != key)


def tally_due(voting_close_at: datetime, grace: timedelta) -> datetime:
    """When a challenge's votes are tallied: `grace` after the close. A vote received
    before the close counts even if its batch commits a moment after it (a vote queued
    behind a busy batch, or in another process), as long as that is within the grace:
    the bot's default is a few seconds, longer than any batch takes under load."""
    return voting_close_at + grace


def votes_paid(added: int, taken_back: int) -> int:
    """Vote points paid to a voter in a day: payments less their reversals (a retracted
    vote gives its slot back)."""
    return added - taken_back


def pays_voter(paid_today: int, daily_cap: int) -> bool:
    """Whether one more vote today earns its voter points (the daily cap)."""
    return paid_today < daily_cap
