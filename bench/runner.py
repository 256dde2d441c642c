"""Runs the chosen benchmarks on each backend, in an order that shares generated data."""

from __future__ import annotations

import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.api import measure_api
from bench.awards import measure_awards
from bench.backends import Backend, open_backend
from bench.commands import measure_commands
from bench.datagen import board_dataset, open_writer
from bench.leaderboard import measure_leaderboard
from bench.loop import measure_loop
from bench.memory import measure_memory
from bench.pages import measure_pages
from bench.report import Figure, Report
from bench.sizes import Sizes
from bench.tally import measure_tally
from bench.votes import measure_votes
from bot.heap import started_objects_set_aside

__all__ = ["run_all"]


async def run_all(report: Report, sizes: Sizes, backends: list[str], only: list[str],
                  workdir: Path) -> int:
    """Returns how many benchmarks failed (an exception, not a slow figure)."""
    failed = 0
    for kind in backends:
        if kind == "postgres":
            from storage.pgcluster import find_pg_bin

            if find_pg_bin() is None:
                for name in only:
                    report.skip(name, kind, "PostgreSQL server binaries not found "
                                "(install postgresql-15 or set LAURELS_PG_BIN)")
                continue
        print(f"== {kind}", flush=True)
        async with open_backend(kind, workdir) as backend:
            version = await backend.server_version()
            if version:
                report.meta.setdefault("versions", {})["postgresql-server"] = version
            failed += await _run_backend(report, sizes, backend, only)
    return failed


async def _run_backend(report: Report, sizes: Sizes, backend: Backend, only: list[str]) -> int:
    failed = 0

    async def step(name: str, work: Callable[[], Awaitable[list[Figure]]]) -> None:
        nonlocal failed
        if name not in only:
            return
        print(f"- {name} ({backend.kind})", flush=True)
        t0 = time.perf_counter()
        try:
            # As `laurels run` does: what exists at the start (the modules of SQLAlchemy,
            # the platforms' libraries, the web layer) is set aside from the collector,
            # whose full passes would otherwise walk it inside the timings.
            with started_objects_set_aside():
                report.add(await work())
        except Exception as exc:
            failed += 1
            traceback.print_exc()
            report.skip(name, backend.kind, f"failed: {type(exc).__name__}: {exc}"[:300])
        print(f"  ({time.perf_counter() - t0:.1f}s)", flush=True)

    if "votes" in only or "awards" in only:
        await step("votes", lambda: measure_votes(backend, sizes))
        if "votes" not in only:  # awards needs the generated vote community
            await measure_votes(backend, sizes)
    await step("awards", lambda: measure_awards(backend, sizes))
    if backend.is_sqlite:
        await step("loop", lambda: measure_loop(backend, sizes))
    board = {"leaderboard", "commands", "memory", "api", "pages", "tally"} & set(only)
    if board:
        print(f"- generating {sizes.board_members:,} members, {sizes.tally_entries:,} entries,"
              f" {sizes.tally_votes:,} votes ({backend.kind})", flush=True)
        t0 = time.perf_counter()
        url = await backend.create("board")
        await board_dataset(await open_writer(url), sizes.board_members, sizes.tally_entries,
                            sizes.tally_votes)
        print(f"  ({time.perf_counter() - t0:.1f}s)", flush=True)
        await step("leaderboard", lambda: measure_leaderboard(backend, url, sizes, report))
        await step("commands", lambda: measure_commands(backend, url, sizes))
        await step("memory", lambda: measure_memory(backend, url, sizes))
        await step("api", lambda: measure_api(backend, url, sizes))
        await step("pages", lambda: measure_pages(backend, url, sizes))
        await step("tally", lambda: measure_tally(backend, url, sizes))  # last: it writes
    return failed
