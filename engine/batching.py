"""Group commit for votes: concurrent reactions share one durable transaction.

A busy challenge receives many reactions at once; committing each in its own transaction
pays one fsync (SQLite WAL, `synchronous=FULL`) or one WAL flush (PostgreSQL) per vote.
`GroupCommit` queues the votes that arrive while a transaction is running and runs them
together in the next one:

- each vote runs in its own SAVEPOINT, so a refused vote (own entry, voting closed, a
  database error) is rolled back alone and the rest of the batch still commits;
- each caller awaits the commit and then gets its own result, or its own error; when the
  commit itself fails, every caller in the batch gets that error;
- after the commit, in-process indexes see each vote's changes in order, as they would
  after one transaction per vote.

With a `run_set` function (votes: `engine.votes.cast_batch`) most of a batch does not take
a savepoint per job: `run_set` runs a run of consecutive jobs of one community as a few
statements, in one savepoint, and says how far it got; the job it stopped at runs alone in
its savepoint, as above, and the next run starts after it. When `run_set` fails (the
database moved under its plan, or any error), its savepoint is rolled back and its jobs
run one by one.

SQLite has one writer: one batch runs at a time. PostgreSQL commits concurrent
transactions in parallel and each statement is a network round trip, so a few batches run
at once there, each on its own connection; a vote that deadlocks with another batch is
rolled back to its savepoint and runs again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from engine.context import Tx
from engine.errors import LaurelsError
from engine.refs import CommunityRef
from storage import fastsql

if TYPE_CHECKING:
    from engine.service import Engine

__all__ = ["GroupCommit", "Job"]

log = logging.getLogger(__name__)

_BEGIN_IMMEDIATE = text("BEGIN IMMEDIATE")

MAX_BATCH = 256
PG_IN_FLIGHT = 4
JOB_ATTEMPTS = 3  # a vote that hit a deadlock or a key race inside its savepoint runs again

# Runs jobs' hints set-based; returns the outcomes (ok, result or error) of a prefix.
RunSet = Callable[[Tx, list[Any]], Awaitable[list[tuple[bool, Any]]]]


@dataclass(eq=False)
class Job:
    """One caller's unit of work and the future its result is delivered through."""

    community: CommunityRef
    work: Callable[[Tx], Awaitable[Any]]
    future: asyncio.Future[Any]
    hint: Any = None  # what `prefetch` reads for the whole batch (a vote's member, message)
    outcome: tuple[bool, Any] | None = None
    tx: Tx | None = field(default=None, repr=False)


class GroupCommit:
    """Runs submitted units of work in shared transactions, each isolated in a savepoint."""

    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH,
                 prefetch: Callable[[Tx, list[Any]], Awaitable[None]] | None = None,
                 in_flight: int | None = None, run_set: RunSet | None = None) -> None:
        self._engine = engine
        self._run_set = run_set
        self._max = max_batch
        # Batches running at once: one on SQLite (one writer), a few on PostgreSQL.
        self._in_flight = in_flight or (1 if engine.db.is_sqlite else PG_IN_FLIGHT)
        self._prefetch = prefetch
        self._queue: list[Job] = []
        self._workers: set[asyncio.Task[None]] = set()  # referenced while they run
        # Workers that may still take jobs: one stops counting the moment it finds the
        # queue empty, not when its task's done callbacks run, so a job queued in between
        # starts a worker of its own instead of waiting for nobody.
        self._draining = 0
        self.last_active = 0.0  # loop time of the last submit, or of a worker stopping

    @property
    def busy(self) -> bool:
        """Whether votes are queued or being committed."""
        return bool(self._queue or self._draining)

    def idle_for(self) -> float:
        """Seconds since votes were last queued or committed (0 while busy). A stream of
        votes leaves gaps between batches, while the callers woken by a commit queue
        their next votes: not busy, yet not quiet either."""
        if self.busy:
            return 0.0
        return asyncio.get_running_loop().time() - self.last_active

    async def submit(self, community: CommunityRef, work: Callable[[Tx], Awaitable[Any]],
                     hint: Any = None) -> Any:
        """Run `work` in the next batch; returns once that batch is durably committed."""
        loop = asyncio.get_running_loop()
        self.last_active = loop.time()
        job = Job(community, work, loop.create_future(), hint)
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
            if not batch:  # another batch took them
                return
            try:
                await self._run(batch)
            except BaseException as exc:  # the commit failed: every caller hears of it
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

    async def _run(self, batch: list[Job]) -> None:
        engine = self._engine
        for ref in {job.community for job in batch}:
            await engine._first_contact(ref)

        async def unit(session: AsyncSession) -> list[Tx]:
            if engine.db.is_sqlite:
                # Python's sqlite3 opens a transaction only before the first write; a
                # SAVEPOINT outside one would start (and its RELEASE commit) a transaction
                # of its own. The batch holds the write lock already: take SQLite's too.
                await fastsql.fetch(session, _BEGIN_IMMEDIATE)
            memo: dict[Any, Any] = {}
            if self._prefetch is not None:
                for ref in dict.fromkeys(job.community for job in batch):
                    tx = await engine._plain_tx(session, ref)
                    tx.memo = memo
                    await self._prefetch(tx, [j.hint for j in batch if j.community == ref])
            committed: list[Tx] = []
            alone_until = 0  # jobs before this index run one by one
            i = 0
            while i < len(batch):
                if self._run_set is not None and i >= alone_until:
                    done, tx = await self._set(engine, session, batch, i, memo)
                    if tx is not None:
                        committed.append(tx)
                    if done > 0:
                        i += done
                        continue
                    alone_until = i - done  # a failed run: its jobs run alone
                job = batch[i]
                job.outcome = await self._one(engine, session, job, memo)
                if job.outcome[0] and job.tx is not None:
                    committed.append(job.tx)
                i += 1
            return committed

        await engine.db.run(unit, after_commit=lambda txs: engine._committed(*txs))

    async def _set(self, engine: Engine, session: AsyncSession, batch: list[Job], start: int,
                   memo: dict[Any, Any]) -> tuple[int, Tx | None]:
        """Run jobs from `start` (those of its community, in a row) with `run_set` in one
        savepoint. Returns how many got their outcome and the transaction state to apply
        after the commit; zero when the job at `start` must run alone; minus the run's
        length when the run failed and was rolled back."""
        assert self._run_set is not None
        ref = batch[start].community
        end = start
        while end < len(batch) and batch[end].community == ref and batch[end].hint is not None:
            end += 1
        run = batch[start:end]
        if not run:
            return 0, None
        tx = await engine._plain_tx(session, ref)
        tx.memo = memo
        try:
            async with session.begin_nested():
                outcomes = await self._run_set(tx, [job.hint for job in run])
        except Exception as exc:  # the plan did not hold: cast them one by one
            memo.clear()
            log.debug("a set-based run of %d votes fell back: %r", len(run), exc,
                      exc_info=True)
            return -len(run), None
        for job, outcome in zip(run, outcomes, strict=False):
            job.outcome = outcome
        return len(outcomes), tx if outcomes else None

    @staticmethod
    async def _one(engine: Engine, session: AsyncSession, job: Job, memo: dict[Any, Any]
                   ) -> tuple[bool, Any]:
        for attempt in range(1, JOB_ATTEMPTS + 1):
            tx = await engine._tx(session, job.community)
            tx.memo = memo
            try:
                async with session.begin_nested():
                    result = await job.work(tx)
                    await _settle(tx)
            except LaurelsError as exc:
                memo.clear()  # rows read inside the rolled-back savepoint may be gone
                return False, exc
            except DBAPIError as exc:
                memo.clear()
                if attempt == JOB_ATTEMPTS or not _retryable(exc):
                    return False, exc
                log.debug("retrying a batched vote after %s", type(exc.orig).__name__)
                continue
            except Exception as exc:  # a bug in one vote is that caller's error alone
                memo.clear()
                return False, exc
            job.tx = tx
            return True, result
        raise AssertionError("unreachable")


async def _settle(tx: Tx) -> None:
    from engine.achievements import settle

    await settle(tx)


def _retryable(exc: DBAPIError) -> bool:
    from storage.db import _retryable as retryable

    return retryable(exc)
