"""The append-only points ledger and the standings derived from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from engine.context import RankChange, Tx
from engine.periods import period_keys
from storage.dialect import insert_for
from storage.tables import LedgerRow, Standing

__all__ = ["Posting", "balance", "post", "rebuild_standings", "reverse"]


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


async def post(tx: Tx, postings: Sequence[Posting]) -> list[LedgerRow]:
    """Append postings not seen before; returns the rows written (skipped keys omitted).

    Members are updated in id order so two concurrent transactions lock standings rows
    in the same order and cannot deadlock.
    """
    written: list[LedgerRow] = []
    for p in sorted(postings, key=lambda p: (p.member_id, p.key)):
        if p.delta == 0 or await _key_used(tx, p.key):
            continue
        period_at = p.period_at or tx.now
        balance_after = await _bump(tx, p.member_id, period_keys(period_at, tx.tz), p.delta)
        row = LedgerRow(
            community_id=tx.community_id,
            member_id=p.member_id,
            delta=p.delta,
            balance_after=balance_after,
            reason=p.reason,
            reference=p.reference,
            note=p.note,
            awarded_by=p.awarded_by,
            idempotency_key=p.key,
            period_at=period_at,
            created_at=tx.now,
        )
        tx.session.add(row)
        written.append(row)
        if p.delta > 0:
            tx.points_raised.add(p.member_id)
    if written:
        await tx.session.flush()
    return written


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
    postings = [
        Posting(
            member_id=r.member_id,
            delta=-r.delta,
            reason=r.reason,
            key=f"{r.idempotency_key}:{reason_suffix}",
            reference=f"{reference}:{reason_suffix}",
            note=f"reversal of ledger #{r.id}",
            awarded_by=awarded_by,
            period_at=r.period_at,
        )
        for r in rows
        if not r.idempotency_key.endswith(f":{reason_suffix}")
    ]
    return await post(tx, postings)


async def balance(tx: Tx, member_id: int) -> int:
    points = await tx.session.scalar(
        select(Standing.points).where(
            Standing.community_id == tx.community_id,
            Standing.period == "all",
            Standing.member_id == member_id,
        )
    )
    return int(points or 0)


async def rebuild_standings(tx: Tx) -> int:
    """Recompute every standing of the community from the ledger; returns rows written."""
    await tx.session.execute(delete(Standing).where(Standing.community_id == tx.community_id))
    rows = (
        await tx.session.execute(
            select(LedgerRow.member_id, LedgerRow.period_at, func.sum(LedgerRow.delta))
            .where(LedgerRow.community_id == tx.community_id)
            .group_by(LedgerRow.member_id, LedgerRow.period_at)
        )
    ).all()
    totals: dict[tuple[int, str], int] = {}
    for member_id, period_at, delta in rows:
        for period in period_keys(period_at, tx.tz):
            totals[(member_id, period)] = totals.get((member_id, period), 0) + int(delta)
    tx.session.add_all(
        Standing(community_id=tx.community_id, period=period, member_id=member_id, points=pts)
        for (member_id, period), pts in totals.items()
    )
    await tx.session.flush()
    return len(totals)


async def _key_used(tx: Tx, key: str) -> bool:
    found = await tx.session.scalar(
        select(LedgerRow.id).where(
            LedgerRow.community_id == tx.community_id, LedgerRow.idempotency_key == key
        )
    )
    return found is not None


async def _bump(tx: Tx, member_id: int, periods: Sequence[str], delta: int) -> int:
    """Add `delta` to the member's standings for `periods`; returns the all-time balance."""
    existing = set(
        (
            await tx.session.scalars(
                select(Standing.period).where(
                    Standing.community_id == tx.community_id,
                    Standing.member_id == member_id,
                    Standing.period.in_(periods),
                )
            )
        ).all()
    )
    balance_after = 0
    for period in periods:
        stmt = insert_for(tx.session, Standing).values(
            community_id=tx.community_id, period=period, member_id=member_id, points=delta
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["community_id", "period", "member_id"],
            set_={"points": Standing.points + delta},
        ).returning(Standing.points)
        new = int((await tx.session.execute(stmt)).scalar_one())
        old = new - delta if period in existing else None
        tx.rank_changes.append(RankChange(tx.community_id, period, old, new))
        if period == "all":
            balance_after = new
    return balance_after
