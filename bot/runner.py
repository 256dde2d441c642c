"""Starts the engine on the configured database and the platforms that are configured."""

from __future__ import annotations

import asyncio
import logging
import sys

from config.settings import Settings
from engine.clock import OffsetClock
from engine.service import Engine
from storage.db import Database
from storage.migrate import upgrade_async

__all__ = ["run"]

log = logging.getLogger(__name__)


async def run(settings: Settings, *, console_only: bool = False) -> int:
    """Run until interrupted. With no platform tokens, the console platform starts."""
    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    try:
        clock = OffsetClock()
        engine = Engine(db, clock, rank_index=_rank_index(settings),
                        default_timezone=settings.default_timezone)
        return await _console(engine, clock)
    finally:
        await db.dispose()


def _rank_index(settings: Settings) -> str:
    return settings.rank_index


async def _console(engine: Engine, clock: OffsetClock) -> int:
    from bot.console.platform import ConsolePlatform, ScriptError
    from engine.due import DueRunner

    platform = ConsolePlatform(engine, clock, runner=DueRunner(engine))
    await platform.start()
    print("Laurels console. You are whoever you say you are:")
    print("  @alice: /challenge list      @bob +👍 #3      @mod is moderator      clock +2d")
    print("Type /help after a name for the commands, Ctrl-D to quit.")
    loop = asyncio.get_running_loop()
    while True:
        sys.stdout.write("> ")
        sys.stdout.flush()
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            print()
            return 0
        try:
            await platform.handle(line)
        except ScriptError as exc:
            print(f"!! {exc}")
