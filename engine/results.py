"""Closing a challenge: ranking, placement points and the results announcement, once."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Float, String, case, cast, func, insert, literal, null, or_, select

from engine import outbox
from engine.achievements import bump_stat
from engine.challenges import _num, transition
from engine.context import Tx
from engine.ledger import Posting, post
from engine.messages import Card, Field
from engine.placing import (
    ONE_PLACE_RULE,
    TIEBREAK_RULE,
    entry_order,
    progress_key,
    team_key,
    tie_note,
)
from engine.wording import plural
from storage.dialect import bulk_insert
from storage.sql.run import off_loop
from storage.tables import Challenge, Entry, Member, Participant, Placement, Team, VoteCount

__all__ = ["TIEBREAK_RULE", "Ranked", "place_points", "tally"]

MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}


@dataclass(frozen=True, slots=True)
class Ranked:
    place: int
    subject: str
    label: str
    score: float
    member_id: int | None
    entry_id: int | None = None
    team_id: int | None = None
    tiebreak: str | None = None


def place_points(tx: Tx, place: int) -> int:
    if place <= 3:
        return tx.rule(f"place_{place}")
    return tx.rule("place_4_to_10") if place <= 10 else 0


async def tally(tx: Tx, challenge: Challenge) -> list[Ranked] | None:
    """Rank and pay out. Returns None when another run already closed the challenge;
    otherwise the places ranked (for submissions, the first ten; all are written)."""
    old = "voting" if challenge.kind == "submission" else "active"
    if not await transition(tx, challenge, old, "tallying"):
        return None
    if challenge.kind == "submission":
        ranked = await _place_entries(tx, challenge)
    else:
        ranked = await _rank_progress(tx, challenge)
        await bulk_insert(tx.session, Placement.__table__, [
            {"community_id": tx.community_id, "challenge_id": challenge.id, "place": r.place,
             "subject": r.subject, "member_id": r.member_id, "entry_id": r.entry_id,
             "team_id": r.team_id, "score": float(r.score), "label": r.label[:200],
             "tiebreak": r.tiebreak}
            for r in ranked
        ])
    await transition(tx, challenge, "tallying", "completed")
    challenge.completed_at = tx.now
    # Results go out before the achievements the placements unlock.
    await outbox.enqueue(tx, "results", await _results_card(tx, challenge, ranked),
                         dedupe_key=f"results:{challenge.id}",
                         channel_id=challenge.channel_id or tx.community.announce_channel)
    if challenge.kind == "submission":
        await _pay_places(tx, challenge, ranked)
    return ranked


async def _place_entries(tx: Tx, c: Challenge) -> list[Ranked]:
    """Place the entries and write the placements in one statement, in the database: a
    challenge of 100,000 entries never crosses to Python. Each member's best entry
    places (`placing.ONE_PLACE_RULE`), if it has at least `place_min_votes` votes.
    Returns the first ten places, all that the results card and the points need."""
    votes = func.coalesce(VoteCount.votes, 0)  # an entry without a count row still ranks
    order = entry_order(votes)
    best = (
        select(Entry.id.label("entry_id"), Entry.member_id, votes.label("votes"),
               Entry.submitted_at, func.row_number().over(
                   partition_by=Entry.member_id, order_by=order).label("nth"))
        .outerjoin(VoteCount, VoteCount.entry_id == Entry.id)
        .where(Entry.challenge_id == c.id, Entry.community_id == tx.community_id,
               Entry.disqualified_reason.is_(None))
    ).subquery()
    placed_votes = best.c.votes
    placed_order = (placed_votes.desc(), best.c.submitted_at, best.c.entry_id)
    tied = or_(func.lag(placed_votes).over(order_by=placed_order) == placed_votes,
               func.lead(placed_votes).over(order_by=placed_order) == placed_votes)
    label = Entry.title + " by " + Member.display_name
    ranked = (
        select(literal(tx.community_id), literal(c.id),
               func.row_number().over(order_by=placed_order),
               "entry:" + cast(best.c.entry_id, String), best.c.member_id, best.c.entry_id,
               cast(placed_votes, Float), func.substr(label, 1, 200),
               case((tied, tie_note(placed_votes)), else_=null()))
        .select_from(best)
        .join(Entry, Entry.id == best.c.entry_id)
        .join(Member, Member.id == best.c.member_id)
        .where(best.c.nth == 1, placed_votes >= tx.rule("place_min_votes"))
    )
    async with off_loop(tx.session):  # 100,000 entries rank in a second: not on the loop
        await tx.session.execute(insert(Placement).from_select(
            ["community_id", "challenge_id", "place", "subject", "member_id", "entry_id",
             "score", "label", "tiebreak"], ranked))
    # The card shows whole labels; the stored ones stop at 200 characters.
    top = (await tx.session.execute(
        select(Placement.place, Placement.subject, label, Placement.score,
               Placement.member_id, Placement.entry_id, Placement.tiebreak)
        .join(Entry, Entry.id == Placement.entry_id)
        .join(Member, Member.id == Placement.member_id)
        .where(Placement.challenge_id == c.id, Placement.place <= 10)
        .order_by(Placement.place)
    )).all()
    return [Ranked(place, subject, whole, int(score), member_id, entry_id=entry_id,
                   tiebreak=tiebreak)
            for place, subject, whole, score, member_id, entry_id, tiebreak in top]


async def _pay_places(tx: Tx, c: Challenge, ranked: list[Ranked]) -> None:
    """Placement points for the first ten places (one per member); wins and podiums
    counted."""
    best = {r.member_id: r.place for r in ranked[:10] if r.member_id is not None}
    await post(tx, [
        Posting(member_id, place_points(tx, place), "placement", f"place:{c.id}:{member_id}",
                f"challenge:{c.id}", note=f"place {place} in {c.name}")
        for member_id, place in best.items()
    ])
    for member_id, place in best.items():
        if place == 1:
            await bump_stat(tx, member_id, "wins")
        if place <= 3:
            await bump_stat(tx, member_id, "podiums")


async def _rank_progress(tx: Tx, c: Challenge) -> list[Ranked]:
    parts = (
        await tx.session.execute(
            select(Participant, Member.display_name)
            .join(Member, Member.id == Participant.member_id)
            .where(Participant.challenge_id == c.id, Participant.active.is_(True))
        )
    ).all()
    if c.team_mode == "team":
        teams = {t.id: t.name for t in (await tx.session.scalars(
            select(Team).where(Team.challenge_id == c.id))).all()}
        totals: dict[int, float] = defaultdict(float)
        for p, _ in parts:
            if p.team_id is not None:
                totals[p.team_id] += p.progress
        order = sorted(((t, v) for t, v in totals.items() if v > 0),
                       key=lambda kv: team_key(kv[1], kv[0]))
        return [Ranked(i + 1, f"team:{tid}", teams.get(tid, "?"), score, None, team_id=tid)
                for i, (tid, score) in enumerate(order)]
    ends = c.ends_at or tx.now
    order = sorted((pn for pn in parts if pn[0].progress > 0),
                   key=lambda pn: progress_key(pn[0].progress, pn[0].finished_at, ends,
                                               pn[0].id))
    return [Ranked(i + 1, f"member:{p.member_id}", name, p.progress, p.member_id)
            for i, (p, name) in enumerate(order)]


async def _results_card(tx: Tx, c: Challenge, ranked: list[Ranked]) -> Card:
    if not ranked:
        entered = await tx.session.scalar(select(func.count()).select_from(Entry).where(
            Entry.challenge_id == c.id, Entry.disqualified_reason.is_(None)))
        why = ("No votes, no podium: no entry reached "
               f"{plural(tx.rule('place_min_votes'), 'vote')}." if entered
               else "No entries this time.")
        if c.kind == "goal":
            why = "Nobody logged any progress: no podium."
        return Card(title=f"🏆 Results: {c.name}", text=why, color="gold",
                    footer=f"#{c.id} · {c.slug}")
    unit = "votes" if c.kind == "submission" else (c.unit or "")
    lines = []
    for r in ranked[:3]:
        medal = MEDALS.get(r.place, f"{r.place}.")
        extra = f" ({r.tiebreak})" if r.tiebreak else ""
        lines.append(f"{medal} {r.label}: {_score(unit, r.score)}{extra}")
    fields: list[Field] = []
    if c.kind == "submission":
        fields.append(Field("Placement points",
                            f"{tx.rule('place_1')} / {tx.rule('place_2')} / {tx.rule('place_3')}"
                            f", 4th-10th {tx.rule('place_4_to_10')}"))
        fields.append(Field("Tie-break", TIEBREAK_RULE, inline=False))
        fields.append(Field("Places", ONE_PLACE_RULE, inline=False))
    else:
        finishers = sum(1 for _ in (await tx.session.scalars(
            select(Participant.id).where(Participant.challenge_id == c.id,
                                         Participant.finished_at.is_not(None)))).all())
        fields.append(Field("Finishers", str(finishers)))
    return Card(title=f"🏆 Results: {c.name}", text="\n".join(lines), fields=tuple(fields),
                color="gold", footer=f"#{c.id} · {c.slug}")


def _score(unit: str, score: float) -> str:
    if unit == "votes":
        return plural(score, "vote")
    return f"{_num(score)} {unit}".rstrip()  # a goal's unit is spelt as its moderator set it
