"""When votes are paid for: soon after they commit, without slowing the votes down.

A counted vote commits first and is paid for by settlement (engine/vote_points.py). In a
burst of votes, settlement waits for a pause so that voters' commits are not queued
behind it (SQLite has one writer); a read in this process settles at once (waiting at
most `READ_WAIT`), so a member sees their points right after voting; and while votes keep
arriving, a small chunk is still paid every `MAX_WAIT` seconds. Settlement that a crash
cut short, or votes left by another process, are paid by the next write of the community
or `settle_all`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from engine.refs import CommunityRef

if TYPE_CHECKING:
    from engine.service import Engine

__all__ = ["Settler"]

log = logging.getLogger(__name__)

MAX_WAIT = 2.0  # seconds a busy stream of votes may hold settlement back
QUIET = 0.025  # seconds without votes that make a pause
# Seconds a read waits for settlement: a chat command must answer within seconds (Discord
# wants a reply or a deferral within 3), so after a long burst a read shows what is paid.
READ_WAIT = 2.0
POLL = 0.002
FIRST_CHUNK = 32  # votes paid while votes keep arriving; doubled each time it is quiet
LAST_CHUNK = 1024


class Settler:
    """One background task per community with votes to pay for."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._tasks: dict[CommunityRef, asyncio.Task[None]] = {}
        self._hurry: set[CommunityRef] = set()
        self._dirty: set[CommunityRef] = set()  # counted since the last claim

    def kick(self, ref: CommunityRef) -> None:
        """Votes were counted in `ref`: make sure they get paid."""
        self._dirty.add(ref)
        task = self._tasks.get(ref)
        if task is None or task.done():
            self._tasks[ref] = asyncio.get_running_loop().create_task(self._run(ref))

    async def flush(self, ref: CommunityRef, at_most: float | None = None) -> None:
        """Return once the votes counted here so far in `ref` are paid, or after
        `at_most` seconds; settlement keeps paying without pause either way."""
        task = self._tasks.get(ref)
        if task is None or task.done():
            return
        self._hurry.add(ref)
        try:
            await asyncio.wait_for(asyncio.shield(task), at_most)
        except TimeoutError:
            log.debug("a read stopped waiting for settlement in %s", ref)

    async def close(self) -> None:
        """Pay for everything counted so far, then stop."""
        for ref in list(self._tasks):
            await self.flush(ref)

    async def _run(self, ref: CommunityRef) -> None:
        chunk = FIRST_CHUNK
        try:
            while True:
                chunk = min(chunk * 2, LAST_CHUNK) if await self._quiet(ref) else FIRST_CHUNK
                self._dirty.discard(ref)
                if await self._engine.settle_votes(ref, chunk) < chunk \
                        and ref not in self._dirty:
                    return
        except Exception:  # the next write or `settle_all` pays them
            log.exception("settling votes failed; they stay queued")
        finally:
            self._hurry.discard(ref)

    async def _quiet(self, ref: CommunityRef) -> bool:
        """Wait until no votes were queued or committed for `QUIET` seconds (at most
        `MAX_WAIT`, unless a read hurries it); whether it is quiet."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_WAIT
        while self._engine.vote_batches.idle_for() < QUIET and ref not in self._hurry:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(POLL)
        return True
