"""Group commit for votes: concurrent reactions share one durable transaction.

A busy challenge receives many reactions at once; committing each in its own transaction
pays one fsync (SQLite WAL, `synchronous=FULL`) or one WAL flush (PostgreSQL) per vote.
`GroupCommit` queues the votes that arrive while a transaction is running and records
them together in the next one, each community's run with one call of the vote path
(`engine.votes.record`), which judges each vote on its own.

- Each caller awaits the commit and then gets its own result, or its own refusal.
- A transaction that deadlocks or loses a race is retried whole (the unit of work).
- A database fault (connection lost, server restarting, disk full) is retried with
  backoff for `patience` seconds; then every caller hears that its vote was not counted.
- Any other failure of a batch runs its votes again one per transaction, so a vote that
  fails does so alone.

SQLite has one writer: one batch runs at a time. PostgreSQL commits concurrent
transactions in parallel and each statement is a network round trip, so a few batches run
at once there, each on its own connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from engine.context import Tx
from engine.refs import CommunityRef
from engine.unit import UnitOfWork

__all__ = ["GroupCommit", "RunBatch"]

log = logging.getLogger(__name__)

MAX_BATCH = 256
PG_IN_FLIGHT = 4

# Records a community's run of items in `tx`: each item's (ok, result or error), in order.
RunBatch = Callable[[Tx, list[Any]], Awaitable[list[tuple[bool, Any]]]]


@dataclass(eq=False)
class _Job:
    community: CommunityRef
    item: Any
    future: asyncio.Future[Any]
    outcome: tuple[bool, Any] | None = None


class GroupCommit:
    """Runs submitted items in shared transactions, each judged on its own."""

    def __init__(self, uow: UnitOfWork, run: RunBatch, *, max_batch: int = MAX_BATCH,
                 in_flight: int | None = None, patience: float = 30.0) -> None:
        self._uow = uow
        self._record = run
        self._max = max_batch
        # Batches running at once: one on SQLite (one writer), a few on PostgreSQL.
        self._in_flight = in_flight or (1 if uow.db.is_sqlite else PG_IN_FLIGHT)
        self.patience = patience
        self._queue: list[_Job] = []
        self._workers: set[asyncio.Task[None]] = set()  # referenced while they run
        # Workers that may still take jobs: one stops counting the moment it finds the
        # queue empty, not when its task's done callbacks run, so a job queued in between
        # starts a worker of its own instead of waiting for nobody.
        self._draining = 0
        self.last_active = 0.0  # loop time of the last submit, or of a worker stopping

    @property
    def busy(self) -> bool:
        """Whether items are queued or being committed."""
        return bool(self._queue or self._draining)

    def idle_for(self) -> float:
        """Seconds since items were last queued or committed (0 while busy). A stream of
        votes leaves gaps between batches, while the callers woken by a commit queue
        their next votes: not busy, yet not quiet either."""
        if self.busy:
            return 0.0
        return asyncio.get_running_loop().time() - self.last_active

    async def submit(self, community: CommunityRef, item: Any) -> Any:
        """Record `item` in the next batch; returns once that batch is durably committed."""
        loop = asyncio.get_running_loop()
        self.last_active = loop.time()
        job = _Job(community, item, loop.create_future())
        self._queue.append(job)
        if self._draining < self._in_flight:
            self._draining += 1
            worker = loop.create_task(self._drain())
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        return await job.future

    async def _drain(self) -> None:
        try:
            await self._drain_queue()
        finally:
            self._draining -= 1
            self.last_active = asyncio.get_running_loop().time()

    async def _drain_queue(self) -> None:
        while self._queue:
            # Let the callers the last commit woke queue their next votes first.
            await asyncio.sleep(0)
            batch, self._queue = self._queue[: self._max], self._queue[self._max:]
            if not batch:  # another worker took them
                return
            try:
                await self._run(batch)
            except BaseException as exc:  # every caller of the batch hears of it
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for job in batch:
                assert job.outcome is not None
                ok, value = job.outcome
                if job.future.done():
                    continue
                if ok:
                    job.future.set_result(value)
                else:
                    job.future.set_exception(value)

    async def _run(self, batch: list[_Job]) -> None:
        for ref in dict.fromkeys(job.community for job in batch):
            await self._uow.known(ref)
        try:
            await self._commit(batch)
        except Exception as exc:
            if len(batch) == 1 or self._uow.is_fault(exc):
                raise
            log.warning("a batch of %d votes failed (%s); recording them one by one",
                        len(batch), type(exc).__name__)
            for job in batch:
                try:
                    await self._commit([job])
                except Exception as alone:  # this vote's own failure
                    job.outcome = (False, alone)

    async def _commit(self, batch: list[_Job]) -> None:
        by_community: dict[CommunityRef, list[_Job]] = {}
        for job in batch:
            by_community.setdefault(job.community, []).append(job)

        async def unit(session: AsyncSession) -> None:
            for ref, jobs in by_community.items():
                tx = await self._uow.plain_tx(session, ref)
                outcomes = await self._record(tx, [job.item for job in jobs])
                for job, outcome in zip(jobs, outcomes, strict=True):
                    job.outcome = outcome

        await self._uow.run(unit, patience=self.patience)
