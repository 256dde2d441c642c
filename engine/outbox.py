"""The outbox: announcements written in the same transaction as the change they announce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engine.context import Tx
from engine.messages import Card
from engine.refs import MessageRef
from storage.dialect import insert_ignore
from storage.tables import Entry, OutboxRow

__all__ = ["Delivery", "claim", "enqueue", "mark_failed", "mark_sent"]

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed outbox row, ready for an adapter to post."""

    id: int
    community_id: int
    kind: str
    channel_id: str | None
    member_external_id: str | None
    card: Card
    dedupe_key: str
    attempts: int


async def enqueue(
    tx: Tx,
    kind: str,
    card: Card,
    *,
    dedupe_key: str,
    channel_id: str | None = None,
    to_member: str | None = None,
    entry_id: int | None = None,
) -> None:
    """Queue `card` for the community's announcements channel (or a member, or a channel).

    The dedupe key makes a second write of the same announcement a no-op.
    """
    if channel_id is None and to_member is None:
        channel_id = tx.community.announce_channel
    await tx.session.execute(
        insert_ignore(tx.session, OutboxRow, ["community_id", "dedupe_key"]).values(
            community_id=tx.community_id,
            kind=kind,
            channel_id=channel_id,
            member_external_id=to_member,
            body=card.to_json(),
            dedupe_key=dedupe_key,
            entry_id=entry_id,
            status="pending",
            attempts=0,
            next_attempt_at=tx.now,
            created_at=tx.now,
        )
    )


async def claim(
    session: AsyncSession, now: datetime, *, limit: int = 20, skip_locked: bool = False
) -> list[Delivery]:
    """Lease up to `limit` due rows so no other worker posts them meanwhile."""
    query = (
        select(OutboxRow)
        .where(
            OutboxRow.status == "pending",
            OutboxRow.next_attempt_at <= now,
            or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until <= now),
        )
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.scalars(query)).all())
    for row in rows:
        row.lease_until = now + LEASE
        row.attempts += 1
    return [
        Delivery(
            id=r.id,
            community_id=r.community_id,
            kind=r.kind,
            channel_id=r.channel_id,
            member_external_id=r.member_external_id,
            card=Card.from_json(r.body),
            dedupe_key=r.dedupe_key,
            attempts=r.attempts,
        )
        for r in rows
    ]


async def mark_sent(session: AsyncSession, outbox_id: int, message: MessageRef | None,
                    now: datetime) -> None:
    """Record the posted message; an entry's message becomes what voters react to."""
    row = await session.get(OutboxRow, outbox_id)
    if row is None or row.status == "sent":
        return
    row.status = "sent"
    row.sent_at = now
    row.lease_until = None
    if message is not None:
        row.message_id = message.message_id
        row.channel_id = message.channel_id
        if row.entry_id is not None:
            await session.execute(
                update(Entry)
                .where(Entry.id == row.entry_id, Entry.community_id == row.community_id)
                .values(channel_id=message.channel_id, message_id=message.message_id)
            )


async def mark_failed(
    session: AsyncSession, outbox_id: int, error: str, now: datetime, *,
    retry_after: float | None = None, permanent: bool = False,
) -> str:
    """Back off and retry later, or park the row once retrying is pointless."""
    row = await session.get(OutboxRow, outbox_id)
    if row is None or row.status != "pending":
        return "gone"
    row.last_error = error[:2000]
    row.lease_until = None
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = "parked"
        return "parked"
    backoff = retry_after if retry_after is not None else min(2 ** row.attempts, 900)
    row.next_attempt_at = now + timedelta(seconds=backoff)
    return "retry"
