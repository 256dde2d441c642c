"""The outbox: announcements written in the same transaction as the change they announce."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engine.context import Tx
from engine.leases import LEASE
from engine.messages import Card
from engine.refs import MessageRef
from storage.dialect import insert_ignore
from storage.tables import Community, Entry, OutboxRow

__all__ = [
    "Delivery",
    "OutboxInfo",
    "ParkedSummary",
    "claim",
    "enqueue",
    "list_rows",
    "mark_failed",
    "mark_sent",
    "parked_summary",
    "release_leases",
    "retry",
    "start_post",
]

MAX_ATTEMPTS = 8
# LEASE (engine/leases.py): 15 s, renewed by the delivery worker while it posts.


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
    # When an earlier attempt that may have reached the platform began (None: none did).
    post_started_at: datetime | None = None


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
    session: AsyncSession, now: datetime, *, limit: int = 20, skip_locked: bool = False,
    platforms: Collection[str] | None = None,
) -> list[Delivery]:
    """Lease up to `limit` due rows so no other worker posts them meanwhile.

    `platforms`: only rows of communities on these platforms (a process serving Slack
    leaves Discord's rows to the process that serves Discord, without spending attempts).
    """
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
    if platforms is not None:
        query = query.where(OutboxRow.community_id.in_(
            select(Community.id).where(Community.platform.in_(list(platforms)))))
    if skip_locked:
        query = query.with_for_update(skip_locked=True, of=OutboxRow)
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
            post_started_at=r.post_started_at,
        )
        for r in rows
    ]


async def start_post(session: AsyncSession, outbox_id: int, attempts: int, now: datetime,
                     started_at: datetime) -> bool:
    """Record that a post attempt begins (`started_at`, wall-clock time), renewing the
    claim's lease for it. False, and nothing written, when the claim is no longer ours
    (another worker took the row over after the lease ended): then do not post."""
    result = await session.execute(update(OutboxRow).where(
        OutboxRow.id == outbox_id, OutboxRow.status == "pending",
        OutboxRow.attempts == attempts, OutboxRow.lease_until > now,
    ).values(post_started_at=started_at, lease_until=now + LEASE))
    return bool(result.rowcount)  # type: ignore[attr-defined]


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


# -- what operators and moderators see of it -------------------------------------------------

@dataclass(frozen=True, slots=True)
class OutboxInfo:
    """One outbox row as `laurels outbox` lists it."""

    id: int
    community: str  # "discord:1234"
    kind: str
    status: str
    attempts: int
    channel_id: str | None
    title: str
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class ParkedSummary:
    """Announcements that could not be delivered: how many, and the latest reason."""

    count: int
    latest_error: str | None
    latest_id: int | None


async def list_rows(session: AsyncSession, statuses: Collection[str], *, limit: int = 50,
                    community_id: int | None = None) -> list[OutboxInfo]:
    """Rows in `statuses`, newest first, across communities unless one is given."""
    query = (select(OutboxRow, Community.platform, Community.external_id)
             .join(Community, Community.id == OutboxRow.community_id)
             .where(OutboxRow.status.in_(list(statuses)))
             .order_by(OutboxRow.id.desc()).limit(limit))
    if community_id is not None:
        query = query.where(OutboxRow.community_id == community_id)
    return [_info(r, platform, external_id)
            for r, platform, external_id in (await session.execute(query)).all()]


def _info(r: OutboxRow, platform: str, external_id: str) -> OutboxInfo:
    return OutboxInfo(r.id, f"{platform}:{external_id}", r.kind, r.status, r.attempts,
                      r.channel_id, str(r.body.get("title") or r.body.get("text") or "")[:80],
                      r.last_error, r.created_at, r.next_attempt_at)


async def retry(session: AsyncSession, outbox_id: int, now: datetime) -> OutboxInfo | None:
    """Put a parked (or failing) row back in the queue with fresh attempts.

    Returns None when there is no such row; a row already sent is left alone (posting it
    again is not a retry) and comes back unchanged.
    """
    row = await session.get(OutboxRow, outbox_id)
    if row is None:
        return None
    if row.status != "sent":
        row.status = "pending"
        row.attempts = 0
        row.next_attempt_at = now
        row.lease_until = None
    community = await session.get(Community, row.community_id)
    assert community is not None
    return _info(row, community.platform, community.external_id)


async def parked_summary(session: AsyncSession, community_id: int) -> ParkedSummary:
    count = int(await session.scalar(select(func.count()).where(
        OutboxRow.community_id == community_id, OutboxRow.status == "parked")) or 0)
    latest = (await session.execute(
        select(OutboxRow.id, OutboxRow.last_error)
        .where(OutboxRow.community_id == community_id, OutboxRow.status == "parked")
        .order_by(OutboxRow.id.desc()).limit(1))).first()
    return ParkedSummary(count, latest[1] if latest else None, latest[0] if latest else None)


async def release_leases(session: AsyncSession) -> int:
    """Forget every lease on pending rows (SQLite start-up; see DueRunner.recover). A row
    whose post was in flight when the process died is posted again with the same nonce."""
    result = await session.execute(update(OutboxRow).where(
        OutboxRow.status == "pending", OutboxRow.lease_until.is_not(None)
    ).values(lease_until=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
