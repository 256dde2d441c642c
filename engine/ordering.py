"""Events about one thing applied in the order they arrived."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from types import TracebackType

__all__ = ["KeyedLocks"]


class KeyedLocks:
    """One FIFO lock per key, forgotten once nobody holds or awaits it.

    A reaction removed right after it was added must not overtake the addition, which may
    still be queued for a group commit: both take the (voter, message) lock first thing.
    Almost every reaction finds its key free, so taking a free key costs one dict entry
    (no lock object, no future); a released key is handed to its oldest waiter.
    """

    def __init__(self) -> None:
        # A held key's waiters, oldest first; a key absent from the dict is free.
        self._held: dict[Hashable, deque[asyncio.Future[None]]] = {}

    def hold(self, key: Hashable) -> _Hold:
        return _Hold(self, key)

    def _release(self, key: Hashable) -> None:
        waiters = self._held[key]
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # a cancelled waiter is skipped
                waiter.set_result(None)
                return
        del self._held[key]

    def __len__(self) -> int:
        return len(self._held)


class _Hold:
    __slots__ = ("_key", "_locks")

    def __init__(self, locks: KeyedLocks, key: Hashable) -> None:
        self._locks = locks
        self._key = key

    async def __aenter__(self) -> None:
        held = self._locks._held
        waiters = held.get(self._key)
        if waiters is None:
            held[self._key] = deque()
            return
        waiter = asyncio.get_running_loop().create_future()
        waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._locks._release(self._key)  # handed over, then cancelled: pass it on
            elif waiter in waiters:
                waiters.remove(waiter)
            raise

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self._locks._release(self._key)
