"""Request bodies: at most `max_bytes`, received within `within` seconds.

Hypercorn closes a connection whose body stalls (no bytes for its `read_timeout`), but a
body sent one byte at a time would keep its connection, busy and so never shed by the
connection limit, for as long as the sender likes. Every body the bot takes is small
(Slack's requests are a few kilobytes), so this reads it whole, within a deadline and a
size, before the application runs, and hands the application the buffered body.

Refusals are logged through a `ThrottledLog`: a flood of slow bodies is an attack on the
log as much as on the connections.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.http.throttled_log import ThrottledLog

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimits"]

log = logging.getLogger(__name__)


class BodyLimits:
    """ASGI middleware: 413 for a body over `max_bytes`, 408 for one slower than
    `within` seconds; otherwise the application gets the body."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, within: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.within = within
        self._log = ThrottledLog(log)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send, 413, f"a body of {declared} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.within):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # the client left; nobody to answer
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        await self._refuse(scope, send, 413, f"a body over {size} bytes")
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await self._refuse(scope, send, 408,
                               f"a body not received within {self.within:g} s")
            return
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # then wait for the disconnect, as the server would

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, status: int, what: str) -> None:
        client = scope.get("client")
        self._log("HTTP request refused (%d): %s %s from %s: %s", status, scope["method"],
                  scope["path"], client[0] if client else "?", what)
        text = b"Request body too large" if status == 413 else b"Request body too slow"
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(text)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": text})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
