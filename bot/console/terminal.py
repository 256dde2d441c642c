"""The terminal a console session runs in: input and output that never raise on
encoding, and library log lines kept out of the conversation."""

from __future__ import annotations

import io
import logging
import sys

__all__ = ["LAURELS_PACKAGES", "quiet_library_logs", "tolerant_streams"]

# Loggers named under these are Laurels' own; every other logger belongs to a library.
LAURELS_PACKAGES = frozenset(("bench", "bot", "commands", "config", "engine", "storage",
                              "__main__", "root"))


class _OwnOrWarning(logging.Filter):
    """Passes Laurels' own records, and library records of WARNING and above."""

    def filter(self, record: logging.LogRecord) -> bool:
        return (record.levelno >= logging.WARNING
                or record.name.partition(".")[0] in LAURELS_PACKAGES)


def quiet_library_logs() -> None:
    """On the console, libraries (Alembic, APScheduler, SQLAlchemy...) log warnings only:
    their INFO lines ("Added job Scheduler._wake") would interleave with the session.
    Applies to the handlers the CLI installed; Laurels' own lines keep their level."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _OwnOrWarning) for f in handler.filters):
            handler.addFilter(_OwnOrWarning())


def tolerant_streams() -> None:
    """Bytes typed that are not UTF-8 arrive as U+FFFD instead of ending the session, and
    what cannot be printed is printed escaped instead of raising."""
    for stream, errors in ((sys.stdin, "replace"), (sys.stdout, "backslashreplace"),
                           (sys.stderr, "backslashreplace")):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors=errors)
