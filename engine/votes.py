"""Votes by reaction: checked, counted once, reversible while voting is open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm.attributes import set_committed_value

from engine.achievements import bump_stat, bump_stats
from engine.context import Tx
from engine.emoji import canonical_emoji
from engine.errors import Forbidden, WrongPhase
from engine.ledger import Posting, post, reverse
from engine.members import ensure_member, lock_member
from engine.refs import MemberRef, MessageRef
from engine.streaks import record_activity
from engine.timefmt import ago_or_in
from storage.fastsql import INSERT_VOTE, bump_entry_votes, fetch, paid_votes
from storage.tables import Challenge, Entry, Member, Vote

__all__ = ["VoteResult", "cast", "cast_by", "entry_for_message", "prefetch", "retract"]


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
    ids = sorted({v.user_id for v in voters})
    for m in (await tx.session.scalars(select(Member).where(
            Member.community_id == tx.community_id, Member.external_id.in_(ids)))).all():
        tx.memo[("member", tx.community_id, m.external_id)] = m
    wanted = {(m.channel_id, m.message_id) for m in messages}
    rows = await tx.session.execute(
        select(Entry, Challenge).join(Challenge, Challenge.id == Entry.challenge_id)
        .where(Entry.community_id == tx.community_id,
               Entry.message_id.in_(sorted({m for _, m in wanted})))
        .order_by(Entry.id)
        .with_for_update(read=True, of=Challenge))
    for entry, challenge in rows.all():
        key = (entry.channel_id, entry.message_id)
        if key in wanted:
            tx.memo.setdefault(("entry", tx.community_id, *key), (entry, challenge))


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
