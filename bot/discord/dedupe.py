"""Interactions are handled once.

After a resume Discord replays the events a client missed, and a replay can overlap what
it already handled. Votes are idempotent in the engine; an interaction answered twice
would fail (40060) and run its command twice, so its id is remembered.
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["Seen"]


class Seen:
    """A bounded set of recently seen ids."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[int, None] = OrderedDict()

    def first_time(self, key: int) -> bool:
        """True the first time `key` is offered (and remembers it)."""
        if key in self._ids:
            return False
        self._ids[key] = None
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True
