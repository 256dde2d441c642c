"""Raw HTTP/1.1 clients over loopback: well-behaved ones, and ones that stall."""

# Every wait here takes a `timeout` on purpose, so no test can hang.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

__all__ = ["Answer", "Stalled", "closed_within", "request", "stall"]


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    seconds: float  # from connecting to the end of the answer


async def request(port: int, method: str, path: str, body: bytes = b"", *,
                  headers: dict[str, str] | None = None, timeout: float = 5.0) -> Answer:
    """One request on a new connection (closed after the answer)."""
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            head = {"Host": "laurels.test", "Connection": "close", **(headers or {})}
            if "Transfer-Encoding" not in head:
                head["Content-Length"] = str(len(body))
            lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
            writer.write(f"{method} {path} HTTP/1.1\r\n{lines}\r\n".encode() + body)
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    status_line, _, rest = raw.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return Answer(int(status_line.split()[1]), payload, time.monotonic() - started)


@dataclass
class Stalled:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


async def stall(port: int, sent: bytes) -> Stalled:
    """Connect, send `sent` (half a request), and send nothing more."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(sent)
    await writer.drain()
    return Stalled(reader, writer)


async def closed_within(conn: Stalled, seconds: float) -> bool:
    """Whether the server closes `conn` within `seconds` (whatever it answers first)."""
    try:
        async with asyncio.timeout(seconds):
            while await conn.reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        pass
    return True
