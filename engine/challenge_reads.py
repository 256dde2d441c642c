"""Read models of challenges: lists, a challenge's details as a member sees them, and the
names autocompletion offers."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from engine import challenges, goals
from engine.context import Tx
from engine.errors import InvalidInput
from engine.ids import as_id
from engine.members import find_member
from engine.refs import MemberRef
from engine.text import clean_text
from engine.views import ChallengeDetails, ChallengeView, EntryView, Page
from storage.tables import Challenge, Entry, Member, Participant, Team, Vote, VoteCount

__all__ = ["MAX_PAGE", "challenge_info", "challenge_names", "check_listing", "entry_names",
           "list_challenges", "view_of"]

MAX_PAGE = 50
LISTED_PHASES = (*challenges.SUBMISSION_PHASES, "active")


def view_of(c: Challenge, tx: Tx) -> ChallengeView:
    return ChallengeView.of(c, challenges.status_line(c, tx.now))


def check_listing(phase: str | None, page: int, page_size: int) -> None:
    if phase is not None and phase not in LISTED_PHASES:
        raise InvalidInput("Phase must be one of: draft, scheduled, open, voting, active, "
                           "completed, cancelled.")
    if page < 1:
        raise InvalidInput("Pages start at 1.")
    if not 1 <= page_size <= MAX_PAGE:
        raise InvalidInput(f"A page holds 1 to {MAX_PAGE} challenges.")


async def list_challenges(tx: Tx, phase: str | None, page: int, page_size: int
                          ) -> Page[ChallengeView]:
    """The community's challenges in `phase`, or all but drafts (finished and cancelled
    ones too: a challenge does not vanish when it ends); running ones first, then
    finished ones, each newest first."""
    query = select(Challenge).where(Challenge.community_id == tx.community_id)
    if phase is not None:
        query = query.where(Challenge.phase == phase)
    else:
        query = query.where(Challenge.phase != "draft")
    total = int(await tx.session.scalar(
        select(func.count()).select_from(query.subquery())) or 0)
    rows = (await tx.session.scalars(
        query.order_by(Challenge.phase.in_(challenges.TERMINAL), Challenge.id.desc())
        .offset((page - 1) * page_size).limit(page_size))).all()
    return Page([view_of(c, tx) for c in rows], page, max(1, -(-total // page_size)), total)


async def challenge_info(tx: Tx, viewer: MemberRef, ref: str) -> ChallengeDetails:
    c = await challenges.find(tx, ref)
    member = await find_member(tx, viewer.user_id)
    n_entries, n_votes = (await tx.session.execute(
        select(func.count(Entry.id), func.coalesce(func.sum(VoteCount.votes), 0))
        .join(VoteCount, VoteCount.entry_id == Entry.id)
        .where(Entry.challenge_id == c.id, Entry.disqualified_reason.is_(None)))).one()
    n_parts = await tx.session.scalar(select(func.count()).where(
        Participant.challenge_id == c.id, Participant.active.is_(True)))
    if c.kind == "submission":
        n_parts = await tx.session.scalar(select(func.count(func.distinct(
            Entry.member_id))).where(Entry.challenge_id == c.id))
    mine: list[EntryView] = []
    my_votes, joined, pace, team = 0, False, None, None
    if member is not None:
        mine = [EntryView.of(e) for e in (await tx.session.scalars(select(Entry).where(
            Entry.challenge_id == c.id, Entry.member_id == member.id)
            .order_by(Entry.id))).all()]
        # Through the challenge's entries: votes have no index by voter, which would
        # cost every vote one more page write.
        my_votes = int(await tx.session.scalar(
            select(func.count()).select_from(Entry).where(
                Entry.challenge_id == c.id,
                select(Vote.id).where(Vote.entry_id == Entry.id,
                                      Vote.voter_id == member.id).exists())) or 0)
        part = await goals.participant(tx, c, member)
        joined = bool(part and part.active) or bool(mine)
        if part is not None and part.active and c.kind == "goal":
            pace = await goals.pace(tx, c, part)
            if part.team_id:
                t = await tx.session.get(Team, part.team_id)
                team = t.name if t else None
    can_submit = (c.kind == "submission" and c.phase == "open"
                  and len(mine) < c.max_entries
                  and (c.submissions_close_at is None or tx.now < c.submissions_close_at))
    return ChallengeDetails(view_of(c, tx), int(n_entries), int(n_parts or 0), int(n_votes),
                            joined, mine, my_votes, can_submit, pace, team)


def _contains(typed: str) -> str:
    """A LIKE pattern for text containing `typed` (its wildcards taken literally)."""
    escaped = typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def challenge_names(tx: Tx, prefix: str, limit: int) -> list[tuple[str, str]]:
    """(slug, name) pairs for autocompletion, newest first: challenges whose slug starts
    with what was typed (transliterated as slugs are), or whose name contains it."""
    query = select(Challenge.slug, Challenge.name).where(
        Challenge.community_id == tx.community_id,
        Challenge.phase.not_in(("cancelled", "draft")))
    typed = clean_text(prefix or "")
    if typed:
        slug = challenges.slugify(typed)
        # SQLite lowers ASCII letters only: the name as typed matches too.
        matches = [func.lower(Challenge.name).like(_contains(typed.lower()), escape="\\"),
                   Challenge.name.like(_contains(typed), escape="\\")]
        if slug:
            matches.append(Challenge.slug.like(f"{slug}%"))
        query = query.where(or_(*matches))
    rows = await tx.session.execute(query.order_by(Challenge.id.desc()).limit(limit))
    return [(s, n) for s, n in rows.all()]


async def entry_names(tx: Tx, typed: str, limit: int) -> list[tuple[int, str]]:
    """(entry id, "#id title by author (challenge)") for autocompletion: entries of
    challenges taking entries or votes whose number or title matches `typed`, newest
    first."""
    typed = clean_text(typed or "").lstrip("#")
    query = (
        select(Entry.id, Entry.title, Member.display_name, Member.external_id, Challenge.name)
        .join(Challenge, Challenge.id == Entry.challenge_id)
        .join(Member, Member.id == Entry.member_id)
        .where(Entry.community_id == tx.community_id, Challenge.phase.in_(("open", "voting")))
    )
    if typed.isascii() and typed.isdigit():
        query = query.where(Entry.id == (as_id(typed) or 0))  # 0: no such entry
    elif typed:
        query = query.where(func.lower(Entry.title).like(_contains(typed.lower()), escape="\\"))
    rows = await tx.session.execute(query.order_by(Entry.id.desc()).limit(limit))
    return [(i, f"#{i} {title} by {name or ext} ({challenge})")
            for i, title, name, ext, challenge in rows.all()]
