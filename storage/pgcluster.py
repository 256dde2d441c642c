"""A throwaway PostgreSQL cluster from the server binaries, for tests and benchmarks.

PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` system
user (created by Debian's packages) in a directory it owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Cluster", "find_pg_bin", "restartable_cluster", "throwaway_cluster"]


def find_pg_bin() -> Path | None:
    """The directory holding initdb and pg_ctl (LAURELS_PG_BIN, PATH, or Debian's)."""
    explicit = os.environ.get("LAURELS_PG_BIN")
    if explicit:
        return Path(explicit)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


@dataclass(frozen=True)
class Cluster:
    """A running throwaway cluster that a test can stop and start again (same port)."""

    url: str
    _ctl: Callable[[str], None]

    def stop(self) -> None:
        """A fast shutdown: sessions are ended, connections refused until `start`."""
        self._ctl("stop")

    def start(self) -> None:
        self._ctl("start")


@contextlib.contextmanager
def throwaway_cluster(database: str = "laurels", *, durable: bool = False) -> Iterator[str]:
    """Start a cluster on a free loopback port; yields an asyncpg SQLAlchemy URL.

    Tests run with fsync off; `durable=True` keeps the server's default durability
    (benchmarks measure commits that really reach the disk).
    """
    with restartable_cluster(database, durable=durable) as cluster:
        yield cluster.url


@contextlib.contextmanager
def restartable_cluster(database: str = "laurels", *, durable: bool = False
                        ) -> Iterator[Cluster]:
    """`throwaway_cluster`, yielding a `Cluster` that can be stopped and started."""
    bindir = find_pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found (set LAURELS_PG_BIN).")
    owner = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="laurels-pg-"))
    data = root / "data"
    if owner:
        shutil.chown(root, user=owner)
    port = _free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    subprocess.run(_as_owner([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                              "postgres", "--no-sync"], owner), check=True, **quiet)
    opts = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
            f"{'' if durable else '-c fsync=off '}-c max_connections=200")

    def ctl(action: str) -> None:
        args = ["-o", opts, "-l", str(root / "log")] if action == "start" else ["-m", "fast"]
        subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), *args, "-w",
                                  action], owner), check=True, **quiet)
        if action == "start":
            _wait_ready(port)

    try:
        ctl("start")
        subprocess.run(_as_owner([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                                  "-U", "postgres", database], owner), check=True, **quiet)
        yield Cluster(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}", ctl)
    finally:
        subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                  "stop"], owner), check=False, **quiet)
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL did not start on port {port}")
