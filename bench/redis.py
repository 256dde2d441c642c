"""The Redis baseline: a local redis-server from Debian's packages and a lean RESP client.

The client is a plain blocking socket speaking RESP with pipelining: one round trip per
leaderboard read, so the baseline is as fast as Redis can be from Python.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["Redis", "redis_server", "redis_unavailable"]


def redis_unavailable() -> str | None:
    """Why the Redis baseline cannot run here, or None."""
    if shutil.which("redis-server") is None:
        return ("redis-server is not installed (Debian: apt-get install redis-server); "
                "the Redis baseline is skipped")
    return None


class Redis:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def pipeline(self, *commands: tuple[Any, ...]) -> list[Any]:
        out = bytearray()
        for cmd in commands:
            out += b"*%d\r\n" % len(cmd)
            for arg in cmd:
                data = arg if isinstance(arg, bytes) else str(arg).encode()
                out += b"$%d\r\n%s\r\n" % (len(data), data)
        self.sock.sendall(out)
        return [self._reply() for _ in commands]

    def call(self, *cmd: Any) -> Any:
        return self.pipeline(cmd)[0]

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        self.buf += chunk

    def _reply(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return int(rest) if kind == b":" else rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError(f"unexpected reply {line!r}")


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[Redis, str]]:
    """A throwaway redis-server on a free loopback port, no persistence; yields a client
    and the server's version."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    workdir = tempfile.mkdtemp(prefix="laurels-redis-")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client: Redis | None = None
    try:
        deadline = time.monotonic() + 10
        while client is None:
            try:
                client = Redis(port)
                client.call("PING")
            except OSError:
                client = None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        info = client.call("INFO", "server").decode()
        version = next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                        if ln.startswith("redis_version:")), "?")
        yield client, version
    finally:
        if client is not None:
            client.close()
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
