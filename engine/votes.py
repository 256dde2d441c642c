"""Votes by reaction: checked, counted once, taken back while voting is open.

A reaction is counted by `record`, together with the others of its community that
arrived at the same moment (engine/batching.py runs them in one transaction; a lone vote
is a run of one). Counting writes only the vote, its entry's count and its place in the
settlement queue: its points follow by settlement (engine/vote_payments.py).

Lock order (PostgreSQL), the same for every transaction that touches these rows, so
concurrent batches never deadlock: members first (created in platform-id order, changed in
id order), then the challenges (share) and entries (key share) voted on, in entry id
order, then the vote rows, then the entries' counts in entry id order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from engine.achievements import bump_stat
from engine.context import Tx, VotesCounted
from engine.emoji import canonical_emoji
from engine.entries import count_again
from engine.errors import LaurelsError
from engine.ledger import reverse
from engine.members import ensure_rows, known_rows
from engine.refs import MemberRef, MessageRef
from engine.vote_rules import Ballot, Verdict, holding, judge, letting_go, retraction_counts
from storage.sql.members import MemberRow
from storage.sql.queues import insert_unsettled
from storage.sql.run import dialect_of
from storage.sql.votes import (
    bump_counts,
    existing_votes,
    insert_votes,
    set_reactions,
    vote_entries,
    vote_reactions,
)
from storage.tables import Challenge, Entry, Member, Vote, VoteCount

__all__ = ["IGNORED", "VoteItem", "VoteResult", "record", "retract"]


@dataclass(frozen=True, slots=True)
class VoteResult:
    """What happened to a reaction. `status`: counted, duplicate, retracted, kept (a
    removed variant while another holds the vote), ignored.
    `points`: what a retraction took back from the voter. A counted vote's points are paid
    by settlement after its commit, so they are not known here."""

    status: str
    entry_id: int | None = None
    votes: int | None = None
    points: int = 0


IGNORED = VoteResult("ignored")


@dataclass(frozen=True, slots=True)
class VoteItem:
    """A reaction added: by whom, on which message, with which emoji, and when it was
    received (the voting window is judged by that moment, not by when it is counted)."""

    voter: MemberRef
    message: MessageRef
    emoji: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class _Entry:
    id: int
    author_id: int
    disqualified: bool
    votes: int
    challenge_id: int
    name: str
    phase: str
    vote_emoji: str
    early_votes: bool
    voting_close_at: datetime | None
    submissions_close_at: datetime | None


async def _entries(tx: Tx, wanted: set[tuple[str, str]], *, lock: bool
                   ) -> dict[tuple[str, str], _Entry]:
    rows = await vote_entries(tx.session, tx.community_id, sorted({m for _, m in wanted}),
                              lock=lock)
    found = {}
    for (entry_id, author, dq, votes, channel_id, message_id, challenge_id, name, phase,
         emoji, early, closes, submissions_close) in rows:
        if (channel_id, message_id) in wanted:
            found[(channel_id, message_id)] = _Entry(
                int(entry_id), int(author), dq is not None, int(votes or 0),
                int(challenge_id), name, phase, emoji, bool(early), closes, submissions_close)
    return found


def _key(item: VoteItem) -> tuple[str, str]:
    return item.message.channel_id, item.message.message_id


async def record(tx: Tx, items: Sequence[VoteItem]) -> list[tuple[bool, Any]]:
    """Count these reactions as votes, in order: for each, (True, its VoteResult) or
    (False, the LaurelsError saying why it was refused). Reactions on other messages or
    with other emoji are ignored. A voter is recorded on first contact when their vote
    counts; a refused or ignored reaction writes nothing."""
    wanted = {_key(item) for item in items}
    entries = await _entries(tx, wanted, lock=False)
    on_entries = [item for item in items if _key(item) in entries]
    if not on_entries:
        return [(True, IGNORED)] * len(items)
    voters = await known_rows(tx, [item.voter for item in on_entries])
    verdicts = await _judge_all(tx, items, entries, voters)
    counting = [item.voter for item, (verdict, *_) in zip(items, verdicts, strict=True)
                if verdict is Verdict.COUNT]
    if not counting:
        return _results(verdicts, {}, {}, {})
    # Members first, then what the votes rely on: the lock order of every vote path.
    voters.update(await ensure_rows(tx, counting))
    if await dialect_of(tx.session) != "sqlite":
        # Lock the challenges (share) and entries (key share), read them again under the
        # locks and judge again.
        entries = await _entries(tx, wanted, lock=True)
        verdicts = await _judge_all(tx, items, entries, voters)
    else:
        # SQLite has one writer: what was read holds until the commit. Only the members
        # recorded just now have their ids; they own no entry and cast no vote yet, so
        # their verdicts stand.
        verdicts = [(verdict, error, e, v or voters[item.voter.user_id][0])
                    if verdict is Verdict.COUNT else (verdict, error, e, v)
                    for item, (verdict, error, e, v) in zip(items, verdicts, strict=True)]

    to_count = [(item, e, v) for item, (verdict, _, e, v) in zip(items, verdicts, strict=True)
                if verdict is Verdict.COUNT and e is not None]
    ids = await insert_votes(tx.session, [
        (tx.community_id, e.challenge_id, e.id, v, item.received_at, holding("", item.emoji))
        for item, e, v in to_count]) if to_count else {}
    # Another variant of the emoji on a vote already counted (👍 and then 👍🏽): the vote
    # stands while either is there.
    await _hold_variants(tx, [(e.id, v, item.emoji) for item, e, v in to_count
                              if (e.id, v) not in ids])
    added: dict[int, int] = {}
    for entry_id, _ in ids:
        added[entry_id] = added.get(entry_id, 0) + 1
    counts = await bump_counts(tx.session, added)
    await insert_unsettled(tx.session, tx.community_id, sorted(ids.values()))
    if ids:
        tx.emit(VotesCounted(tx.ref, frozenset(
            item.voter.user_id for item, e, v in to_count if (e.id, v) in ids), len(ids)))
    return _results(verdicts, ids, added, counts)


async def _hold_variants(tx: Tx, repeats: Sequence[tuple[int, int, str]]) -> None:
    held = await vote_reactions(tx.session, sorted({(e, v) for e, v, _ in repeats}))
    now = dict(held)
    for entry, voter, raw in repeats:
        if (entry, voter) in now:
            now[(entry, voter)] = holding(now[(entry, voter)], raw)
    await set_reactions(tx.session, [(e, v, r) for (e, v), r in sorted(now.items())
                                     if r != held[(e, v)]])


Judged = tuple[Verdict, LaurelsError | None, "_Entry | None", int]


async def _judge_all(tx: Tx, items: Sequence[VoteItem], entries: dict[tuple[str, str], _Entry],
                     voters: dict[str, MemberRow]) -> list[Judged]:
    """Each reaction's verdict. A refused reaction that repeats a counted vote (an event
    replayed after the close) is a silent repeat, not a refusal."""
    verdicts: list[Judged] = []
    for item in items:
        entry = entries.get(_key(item))
        if entry is None:
            verdicts.append((Verdict.IGNORE, None, None, 0))
            continue
        row = voters.get(item.voter.user_id)
        voter_id = row[0] if row else 0  # 0: not recorded yet (nobody's entry)
        is_bot = bool(row and row[3]) or item.voter.is_bot
        verdict, error = judge(_ballot(entry, voter_id, is_bot), item.emoji, item.received_at)
        verdicts.append((verdict, error, entry, voter_id))
    refused = [(e.id, v) for verdict, _, e, v in verdicts
               if verdict is Verdict.REFUSE and e is not None and v]
    if refused:
        counted = await existing_votes(tx.session, refused)
        verdicts = [(Verdict.REPEAT, None, e, v) if e is not None and (e.id, v) in counted
                    else (verdict, error, e, v) for verdict, error, e, v in verdicts]
    return verdicts


def _results(verdicts: Sequence[Judged], ids: dict[tuple[int, int], int],
             added: dict[int, int], counts: dict[int, int]) -> list[tuple[bool, Any]]:
    """Each reaction's outcome, as if the votes had come one by one: an entry's count
    vote by vote."""
    running = {e.id: e.votes for _, _, e, _ in verdicts if e is not None}
    for entry_id, now in counts.items():
        running[entry_id] = now - added[entry_id]
    first = set(ids)
    results: list[tuple[bool, Any]] = []
    for verdict, error, entry, voter_id in verdicts:
        if verdict is Verdict.REFUSE:
            results.append((False, error))
        elif entry is None or verdict is Verdict.IGNORE:
            results.append((True, IGNORED))
        elif verdict is Verdict.COUNT and (entry.id, voter_id) in first:
            first.discard((entry.id, voter_id))
            running[entry.id] += 1
            results.append((True, VoteResult("counted", entry.id, running[entry.id])))
        else:
            results.append((True, VoteResult("duplicate", entry.id, running[entry.id])))
    return results


def _ballot(entry: _Entry, voter_id: int, voter_is_bot: bool) -> Ballot:
    return Ballot(entry.name, entry.phase, entry.vote_emoji, entry.early_votes,
                  entry.voting_close_at, entry.submissions_close_at, entry.id,
                  entry.author_id, entry.disqualified, voter_id, voter_is_bot)


async def retract(tx: Tx, voter: Member, message: MessageRef, emoji: str) -> VoteResult:
    """Undo a vote whose reaction was removed, with compensating ledger rows."""
    entry = await tx.session.scalar(select(Entry).where(
        Entry.community_id == tx.community_id, Entry.message_id == message.message_id,
        Entry.channel_id == message.channel_id))
    if entry is None:
        return IGNORED
    challenge = await tx.session.scalar(
        select(Challenge).where(Challenge.id == entry.challenge_id).with_for_update(read=True))
    assert challenge is not None
    if canonical_emoji(emoji) != challenge.vote_emoji:
        return IGNORED
    # The count row first: a disqualification holds it until it commits (PostgreSQL; SQLite
    # has one writer), so the entry read after it is as it stands.
    await count_again(tx, entry, hold=True)
    disqualified = await tx.session.scalar(
        select(Entry.disqualified_reason).where(Entry.id == entry.id))
    if not retraction_counts(challenge.phase, challenge.voting_close_at, bool(disqualified),
                             tx.now):
        return IGNORED
    held = (await vote_reactions(tx.session, [(entry.id, voter.id)])).get((entry.id, voter.id))
    if held is None:
        return IGNORED
    if left := letting_go(held, emoji):  # another variant is still there: the vote stands
        await set_reactions(tx.session, [(entry.id, voter.id, left)])
        return VoteResult("kept", entry.id, entry.votes)
    vote_id = await tx.session.scalar(
        delete(Vote).where(Vote.entry_id == entry.id, Vote.voter_id == voter.id)
        .returning(Vote.id))
    if vote_id is None:
        return IGNORED
    votes = await tx.session.scalar(
        update(VoteCount).where(VoteCount.entry_id == entry.id)
        .values(votes=VoteCount.votes - 1).returning(VoteCount.votes))
    reversed_rows = await reverse(tx, f"vote:{vote_id}")
    await bump_stat(tx, voter.id, "votes_cast", -1)
    await bump_stat(tx, entry.member_id, "votes_received", -1)
    lost = sum(r.delta for r in reversed_rows if r.member_id == voter.id)
    return VoteResult("retracted", entry.id, int(votes or 0), lost)
