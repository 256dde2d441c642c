"""`Deliveries`: the outbox as the delivery worker and the operator see it.

A facade beside `Engine` (engine/service.py), reached as `engine.deliveries`. The worker
claims due posts, records each attempt before posting and its outcome after
(bot/delivery.py); the operator lists rows and queues a parked post again (`laurels
outbox`). Outbox rows belong to every community at once, so these run in plain
transactions (`Database.run`), each one operation of engine/outbox.py.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from engine import outbox
from engine.clock import Clock
from engine.errors import Conflict, NotFound
from engine.refs import MessageRef
from storage.db import Database

__all__ = ["Deliveries"]


class Deliveries:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def claim(self, limit: int = 20, platforms: Collection[str] | None = None
                    ) -> list[outbox.Delivery]:
        """Due posts for this process (of `platforms`, all by default), leased to it."""
        return await self._db.run(lambda session: outbox.claim(
            session, self._clock.now(), limit=limit, skip_locked=not self._db.is_sqlite,
            platforms=platforms))

    async def started(self, outbox_id: int, attempts: int, started_at: datetime) -> bool:
        """Record, before posting, that an attempt begins; False if the claim was lost."""
        return await self._db.run(lambda session: outbox.start_post(
            session, outbox_id, attempts, self._clock.now(), started_at))

    async def sent(self, outbox_id: int, message: MessageRef | None) -> None:
        await self._db.run(lambda session: outbox.mark_sent(session, outbox_id, message,
                                                            self._clock.now()))

    async def failed(self, outbox_id: int, error: str, *, retry_after: float | None = None,
                     permanent: bool = False) -> str:
        """Record a failed attempt; what became of the row: "retry" (tried again later),
        "parked", or "gone" (no longer pending)."""
        return await self._db.run(lambda session: outbox.mark_failed(
            session, outbox_id, error, self._clock.now(), retry_after=retry_after,
            permanent=permanent))

    async def rows(self, statuses: Collection[str], limit: int = 50
                   ) -> list[outbox.OutboxInfo]:
        """Outbox rows in every community (the `laurels outbox` operator command)."""
        async with self._db.session() as session:
            return await outbox.list_rows(session, statuses, limit=limit)

    async def retry(self, outbox_id: int) -> outbox.OutboxInfo:
        """Queue a parked announcement again with fresh attempts (operator command)."""
        info = await self._db.run(lambda session: outbox.retry(session, outbox_id,
                                                               self._clock.now()))
        if info is None:
            raise NotFound(f"There is no outbox message {outbox_id}.")
        if info.status == "sent":
            raise Conflict(f"Outbox message {outbox_id} was already sent.")
        return info
