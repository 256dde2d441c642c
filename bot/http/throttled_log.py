"""A log line for a condition that can repeat thousands of times a second.

Running out of open files made the old server log `Too many open files` for every
connection it could not accept: 69 MB in 40 seconds. A condition like that is logged at
once, then at most once per window with the count of what was left out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["ThrottledLog"]


class ThrottledLog:
    """Logs the first occurrence at once, then at most one line per `every` seconds; each
    line says how many occurrences went unlogged since the previous one."""

    def __init__(self, logger: logging.Logger, level: int = logging.WARNING, *,
                 every: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.level = level
        self.every = every
        self._clock = clock
        self._next = float("-inf")
        self._unlogged = 0

    def __call__(self, message: str, *args: object) -> None:
        now = self._clock()
        if now < self._next:
            self._unlogged += 1
            return
        if self._unlogged:
            message += f" ({self._unlogged} more since the last such line)"
        self.logger.log(self.level, message, *args)
        self._unlogged = 0
        self._next = now + self.every
