"""The append-only points ledger and the standings derived from it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from engine.context import RankMoved, Tx
from engine.periods import period_keys
from storage.sql.ledger import (
    balances_of,
    bump_score_counts,
    existing_standings,
    insert_ledger_rows,
    upsert_standings_pg,
    used_keys,
)
from storage.sql.progress import upsert_add
from storage.sql.run import off_loop
from storage.tables import LedgerRow, ScoreCount, Standing

__all__ = ["Posting", "balance", "post", "rebuild_standings", "reverse", "reverse_rows"]


@dataclass(frozen=True, slots=True)
class Posting:
    """One change of points. `key` makes a retried award pay nothing."""

    member_id: int
    delta: int
    reason: str
    key: str
    reference: str | None = None
    note: str | None = None
    awarded_by: int | None = None
    period_at: datetime | None = None


async def post(tx: Tx, postings: Sequence[Posting], *, ordered: bool = False,
               rows: bool = True, unused_keys: bool = False) -> list[LedgerRow]:
    """Append postings not seen before; returns the rows written (skipped keys omitted).

    Members are updated in id order so two concurrent transactions lock standings rows
    in the same order and cannot deadlock. Four statements whatever the number of
    postings: which keys were used, which standings exist, one upsert of every standing
    touched, one insert of the rows. Rows are written in member and key order, or with
    `ordered` in the order given (a batch of votes: each vote's rows after the last's).
    With `rows=False` no row objects are built and the list is empty (a batch of votes
    reads what it needs from `tx.moves`). `unused_keys` says the caller knows no key
    was used before (keys of rows it has just numbered): the keys are not read, and the
    unique index still refuses a used one.
    """
    fresh = await _fresh(tx, postings, ordered, check=not unused_keys)
    if not fresh:
        return []
    planned = [(p, p.period_at or tx.now) for p in fresh]
    totals: dict[tuple[int, str], int] = {}
    for p, period_at in planned:
        for period in period_keys(period_at, tx.tz):
            totals[(p.member_id, period)] = totals.get((p.member_id, period), 0) + p.delta
    after = await _bump_all(tx, totals)
    # Each row's balance follows from the all-time balance before this call.
    running = {m: after[(m, "all")] - totals[(m, "all")] for m, _ in totals}
    values: list[dict[str, Any]] = []
    for p, period_at in planned:
        running[p.member_id] += p.delta
        values.append({
            "community_id": tx.community_id, "member_id": p.member_id, "delta": p.delta,
            "balance_after": running[p.member_id], "reason": p.reason,
            "reference": p.reference, "note": p.note, "awarded_by": p.awarded_by,
            "idempotency_key": p.key, "period_at": period_at, "created_at": tx.now,
        })
        if p.delta > 0:
            tx.moves.raised.add(p.member_id)
    ids = await insert_ledger_rows(tx.session, values)
    if not rows:
        return []
    return [LedgerRow(id=ids[v["idempotency_key"]], **v) for v in values]


async def _fresh(tx: Tx, postings: Sequence[Posting], ordered: bool = False,
                 check: bool = True) -> list[Posting]:
    """Postings with a change and a key not used before (the first of repeated keys)."""
    candidates: dict[str, Posting] = {}
    for p in postings if ordered else sorted(postings, key=lambda p: (p.member_id, p.key)):
        if p.delta != 0 and p.key not in candidates:
            candidates[p.key] = p
    if not candidates or not check:
        return list(candidates.values())
    used = await used_keys(tx.session, tx.community_id, list(candidates))
    return [p for key, p in candidates.items() if key not in used]


async def reverse(tx: Tx, reference: str, *, reason_suffix: str = "reversed",
                  awarded_by: int | None = None) -> list[LedgerRow]:
    """Compensate every row carrying `reference` with its negation, once."""
    rows = (
        await tx.session.scalars(
            select(LedgerRow).where(
                LedgerRow.community_id == tx.community_id,
                LedgerRow.reference == reference,
                LedgerRow.delta != 0,
            )
        )
    ).all()
    return await reverse_rows(tx, rows, reason_suffix=reason_suffix, awarded_by=awarded_by)


async def reverse_rows(tx: Tx, rows: Sequence[LedgerRow], *, reason_suffix: str,
                       awarded_by: int | None = None) -> list[LedgerRow]:
    """Compensate these rows with their negations; keys make a second run pay nothing."""
    postings = [
        Posting(
            member_id=r.member_id,
            delta=-r.delta,
            reason=r.reason,
            key=f"{r.idempotency_key}:{reason_suffix}",
            reference=f"{r.reference}:{reason_suffix}",
            note=f"reversal of ledger #{r.id}",
            awarded_by=awarded_by,
            period_at=r.period_at,
        )
        for r in rows
        if not r.idempotency_key.endswith(f":{reason_suffix}")
    ]
    return await post(tx, postings)


async def balance(tx: Tx, member_id: int) -> int:
    found = await balances_of(tx.session, tx.community_id, "all", [member_id])
    return found.get(member_id, 0)


async def rebuild_standings(tx: Tx) -> int:
    """Recompute every standing of the community (and the score histogram with them)
    from the ledger; returns standings written."""
    cid = tx.community_id
    await tx.session.execute(delete(Standing).where(Standing.community_id == cid))
    await tx.session.execute(delete(ScoreCount).where(ScoreCount.community_id == cid))
    async with off_loop(tx.session):  # the whole ledger: not on the loop
        rows = (
            await tx.session.execute(
                select(LedgerRow.member_id, LedgerRow.period_at, func.sum(LedgerRow.delta))
                .where(LedgerRow.community_id == cid)
                .group_by(LedgerRow.member_id, LedgerRow.period_at)
            )
        ).all()
    totals: dict[tuple[int, str], int] = {}
    for member_id, period_at, delta in rows:
        for period in period_keys(period_at, tx.tz):
            totals[(member_id, period)] = totals.get((member_id, period), 0) + int(delta)
    tx.moves.forget()  # a rebuild announces nothing
    if totals:
        await tx.session.execute(insert(Standing), [
            {"community_id": cid, "period": period, "member_id": member_id, "points": pts}
            for (member_id, period), pts in totals.items()])
        counts = Counter((period, pts) for (_, period), pts in totals.items())
        await tx.session.execute(insert(ScoreCount), [
            {"community_id": cid, "period": period, "points": pts, "members": n}
            for (period, pts), n in sorted(counts.items())])
    return len(totals)


async def _bump_all(tx: Tx, totals: dict[tuple[int, str], int]) -> dict[tuple[int, str], int]:
    """Add each (member, period) total to its standing in one upsert, and move the
    members between scores in the histogram in one more; returns new points."""
    keys = sorted(totals)
    rows = [(period, member_id, totals[(member_id, period)]) for member_id, period in keys]
    if tx.session.get_bind().dialect.name == "postgresql":
        # The upsert itself says which standings it created: race-free, one round trip.
        upserted = await upsert_standings_pg(tx.session, tx.community_id, rows)
        after = {(m, p): points for p, m, points, _ in upserted}
        created = {(m, p) for p, m, _, new in upserted if new}
    else:
        # One writer at a time: what exists now still exists at the upsert.
        members = sorted({m for m, _ in keys})
        periods = sorted({p for _, p in keys})
        existing = await existing_standings(tx.session, tx.community_id, members, periods)
        upserted_rows = await upsert_add(
            tx.session, "standings", ("community_id", "period", "member_id"), "points",
            [(tx.community_id, p, m, d) for p, m, d in rows])
        after = {(int(m), p): int(points) for _, p, m, points in upserted_rows}
        created = {key for key in keys if key not in existing}
    moves: dict[tuple[str, int], int] = {}
    for key in keys:
        new, delta = after[key], totals[key]
        old = None if key in created else new - delta
        tx.emit(RankMoved(tx.community_id, key[1], old, new))
        if key[1] == "all":
            tx.moves.moved(key[0], old, new)
        if old != new:
            moves[(key[1], new)] = moves.get((key[1], new), 0) + 1
            if old is not None:
                moves[(key[1], old)] = moves.get((key[1], old), 0) - 1
    await bump_score_counts(tx.session, tx.community_id, moves)
    return after
