"""Votes by reaction: checked, counted once, reversible while voting is open."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm.attributes import set_committed_value

from engine.achievements import AchievementDef, bump_stat, bump_stats
from engine.context import Tx
from engine.emoji import canonical_emoji
from engine.errors import Forbidden, LaurelsError, WrongPhase
from engine.ledger import Posting, post, reverse
from engine.members import ensure_member, lock_member
from engine.refs import MemberRef, MessageRef
from engine.streaks import MILESTONES, record_activity
from engine.timefmt import ago_or_in
from engine.topten import TOP, top10_card, top10_key
from storage.fastsql import (
    INSERT_VOTE,
    achievements_of,
    balances_of,
    bump_entries_votes,
    bump_entry_votes,
    existing_votes,
    fetch,
    insert_outbox_rows,
    insert_votes,
    lock_members,
    paid_votes,
    paid_votes_of,
    put_streaks,
    queued_keys,
    stats_of,
    streaks_of,
    top_members,
    upsert_add,
)
from storage.tables import Challenge, Entry, Member, Vote

__all__ = ["BatchFallback", "VoteItem", "VoteResult", "cast", "cast_batch", "cast_by",
           "entry_for_message", "prefetch", "retract"]


@dataclass(frozen=True, slots=True)
class VoteResult:
    """What happened to a reaction. `status`: counted, duplicate, retracted, ignored."""

    status: str
    entry_id: int | None = None
    votes: int | None = None
    points: int = 0


IGNORED = VoteResult("ignored")


async def entry_for_message(tx: Tx, message: MessageRef) -> Entry | None:
    return await tx.session.scalar(
        select(Entry).where(
            Entry.community_id == tx.community_id,
            Entry.message_id == message.message_id,
            Entry.channel_id == message.channel_id,
        )
    )


async def prefetch(tx: Tx, voters: Sequence[MemberRef], messages: Sequence[MessageRef]
                   ) -> None:
    """Read a batch's voters and entries (with their challenges, share-locked) in two
    queries, into the memo the batch's votes share."""
    cid = tx.community_id
    ids = sorted({v.user_id for v in voters})
    if ids:
        for m in (await tx.session.scalars(select(Member).where(
                Member.community_id == cid, Member.external_id.in_(ids)))).all():
            tx.memo[("member", cid, m.external_id)] = m
    wanted = {(m.channel_id, m.message_id) for m in messages}
    if wanted:
        rows = await tx.session.execute(
            select(Entry, Challenge).join(Challenge, Challenge.id == Entry.challenge_id)
            .where(Entry.community_id == cid,
                   Entry.message_id.in_(sorted({m for _, m in wanted})))
            .order_by(Entry.id)
            .with_for_update(read=True, of=Challenge))
        for entry, challenge in rows.all():
            key = (entry.channel_id, entry.message_id)
            if key in wanted:
                tx.memo.setdefault(("entry", cid, *key), (entry, challenge))
    # What was looked for and not found, so a batch knows it was looked for (the per-vote
    # path reads a missing key again: `None` is not a hit for it).
    for user_id in ids:
        tx.memo.setdefault(("member", cid, user_id), None)
    for channel_id, message_id in wanted:
        tx.memo.setdefault(("entry", cid, channel_id, message_id), None)


async def _entry_and_challenge(tx: Tx, message: MessageRef) -> tuple[Entry, Challenge] | None:
    """The entry posted as `message` and its challenge, in one query.

    A shared lock on the challenge row: tallying takes it exclusively, so a vote and the
    close of voting never interleave (PostgreSQL; SQLite has one writer anyway). A batch of
    votes remembers the pair: the lock holds until its commit.
    """
    key = ("entry", tx.community_id, message.channel_id, message.message_id)
    found = tx.memo.get(key)
    if found is None:
        row = (await tx.session.execute(
            select(Entry, Challenge).join(Challenge, Challenge.id == Entry.challenge_id)
            .where(Entry.community_id == tx.community_id,
                   Entry.message_id == message.message_id,
                   Entry.channel_id == message.channel_id)
            .with_for_update(read=True, of=Challenge)
        )).first()
        if row is None:
            return None
        found = tx.memo[key] = (row[0], row[1])
    return found


def _check_window(c: Challenge, now: datetime) -> None:
    open_phases = ("voting", "open") if c.early_votes else ("voting",)
    if c.voting_close_at is not None and now >= c.voting_close_at:
        raise WrongPhase(f"Voting on {c.name} closed {ago_or_in(c.voting_close_at, now)}.")
    if c.phase not in open_phases:
        if c.phase == "open" and c.submissions_close_at is not None:
            raise WrongPhase(
                f"Voting on {c.name} opens {ago_or_in(c.submissions_close_at, now)}."
            )
        raise WrongPhase(f"Voting on {c.name} is closed.")


async def cast(tx: Tx, voter: Member, message: MessageRef, emoji: str) -> VoteResult:
    """Count a reaction as a vote. Reactions on other messages or emoji are ignored."""
    found = await _entry_and_challenge(tx, message)
    if found is None:
        return IGNORED
    return await _cast(tx, voter, *found, emoji)


async def cast_by(tx: Tx, voter: MemberRef, message: MessageRef, emoji: str) -> VoteResult:
    """`cast` for a platform member, who is recorded on first contact unless the reaction
    is on a message that is not an entry."""
    found = await _entry_and_challenge(tx, message)
    if found is None:
        return IGNORED
    return await _cast(tx, await ensure_member(tx, voter), *found, emoji)


async def _cast(tx: Tx, voter: Member, entry: Entry, challenge: Challenge, emoji: str
                ) -> VoteResult:
    if canonical_emoji(emoji) != challenge.vote_emoji or voter.is_bot:
        return IGNORED
    _check_window(challenge, tx.now)
    if entry.member_id == voter.id:
        raise Forbidden("You can't vote for your own entry.")
    if entry.disqualified_reason:
        raise Forbidden(f"Entry #{entry.id} was disqualified; it can't receive votes.")
    # One voter's simultaneous reactions queue up, so the daily cap counts each of them.
    await lock_member(tx, voter)
    inserted = await fetch(tx.session, INSERT_VOTE, {
        "community_id": tx.community_id, "challenge_id": challenge.id, "entry_id": entry.id,
        "voter_id": voter.id, "cast_at": tx.now})
    vote_id = inserted[0][0] if inserted else None
    if vote_id is None:
        return VoteResult("duplicate", entry.id, entry.votes)
    votes = await bump_entry_votes(tx.session, entry.id)
    if votes is None:  # disqualified by another process since we read it
        raise Forbidden(f"Entry #{entry.id} was disqualified; it can't receive votes.")
    # Keep the loaded entry current (a batch's later duplicate reports this count) without
    # marking it changed: the UPDATE above already wrote it.
    set_committed_value(entry, "votes", votes)
    ref = f"vote:{vote_id}"
    postings = [Posting(entry.member_id, tx.rule("vote_received"), "vote_received",
                        f"{ref}:received", ref)]
    paid = 0
    if await _paid_votes_today(tx, voter.id) < tx.rule("vote_cast_daily_cap"):
        paid = tx.rule("vote_cast")
        postings.append(Posting(voter.id, paid, "vote_cast", f"{ref}:cast", ref))
    await post(tx, postings)
    await bump_stats(tx, [(voter.id, "votes_cast", 1.0), (entry.member_id, "votes_received", 1.0)])
    await record_activity(tx, voter.id)
    return VoteResult("counted", entry.id, int(votes or 0), paid)


async def retract(tx: Tx, voter: Member, message: MessageRef, emoji: str) -> VoteResult:
    """Undo a vote whose reaction was removed, with compensating ledger rows."""
    entry = await entry_for_message(tx, message)
    if entry is None:
        return IGNORED
    challenge = await tx.session.scalar(
        select(Challenge).where(Challenge.id == entry.challenge_id).with_for_update(read=True)
    )
    assert challenge is not None
    if canonical_emoji(emoji) != challenge.vote_emoji:
        return IGNORED
    if entry.disqualified_reason:
        # Its votes were settled when it was disqualified; taking one back changes nothing.
        return IGNORED
    if challenge.phase not in ("open", "voting") or (
        challenge.voting_close_at is not None and tx.now >= challenge.voting_close_at
    ):
        # After the close the result stands; removing a reaction then changes nothing.
        return IGNORED
    vote_id = await tx.session.scalar(
        delete(Vote)
        .where(Vote.entry_id == entry.id, Vote.voter_id == voter.id)
        .returning(Vote.id)
    )
    if vote_id is None:
        return IGNORED
    votes = await tx.session.scalar(
        update(Entry).where(Entry.id == entry.id).values(votes=Entry.votes - 1)
        .returning(Entry.votes)
    )
    reversed_rows = await reverse(tx, f"vote:{vote_id}")
    await bump_stat(tx, voter.id, "votes_cast", -1)
    await bump_stat(tx, entry.member_id, "votes_received", -1)
    lost = sum(r.delta for r in reversed_rows if r.member_id == voter.id)
    return VoteResult("retracted", entry.id, int(votes or 0), lost)


async def _paid_votes_today(tx: Tx, member_id: int) -> int:
    """Vote points paid today, community-local (a reversal gives the slot back)."""
    day_start = datetime.combine(tx.local_day(), time(), tx.tz)
    day_end = datetime.combine(tx.local_day() + timedelta(days=1), time(), tx.tz)
    return await paid_votes(tx.session, tx.community_id, member_id, day_start, day_end)


# -- a batch of votes, set-based -----------------------------------------------------------
#
# `cast_batch` runs a run of votes as about fifteen statements in all instead of a dozen
# each. It first plays the votes in order in Python, from rows read once for the whole run,
# as `cast_by` would one after another: refusals, duplicates, the daily cap, balances,
# counters, streaks and top-10 announcements. The run stops before the first vote that
# would do anything the plan does not cover (a new or renamed member, an achievement that
# could unlock, a streak milestone): that vote takes the per-vote path, and the next run
# starts after it. The writes follow (each vote's ledger rows in the order the per-vote
# path writes them) and are checked against the plan; when the database disagrees (a vote
# cast meanwhile by another transaction, an entry disqualified), `BatchFallback` asks the
# caller to roll the run back and cast its votes one by one.


class BatchFallback(Exception):
    """The database moved under a planned run of votes: cast them one by one instead."""


VoteItem = tuple[MemberRef, MessageRef, str]


@dataclass(frozen=True, slots=True)
class _Attempt:
    """A vote the run inserts: counted (`paid`: vote points paid) or a duplicate (None)."""

    index: int
    voter: Member
    entry: Entry
    challenge: Challenge
    paid: int | None


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


async def cast_batch(tx: Tx, items: Sequence[VoteItem]) -> list[tuple[bool, Any]]:
    """`cast_by` for a run of votes, set-based: the outcomes (ok, result or error) of a
    prefix of `items`, with the same effects as casting them one by one; empty when the
    first vote needs the per-vote path. Raises `BatchFallback` after writing (the caller
    rolls back) when the database disagrees with the plan."""
    cid = tx.community_id
    unknown = [(v, m) for v, m, _ in items
               if ("member", cid, v.user_id) not in tx.memo
               or ("entry", cid, m.channel_id, m.message_id) not in tx.memo]
    if unknown:  # rows forgotten after a rolled-back vote
        await prefetch(tx, [v for v, _ in unknown], [m for _, m in unknown])
    received, cast_points = tx.rule("vote_received"), tx.rule("vote_cast")
    if received <= 0 or cast_points <= 0:
        return []  # the plan assumes votes only raise balances

    # 1. What needs no database: ignored and refused reactions, and who would vote.
    outcomes: list[tuple[bool, Any] | None] = []
    candidates: list[tuple[int, Member, Entry, Challenge]] = []
    checked: dict[Any, bool] = {}
    for voter_ref, message, emoji in items:
        found = tx.memo[("entry", cid, message.channel_id, message.message_id)]
        if found is None:
            outcomes.append((True, IGNORED))
            continue
        voter = tx.memo[("member", cid, voter_ref.user_id)]
        if voter is None or _member_changes(voter, voter_ref):
            break  # `ensure_member` would write: the per-vote path
        entry, challenge = found
        refused = _refusal(tx, voter, entry, challenge, emoji, checked)
        outcomes.append(refused)
        if refused is None:
            candidates.append((len(outcomes) - 1, voter, entry, challenge))
    if not candidates:
        return [o for o in outcomes if o is not None]

    # 2. The rows the votes read, for all of them at once.
    voters = sorted({v.id for _, v, _, _ in candidates})
    members = sorted({*voters, *(e.member_id for _, _, e, _ in candidates)})
    if not _is_sqlite(tx):
        await lock_members(tx.session, voters)  # `lock_member`, in id order
    seen = await existing_votes(tx.session, [(e.id, v.id) for _, v, e, _ in candidates])
    plan = await _read_plan(tx, voters, members)

    # 3. Play the votes in order; stop before the first the plan does not cover.
    attempts: list[_Attempt] = []
    cap = tx.rule("vote_cast_daily_cap")
    for index, voter, entry, challenge in candidates:
        if (entry.id, voter.id) in seen:
            attempts.append(_Attempt(index, voter, entry, challenge, None))
            continue
        paid = cast_points if plan.paid.get(voter.id, 0) < cap else 0
        if not _play(tx, plan, voter.id, entry.member_id, received, paid):
            outcomes = outcomes[:index]
            break
        seen.add((entry.id, voter.id))
        attempts.append(_Attempt(index, voter, entry, challenge, paid))

    # 4. The writes, checked against the plan; then each vote's result.
    votes = {e.id: int(e.votes or 0) for _, _, e, _ in candidates}
    for entry_id, (now, added) in (await _write(tx, plan, attempts, received)).items():
        votes[entry_id] = now - added  # counted from here below, vote by vote
    by_index = {a.index: a for a in attempts}
    done: list[tuple[bool, Any]] = []
    for index, outcome in enumerate(outcomes):
        if outcome is not None:
            done.append(outcome)
            continue
        a = by_index[index]
        if a.paid is None:
            done.append((True, VoteResult("duplicate", a.entry.id, votes[a.entry.id])))
        else:
            votes[a.entry.id] += 1
            done.append((True, VoteResult("counted", a.entry.id, votes[a.entry.id], a.paid)))
    for a in attempts:
        if a.paid is not None:
            set_committed_value(a.entry, "votes", votes[a.entry.id])
    return done


def _is_sqlite(tx: Tx) -> bool:
    bind = tx.session.bind
    return bind is not None and bind.dialect.name == "sqlite"


def _member_changes(member: Member, ref: MemberRef) -> bool:
    """Whether `ensure_member` would change the member row."""
    renamed = bool(ref.display_name) and member.display_name != ref.display_name[:200]
    return renamed or (ref.is_bot and not member.is_bot)


def _refusal(tx: Tx, voter: Member, entry: Entry, challenge: Challenge, emoji: str,
             checked: dict[Any, bool]) -> tuple[bool, Any] | None:
    """`_cast`'s checks before its first write: the outcome of an ignored or refused
    vote, None for a vote to count. `checked` remembers each challenge's answers."""
    key = (challenge.id, emoji)
    if key not in checked:
        checked[key] = canonical_emoji(emoji) == challenge.vote_emoji
    if not checked[key] or voter.is_bot:
        return True, IGNORED
    try:
        if challenge.id not in checked:
            _check_window(challenge, tx.now)
            checked[challenge.id] = True  # open (a closed one raises each time)
        if entry.member_id == voter.id:
            raise Forbidden("You can't vote for your own entry.")
        if entry.disqualified_reason:
            raise Forbidden(f"Entry #{entry.id} was disqualified; it can't receive votes.")
    except LaurelsError as exc:
        return False, exc
    return None


async def _read_plan(tx: Tx, voters: list[int], members: list[int]) -> _Plan:
    session, cid = tx.session, tx.community_id
    day_start = datetime.combine(tx.local_day(), time(), tx.tz)
    day_end = datetime.combine(tx.local_day() + timedelta(days=1), time(), tx.tz)
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


async def _write(tx: Tx, plan: _Plan, attempts: list[_Attempt], received: int
                 ) -> dict[int, tuple[int, int]]:
    """The run's writes; returns each entry's new count and the votes added to it."""
    session, cid = tx.session, tx.community_id
    counted = [a for a in attempts if a.paid is not None]
    if not attempts or (not counted and _is_sqlite(tx)):
        return {}
    # Duplicates too, as the per-vote path tries them: on PostgreSQL each takes a number
    # from the votes' sequence, so the votes that follow are numbered the same.
    ids = await insert_votes(session, [(cid, a.challenge.id, a.entry.id, a.voter.id, tx.now)
                                       for a in attempts])
    if ids.keys() != {(c.entry.id, c.voter.id) for c in counted}:
        raise BatchFallback("a vote was cast or withdrawn meanwhile")
    if not counted:
        return {}
    added: dict[int, int] = {}
    for c in counted:
        added[c.entry.id] = added.get(c.entry.id, 0) + 1
    counts = await bump_entries_votes(session, added)
    if len(counts) != len(added):
        raise BatchFallback("an entry was disqualified meanwhile")
    postings: list[Posting] = []
    for c in counted:
        ref = f"vote:{ids[(c.entry.id, c.voter.id)]}"
        pair = [Posting(c.entry.member_id, received, "vote_received", f"{ref}:received", ref)]
        if c.paid:
            pair.append(Posting(c.voter.id, c.paid, "vote_cast", f"{ref}:cast", ref))
        postings.extend(sorted(pair, key=lambda p: (p.member_id, p.key)))
    # The keys name votes this run has just numbered: none can be in the ledger already.
    await post(tx, postings, ordered=True, rows=False, unused_keys=True)
    # Another transaction may have moved a balance since the plan read it.
    if any(tx.balances.get(p.member_id) != plan.balances[p.member_id] for p in postings):
        raise BatchFallback("balances moved meanwhile")
    added_stats: dict[tuple[int, str], float] = {}
    for c in counted:
        for key in ((c.voter.id, "votes_cast"), (c.entry.member_id, "votes_received")):
            added_stats[key] = added_stats.get(key, 0.0) + 1.0
    returned = await upsert_add(session, "member_stats", ("community_id", "member_id", "stat"),
                                "value", [(cid, m, s, n) for (m, s), n in
                                          sorted(added_stats.items())])
    if any(float(v) != plan.stats[(int(m), s)] for _, m, s, v in returned):
        raise BatchFallback("counters moved meanwhile")
    if plan.streaks_written:
        await put_streaks(session, [(cid, m, *plan.streaks_written[m])
                                    for m in sorted(plan.streaks_written)])
    if plan.announcements:
        await _announce(tx, plan)
    # Nothing to unlock, and the announcements are written: the plan did what `settle`
    # would.
    tx.points_raised.clear()
    tx.all_time_before.clear()
    return {e: (n, added[e]) for e, n in counts.items()}
