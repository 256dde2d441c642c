"""The server in a process of its own with few open files, as many systems start one
(a soft limit of 1,024), flooded with half-open connections."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from tests.bot.http.clients import Stalled, request, stall

ROOT = Path(__file__).resolve().parents[3]
HALF_HEADER = b"GET /healthz HTTP/1.1\r\nHost: laurels.test\r\n"


def _limit_files(soft: int, hard: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return apply


@asynccontextmanager
async def _server(soft: int, hard: int, *args: str
                  ) -> AsyncIterator[tuple[int, int, list[str]]]:
    """Yields (port, soft open-files limit once started, the server's log so far)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bot.http.serve_few_files", *args, cwd=ROOT, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, preexec_fn=_limit_files(soft, hard))
    assert proc.stdout is not None and proc.stdin is not None and proc.stderr is not None
    logged: list[str] = []

    async def read_log() -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            logged.append(line.decode())

    reader = asyncio.create_task(read_log())
    try:
        async with asyncio.timeout(30):
            first = (await proc.stdout.readline()).decode()
        assert first.startswith("port="), "".join(logged)
        fields = dict(part.split("=") for part in first.split())
        yield int(fields["port"]), int(fields["files"]), logged
    finally:
        proc.stdin.close()
        try:
            async with asyncio.timeout(15):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
        await reader


async def _flood(port: int, count: int) -> list[Stalled]:
    flood: list[Stalled] = []
    for _ in range(count):
        with contextlib.suppress(OSError):
            flood.append(await stall(port, HALF_HEADER))
    return flood


async def test_1100_half_open_connections_with_1024_files_leave_healthz_answering() -> None:
    """The case from the issue: 1,100 half-open connections, 1,024 open files at most."""
    async with _server(1024, 1024, "--max-connections", "5000") as (port, files, logged):
        assert files == 1024
        flood = await _flood(port, 1100)
        try:
            answers = [await request(port, "GET", "/healthz") for _ in range(3)]
        finally:
            for conn in flood:
                conn.close()
    assert [(a.status, a.body) for a in answers] == [(200, b"ok")] * 3
    assert max(a.seconds for a in answers) < 1.0
    text = "".join(logged)
    assert "5000 connections would not fit the open-files limit (1024); allowing 768" in text
    assert "Traceback" not in text and "Too many open files" not in text
    assert len(logged) < 10, text


async def test_the_soft_limit_is_raised_and_accept_errors_are_logged_once(
        ) -> None:
    """Below the hard limit the soft one is raised; when files run out anyway (used
    elsewhere in the process), failed accepts make one line, not one per attempt."""
    async with _server(256, 512, "--leave-free", "30") as (port, files, logged):
        assert files == 512
        flood = await _flood(port, 100)
        await asyncio.sleep(3)  # asyncio retries a failed accept every second
        for conn in flood:
            conn.close()
        # Once the flood is gone, the server answers again (after its header timeout).
        answer = await request(port, "GET", "/healthz", timeout=10)
    assert (answer.status, answer.body) == (200, b"ok")
    text = "".join(logged)
    assert "open-files limit raised from 256 to 512" in text
    failures = [line for line in logged if "cannot accept connections" in line]
    assert len(failures) == 1, text
    assert "Too many open files (open-files limit 512)" in failures[0]
    assert "Traceback" not in text
