"""The HTTP server alone, for tests that need a process of its own (an open-files limit
of its own). Prints `port=<port> files=<soft limit>` once listening, then serves until
its standard input closes.

    python -m tests.bot.http.serve_few_files [--max-connections N] [--leave-free N]

`--leave-free N` opens files until only about N descriptors are left, as if something
else in the process had used them, so that accepting connections fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import sys

from bot.http.app import build_app
from bot.http.health import Readiness, health_routes
from bot.http.server import HttpOptions, serve


async def _ready() -> str | None:
    return None


async def main(args: argparse.Namespace) -> None:
    app = build_app(health_routes(Readiness(_ready)))
    server = await serve(app, HttpOptions(host="127.0.0.1", port=0,
                                          max_connections=args.max_connections,
                                          header_timeout=1.0, body_timeout=1.0))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    burnt: list[int] = []
    if args.leave_free is not None:
        with contextlib.suppress(OSError):
            while len(os.listdir("/proc/self/fd")) < soft - args.leave_free:
                burnt.append(os.open(os.devnull, os.O_RDONLY))
    print(f"port={server.port} files={soft}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    for fd in burnt:
        os.close(fd)
    await server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-connections", type=int, default=500)
    parser.add_argument("--leave-free", type=int)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(main(parser.parse_args()))
