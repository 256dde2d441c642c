"""Paying for votes: the points, counters and streak each counted vote earns.

A vote commits with its row in `unsettled_votes` (engine/votes.py); settlement pays for
the community's waiting votes in a later transaction, oldest first, and deletes their rows
in that same transaction. So a vote is durable as soon as it is counted, its points follow
it within moments, and each vote is paid exactly once (a crash in between leaves the rows
for the next settlement). Every other write of the community settles first, so a
retraction, a disqualification or an award sees every vote before it paid.

A vote is paid as of the moment it was cast: its day for the daily cap and the streak,
its week and month for the boards.

`pay_run` pays a run of votes set-based, about a dozen statements in all: it first plays
the votes in order in Python, from rows read once for the whole run, as `pay_one` would
one after another (the daily cap, balances, counters, streaks and top-10
announcements). The run stops before the first vote that would do anything the plan does
not cover (an achievement that could unlock, a streak milestone, a disqualified entry):
that vote is paid by `pay_one`, and the next run starts after it. The writes are checked
against the plan; when the database disagrees (another transaction moved a balance),
`PlanMoved` asks the caller to roll the run back and pay its votes one by one.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from engine.achievements import AchievementDef, bump_stats
from engine.context import Tx
from engine.ledger import Posting, post
from engine.members import lock_members
from engine.streaks import MILESTONES, record_activity
from engine.topten import TOP, top10_card, top10_key
from storage.fastsql import (
    UnsettledRow,
    achievements_of,
    balances_of,
    claim_unsettled,
    insert_outbox_rows,
    paid_votes,
    paid_votes_of,
    put_streaks,
    queued_keys,
    stats_of,
    streaks_of,
    top_members,
    upsert_add,
)
from storage.tables import Member

__all__ = ["PlanMoved", "claim", "days", "pay_one", "pay_run"]

CLAIM = 1024  # votes claimed at a time
RUN = 256  # votes planned at a time


class PlanMoved(Exception):
    """The database moved under a planned run of votes: pay them one by one instead."""


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


async def pay_one(tx: Tx, vote: UnsettledRow) -> None:
    """What one counted vote earns: the author's points (unless the entry was
    disqualified since), the voter's (within the daily cap), both counters, the streak.
    The caller settles achievements after it, as after any write."""
    ref = f"vote:{vote.vote_id}"
    await lock_members(tx, [vote.voter_id])  # the daily cap: one at a time
    postings = []
    if not vote.entry_disqualified:
        postings.append(Posting(vote.author_id, tx.rule("vote_received"), "vote_received",
                                f"{ref}:received", ref))
    if await _paid_votes_today(tx, vote.voter_id) < tx.rule("vote_cast_daily_cap"):
        postings.append(Posting(vote.voter_id, tx.rule("vote_cast"), "vote_cast",
                                f"{ref}:cast", ref))
    await post(tx, postings)
    await bump_stats(tx, [(vote.voter_id, "votes_cast", 1.0),
                          (vote.author_id, "votes_received", 1.0)])
    await record_activity(tx, vote.voter_id)


async def _paid_votes_today(tx: Tx, member_id: int) -> int:
    """Vote points paid today, community-local (a reversal gives the slot back)."""
    return await paid_votes(tx.session, tx.community_id, member_id, *_today(tx))


def _today(tx: Tx) -> tuple[datetime, datetime]:
    """The community-local day of `tx.now`: its start and the next day's."""
    day = tx.local_day()
    return (datetime.combine(day, time(), tx.tz),
            datetime.combine(day + timedelta(days=1), time(), tx.tz))


async def pay_run(tx: Tx, votes: Sequence[UnsettledRow]) -> int:
    """`pay_one` for a run of votes of one day, set-based: how many of the first votes it
    paid (zero when the first needs `pay_one`), with the same effects as paying them one
    by one, achievements settled. Raises `PlanMoved` after writing (the caller rolls
    back) when the database disagrees with the plan."""
    received, cast_points = tx.rule("vote_received"), tx.rule("vote_cast")
    if received <= 0 or cast_points <= 0:
        return 0  # the plan assumes votes only raise balances
    voters = sorted({v.voter_id for v in votes})
    members = sorted({*voters, *(v.author_id for v in votes)})
    await lock_members(tx, voters)  # as `pay_one` does, in id order
    plan = await _read_plan(tx, voters, members)
    paid: list[tuple[UnsettledRow, int]] = []
    cap = tx.rule("vote_cast_daily_cap")
    for vote in votes:
        if vote.entry_disqualified:
            break
        pay = cast_points if plan.paid.get(vote.voter_id, 0) < cap else 0
        if not _play(tx, plan, vote.voter_id, vote.author_id, received, pay):
            break
        paid.append((vote, pay))
    if paid:
        await _write(tx, plan, paid, received)
    return len(paid)


@dataclass
class _Plan:
    """The state a run of votes moves, as the per-vote path would see it vote by vote."""

    balances: dict[int, int]  # all-time, of members with a standing
    stats: dict[tuple[int, str], float]
    achievements: dict[tuple[int, str], int]
    streaks: dict[int, tuple[int, int, date | None]]
    paid: dict[int, int]  # vote points paid today
    board: dict[int, int]  # the all-time top 11 at the start, kept current
    announced: set[int]  # members announced in the top 10 today already
    announcements: list[tuple[int, int, int]] = field(default_factory=list)  # member, rank, points
    streaks_written: dict[int, tuple[int, int, date]] = field(default_factory=dict)


async def _read_plan(tx: Tx, voters: list[int], members: list[int]) -> _Plan:
    session, cid = tx.session, tx.community_id
    day_start, day_end = _today(tx)
    announced = await queued_keys(session, cid, [top10_key(tx, m) for m in members])
    return _Plan(
        announced={int(k.split(":")[1]) for k in announced},
        balances=await balances_of(session, cid, members),
        stats=await stats_of(session, cid, members),
        achievements=await achievements_of(session, cid, members),
        streaks=await streaks_of(session, cid, voters),
        paid=await paid_votes_of(session, cid, voters, day_start, day_end),
        board=dict(await top_members(session, cid, TOP + 1)),
    )


def _earned(d: AchievementDef, value: float) -> int:
    return int(value // d.target) if d.repeatable else int(value >= d.target)


def _unlocks(tx: Tx, plan: _Plan, member_id: int, source: str, value: float) -> bool:
    """Whether `check` could unlock anything reading `source` at `value`."""
    return any(_earned(d, value) > plan.achievements.get((member_id, d.key), 0)
               for d in tx.catalog.by_source.get(source, ()))


def _play(tx: Tx, plan: _Plan, voter: int, author: int, received: int, paid: int) -> bool:
    """Apply one counted vote to the plan as `_cast` and `settle` would, or return False
    (the plan unchanged) when the vote may unlock something or reach a streak milestone."""
    stats = {(voter, "votes_cast"): plan.stats.get((voter, "votes_cast"), 0.0) + 1.0,
             (author, "votes_received"): plan.stats.get((author, "votes_received"), 0.0) + 1.0}
    if any(_unlocks(tx, plan, m, s, v) for (m, s), v in stats.items()):
        return False
    streak = _streak(tx, plan, voter)
    if streak is False:
        return False
    before: dict[int, int | None] = {}
    after: dict[int, int] = {}
    for member_id, delta in ((author, received), (voter, paid)):
        if delta:
            before[member_id] = plan.balances.get(member_id)
            after[member_id] = (before[member_id] or 0) + delta
    if any(_unlocks(tx, plan, m, "points", float(p)) for m, p in after.items()):
        return False  # `settle`: point thresholds
    news = _announcements(plan, before, after)
    plan.announcements.extend(news)
    plan.announced.update(m for m, _, _ in news)
    plan.stats.update(stats)
    plan.balances.update(after)
    plan.board.update(after)
    if paid:
        plan.paid[voter] = plan.paid.get(voter, 0) + 1
    if streak is not None:
        plan.streaks[voter] = plan.streaks_written[voter] = streak
    return True


def _streak(tx: Tx, plan: _Plan, voter: int) -> tuple[int, int, date] | bool | None:
    """`record_activity` on the plan: the streak to write, None when today counted
    already, False when it would reach a milestone or unlock something."""
    today = tx.local_day()
    current, longest, last_day = plan.streaks.get(voter, (0, 0, None))
    if last_day is not None and last_day >= today:
        return None
    current = current + 1 if last_day == today - timedelta(days=1) else 1
    if current in MILESTONES:
        return False
    if current > longest:
        longest = current
        if _unlocks(tx, plan, voter, "streak", float(longest)):
            return False
    return current, longest, today


def _announcements(plan: _Plan, before: dict[int, int | None], after: dict[int, int]
                   ) -> list[tuple[int, int, int]]:
    """What `announce_entries` would announce after this vote: (member, rank, points).

    The plan holds the top 11 at the start and every balance the run changed; balances
    only rise within a run, so the top 11 now are among those, and any other member has
    at most the 11th score of the start, which is no more than the tenth score now: the
    counts of members above a score on the first page are exact.
    """
    board = {**plan.board, **after}
    if len(board) <= TOP:
        return []
    tenth = heapq.nlargest(TOP, board.values())[-1]
    found: list[tuple[int, int, int]] = []
    for member_id in sorted(before):
        old, now = before[member_id], after[member_id]
        if now < tenth or member_id in plan.announced:
            continue  # below the first page, or announced today (a second is dropped)
        if old is not None and _above(board, member_id, old) < TOP:
            continue  # on the first page already
        found.append((member_id, 1 + _above(board, member_id, now), now))
    return found


def _above(board: dict[int, int], member_id: int, points: int) -> int:
    """`others_above` (counting at most TOP) on the plan's board."""
    return min(TOP, sum(1 for m, p in board.items() if m != member_id and p > points))


async def _announce(tx: Tx, plan: _Plan) -> None:
    """The run's top-10 announcements, in order, as `announce_entries` words them."""
    ids = sorted({m for m, _, _ in plan.announcements})
    found = {m.id: m for m in (await tx.session.scalars(
        select(Member).where(Member.id.in_(ids)))).all()}
    rows: list[dict[str, Any]] = []
    for member_id, rank, points in plan.announcements:
        member = found.get(member_id)
        if member is None or member.is_bot:
            continue
        card = top10_card(member.display_name or member.external_id, member.external_id,
                          rank, points)
        rows.append({  # as `outbox.enqueue` writes it, for the announcements channel
            "community_id": tx.community_id, "kind": "top10",
            "channel_id": tx.community.announce_channel, "member_external_id": None,
            "body": card.to_json(), "entry_id": None, "status": "pending", "attempts": 0,
            "dedupe_key": top10_key(tx, member_id),
            "next_attempt_at": tx.now, "created_at": tx.now})
    if rows:
        await insert_outbox_rows(tx.session, rows)


async def _write(tx: Tx, plan: _Plan, paid: list[tuple[UnsettledRow, int]], received: int
                 ) -> None:
    """The run's writes, checked against the plan."""
    session, cid = tx.session, tx.community_id
    postings: list[Posting] = []
    for vote, pay in paid:
        ref = f"vote:{vote.vote_id}"
        pair = [Posting(vote.author_id, received, "vote_received", f"{ref}:received", ref)]
        if pay:
            pair.append(Posting(vote.voter_id, pay, "vote_cast", f"{ref}:cast", ref))
        postings.extend(sorted(pair, key=lambda p: (p.member_id, p.key)))
    # A claimed vote is paid once: its keys cannot be in the ledger already.
    await post(tx, postings, ordered=True, rows=False, unused_keys=True)
    # Another transaction may have moved a balance since the plan read it.
    if any(tx.balances.get(p.member_id) != plan.balances[p.member_id] for p in postings):
        raise PlanMoved("balances moved meanwhile")
    added_stats: dict[tuple[int, str], float] = {}
    for vote, _ in paid:
        for key in ((vote.voter_id, "votes_cast"), (vote.author_id, "votes_received")):
            added_stats[key] = added_stats.get(key, 0.0) + 1.0
    returned = await upsert_add(session, "member_stats", ("community_id", "member_id", "stat"),
                                "value", [(cid, m, s, n) for (m, s), n in
                                          sorted(added_stats.items())])
    if any(float(v) != plan.stats[(int(m), s)] for _, m, s, v in returned):
        raise PlanMoved("counters moved meanwhile")
    if plan.streaks_written:
        await put_streaks(session, [(cid, m, *plan.streaks_written[m])
                                    for m in sorted(plan.streaks_written)])
    if plan.announcements:
        await _announce(tx, plan)
    # Nothing to unlock, and the announcements are written: the plan did what `settle`
    # would.
    tx.points_raised.clear()
    tx.all_time_before.clear()
