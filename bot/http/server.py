"""Serving the ASGI application with hypercorn, with limits.

Hypercorn was picked over uvicorn because it closes connections stalled in their headers
or body (tests/bot/http/test_server.py shows it; uvicorn 0.55 keeps them open for good).
What this module adds:

* `keep_alive_timeout` is the header timeout: it runs from a connection's start, or the
  end of its previous response, until a request's headers are complete;
  `read_timeout` closes a connection that sends nothing for that long;
* a connection limit (`bot.http.connections`), kept below the open-files limit;
* the soft open-files limit raised to the hard limit at start (no privilege needed:
  many systems start processes with 1,024 of a hard limit far higher);
* when accepting fails anyway (out of files), one log line per ten seconds instead of a
  traceback per attempt.

The socket is bound here rather than by hypercorn, so port 0 works (tests) and the port
is known as soon as `serve` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config, Sockets

from bot.http.app import MAX_BODY
from bot.http.connections import ConnectionLimit
from bot.http.throttled_log import ThrottledLog

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HttpOptions", "RunningServer", "raise_open_files_limit", "serve"]

log = logging.getLogger(__name__)

BACKLOG = 128
# Connections may use at most this share of the open-files limit; the rest is for the
# database, the platforms' clients, and connections shut down but not yet closed.
CONNECTION_SHARE = 0.75
_WANTED_OPEN_FILES = 65_536


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """Where to listen and the limits (LAURELS_HTTP_*)."""

    host: str = "127.0.0.1"
    port: int = 3000
    max_connections: int = 500
    header_timeout: float = 10.0  # seconds to send a request's headers
    body_timeout: float = 10.0  # seconds to send its body (and longest pause in it)
    max_body: int = MAX_BODY  # bytes


@dataclass
class RunningServer:
    host: str
    port: int
    connections: ConnectionLimit
    _shutdown: asyncio.Event
    _task: asyncio.Task[None]
    _restore: Callable[[], None]

    @property
    def url(self) -> str:
        """The base URL as bound (the real port when asked for port 0)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        """Stop accepting, close idle connections, let running requests finish (5 s)."""
        self._shutdown.set()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                async with asyncio.timeout(10):
                    await self._task
        except TimeoutError:
            self._task.cancel()
        finally:
            self._restore()


async def serve(app: ASGIApp, options: HttpOptions) -> RunningServer:
    """Serve `app` on `options.host:port` until `stop()`. Raises OSError when the address
    cannot be bound."""
    files = raise_open_files_limit()
    cap = max(1, int(files * CONNECTION_SHARE))
    if options.max_connections > cap:
        log.warning("HTTP: %d connections would not fit the open-files limit (%d); "
                    "allowing %d", options.max_connections, files, cap)
    limit = ConnectionLimit(min(options.max_connections, cap))
    listener = limit.listener(_bind(options.host, options.port))
    host, port = listener.getsockname()[:2]
    config = _PreBound(listener)
    config.keep_alive_timeout = options.header_timeout
    config.read_timeout = options.body_timeout  # type: ignore[assignment]
    config.backlog = BACKLOG
    config.graceful_timeout = 5.0
    config.accesslog = None
    config.errorlog = _hypercorn_log()
    restore = _log_accept_errors(asyncio.get_running_loop(), files)
    shutdown = asyncio.Event()
    started = asyncio.Event()
    task = asyncio.create_task(hypercorn_serve(_on_started(limit.wrap(app), started), config,
                                               shutdown_trigger=shutdown.wait, mode="asgi"),
                               name="laurels-http")
    waiting = asyncio.create_task(started.wait())
    try:
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
    if task.done():
        restore()
        task.result()  # the start-up error
        raise RuntimeError("the HTTP server stopped while starting")
    log.info("HTTP: listening on %s:%s (at most %d connections)", host, port, limit.limit)
    return RunningServer(host, port, limit, shutdown, task, restore)


def raise_open_files_limit() -> int:
    """Raise the soft open-files limit towards the hard one; returns the soft limit."""
    try:
        import resource
    except ImportError:  # not on this platform
        return _WANTED_OPEN_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY \
        else min(hard, _WANTED_OPEN_FILES)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return _WANTED_OPEN_FILES if soft == resource.RLIM_INFINITY else soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError) as exc:
        log.warning("HTTP: could not raise the open-files limit from %d: %s", soft, exc)
        return soft
    log.info("HTTP: open-files limit raised from %d to %d", soft, wanted)
    return wanted


class _PreBound(Config):
    """Hands hypercorn the socket bound here instead of binding its own."""

    def __init__(self, listener: socket.socket) -> None:
        super().__init__()
        self._listener = listener

    def create_sockets(self) -> Sockets:
        return Sockets(secure_sockets=[], insecure_sockets=[self._listener], quic_sockets=[])


def _hypercorn_log() -> logging.Logger:
    """Hypercorn's errors through our logging, without its "Running on ... (CTRL + C to
    quit)" line (unless someone asked for its INFO lines)."""
    logger = logging.getLogger("hypercorn.error")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
    return logger


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _on_started(app: ASGIApp, started: asyncio.Event) -> ASGIApp:
    """`app`, setting `started` once its lifespan start-up completed."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                started.set()
            await send(message)

        await app(scope, receive, watch)

    return wrapped


def _log_accept_errors(loop: asyncio.AbstractEventLoop, files: int) -> Callable[[], None]:
    """Out of open files, asyncio reports every failed accept with a traceback (and
    retries a second later): report those in one line per ten seconds instead. Returns
    what puts the previous handler back."""
    previous = loop.get_exception_handler()
    throttled = ThrottledLog(log, logging.ERROR)

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith("socket.accept() out of system"):
            exc = context.get("exception")
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            throttled("HTTP: cannot accept connections: %s (open-files limit %d)", reason,
                      files)
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)

    def restore() -> None:
        if loop.get_exception_handler() is handler:
            loop.set_exception_handler(previous)

    return restore
