"""A challenge's web page: its gallery of entries, its podium once results are out, and
for goal challenges the progress of members, teams and the community over time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select

from engine import challenges
from engine.challenge_reads import view_of
from engine.context import Tx
from engine.entries import shown_image
from engine.leaderboards import challenge_standings
from engine.placing import entry_order, progress_key, team_key
from engine.views import ChallengePage, GalleryEntry, ProgressSeries
from storage.tables import Challenge, Entry, Member, Participant, ProgressLog, Team, VoteCount

__all__ = ["MAX_ENTRIES", "MAX_SERIES", "challenge_page", "votes_shown"]

MAX_ENTRIES = 200  # a gallery shows this many entries at most
MAX_SERIES = 5  # members or teams drawn on a goal chart, besides the whole community
VOTING_OVER = ("completed", "cancelled")


def votes_shown(phase: str, live_counts: bool) -> bool:
    """Galleries show votes once voting is over, or all along if the community says so."""
    return phase in VOTING_OVER or live_counts


async def challenge_page(tx: Tx, ref: str, live_counts: bool) -> ChallengePage:
    c = await challenges.find(tx, ref)
    shown = votes_shown(c.phase, live_counts)
    votes = func.coalesce(VoteCount.votes, 0)
    order = entry_order(votes) if shown else (Entry.submitted_at, Entry.id)
    rows = (await tx.session.execute(
        select(Entry.id, Entry.title, Member.display_name, Member.external_id,
               Entry.image_url, Entry.link, votes, Entry.featured, Entry.submitted_at)
        .join(Member, Member.id == Entry.member_id)
        .outerjoin(VoteCount, VoteCount.entry_id == Entry.id)
        .where(Entry.challenge_id == c.id, Entry.community_id == tx.community_id,
               Entry.disqualified_reason.is_(None))
        .order_by(*order).limit(MAX_ENTRIES))).all()
    entries = [GalleryEntry(i, title, name or ext, ext, shown_image(image, link), link,
                            int(n) if shown else None, bool(featured), at)
               for i, title, name, ext, image, link, n, featured, at in rows]
    podium: list[tuple[int, str, float, str | None]] = []
    if c.phase == "completed":
        standings = await challenge_standings(tx, c, 1, 3)
        podium = [(r.rank, r.name, r.points, r.member_external_id) for r in standings.rows]
    series: list[ProgressSeries] = []
    participants = int(await tx.session.scalar(select(func.count()).where(
        Participant.challenge_id == c.id, Participant.active.is_(True))) or 0)
    if c.kind == "goal":
        series = await _series(tx, c)
    else:
        participants = int(await tx.session.scalar(select(func.count(func.distinct(
            Entry.member_id))).where(Entry.challenge_id == c.id)) or 0)
    return ChallengePage(view_of(c, tx), entries, shown, podium, series, c.goal, participants)


async def _series(tx: Tx, c: Challenge) -> list[ProgressSeries]:
    """The community's total, then the leading members (or teams), each as cumulative
    progress at every log."""
    logs = (await tx.session.execute(
        select(ProgressLog.member_id, ProgressLog.amount, ProgressLog.logged_at)
        .where(ProgressLog.challenge_id == c.id, ProgressLog.community_id == tx.community_id)
        .order_by(ProgressLog.logged_at, ProgressLog.id))).all()
    parts = (await tx.session.execute(
        select(Participant, Member.display_name, Member.external_id)
        .join(Member, Member.id == Participant.member_id)
        .where(Participant.challenge_id == c.id, Participant.active.is_(True)))).all()
    start = c.starts_at
    total = ProgressSeries("Everyone", [(start, 0.0), *_cumulative(
        (at, amount) for _, amount, at in logs)])
    if c.team_mode == "team":
        names = {t.id: t.name for t in (await tx.session.scalars(
            select(Team).where(Team.challenge_id == c.id))).all()}
        team_of = {p.member_id: p.team_id for p, _, _ in parts if p.team_id is not None}
        totals: dict[int, float] = defaultdict(float)
        for p, _, _ in parts:
            if p.team_id is not None:
                totals[p.team_id] += p.progress
        leaders = [t for t, _ in sorted(totals.items(), key=lambda kv: team_key(kv[1], kv[0]))]
        groups = {t: f"Team {names.get(t, '?')}" for t in leaders[:MAX_SERIES]}
        by_group = {m: team_of[m] for m in team_of}
    else:
        ends = c.ends_at or tx.now
        ordered = sorted(parts, key=lambda r: progress_key(r[0].progress, r[0].finished_at,
                                                           ends, r[0].id))
        groups = {p.member_id: name or ext for p, name, ext in ordered[:MAX_SERIES]}
        by_group = {p.member_id: p.member_id for p, _, _ in parts}
    lines = [ProgressSeries(label, [(start, 0.0), *_cumulative(
        (at, amount) for m, amount, at in logs if by_group.get(m) == group)])
        for group, label in groups.items()]
    if c.team_mode == "individual":
        return [*lines, total]
    return [total, *lines]


def _cumulative(steps: Iterable[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    out: list[tuple[datetime, float]] = []
    running = 0.0
    for at, amount in steps:
        running += float(amount)
        out.append((at, running))
    return out
