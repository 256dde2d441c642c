"""Starts the engine on the configured database, the scheduler, the delivery worker, the
HTTP server when asked for, and the platforms that are configured (the console when none
is).

The scheduler and the delivery worker start at once; each platform starts in the
background (`bot.startup`), so one that cannot be reached yet holds up nothing. A platform
refusing its credentials ends the run with `EXIT_REFUSED` and one line naming the
variable to fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.delivery import DeliveryWorker
from bot.heap import set_aside, started_objects_set_aside
from bot.looplag import LoopLag
from bot.platform import Platform, RunningPlatform
from bot.scheduler import Scheduler
from bot.startup import Backoff, PlatformStarts
from config.settings import Settings
from engine.clock import OffsetClock, SystemClock
from engine.service import Engine
from engine.sign_in import WebLinks
from storage.db import Database
from storage.migrate import upgrade_async

if TYPE_CHECKING:  # imported when used: the console needs none of them
    from starlette.routing import BaseRoute

    from bot.http.server import RunningServer
    from bot.slack.http import SlackEvents

__all__ = ["EXIT_REFUSED", "RunOptions", "has_platform_tokens", "run"]

log = logging.getLogger(__name__)

# sysexits' EX_CONFIG: a setting must be fixed; restarting alone cannot help (a service
# manager can be told not to restart on it, e.g. systemd's RestartPreventExitStatus=78).
EXIT_REFUSED = 78
DEFAULT_HTTP_PORT = 3000
DEFAULT_WEB_PORT = 8080  # `laurels web` with no port given
# How long a refusal waits for the other platforms' first answers, to report them all.
_REPORT_WITHIN = 15.0


@dataclass(frozen=True, slots=True)
class RunOptions:
    console_only: bool = False
    slack_http: bool = False
    host: str | None = None  # None: LAURELS_HTTP_HOST
    port: int | None = None  # None: LAURELS_HTTP_PORT, else 3000 with slack_http
    web_port: int | None = None  # None: LAURELS_WEB_PORT; set, the dashboard is served
    web_only: bool = False  # `laurels web`: the HTTP server alone, no platform or console


def has_platform_tokens(settings: Settings) -> bool:
    """Whether a platform is configured; without one, `run` opens the console."""
    return settings.discord_token is not None or settings.slack_bot_token is not None


async def run(settings: Settings, options: RunOptions | None = None, *,
              stop: asyncio.Event | None = None) -> int:
    """Run until interrupted (or until `stop` is set). With no platform tokens, the
    console platform starts."""
    options = options or RunOptions()
    if options.slack_http and settings.slack_bot_token is None and not options.console_only:
        log.error("--slack-http: LAURELS_SLACK_BOT_TOKEN is not set.")
        return EXIT_REFUSED
    try:
        web = _web_links(settings, options)
    except ValueError as exc:
        log.error("%s", exc)
        return EXIT_REFUSED
    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    try:
        console = ((options.console_only or not has_platform_tokens(settings))
                   and not options.web_only)
        clock: OffsetClock | SystemClock = OffsetClock() if console else SystemClock()
        engine = Engine(db, clock, rank_index=settings.rank_index,
                        default_timezone=settings.default_timezone,
                        close_grace=timedelta(seconds=settings.vote_close_grace),
                        vote_patience=settings.vote_patience, web=web)
        # Votes a stopped process counted but did not pay for yet.
        if paid := await engine.settle_all():
            log.info("paid for %d votes counted before the restart", paid)
        lag = LoopLag()  # warns when anything blocks the event loop
        lag.start()
        try:
            with started_objects_set_aside():  # short garbage-collector passes
                if isinstance(clock, OffsetClock):
                    return await _console(engine, clock, settings, options)
                return await _platforms(engine, settings, options, stop)
        finally:
            await lag.stop()
            await engine.close()
    finally:
        await db.dispose()


def _web_port(settings: Settings, options: RunOptions) -> int | None:
    return options.web_port if options.web_port is not None else settings.web_port


def _http_port(settings: Settings, options: RunOptions) -> int | None:
    """The one HTTP port: the dashboard's when it is served, else the HTTP server's."""
    web = _web_port(settings, options)
    if web is not None:
        return web
    if options.port is not None:
        return options.port
    if settings.http_port is not None:
        return settings.http_port
    return DEFAULT_HTTP_PORT if options.slack_http else None


def _web_links(settings: Settings, options: RunOptions) -> WebLinks | None:
    """Where the dashboard is served, if it is (raises ValueError for two ports)."""
    web = _web_port(settings, options)
    if web is None and options.web_only:
        web = DEFAULT_WEB_PORT
    if web is None:
        return None
    other = options.port if options.port is not None else settings.http_port
    if other is not None and other != web:
        raise ValueError(f"One port serves everything: --web-port {web} and --port {other} "
                         "(LAURELS_WEB_PORT, LAURELS_HTTP_PORT) differ; give one of them.")
    host = options.host or settings.http_host
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = settings.web_base_url or f"http://{shown}:{web}"
    return WebLinks(base, settings.web_secret.get_secret_value() if settings.web_secret
                    else None)


def _web_routes(engine: Engine, settings: Settings) -> list[BaseRoute]:
    """The web layer's routes: the JSON API at /api."""
    from web.api import api_mount

    return [api_mount(engine, rate=settings.api_rate_limit, burst=settings.api_rate_burst)]


async def _serve_http(engine: Engine, settings: Settings, options: RunOptions, port: int,
                      slack: SlackEvents | None) -> RunningServer:
    from bot.http.app import build_app
    from bot.http.health import Readiness, health_routes
    from bot.http.server import HttpOptions, serve
    from web import WebOptions, web_routes

    db = engine.db
    routes = [*health_routes(Readiness(db.probe)), *(slack.routes() if slack else []),
              *_web_routes(engine, settings)]
    if engine.dashboard.web is not None:
        routes += web_routes(engine, WebOptions(engine.dashboard.web.base_url))
    app = build_app(routes, max_body=settings.http_max_body,
                    body_timeout=settings.http_body_timeout)
    return await serve(app, HttpOptions(
        host=options.host or settings.http_host, port=port,
        max_connections=settings.http_max_connections,
        header_timeout=settings.http_header_timeout, body_timeout=settings.http_body_timeout,
        max_body=settings.http_max_body))


def _launch(starts: PlatformStarts, engine: Engine, settings: Settings,
            slack: SlackEvents | None) -> None:
    """Start each configured platform in the background."""
    if settings.discord_token is not None:
        from bot.discord.app import start_discord

        starts.launch("Discord", lambda: start_discord(engine, settings))
    if settings.slack_bot_token is not None:
        from bot.slack.app import start_slack

        starts.launch("Slack", lambda: start_slack(engine, settings, http=slack))


async def _platforms(engine: Engine, settings: Settings, options: RunOptions,
                     stop: asyncio.Event | None) -> int:
    if stop is None:
        # Signals first: a platform answers members as soon as it has started, and Ctrl-C
        # or SIGTERM from then on (or while a login hangs) must stop everything cleanly.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
    platforms: dict[str, Platform] = {}  # filled as platforms start; the worker reads it
    running: list[RunningPlatform] = []
    worker = DeliveryWorker(engine, platforms)
    scheduler = Scheduler(engine.due, worker)

    def started(name: str, platform: RunningPlatform) -> None:
        running.append(platform)
        platforms[platform.platform.name] = platform.platform
        worker.wake()
        set_aside()  # the platform's modules and caches live as long as the run
        how = (" (HTTP)" if options.slack_http else " (Socket Mode)") if name == "Slack" else ""
        log.info("%s platform started%s", name, how)

    starts = PlatformStarts(Backoff(settings.connect_retry_delay,
                                    settings.connect_retry_max_delay), started)
    server: RunningServer | None = None
    background: list[asyncio.Task[None]] = []
    try:
        slack = None
        if options.slack_http:
            from bot.slack.http import SlackEvents

            slack = SlackEvents()
        port = _http_port(settings, options)
        if port is None and options.web_only:
            port = DEFAULT_WEB_PORT
        if port is not None:
            server = await _listen(engine, settings, options, port, slack)
            if server is None:
                return EXIT_REFUSED
            set_aside()  # the web layer's modules and templates, loaded just now
        if options.web_only:
            await _until(stop)
            return 0
        log.info("starting the platforms")
        _launch(starts, engine, settings, slack)
        scheduling = asyncio.create_task(scheduler.start(), name="laurels-scheduler-start")
        background += [scheduling, asyncio.create_task(worker.run_forever(),
                                                       name="laurels-delivery")]
        await _until(stop, starts.refused, failing=scheduling)
        if starts.refused.is_set():
            # Let the other platforms answer too, so every refusal is reported at once.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_REPORT_WITHIN):
                    await _until(stop, starts.all_tried)
            return EXIT_REFUSED
        if starts.pending:
            log.info("stopping before start-up finished")
        return 0
    finally:
        await starts.close()
        scheduler.stop()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        for r in running:
            await r.stop()
        if server is not None:
            await server.stop()


async def _listen(engine: Engine, settings: Settings, options: RunOptions, port: int,
                  slack: SlackEvents | None) -> RunningServer | None:
    """The HTTP server on `port` (None, logged: the port cannot be had)."""
    try:
        server = await _serve_http(engine, settings, options, port, slack)
    except OSError as exc:
        log.error("HTTP: cannot listen on %s:%s: %s (LAURELS_HTTP_HOST, LAURELS_HTTP_PORT, "
                  "LAURELS_WEB_PORT, --host, --port, --web-port)",
                  options.host or settings.http_host, port, exc.strerror or exc)
        return None
    if engine.dashboard.web is not None:
        print(f"Dashboard: {engine.dashboard.web.base_url.rstrip('/')}/ (type /dashboard for your "
              "sign-in link)", flush=True)
    return server


async def _until(*events: asyncio.Event, failing: asyncio.Task[None] | None = None) -> None:
    """Until one of `events` is set; if `failing` fails meanwhile, its error is raised."""
    waiters = {asyncio.create_task(e.wait()) for e in events}
    watched: set[asyncio.Task[object]] = {*waiters, *([failing] if failing else [])}
    try:
        while True:
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            if failing is not None and failing in done:
                failing.result()  # the scheduler could not start: raised here
                watched.discard(failing)
            if done & waiters:
                return
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _console(engine: Engine, clock: OffsetClock, settings: Settings,
                   options: RunOptions) -> int:
    # The dashboard is off on the console unless a web port is given.
    port = _web_port(settings, options)
    server = None
    if port is not None:
        server = await _listen(engine, settings, options, port, None)
        if server is None:
            return EXIT_REFUSED
    try:
        return await _console_loop(engine, clock)
    finally:
        if server is not None:
            await server.stop()


async def _console_loop(engine: Engine, clock: OffsetClock) -> int:
    from bot.console.platform import ConsolePlatform, ScriptError, failure_note
    from bot.console.terminal import tolerant_streams

    tolerant_streams()
    runner = engine.due
    platform = ConsolePlatform(engine, clock)
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
