"""Entries to submission challenges: submitting, featuring, disqualifying."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from engine import challenges, outbox
from engine.achievements import bump_stat
from engine.challenges import _text, check_url
from engine.context import Tx
from engine.errors import Conflict, NotFound, WrongPhase
from engine.ids import parse_id
from engine.ledger import Posting, post, reverse, reverse_rows
from engine.members import lock_members, moderator, taking_part
from engine.messages import Card, Field
from engine.refs import MemberRef
from engine.streaks import record_activity
from engine.timefmt import ago_or_in
from engine.views import EntryView
from engine.wording import plural
from storage.tables import Challenge, Entry, LedgerRow, Member, Vote, VoteCount

__all__ = ["count_again", "disqualify", "disqualify_by", "feature", "feature_by", "find_entry",
           "shown_image", "submit", "submit_by"]

MAX_TITLE = 100
# A link whose path ends so names a picture.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif")


async def submit(
    tx: Tx, member: Member, challenge: Challenge, title: str, link: str | None,
    image_url: str | None,
) -> Entry:
    """Add an entry and queue its post in the entries channel, where votes happen."""
    c = challenge
    if c.kind != "submission":
        raise WrongPhase(f"{c.name} is a goal challenge: log progress instead of submitting.")
    if c.phase != "open":
        raise WrongPhase(_closed_message(c, tx))
    if c.submissions_close_at is not None and tx.now >= c.submissions_close_at:
        raise WrongPhase(
            f"Submissions to {c.name} closed {ago_or_in(c.submissions_close_at, tx.now)}."
        )
    title = _text(title, "title", MAX_TITLE, required=True)
    link = check_url(link, "link")
    image_url = check_url(image_url, "image link")
    await lock_members(tx, [member.id])  # two submissions at once must not both pass the limit
    count = await tx.session.scalar(
        select(func.count()).where(
            Entry.community_id == tx.community_id,
            Entry.challenge_id == c.id,
            Entry.member_id == member.id,
        )
    )
    if int(count or 0) >= c.max_entries:
        raise Conflict(
            f"You have already submitted {count} of {plural(c.max_entries, 'entry')} to {c.name}."
        )
    entry = Entry(
        community_id=tx.community_id, challenge_id=c.id, member_id=member.id, title=title,
        link=link, image_url=image_url, submitted_at=tx.now, featured=False,
    )
    tx.session.add(entry)
    await tx.session.flush()
    tx.session.add(VoteCount(entry_id=entry.id, community_id=tx.community_id, votes=0))
    set_committed_value(entry, "votes", 0)
    await outbox.enqueue(
        tx, "entry", entry_card(c, entry, member),
        dedupe_key=f"entry:{entry.id}",
        channel_id=c.channel_id or tx.community.entries_channel or tx.community.announce_channel,
        entry_id=entry.id,
    )
    ref = f"entry:{entry.id}"
    postings = [Posting(member.id, tx.rule("entry_submitted"), "entry_submitted",
                        f"{ref}:submit", ref)]
    if tx.now < c.starts_at + timedelta(hours=tx.rule("early_entry_hours")):
        postings.append(Posting(member.id, tx.rule("early_entry"), "early_entry",
                                f"{ref}:early", ref))
    await post(tx, postings)
    await bump_stat(tx, member.id, "entries")
    await record_activity(tx, member.id)
    return entry


def shown_image(image_url: str | None, link: str | None) -> str | None:
    """The picture an entry shows (its post, the gallery): its image link, else its link
    when that names a picture (judged by the path's suffix; nothing is fetched)."""
    if image_url:
        return image_url
    if link and urlparse(link).path.lower().endswith(IMAGE_SUFFIXES):
        return link
    return None


def entry_card(c: Challenge, entry: Entry, member: Member) -> Card:
    return Card(
        title=f"{entry.title}",
        text=f"Entry #{entry.id} by {member.display_name} for **{c.name}**"
        + (f"\n{entry.link}" if entry.link else ""),
        image_url=shown_image(entry.image_url, entry.link),
        url=entry.link,
        footer=f"React with {c.vote_emoji} to vote",
        mention=member.external_id,
        react_with=c.vote_emoji,
    )


def _closed_message(c: Challenge, tx: Tx) -> str:
    if c.phase in ("draft", "scheduled"):
        return f"{c.name} hasn't started yet; it opens {ago_or_in(c.starts_at, tx.now)}."
    if c.phase == "voting":
        return f"Submissions to {c.name} are closed; voting is on."
    return f"{c.name} is {c.phase}; it no longer takes entries."


async def find_entry(tx: Tx, entry_id: int | str, *, for_update: bool = False) -> Entry:
    number = parse_id(str(entry_id), "entry")
    query = select(Entry).where(Entry.community_id == tx.community_id, Entry.id == number)
    if for_update:
        query = query.with_for_update()
    entry = await tx.session.scalar(query)
    if entry is None:
        raise NotFound(f"There is no entry #{number}.")
    return entry


async def count_again(tx: Tx, entry: Entry, *, hold: bool = False) -> None:
    """Read the entry's vote count again: the lock the entry was found with may have waited
    for vote batches whose counts that statement's snapshot missed (PostgreSQL). `hold`
    keeps the count row until the commit."""
    query = select(VoteCount.votes).where(VoteCount.entry_id == entry.id)
    votes = await tx.session.scalar(query.with_for_update() if hold else query)
    set_committed_value(entry, "votes", int(votes or 0))


async def feature(tx: Tx, entry: Entry, moderator: Member) -> Entry:
    """Editor's pick: a badge of honour and points, once per entry."""
    await count_again(tx, entry)
    if entry.disqualified_reason:
        raise Conflict(f"Entry #{entry.id} is disqualified; it can't be featured.")
    if entry.featured:
        raise Conflict(f"Entry #{entry.id} is already featured.")
    entry.featured = True
    ref = f"entry:{entry.id}"
    await post(tx, [Posting(entry.member_id, tx.rule("featured"), "featured",
                            f"{ref}:featured", ref, awarded_by=moderator.id)])
    await bump_stat(tx, entry.member_id, "featured")
    author = await tx.session.get(Member, entry.member_id)
    assert author is not None
    await outbox.enqueue(
        tx, "featured",
        Card(title=f"📌 Editor's pick: {entry.title}",
             text=f"Entry #{entry.id} by {author.display_name} was featured by the moderators.",
             image_url=entry.image_url, url=entry.link, color="gold",
             mention=author.external_id),
        dedupe_key=f"featured:{entry.id}",
    )
    return entry


async def disqualify(tx: Tx, entry: Entry, moderator: Member, reason: str) -> Entry:
    """Remove an entry from the results; the points it earned its author are reversed."""
    reason = _text(reason, "reason", 300, required=True)
    if entry.disqualified_reason:
        raise Conflict(f"Entry #{entry.id} is already disqualified.")
    # Votes wait for this transaction (PostgreSQL; SQLite has one writer): a vote's insert
    # takes a key share of the entry row, found here FOR UPDATE, and a retraction takes
    # the count row, held from here on. What follows sees every vote committed before.
    await count_again(tx, entry, hold=True)
    challenge = await tx.session.get(Challenge, entry.challenge_id)
    if challenge is not None and challenge.phase in ("tallying", "completed"):
        raise WrongPhase("Results are already out; this entry can no longer be disqualified.")
    entry.disqualified_reason = reason
    await reverse(tx, f"entry:{entry.id}", reason_suffix="disqualified", awarded_by=moderator.id)
    # The votes it received paid its author too; the voters keep what voting paid them.
    vote_refs = [f"vote:{v}" for v in (await tx.session.scalars(
        select(Vote.id).where(Vote.entry_id == entry.id))).all()]
    received = (await tx.session.scalars(select(LedgerRow).where(
        LedgerRow.community_id == tx.community_id,
        LedgerRow.member_id == entry.member_id,
        LedgerRow.reason == "vote_received",
        LedgerRow.reference.in_(vote_refs),
    ))).all() if vote_refs else []
    await reverse_rows(tx, received, reason_suffix="disqualified", awarded_by=moderator.id)
    # A disqualified entry no longer counts toward entry achievements (as a recompute sees it).
    await bump_stat(tx, entry.member_id, "entries", -1)
    author = await tx.session.get(Member, entry.member_id)
    assert author is not None
    await outbox.enqueue(
        tx, "disqualified",
        Card(title=f"Entry #{entry.id} disqualified",
             text=f"Your entry “{entry.title}” was disqualified: {reason}",
             fields=(Field("Challenge", challenge.name if challenge else "?"),)),
        dedupe_key=f"disqualified:{entry.id}", to_member=author.external_id,
    )
    return entry


async def submit_by(tx: Tx, ref: MemberRef, challenge: str, title: str, link: str | None,
                    image_url: str | None) -> EntryView:
    member = await taking_part(tx, ref)
    c = await challenges.find(tx, challenge, for_share=True)
    return EntryView.of(await submit(tx, member, c, title, link, image_url))


async def feature_by(tx: Tx, actor: MemberRef, entry_id: int | str) -> EntryView:
    mod = await moderator(tx, actor)
    entry = await find_entry(tx, entry_id, for_update=True)
    return EntryView.of(await feature(tx, entry, mod))


async def disqualify_by(tx: Tx, actor: MemberRef, entry_id: int | str, reason: str
                        ) -> EntryView:
    mod = await moderator(tx, actor)
    entry = await find_entry(tx, entry_id, for_update=True)
    return EntryView.of(await disqualify(tx, entry, mod, reason))
