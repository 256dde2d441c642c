"""Votes by reaction: checked, counted once, reversible while voting is open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.orm.attributes import set_committed_value

from engine.achievements import bump_stat
from engine.context import Tx
from engine.emoji import canonical_emoji
from engine.entries import count_again
from engine.errors import Forbidden, LaurelsError, WrongPhase
from engine.ledger import reverse
from engine.members import ensure_member
from engine.refs import MemberRef, MessageRef
from engine.timefmt import ago_or_in
from storage.fastsql import (
    INSERT_VOTE,
    bump_entries_votes,
    bump_entry_votes,
    fetch,
    insert_unsettled,
    insert_votes,
    vote_entries,
    vote_members,
)
from storage.tables import Challenge, Entry, Member, Vote, VoteCount

__all__ = ["BatchFallback", "VoteItem", "VoteResult", "cast", "cast_batch", "cast_by",
           "entry_for_message", "prefetch", "retract"]


@dataclass(frozen=True, slots=True)
class VoteResult:
    """What happened to a reaction. `status`: counted, duplicate, retracted, ignored.
    `points`: what a retraction took back from the voter. A counted vote's points are paid
    by settlement after its commit (engine/vote_points.py), so they are not known here."""

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


class VoterRow(NamedTuple):
    """What a batch of votes reads of a voter (a tuple: a batch builds one per vote)."""

    id: int
    external_id: str
    display_name: str | None
    is_bot: bool


class VotingRules(NamedTuple):
    """What a batch of votes reads of a challenge."""

    id: int
    name: str
    phase: str
    vote_emoji: str
    early_votes: bool
    voting_close_at: datetime | None
    submissions_close_at: datetime | None


@dataclass(slots=True)
class EntryRow:
    """What a batch of votes reads of an entry; `votes` follows the batch's own votes."""

    id: int
    member_id: int
    disqualified_reason: str | None
    votes: int


async def prefetch(tx: Tx, voters: Sequence[MemberRef], messages: Sequence[MessageRef]
                   ) -> None:
    """Read a batch's voters and entries (with their challenges' voting rules,
    share-locked) in two plain statements, into the memo the batch's votes share.
    Loading them as ORM objects cost more than the rest of a batch."""
    cid = tx.community_id
    ids = sorted({v.user_id for v in voters})
    for member_id, external_id, name, is_bot in await vote_members(tx.session, cid, ids):
        tx.memo[("member", cid, external_id)] = VoterRow(int(member_id), external_id, name,
                                                         bool(is_bot))
    wanted = {(m.channel_id, m.message_id) for m in messages}
    rules: dict[int, VotingRules] = {}
    for row in await vote_entries(tx.session, cid, sorted({m for _, m in wanted})):
        entry_id, author, dq, votes, channel_id, message_id, challenge_id = row[:7]
        if (channel_id, message_id) not in wanted:
            continue
        challenge = rules.get(challenge_id)
        if challenge is None:
            challenge = rules[challenge_id] = VotingRules(
                int(challenge_id), row[7], row[8], row[9], bool(row[10]), row[11], row[12])
        tx.memo.setdefault(("entry", cid, channel_id, message_id),
                           (EntryRow(int(entry_id), int(author), dq, int(votes or 0)),
                            challenge))
    # What was looked for and not found, so a batch knows it was looked for.
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
    key = ("orm-entry", tx.community_id, message.channel_id, message.message_id)
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


def _check_window(c: Challenge | VotingRules, now: datetime) -> None:
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
    await insert_unsettled(tx.session, tx.community_id, [int(vote_id)])
    return VoteResult("counted", entry.id, int(votes or 0))


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
    # The count row first: a disqualification holds it until it commits (PostgreSQL; SQLite
    # has one writer), so the entry read after it is as it stands.
    await count_again(tx, entry, hold=True)
    if await tx.session.scalar(select(Entry.disqualified_reason).where(Entry.id == entry.id)):
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
        update(VoteCount).where(VoteCount.entry_id == entry.id)
        .values(votes=VoteCount.votes - 1).returning(VoteCount.votes)
    )
    reversed_rows = await reverse(tx, f"vote:{vote_id}")
    await bump_stat(tx, voter.id, "votes_cast", -1)
    await bump_stat(tx, entry.member_id, "votes_received", -1)
    lost = sum(r.delta for r in reversed_rows if r.member_id == voter.id)
    return VoteResult("retracted", entry.id, int(votes or 0), lost)


# -- a batch of votes, set-based -----------------------------------------------------------
#
# `cast_batch` records a run of votes as three statements in all: the votes, their
# entries' counts and their places in the settlement queue. Votes that need more than that
# (a new or renamed member) stop the run; that vote takes the per-vote path and the next
# run starts after it. When the database disagrees with what was read (an entry
# disqualified meanwhile), `BatchFallback` asks the caller to roll the run back and cast
# its votes one by one.


class BatchFallback(Exception):
    """The database moved under a run of votes: cast them one by one instead."""


VoteItem = tuple[MemberRef, MessageRef, str]


async def cast_batch(tx: Tx, items: Sequence[VoteItem]) -> list[tuple[bool, Any]]:
    """`cast_by` for a run of votes, set-based: the outcomes (ok, result or error) of a
    prefix of `items`, with the same effects as casting them one by one; empty when the
    first vote needs the per-vote path. Raises `BatchFallback` after writing (the caller
    rolls back) when the database disagrees with what was read."""
    cid = tx.community_id
    unknown = [(v, m) for v, m, _ in items
               if ("member", cid, v.user_id) not in tx.memo
               or ("entry", cid, m.channel_id, m.message_id) not in tx.memo]
    if unknown:  # rows forgotten after a rolled-back vote
        await prefetch(tx, [v for v, _ in unknown], [m for _, m in unknown])

    # 1. What needs no database: ignored and refused reactions, and who would vote.
    outcomes: list[tuple[bool, Any] | None] = []
    candidates: list[tuple[int, VoterRow, EntryRow, VotingRules]] = []
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

    # 2. The writes: a pair already voted is a duplicate (absent from `ids`).
    ids = await insert_votes(tx.session, [(cid, c.id, e.id, v.id, tx.now)
                                          for _, v, e, c in candidates])
    added: dict[int, int] = {}
    for entry_id, _ in ids:
        added[entry_id] = added.get(entry_id, 0) + 1
    counts = await bump_entries_votes(tx.session, added) if added else {}
    if len(counts) != len(added):
        raise BatchFallback("an entry was disqualified meanwhile")
    await insert_unsettled(tx.session, cid, sorted(ids.values()))

    # 3. Each vote's result, its entry counted vote by vote.
    votes = {e.id: e.votes for _, _, e, _ in candidates}
    for entry_id, now in counts.items():
        votes[entry_id] = now - added[entry_id]
    by_index = {index: (voter, entry) for index, voter, entry, _ in candidates}
    done: list[tuple[bool, Any]] = []
    for index, outcome in enumerate(outcomes):
        if outcome is not None:
            done.append(outcome)
            continue
        voter, entry = by_index[index]
        if (entry.id, voter.id) not in ids:
            done.append((True, VoteResult("duplicate", entry.id, votes[entry.id])))
        else:
            votes[entry.id] += 1
            done.append((True, VoteResult("counted", entry.id, votes[entry.id])))
    for _, _, entry, _ in candidates:
        if entry.id in counts:  # the entry read stays current for the batch's next run
            entry.votes = votes[entry.id]
    return done


def _member_changes(member: VoterRow, ref: MemberRef) -> bool:
    """Whether `ensure_member` would change the member row."""
    renamed = bool(ref.display_name) and member.display_name != ref.display_name[:200]
    return renamed or (ref.is_bot and not member.is_bot)


def _refusal(tx: Tx, voter: VoterRow, entry: EntryRow, challenge: VotingRules, emoji: str,
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
