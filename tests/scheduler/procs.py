"""Starting, waiting for and killing worker processes (tests/scheduler/crash_worker.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pytest

__all__ = ["ROOT", "ForkServer", "Worker", "kill_when_ready", "postgres_only", "run_worker",
           "start_worker"]

ROOT = Path(__file__).resolve().parents[2]
# Generous: a cold interpreter importing SQLAlchemy on a busy CI machine takes seconds.
TIMEOUT = 60.0

# Several processes share due events on PostgreSQL only: left out of the SQLite legs.
postgres_only = pytest.mark.postgres_only


class Worker:
    """A running crash_worker process."""

    def __init__(self, proc: subprocess.Popen[str], ready: Path | None) -> None:
        self.proc = proc
        self.ready = ready

    def result(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """Wait for a normal exit and return its JSON summary."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate(timeout=10)
            raise AssertionError(f"worker did not finish in {timeout}s:\n{err[-3000:]}") from None
        assert self.proc.returncode == 0, f"worker failed ({self.proc.returncode}):\n{err[-3000:]}"
        return dict(json.loads(out.strip().splitlines()[-1]))


def start_worker(url: str, now: datetime | str, *args: str, ready: Path | None = None
                 ) -> Worker:
    """`now`: the worker's fixed time, or "system" for the real clock."""
    when = now if isinstance(now, str) else now.isoformat()
    cmd = [sys.executable, "-m", "tests.scheduler.crash_worker", url, "--now", when, *args]
    if ready is not None:
        cmd += ["--ready", str(ready)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return Worker(proc, ready)


async def run_worker(url: str, now: datetime, *args: str) -> dict[str, Any]:
    """Run a worker to completion (off the event loop) and return its summary."""
    worker = start_worker(url, now, *args)
    return await asyncio.to_thread(worker.result)


async def kill_when_ready(worker: Worker, within: float = TIMEOUT) -> str:
    """SIGKILL the worker as soon as it reports it reached its hang point."""
    assert worker.ready is not None
    deadline = time.monotonic() + within
    while not worker.ready.exists():
        if worker.proc.poll() is not None:
            _, err = worker.proc.communicate(timeout=10)
            raise AssertionError(f"worker exited before its hang point:\n{err[-3000:]}")
        if time.monotonic() > deadline:
            worker.proc.kill()
            worker.proc.communicate(timeout=10)
            raise AssertionError(f"worker did not reach its hang point in {within}s")
        await asyncio.sleep(0.02)
    what = worker.ready.read_text("utf-8")
    worker.proc.send_signal(signal.SIGKILL)
    await asyncio.to_thread(worker.proc.communicate, timeout=10)
    assert worker.proc.returncode == -signal.SIGKILL
    return what


class ForkServer:
    """Worker processes forked from one warm interpreter (`crash_worker --fork-server`):
    each run is a real process, killed for real, but starts in milliseconds."""

    def __init__(self) -> None:
        # A file, not a pipe: children log there, and a full pipe would block them.
        self._stderr: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.scheduler.crash_worker", "--fork-server"],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True)

    async def run(self, url: str, now: datetime | str, *args: str,
                  within: float = TIMEOUT) -> tuple[int, dict[str, Any] | None]:
        """Run one worker to its end; returns its exit status (minus the signal that
        killed it) and its JSON summary (None when it did not finish)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        when = now if isinstance(now, str) else now.isoformat()
        self.proc.stdin.write(json.dumps([url, "--now", when, *args]) + "\n")
        self.proc.stdin.flush()
        summary: dict[str, Any] | None = None
        while True:
            line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline),
                                          within)
            if not line:
                raise AssertionError(f"the fork server died:\n{self.errors()}")
            record = json.loads(line)
            if "status" in record:
                status = int(record["status"])
                if status not in (0, -signal.SIGKILL):
                    raise AssertionError(f"worker failed ({status}):\n{self.errors()}")
                return status, summary
            summary = record

    def errors(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-3000:]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()
