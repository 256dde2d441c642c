"""A limit on open connections, for hypercorn, which has none.

Hypercorn closes a connection stalled in its headers (`keep_alive_timeout` counts from
the connection's start, or the end of its previous response, until a request's headers
are complete) or in its body (`read_timeout`). Until those timeouts fire, though, every
stalled connection holds an open file, and with enough of them the process can accept
nothing, not even a health check. So:

* the listening socket is wrapped: asyncio's accept loop calls its `accept()`, which
  registers each connection, and each connection unregisters itself when closed;
* when the limit is reached, the oldest connection that is not in the middle of a
  request (stalled in its headers, or idle between requests) is shut down to make room,
  so a client that sends its request at once is served even under a flood of stalled
  connections; only when every connection is in a request is the new one refused;
* an ASGI wrapper marks a connection busy while the application serves one of its
  requests (hypercorn calls the application once the headers are in);
* when accepting fails for want of open files (used elsewhere in the process), the
  oldest connection not in a request is shut down too, so the next attempt finds one.

This relies on asyncio's selector event loop calling the listening socket's `accept()`
(the loop on Linux and macOS); tests/bot/http checks the limit holds.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.http.throttled_log import ThrottledLog

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ConnectionLimit"]

log = logging.getLogger(__name__)

Peer = tuple[str, int]

# accept() errors after which asyncio pauses the listener for a second.
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


@dataclass
class _Connection:
    sock: socket.socket
    opened: float = field(default_factory=time.monotonic)
    busy: int = 0  # requests the application is serving on it


class ConnectionLimit:
    """At most `limit` open connections on the listeners it wraps."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the connection limit must be at least 1")
        self.limit = limit
        self._open: dict[Peer, _Connection] = {}  # oldest first
        self._shed = ThrottledLog(log)

    @property
    def count(self) -> int:
        """Connections open now."""
        return len(self._open)

    def listener(self, sock: socket.socket) -> socket.socket:
        """`sock` (bound and listening) as a socket whose accepted connections count."""
        return _Listener(sock, self)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """`app`, marking each connection busy while one of its requests is served."""

        async def marked(scope: Scope, receive: Receive, send: Send) -> None:
            client = scope.get("client") if scope["type"] == "http" else None
            conn = self._open.get((client[0], client[1])) if client else None
            if conn is None:
                await app(scope, receive, send)
                return
            conn.busy += 1
            try:
                await app(scope, receive, send)
            finally:
                conn.busy -= 1

        return marked

    def _admit(self, sock: socket.socket, peer: Peer) -> bool:
        if len(self._open) >= self.limit and not self._make_room():
            self._shed("%d connections open, all in a request: refusing new ones",
                       self.limit)
            return False
        self._open[peer] = _Connection(sock)
        return True

    def _make_room(self) -> bool:
        """Shut down the oldest connection not in a request; False if there is none."""
        idle = next((p for p, c in self._open.items() if not c.busy), None)
        if idle is None:
            return False
        self._shed("%d connections open: closing the oldest ones not in a request to "
                   "make room", len(self._open))
        victim = self._open.pop(idle)
        with contextlib.suppress(OSError):
            # Its transport sees the end of the stream and closes it.
            victim.sock.shutdown(socket.SHUT_RDWR)
        return True

    def _closed(self, sock: socket.socket, peer: Peer) -> None:
        conn = self._open.get(peer)
        if conn is not None and conn.sock is sock:
            del self._open[peer]


class _Accepted(socket.socket):
    """An accepted connection that leaves the count when closed."""

    def __init__(self, conn: socket.socket, limit: ConnectionLimit, peer: Peer) -> None:
        super().__init__(conn.family, conn.type, conn.proto, fileno=conn.detach())
        self._limit: ConnectionLimit | None = limit
        self._peer = peer

    def close(self) -> None:
        if self._limit is not None:
            self._limit._closed(self, self._peer)
            self._limit = None
        super().close()


class _Listener(socket.socket):
    def __init__(self, sock: socket.socket, limit: ConnectionLimit) -> None:
        super().__init__(sock.family, sock.type, sock.proto, fileno=sock.detach())
        self._limit = limit
        self._resting_until = 0.0

    def accept(self) -> tuple[socket.socket, Any]:
        # BlockingIOError (no connection waiting) ends asyncio's accept loop.
        if time.monotonic() < self._resting_until:
            raise BlockingIOError(errno.EAGAIN, "resting after running out of files")
        while True:
            try:
                conn, address = super().accept()
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:
                    # asyncio (3.11 at least) reports this, pauses the listener for a
                    # second, then calls accept() again up to `backlog` times in the same
                    # round, each failure scheduling one more report and retry. Only the
                    # first failure of a round is raised; the others end the round.
                    self._resting_until = time.monotonic() + 0.5
                    self._limit._make_room()
                raise
            accepted = _Accepted(conn, self._limit, (address[0], address[1]))
            if self._limit._admit(accepted, (address[0], address[1])):
                return accepted, address
            accepted.close()
