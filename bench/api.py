"""7. The JSON API's leaderboard endpoint on the million-member board: the first page and
a page deep in the board, served by the bot's own HTTP server (hypercorn, the one-port
application with the API mounted) to 16 concurrent clients in another process. Server
time is measured inside the server, from the request reaching the application to the
last byte of its answer; requests/s is what the clients got. Baseline: the engine call
the endpoint makes (`Engine.leaderboard` for the community), from 16 concurrent callers."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from bench.backends import Backend
from bench.common import MOD, per_rank_index
from bench.report import Figure
from bench.sizes import Sizes
from bench.timing import Run, percentile, run_concurrent
from bot.http.app import build_app
from bot.http.server import HttpOptions, serve
from engine.service import Engine
from web.api import api_mount

__all__ = ["CLIENTS", "WARM_UP", "ServerTimes", "load", "measure_api"]

BENCH = "api"
CLIENTS = 16
WARM_UP = 200  # requests before each timed run: connections open, code paths warm


class ServerTimes:
    """ASGI middleware: seconds from each HTTP request reaching the application to the
    end of its answer."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.seconds: list[float] = []

    async def __call__(self, scope: dict[str, object], receive: object, send: object) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # type: ignore[operator]
            return
        t0 = time.perf_counter()

        async def timed(message: dict[str, object]) -> None:
            await send(message)  # type: ignore[operator]
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.seconds.append(time.perf_counter() - t0)

        await self.app(scope, receive, timed)  # type: ignore[operator]


async def measure_api(backend: Backend, url: str, sizes: Sizes) -> list[Figure]:
    return await per_rank_index(backend, url, lambda engine, label: _measure(
        backend.kind, engine, label, sizes))


async def _measure(backend: str, engine: Engine, index: str, sizes: Sizes) -> list[Figure]:
    figures: list[Figure] = []
    board = await engine.leaderboard(MOD.community, "all")  # loads the board, as a bot has
    deep = max(1, board.pages // 2)
    made = await engine.dashboard.create_api_token(MOD, f"bench-{time.time_ns()}")
    timer = ServerTimes(build_app([api_mount(engine, rate=1e9, burst=10**9)]))
    server = await serve(timer, HttpOptions(port=0, max_connections=64))  # type: ignore[arg-type]
    try:
        for label, page in (("first page", 1), ("deep page", deep)):
            path = f"/api/v1/communities/{made.community}/leaderboard?page={page}"
            await load(server.url, path, WARM_UP, made.token)
            timer.seconds.clear()
            answers = await load(server.url, path, sizes.board_reads, made.token)
            served = list(timer.seconds)
            alone = await _engine_alone(engine, page, sizes)
            figures += _figures(backend, label + index, page, served, answers, alone, sizes)
    finally:
        await server.stop()
        await engine.dashboard.revoke_api_token(MOD, made.view.prefix)
    return figures


async def load(base: str, path: str, count: int, token: str | None = None
               ) -> dict[str, object]:
    """`count` GETs of `path` from CLIENTS keep-alive clients in another process
    (bench/api_load.py), each sending `token` as a bearer token if given; what the
    clients saw. Anything but 200 each time is an error."""
    env = {k: v for k, v in os.environ.items() if k != "LAURELS_BENCH_TOKEN"}
    if token is not None:
        env["LAURELS_BENCH_TOKEN"] = token
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.api_load", base, str(CLIENTS), str(count), path,
        stdout=asyncio.subprocess.PIPE, env=env)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the load generator failed ({proc.returncode})")
    answers: dict[str, object] = json.loads(out.decode().strip().splitlines()[-1])
    statuses = answers["statuses"]
    if statuses != {"200": count}:
        raise RuntimeError(f"{path} answered {statuses}, not {count} times 200")
    return answers


async def _engine_alone(engine: Engine, page: int, sizes: Sizes) -> Run:
    async def call() -> None:
        answer = await engine.leaderboard(MOD.community, "all", page=page)
        assert len(answer.rows) == 10

    await run_concurrent((call for _ in range(WARM_UP)), CLIENTS, sizes.time_cap)
    return await run_concurrent((call for _ in range(sizes.board_reads)), CLIENTS,
                                sizes.time_cap)


def _figures(backend: str, label: str, page: int, served: list[float],
             answers: dict[str, object], alone: Run, sizes: Sizes) -> list[Figure]:
    def ms(values: list[float], q: float) -> float | None:
        p = percentile(values, q)
        return None if p is None else p * 1000

    client = [float(x) for x in answers["latencies"]]  # type: ignore[attr-defined]
    rate = len(client) / float(answers["elapsed"])  # type: ignore[arg-type]
    p99 = ms(served, 99)
    return [
        Figure(BENCH, backend, f"leaderboard {label} server p50", ms(served, 50), "ms",
               "lower", f"engine call alone p50 ({CLIENTS} callers)", alone.ms(50),
               note=f"page {page:,}: {len(served)} requests from {CLIENTS} clients, "
                    f"{sizes.board_members:,} members; client-side p50 "
                    f"{ms(client, 50) or 0:.2f} ms"),
        Figure(BENCH, backend, f"leaderboard {label} server p99", p99, "ms", "lower",
               f"engine call alone p99 ({CLIENTS} callers)", alone.ms(99), "≤10 ms",
               None if p99 is None else p99 <= 10,
               note=f"client-side p99 {ms(client, 99) or 0:.2f} ms"),
        Figure(BENCH, backend, f"leaderboard {label} requests/s", rate, "req/s", "higher",
               f"engine calls/s ({CLIENTS} callers)", alone.rate),
    ]
