"""Starts the engine on the configured database, the scheduler, the delivery worker, and
the platforms that are configured (the console when none is)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import dataclass

from bot.delivery import DeliveryWorker
from bot.platform import RunningPlatform
from bot.scheduler import Scheduler
from config.settings import Settings
from engine.clock import OffsetClock, SystemClock
from engine.due import DueRunner
from engine.service import Engine
from storage.db import Database
from storage.migrate import upgrade_async

__all__ = ["RunOptions", "has_platform_tokens", "run"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunOptions:
    console_only: bool = False
    slack_http: bool = False
    port: int = 3000


def has_platform_tokens(settings: Settings) -> bool:
    """Whether a platform is configured; without one, `run` opens the console."""
    return settings.discord_token is not None or settings.slack_bot_token is not None


async def run(settings: Settings, options: RunOptions | None = None) -> int:
    """Run until interrupted. With no platform tokens, the console platform starts."""
    options = options or RunOptions()
    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    try:
        console = options.console_only or not has_platform_tokens(settings)
        clock: OffsetClock | SystemClock = OffsetClock() if console else SystemClock()
        engine = Engine(db, clock, rank_index=settings.rank_index,
                        default_timezone=settings.default_timezone)
        # Votes a stopped process counted but did not pay for yet.
        if paid := await engine.settle_all():
            log.info("paid for %d votes counted before the restart", paid)
        try:
            if isinstance(clock, OffsetClock):
                return await _console(engine, clock)
            return await _platforms(engine, settings, options)
        finally:
            await engine.close()
    finally:
        await db.dispose()


async def _start_platforms(engine: Engine, settings: Settings, options: RunOptions,
                           running: list[RunningPlatform]) -> None:
    """Start each configured platform, adding it to `running` as soon as it runs (so a
    stop during start-up stops the ones already started)."""
    if settings.discord_token is not None:
        from bot.discord.app import start_discord

        running.append(await start_discord(engine, settings))
        log.info("Discord platform started")
    if settings.slack_bot_token is not None:
        from bot.slack.app import start_slack

        running.append(await start_slack(engine, settings, http=options.slack_http,
                                         port=options.port))
        log.info("Slack platform started (%s)", "HTTP" if options.slack_http else "Socket Mode")


async def _platforms(engine: Engine, settings: Settings, options: RunOptions) -> int:
    # Signals first: a platform answers members as soon as it has started, and Ctrl-C or
    # SIGTERM from then on (or while a login hangs) must stop everything cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    log.info("starting the platforms")
    running: list[RunningPlatform] = []
    scheduler: Scheduler | None = None
    delivering: asyncio.Task[None] | None = None

    async def start() -> None:
        nonlocal scheduler, delivering
        await _start_platforms(engine, settings, options, running)
        worker = DeliveryWorker(engine, {r.platform.name: r.platform for r in running})
        scheduler = Scheduler(DueRunner(engine), worker)
        await scheduler.start()
        delivering = asyncio.create_task(worker.run_forever())

    starting = asyncio.create_task(start())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            log.info("stopping before start-up finished")
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            return 0
        starting.result()  # a start-up error is raised here
        await stopping
        return 0
    finally:
        stopping.cancel()
        if scheduler is not None:
            scheduler.stop()
        if delivering is not None:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering
        for r in running:
            await r.stop()


async def _console(engine: Engine, clock: OffsetClock) -> int:
    from bot.console.platform import ConsolePlatform, ScriptError, failure_note
    from bot.console.terminal import tolerant_streams

    tolerant_streams()
    runner = DueRunner(engine)
    platform = ConsolePlatform(engine, clock, runner=runner)
    await platform.start()
    worker = DeliveryWorker(engine, {platform.name: platform})
    scheduler = Scheduler(runner, worker)
    await scheduler.start()
    delivering = asyncio.create_task(worker.run_forever())
    print("Laurels console. You are whoever you say you are:")
    print("  @alice: /challenge list      @bob +👍 #3      @mod is moderator      clock +2d")
    print("Type @you: /help for the commands, Ctrl-D to quit.")
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return 0
            try:
                await platform.handle(line)
            except ScriptError as exc:
                print(f"!! {exc}")
            except Exception as exc:
                # A bug, not bad input; ending the session would lose the member's place.
                log.debug("console line failed: %s", line.strip()[:80], exc_info=True)
                note = failure_note(exc)
                print(f"!! {note[0].upper()}{note[1:]}; the session goes on "
                      "(LAURELS_LOG_LEVEL=DEBUG logs where).")
    finally:
        scheduler.stop()
        delivering.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await delivering
