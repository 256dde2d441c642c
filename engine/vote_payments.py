"""Paying for votes: the points, counters and streak each counted vote earns.

A vote commits with its row in `unsettled_votes` (engine/votes.py); settlement
(engine/settlement.py) pays for the community's waiting votes in a later transaction,
oldest first, and deletes their rows in that same transaction. So a vote is durable as
soon as it is counted, its points follow within moments, and each vote is paid exactly
once (a crash in between leaves the rows for the next settlement).

A vote is paid as of the moment it was cast: its day for the daily cap and the streak,
its week and month for the boards. `pay` pays one day's votes in runs, each a handful of
statements whatever its length: the rules (`vote_rules.pays_voter`, `streaks.advance`)
are played in order in Python from rows read once per run, then the run's postings,
counters and streaks are written together, and what they complete (achievements, streak
milestones, the top 10) follows through the same functions as any other write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import datetime, time, timedelta

from engine.achievements import bump_stats, settle
from engine.context import Tx
from engine.ledger import Posting, post
from engine.members import lock_members
from engine.streaks import StreakState, advance, write_streaks
from engine.vote_rules import pays_voter, votes_paid
from storage.sql.ledger import signed_counts
from storage.sql.progress import streaks_of
from storage.sql.queues import UnsettledRow, claim_unsettled

__all__ = ["CLAIM", "RUN", "claim", "days", "pay", "vote_ref"]

CLAIM = 1024  # votes claimed at a time
# Votes paid by one run of statements. Settlement's statements run on a worker thread
# (engine/settlement.py), the run's rules in Python on the event loop, and `pay` yields
# between runs: a run of 32 keeps each step to a few milliseconds (with 256, settlement
# paid 40% faster, but the loop's lag p99 in a burst was 7.6 ms instead of 3.1).
RUN = 32


def vote_ref(vote_id: int) -> str:
    """The ledger reference of a vote's payments (a retraction reverses by it)."""
    return f"vote:{vote_id}"


async def claim(tx: Tx, limit: int = CLAIM) -> list[UnsettledRow]:
    """The community's oldest votes waiting for their points, taken for this transaction."""
    return await claim_unsettled(tx.session, tx.community_id, limit)


def days(tx: Tx, rows: Sequence[UnsettledRow]) -> Iterator[list[UnsettledRow]]:
    """Consecutive votes cast on the same community-local day."""
    run: list[UnsettledRow] = []
    day = None
    for row in rows:
        row_day = tx.local_day(row.cast_at)
        if run and row_day != day:
            yield run
            run = []
        day = row_day
        run.append(row)
    if run:
        yield run


def _day_bounds(tx: Tx) -> tuple[datetime, datetime]:
    """The community-local day of `tx.now`: its start and the next day's."""
    day = tx.local_day()
    return (datetime.combine(day, time(), tx.tz),
            datetime.combine(day + timedelta(days=1), time(), tx.tz))


async def pay(tx: Tx, votes: Sequence[UnsettledRow]) -> None:
    """Pay for votes cast on one community-local day, in order, in runs of `RUN`, each
    as of its first vote's cast time."""
    for start in range(0, len(votes), RUN):
        run = votes[start:start + RUN]
        await _pay_run(tx.at(run[0].cast_at), run)
        await asyncio.sleep(0)  # statements do not yield on SQLite: let the loop breathe


async def _pay_run(tx: Tx, votes: Sequence[UnsettledRow]) -> None:
    """What these votes earn: the author's points (unless the entry was disqualified
    since), the voter's (within the daily cap), both counters, the voter's streak."""
    voters = sorted({v.voter_id for v in votes})
    # The daily cap is checked, then written: one transaction at a time per voter.
    await lock_members(tx, voters)
    start, end = _day_bounds(tx)
    paid = {m: votes_paid(*counts) for m, counts in (await signed_counts(
        tx.session, tx.community_id, "vote_cast", voters, start, end)).items()}
    found = await streaks_of(tx.session, tx.community_id, voters)
    streaks = {m: StreakState(*found[m]) if m in found else StreakState() for m in voters}
    before = dict(streaks)
    received, cast, cap = tx.rule("vote_received"), tx.rule("vote_cast"), \
        tx.rule("vote_cast_daily_cap")
    postings: list[Posting] = []
    counters: list[tuple[int, str, float]] = []
    for vote in votes:
        ref = vote_ref(vote.vote_id)
        pair = []
        if not vote.entry_disqualified:
            pair.append(Posting(vote.author_id, received, "vote_received", f"{ref}:received",
                                ref))
        if pays_voter(paid.get(vote.voter_id, 0), cap):
            paid[vote.voter_id] = paid.get(vote.voter_id, 0) + 1
            pair.append(Posting(vote.voter_id, cast, "vote_cast", f"{ref}:cast", ref))
        postings.extend(sorted(pair, key=lambda p: (p.member_id, p.key)))
        counters += [(vote.voter_id, "votes_cast", 1.0), (vote.author_id, "votes_received", 1.0)]
        streaks[vote.voter_id] = advance(streaks[vote.voter_id],
                                         tx.local_day(vote.cast_at)) or streaks[vote.voter_id]
    # A claimed vote is paid once: its keys cannot be in the ledger already.
    await post(tx, postings, ordered=True, rows=False, unused_keys=True)
    await bump_stats(tx, counters)
    await write_streaks(tx, {m: (before[m], s) for m, s in streaks.items() if s != before[m]})
    await settle(tx)
