"""What the fake platforms share: an aiohttp server on a free loopback port, run as an
async context manager, and closing a websocket that may not answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Self, TypeVar

from aiohttp import web

__all__ = ["LoopbackServer", "close_websocket"]

T = TypeVar("T")


class LoopbackServer:
    """Subclasses give the application (`build_app`), may bind loop-bound state when it
    is listening (`on_started`), close their own connections first (`on_stopping`) and say
    what they saw last when a wait times out (`recent_activity`). Tests wait for a
    condition with `_wait`; the server calls `_bump` whenever its state changes."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._changed = asyncio.Event()

    def build_app(self) -> web.Application:
        raise NotImplementedError

    def on_started(self) -> None:
        """Called once listening (the running loop is the one the tests use)."""

    async def on_stopping(self) -> None:
        """Called before the server shuts down."""

    async def start(self) -> None:
        # A short shutdown_timeout keeps teardown fast if a client left something open.
        self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        self._changed = asyncio.Event()  # bound to the running loop's lifetime
        self.on_started()

    async def stop(self) -> None:
        await self.on_stopping()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def recent_activity(self) -> str:
        """Named in a wait's timeout: what the server handled last."""
        return ""

    def _bump(self) -> None:
        """Wake every waiter; they re-check their condition."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(self, find: Callable[[], T | None], timeout: float,  # noqa: ASYNC109
                    what: str) -> T:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._changed
                    found = find()
                    if found is not None:
                        return found
                    await changed.wait()
        except TimeoutError:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}; "
                               f"{self.recent_activity()}") from None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._port}"


async def close_websocket(ws: web.WebSocketResponse, transport: Any, code: int,
                          message: bytes = b"") -> None:
    """Close `ws`, or drop the connection if the client does not answer within 2 s."""
    try:
        async with asyncio.timeout(2.0):
            await ws.close(code=code, message=message)
    except (TimeoutError, ConnectionError):
        if transport is not None:
            transport.abort()
