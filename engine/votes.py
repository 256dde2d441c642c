"""Votes by reaction: checked, counted once, reversible while voting is open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import case, delete, func, select, update

from engine.achievements import bump_stat
from engine.context import Tx
from engine.emoji import canonical_emoji
from engine.errors import Forbidden, WrongPhase
from engine.ledger import Posting, post, reverse
from engine.members import lock_member
from engine.refs import MessageRef
from engine.streaks import record_activity
from engine.timefmt import ago_or_in
from storage.dialect import insert_ignore
from storage.tables import Challenge, Entry, LedgerRow, Member, Vote

__all__ = ["VoteResult", "cast", "entry_for_message", "retract"]


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
    entry = await entry_for_message(tx, message)
    if entry is None:
        return IGNORED
    # A shared lock on the challenge row: tallying takes it exclusively, so a vote and
    # the close of voting never interleave (PostgreSQL; SQLite has one writer anyway).
    challenge = await tx.session.scalar(
        select(Challenge).where(Challenge.id == entry.challenge_id).with_for_update(read=True)
    )
    assert challenge is not None
    if canonical_emoji(emoji) != challenge.vote_emoji or voter.is_bot:
        return IGNORED
    _check_window(challenge, tx.now)
    if entry.member_id == voter.id:
        raise Forbidden("You can't vote for your own entry.")
    if entry.disqualified_reason:
        raise Forbidden(f"Entry #{entry.id} was disqualified; it can't receive votes.")
    # One voter's simultaneous reactions queue up, so the daily cap counts each of them.
    await lock_member(tx, voter)
    vote_id = await tx.session.scalar(
        insert_ignore(tx.session, Vote, ["entry_id", "voter_id"])
        .values(community_id=tx.community_id, challenge_id=challenge.id, entry_id=entry.id,
                voter_id=voter.id, cast_at=tx.now)
        .returning(Vote.id)
    )
    if vote_id is None:
        return VoteResult("duplicate", entry.id, entry.votes)
    votes = await tx.session.scalar(
        update(Entry).where(Entry.id == entry.id).values(votes=Entry.votes + 1)
        .returning(Entry.votes)
    )
    ref = f"vote:{vote_id}"
    postings = [Posting(entry.member_id, tx.rule("vote_received"), "vote_received",
                        f"{ref}:received", ref)]
    paid = 0
    if await _paid_votes_today(tx, voter.id) < tx.rule("vote_cast_daily_cap"):
        paid = tx.rule("vote_cast")
        postings.append(Posting(voter.id, paid, "vote_cast", f"{ref}:cast", ref))
    await post(tx, postings)
    await bump_stat(tx, voter.id, "votes_cast")
    await bump_stat(tx, entry.member_id, "votes_received")
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
    net = await tx.session.scalar(
        select(func.coalesce(func.sum(case((LedgerRow.delta > 0, 1), else_=-1)), 0)).where(
            LedgerRow.community_id == tx.community_id,
            LedgerRow.member_id == member_id,
            LedgerRow.reason == "vote_cast",
            LedgerRow.period_at >= day_start,
            LedgerRow.period_at < day_end,
        )
    )
    return int(net or 0)
