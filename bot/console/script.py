"""Running console scripts: a file or standard input in, a deterministic transcript out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.console.platform import ConsolePlatform, ScriptError, failure_note
from engine.clock import FixedClock
from engine.service import Engine
from storage.db import Database

__all__ = ["SCRIPT_START", "ScriptResult", "run_script"]

log = logging.getLogger(__name__)

# Scripts start here unless their first clock line says otherwise: same script, same output.
SCRIPT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ScriptResult:
    ok: bool
    transcript: list[str]
    error: str | None = None
    line_number: int | None = None


async def run_script(lines: Iterable[str], *, database_url: str = "sqlite+aiosqlite://",
                     echo: Callable[[str], None] | None = None,
                     start: datetime = SCRIPT_START) -> ScriptResult:
    """Run a script on a fresh engine; stops at the first failed `expect`, or at a line that
    raised (a bug: reported in the transcript, its traceback logged)."""
    transcript: list[str] = []

    def out(text: str) -> None:
        transcript.append(text)
        if echo is not None:
            echo(text)

    db = Database(database_url)
    await db.create_all()
    clock = FixedClock(start)
    engine = Engine(db, clock)
    platform = ConsolePlatform(engine, clock, out=out)
    try:
        await platform.start()
        for number, line in enumerate(lines, start=1):
            try:
                await platform.handle(line)
            except ScriptError as exc:
                out(f"!! line {number}: {exc}")
                return ScriptResult(False, transcript, str(exc), number)
            except Exception as exc:
                log.exception("script line %d failed", number)
                out(f"!! line {number}: {failure_note(exc)}")
                return ScriptResult(False, transcript, failure_note(exc), number)
        return ScriptResult(True, transcript)
    finally:
        await db.dispose()
