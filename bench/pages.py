"""8. The web dashboard's pages on the million-member board: the leaderboard (all time,
its first page and a page deep in it; this week's first page, whose movement compares
with last week's final board) and a member's page, served by the bot's own HTTP server
(hypercorn, the one-port application with the dashboard's routes) to 16 concurrent
keep-alive clients in another process, as `bench/api.py` serves the API. Pages are public
here (`/settings web public on`), so the clients need no session.

Server time is measured inside the server, from the request reaching the application to
the last byte of its answer; requests/s is what the clients got. Baseline: the engine
calls the page makes (`engine.dashboard`: `web_community`, then `board_page` or
`member_page`), from 16 concurrent callers in the process.

Movement on the all-time and monthly boards compares with the board as this week began,
which the engine builds once per week and board: the first requests of a week are
measured on their own, on an engine that has not built it yet.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from bench.api import CLIENTS, WARM_UP, ServerTimes, load
from bench.backends import Backend
from bench.common import MOD, per_rank_index
from bench.report import Figure
from bench.sizes import Sizes
from bench.timing import Run, percentile, run_concurrent
from bot.http.app import build_app
from bot.http.server import HttpOptions, serve
from engine.refs import CommunityRef
from engine.service import Engine
from web import WebOptions, web_routes

__all__ = ["TARGET_MS", "measure_pages"]

BENCH = "pages"
TARGET_MS = 25.0


async def measure_pages(backend: Backend, url: str, sizes: Sizes) -> list[Figure]:
    return await per_rank_index(backend, url, lambda engine, label: _measure(
        backend.kind, engine, label, sizes))


async def _measure(backend: str, engine: Engine, index: str, sizes: Sizes) -> list[Figure]:
    figures: list[Figure] = []
    await engine.dashboard.set_web_setting(MOD, "public", True)
    for period in ("all", "month", "week"):  # the boards a running bot has loaded
        await engine.leaderboard(MOD.community, period)
    place = await engine.dashboard.web_address(MOD.community)
    # Not `board_page`: it would build the board as this week began before the first
    # requests of the week are measured.
    first = await engine.leaderboard(MOD.community, "all", 1, 100)
    deep = max(1, first.pages // 2)
    member = first.rows[0].member_external_id
    assert member is not None
    base = f"/c/{place.public_id}"
    pages: list[tuple[str, str, Callable[[], Awaitable[object]]]] = [
        ("leaderboard first page", f"{base}/?period=all&page=1",
         _board_call(engine, place.public_id, "all", 1)),
        ("leaderboard deep page", f"{base}/?period=all&page={deep}",
         _board_call(engine, place.public_id, "all", deep)),
        ("leaderboard this week first page", f"{base}/?period=week&page=1",
         _board_call(engine, place.public_id, "week", 1)),
        ("member page", f"{base}/members/{member}",
         _member_call(engine, place.public_id, member)),
    ]
    timer = ServerTimes(build_app(web_routes(engine, WebOptions())))
    # Each run's clients keep their connections open until the server closes them.
    server = await serve(timer, HttpOptions(port=0, max_connections=512))  # type: ignore[arg-type]
    try:
        # Code paths warm, no board of this week's start built yet: the member page
        # touches none.
        await load(server.url, pages[3][1], WARM_UP)
        for label, path in (("leaderboard first page", pages[0][1]),
                            ("leaderboard this week first page", pages[2][1])):
            timer.seconds.clear()
            t0 = time.perf_counter()
            await load(server.url, path, sizes.board_reads)
            figures += _cold_figures(backend, label + index, list(timer.seconds),
                                     time.perf_counter() - t0, sizes)
        for label, path, call in pages:
            await load(server.url, path, WARM_UP)
            timer.seconds.clear()
            answers = await load(server.url, path, sizes.board_reads)
            served = list(timer.seconds)
            alone = await _engine_alone(call, sizes)
            note = (f"{path.split('?')[-1] if '?' in path else 'a top member'}: "
                    f"{len(served)} requests from {CLIENTS} clients, "
                    f"{sizes.board_members:,} members")
            figures += _figures(backend, label + index, served, answers, alone, note)
    finally:
        await server.stop()
    return figures


def _board_call(engine: Engine, public_id: str, period: str, page: int
                ) -> Callable[[], Awaitable[object]]:
    async def call() -> None:
        place = await engine.dashboard.web_community(public_id)
        assert place is not None
        ref = CommunityRef(place.platform, place.external_id, place.name)
        board = await engine.dashboard.board_page(ref, period, page)
        assert board.rows

    return call


def _member_call(engine: Engine, public_id: str, user_id: str
                 ) -> Callable[[], Awaitable[object]]:
    async def call() -> None:
        place = await engine.dashboard.web_community(public_id)
        assert place is not None
        ref = CommunityRef(place.platform, place.external_id, place.name)
        await engine.dashboard.member_page(ref, user_id)

    return call


async def _engine_alone(call: Callable[[], Awaitable[object]], sizes: Sizes) -> Run:
    await run_concurrent((call for _ in range(WARM_UP)), CLIENTS, sizes.time_cap)
    return await run_concurrent((call for _ in range(sizes.board_reads)), CLIENTS,
                                sizes.time_cap)


def _ms(values: list[float], q: float) -> float | None:
    p = percentile(values, q)
    return None if p is None else p * 1000


def _figures(backend: str, label: str, served: list[float], answers: dict[str, object],
             alone: Run, note: str) -> list[Figure]:
    client = [float(x) for x in answers["latencies"]]  # type: ignore[attr-defined]
    rate = len(client) / float(answers["elapsed"])  # type: ignore[arg-type]
    p99 = _ms(served, 99)
    return [
        Figure(BENCH, backend, f"{label} server p50", _ms(served, 50), "ms", "lower",
               f"engine calls alone p50 ({CLIENTS} callers)", alone.ms(50),
               note=f"{note}; client-side p50 {_ms(client, 50) or 0:.2f} ms"),
        Figure(BENCH, backend, f"{label} server p99", p99, "ms", "lower",
               f"engine calls alone p99 ({CLIENTS} callers)", alone.ms(99),
               f"≤{TARGET_MS:g} ms", None if p99 is None else p99 <= TARGET_MS,
               note=f"client-side p99 {_ms(client, 99) or 0:.2f} ms"),
        Figure(BENCH, backend, f"{label} requests/s", rate, "req/s", "higher",
               f"engine calls/s ({CLIENTS} callers)", alone.rate),
    ]


def _cold_figures(backend: str, label: str, served: list[float], elapsed: float,
                  sizes: Sizes) -> list[Figure]:
    """The first requests of a week: the slowest (the one that waited for the board as
    the week began, with those queued behind it) and the p99 of the first run."""
    p99 = _ms(served, 99)
    return [
        Figure(BENCH, backend, f"{label}, first requests of a week: slowest server time",
               _ms(served, 100), "ms", "lower",
               note=f"{len(served)} requests from {CLIENTS} clients in {elapsed:.1f} s, on "
                    "an engine that had not built this week's start board"),
        Figure(BENCH, backend, f"{label}, first requests of a week: server p99", p99, "ms",
               "lower", target=f"≤{TARGET_MS:g} ms",
               met=None if p99 is None else p99 <= TARGET_MS),
    ]
