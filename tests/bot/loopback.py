"""What the fake platforms share: an aiohttp server on a free loopback port, run as an
async context manager, and closing a websocket that may not answer."""

from __future__ import annotations

import asyncio
from typing import Any, Self

from aiohttp import web

__all__ = ["LoopbackServer", "close_websocket"]


class LoopbackServer:
    """Subclasses give the application (`build_app`), may bind loop-bound state when it
    is listening (`on_started`) and close their own connections first (`on_stopping`)."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

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
