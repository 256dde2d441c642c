"""The delivery worker: hands outbox rows to their platform, records what was posted.

Posting and recording are two steps no transaction can join: a process that dies between
them leaves the row pending, and it is posted again once its lease lapses. The nonce
(`laurels-{outbox id}`) is the same on every attempt, so a platform that honours nonces
(Discord's `enforce_nonce`) returns the first message instead of posting a second one,
and anywhere else the repeat is recognisable. Once recorded, a row is never posted
again: a row marked sent is never claimed.

While it works the worker renews its claims every 5 s (engine/leases.py), so a batch
that takes long keeps its rows, and a dead worker's rows are taken over within 15 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from bot.platform import DeliveryError, Platform
from engine.leases import Heartbeat
from engine.outbox import Delivery
from engine.refs import CommunityRef
from engine.service import Engine
from storage.tables import OutboxRow

__all__ = ["DeliveryWorker", "nonce_for"]

log = logging.getLogger(__name__)


def nonce_for(outbox_id: int) -> str:
    """The idempotency nonce of an outbox row: the same on every attempt (Discord allows
    25 characters)."""
    return f"laurels-{outbox_id}"


class DeliveryWorker:
    """Posts pending announcements with retries; a message that keeps failing is parked."""

    def __init__(self, engine: Engine, platforms: Mapping[str, Platform], *,
                 idle_seconds: float = 1.0) -> None:
        self.engine = engine
        self.platforms = platforms
        self.idle_seconds = idle_seconds
        self._communities: dict[int, CommunityRef] = {}
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was queued: look now instead of at the next idle tick."""
        self._wake.set()

    async def run_once(self, limit: int = 20) -> int:
        """Deliver what is due now; returns how many rows were handled."""
        # Only rows this process can post: another process may serve other platforms.
        batch = await self.engine.claim_deliveries(limit=limit, platforms=list(self.platforms))
        if not batch:
            return 0
        async with Heartbeat(self.engine.db, OutboxRow, self.engine.clock) as beat:
            for delivery in batch:
                beat.hold(delivery.id, delivery.attempts)
            for delivery in batch:
                try:
                    await self._deliver(delivery, beat)
                finally:
                    await beat.release(delivery.id)
        return len(batch)

    async def run_forever(self) -> None:
        while True:
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("delivery batch failed")
                handled = 0
            if handled == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_seconds)

    async def _community(self, community_id: int) -> CommunityRef:
        ref = self._communities.get(community_id)
        if ref is None:
            ref = self._communities[community_id] = await self.engine.community_of(community_id)
        return ref

    async def _deliver(self, d: Delivery, beat: Heartbeat) -> None:
        community = await self._community(d.community_id)
        platform = self.platforms.get(community.platform)
        if platform is None:
            # Another process may serve that platform; leave it for the lease to expire.
            await beat.release(d.id)
            await self.engine.delivery_failed(d.id, f"no {community.platform} adapter here",
                                              retry_after=30)
            return
        nonce = nonce_for(d.id)
        try:
            if d.member_external_id is not None:
                ref = await platform.send_direct(community.external_id, d.member_external_id,
                                                 d.card, nonce=nonce)
            elif d.channel_id is None:
                raise DeliveryError("no announcements channel is configured "
                                    "(/settings channel announcements #channel)", permanent=True)
            else:
                ref = await platform.post(community.external_id, d.channel_id, d.card,
                                          nonce=nonce)
        except DeliveryError as exc:
            await beat.release(d.id)  # no renewal may overwrite the backoff
            outcome = await self.engine.delivery_failed(
                d.id, str(exc), retry_after=exc.retry_after, permanent=exc.permanent)
            log.warning("delivery %s failed (%s): %s", d.id, outcome, exc)
            return
        except Exception as exc:
            await beat.release(d.id)
            outcome = await self.engine.delivery_failed(d.id, f"{type(exc).__name__}: {exc}")
            log.warning("delivery %s failed (%s): %s", d.id, outcome, exc)
            return
        await self.engine.delivered(d.id, ref)
