"""The delivery worker: hands outbox rows to their platform, records what was posted.

Posting and recording are two steps no transaction can join, so the worker records its
intent first. For each claimed row:

1. If an earlier attempt may have reached the platform (the row's `post_started_at` is
   set: that process died, or its post failed without saying whether it landed), the
   platform is asked for that attempt's message (`find_posted`: by nonce on Slack, by
   author, time and content on Discord, by nonce in the console). Found: it is recorded
   as the post (an entry's message becomes what voters react to), and nothing is posted.
2. Otherwise the attempt is recorded (`post_started_at`, committed, conditional on the
   claim still being this worker's) and only then is the card posted, with the nonce
   `laurels-{outbox id}`, the same on every attempt.
3. The message is recorded; a row marked sent is never claimed again.

So a crash anywhere leaves either nothing posted, or a post that the next attempt finds.
The search window around a recorded attempt is bounded: a post call is cut off after
`POST_TIMEOUT`, and `CLOCK_SKEW` allows for this host's clock against the platform's.

While it works the worker renews its claims every 5 s (engine/leases.py); on PostgreSQL
a post whose claim could not be renewed is cancelled before any other process may take
the row over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from bot.platform import DeliveryError, Platform, PostWindow
from engine.leases import Heartbeat, LeaseLost
from engine.outbox import Delivery
from engine.refs import CommunityRef, MessageRef
from engine.service import Engine
from storage.tables import OutboxRow

__all__ = ["CLOCK_SKEW", "POST_TIMEOUT", "DeliveryWorker", "nonce_for", "window_after"]

log = logging.getLogger(__name__)

# The longest one post call may take (pacing, short rate-limit waits, retries of a lost
# connection); it is cancelled after that, so its message cannot appear later.
POST_TIMEOUT = timedelta(minutes=5)
# How far this host's clock may be from the platform's (NTP keeps it to milliseconds).
CLOCK_SKEW = timedelta(minutes=1)


def nonce_for(outbox_id: int) -> str:
    """The idempotency nonce of an outbox row: the same on every attempt (Discord allows
    25 characters)."""
    return f"laurels-{outbox_id}"


def window_after(started_at: datetime) -> PostWindow:
    """Where the message of an attempt that began at `started_at` can be, if it exists."""
    return PostWindow(started_at - CLOCK_SKEW, started_at + POST_TIMEOUT + CLOCK_SKEW)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class DeliveryWorker:
    """Posts pending announcements with retries; a message that keeps failing is parked."""

    def __init__(self, engine: Engine, platforms: Mapping[str, Platform], *,
                 idle_seconds: float = 1.0,
                 wall_clock: Callable[[], datetime] = _wall_clock) -> None:
        self.engine = engine
        self.platforms = platforms
        self.idle_seconds = idle_seconds
        # The platforms' time, not the engine's (the console and tests move that one).
        self.wall_clock = wall_clock
        self._communities: dict[int, CommunityRef] = {}
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was queued: look now instead of at the next idle tick."""
        self._wake.set()

    async def run_once(self, limit: int = 20) -> int:
        """Deliver what is due now; returns how many rows were handled."""
        if not self.platforms:  # none started yet: nothing here can be posted
            return 0
        # Only rows this process can post: another process may serve other platforms.
        batch = await self.engine.deliveries.claim(limit=limit, platforms=list(self.platforms))
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
                # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that
                # arrives as the wake does, and the worker would never stop.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.idle_seconds):
                        await self._wake.wait()

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
            await self.engine.deliveries.failed(d.id, f"no {community.platform} adapter here",
                                                retry_after=30)
            return
        try:
            ref = await self._find_or_post(platform, community, d, beat)
        except LeaseLost as exc:
            # Another worker may hold the row now: its outcome is not ours to write.
            log.warning("delivery %s abandoned: %s", d.id, exc)
            return
        except DeliveryError as exc:
            await beat.release(d.id)
            outcome = await self.engine.deliveries.failed(
                d.id, str(exc), retry_after=exc.retry_after, permanent=exc.permanent)
            log.warning("delivery %s failed (%s): %s", d.id, outcome, exc)
            return
        except Exception as exc:
            await beat.release(d.id)
            outcome = await self.engine.deliveries.failed(d.id, f"{type(exc).__name__}: {exc}")
            log.warning("delivery %s failed (%s): %s", d.id, outcome, exc)
            return
        await self.engine.deliveries.sent(d.id, ref)

    async def _find_or_post(self, platform: Platform, community: CommunityRef, d: Delivery,
                            beat: Heartbeat) -> MessageRef | None:
        nonce = nonce_for(d.id)
        if d.member_external_id is None and d.channel_id is None:
            raise DeliveryError("no announcements channel is configured "
                                "(/settings channel announcements #channel)", permanent=True)
        if d.post_started_at is not None:
            found = await self._find(platform, community, d, nonce,
                                     window_after(d.post_started_at))
            if found is not None:
                log.info("delivery %s: found the message of an earlier attempt", d.id)
                return found
        leased_at = asyncio.get_running_loop().time()  # recording renews the lease
        if not await self.engine.deliveries.started(d.id, d.attempts, self.wall_clock()):
            raise LeaseLost(f"the claim on row {d.id} was taken over before posting")
        async with beat.guard(d.id, leased_at), \
                asyncio.timeout(POST_TIMEOUT.total_seconds()):
            if d.member_external_id is not None:
                return await platform.send_direct(community.external_id, d.member_external_id,
                                                  d.card, nonce=nonce)
            assert d.channel_id is not None
            return await platform.post(community.external_id, d.channel_id, d.card,
                                       nonce=nonce)

    @staticmethod
    async def _find(platform: Platform, community: CommunityRef, d: Delivery, nonce: str,
                    window: PostWindow) -> MessageRef | None:
        if d.member_external_id is not None:
            return await platform.find_direct(community.external_id, d.member_external_id,
                                              d.card, nonce=nonce, window=window)
        assert d.channel_id is not None
        return await platform.find_posted(community.external_id, d.channel_id, d.card,
                                          nonce=nonce, window=window)

