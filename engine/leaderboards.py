"""Leaderboards: pages of a board, a member's own rank and percentile, period figures."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from engine.challenges import find
from engine.context import Tx, View
from engine.errors import InvalidInput
from engine.periods import period_key, period_label
from engine.placing import entry_order, progress_key, shared_ranks, team_key
from engine.ranking import RankIndex
from engine.wording import plural, standing
from storage.sql.boards import board_groups
from storage.tables import Challenge, Entry, Member, Participant, Placement, Team, VoteCount

__all__ = ["Board", "BoardRow", "Standings", "ViewerRank", "challenge_standings", "leaderboard",
           "standings_of", "viewer_rank"]

MAX_PAGE_SIZE = 100  # the web page shows 100 rows; commands show 10


@dataclass(frozen=True, slots=True)
class BoardRow:
    rank: int
    name: str
    points: float
    member_external_id: str | None = None
    detail: str | None = None
    avatar_url: str | None = None


@dataclass(frozen=True, slots=True)
class ViewerRank:
    rank: int
    points: int
    members: int

    @property
    def top_percent(self) -> float:
        """'top 3%': the share of the board at or above this rank."""
        return max(0.1, math.ceil(1000 * self.rank / self.members) / 10)

    @property
    def standing(self) -> str:
        """'#4 of 250 (top 2%)', '#3 of 3': as every card and page words it."""
        return standing(self.rank, self.members)


@dataclass(frozen=True, slots=True)
class Board:
    period: str
    label: str
    rows: list[BoardRow]
    page: int
    pages: int
    members: int
    average: float
    median: float
    viewer: ViewerRank | None


READ_ATTEMPTS = 3  # reads of a page while points are being paid between them


async def viewer_rank(tx: Tx, ranks: RankIndex, member_id: int, key: str) -> ViewerRank | None:
    """The member's rank on the board `key` (None when not on it)."""
    found = await ranks.read(tx.session, tx.community_id, key, member_id, 0, 0)
    if found.points is None:
        return None
    return ViewerRank(found.above + 1, found.points, max(found.stats.members, 1))


async def leaderboard(
    ctx: Tx | View, ranks: RankIndex, period: str, page: int = 1, page_size: int = 10,
    viewer_id: int | None = None,
) -> Board:
    """One page of the points board; ties share a rank (1, 2, 2, 4)."""
    if page < 1:
        raise InvalidInput("Pages start at 1.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"A page holds 1 to {MAX_PAGE_SIZE} rows.")
    key = period_key(period, ctx.now, ctx.tz)
    for _ in range(READ_ATTEMPTS):
        # The index splits the page into groups of equal scores, each with its rank and
        # where the page starts in it; each group is then an index range of the standings
        # (members of one score in id order), so no page sorts or skips the board above it.
        found = await ranks.read(ctx.source, ctx.community_id, key, viewer_id,
                                 (page - 1) * page_size, page_size)
        stats = found.stats
        pages = max(1, math.ceil(stats.members / page_size))
        if page > pages:
            raise InvalidInput(f"The board has {plural(pages, 'page')}.")
        rank_of = {g.points: g.rank for g in found.groups}
        result = await board_groups(ctx.source, ctx.community_id, key,
                                    [(g.points, g.members, g.skip, g.take)
                                     for g in found.groups])
        # Points paid between the two reads can give a row a score the index read had not
        # seen yet: read both again (the index catches up as the payment commits).
        if rank_of.keys() >= {row[0] for row in result}:
            break
    rows = [BoardRow(rank_of[points], name or external_id, points, external_id,
                     avatar_url=avatar)
            for points, external_id, name, avatar in result if points in rank_of]
    viewer = None if found.points is None else ViewerRank(
        found.above + 1, found.points, max(stats.members, 1))
    return Board(period, period_label(period, ctx.now, ctx.tz), rows, page, pages, stats.members,
                 stats.average, stats.median, viewer)


@dataclass(frozen=True, slots=True)
class Standings:
    challenge: Challenge
    rows: list[BoardRow]
    page: int
    pages: int
    total: int


async def standings_of(tx: Tx, ref: str, page: int = 1) -> Standings:
    """The standings of the challenge `ref` names."""
    return await challenge_standings(tx, await find(tx, ref), page)


async def challenge_standings(tx: Tx, c: Challenge, page: int = 1, page_size: int = 10
                              ) -> Standings:
    """Entries by votes, or participants (teams aggregated) by progress; once results are
    out, the final placements."""
    if page < 1:
        raise InvalidInput("Pages start at 1.")
    if c.phase == "completed":
        rows = await _placements(tx, c)
    else:
        data = (await _entry_rows(tx, c) if c.kind == "submission"
                else await _progress_rows(tx, c))
        ranks = shared_ranks([score for score, *_ in data])
        rows = [BoardRow(rank, name, score, ext, detail)
                for rank, (score, name, ext, detail) in zip(ranks, data, strict=True)]
    pages = max(1, math.ceil(len(rows) / page_size))
    page = min(page, pages)  # past the end: the last page, as reported
    start = (page - 1) * page_size
    return Standings(c, rows[start:start + page_size], page, pages, len(rows))


async def _placements(tx: Tx, c: Challenge) -> list[BoardRow]:
    """The results as placed: one place each, the tie-break applied."""
    found = (await tx.session.execute(
        select(Placement.place, Placement.label, Placement.score, Member.external_id,
               Placement.tiebreak, Placement.entry_id)
        .outerjoin(Member, Member.id == Placement.member_id)
        .where(Placement.challenge_id == c.id, Placement.community_id == tx.community_id)
        .order_by(Placement.place))).all()
    return [BoardRow(place, f"#{entry_id} {label}" if entry_id else label, score, ext,
                     tiebreak)
            for place, label, score, ext, tiebreak, entry_id in found]


async def _entry_rows(tx: Tx, c: Challenge) -> list[tuple[float, str, str | None, str | None]]:
    votes = func.coalesce(VoteCount.votes, 0)  # an entry without a count row still shows
    return [
        (float(n), f"#{eid} {title}", ext, f"by {name}")
        for eid, title, n, ext, name in (
            await tx.session.execute(
                select(Entry.id, Entry.title, votes, Member.external_id, Member.display_name)
                .join(Member, Member.id == Entry.member_id)
                .outerjoin(VoteCount, VoteCount.entry_id == Entry.id)
                .where(Entry.challenge_id == c.id, Entry.community_id == tx.community_id,
                       Entry.disqualified_reason.is_(None))
                .order_by(*entry_order(votes))
            )
        ).all()
    ]


async def _progress_rows(tx: Tx, c: Challenge) -> list[tuple[float, str, str | None, str | None]]:
    parts = (
        await tx.session.execute(
            select(Participant, Member.external_id, Member.display_name)
            .join(Member, Member.id == Participant.member_id)
            .where(Participant.challenge_id == c.id, Participant.community_id == tx.community_id,
                   Participant.active.is_(True))
        )
    ).all()
    if c.team_mode == "team":
        names = {t.id: t.name for t in (await tx.session.scalars(
            select(Team).where(Team.challenge_id == c.id))).all()}
        totals: dict[int, float] = defaultdict(float)
        counts: dict[int, int] = defaultdict(int)
        for p, _, _ in parts:
            if p.team_id is not None:
                totals[p.team_id] += p.progress
                counts[p.team_id] += 1
        ordered = sorted(totals.items(), key=lambda kv: team_key(kv[1], kv[0]))
        return [(score, f"Team {names.get(tid, '?')}", None,
                 plural(counts[tid], "member"))
                for tid, score in ordered]
    ends = c.ends_at or tx.now
    ordered_parts = sorted(parts, key=lambda r: progress_key(r[0].progress, r[0].finished_at,
                                                             ends, r[0].id))
    return [(p.progress, name or ext, ext, "finished" if p.finished_at else None)
            for p, ext, name in ordered_parts]
