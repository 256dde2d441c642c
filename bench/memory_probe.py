"""A bot process serving the benchmark community, reporting its resident memory.

`python -m bench.memory_probe URL MEMBERS`: starts the engine (the baseline figure), then
answers /profile and /leaderboard (all three boards, and a deep page) through the console
platform's command path, as a running bot would after a while. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys

from bench.common import engine_on, member
from bot.console.render import render_card
from commands.tree import execute_text

__all__ = ["main", "rss_mb"]


def rss_mb() -> dict[str, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MB."""
    fields: dict[str, float] = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields


async def _serve(url: str, members: int) -> dict[str, dict[str, float]]:
    async with engine_on(url) as engine:
        started = rss_mb()
        rng = random.Random(11)
        for _ in range(30):
            who = member(rng.randint(1, members))
            for text in ("/profile", "/leaderboard", "/leaderboard week",
                         "/leaderboard month", f"/leaderboard all {max(1, members // 20)}"):
                render_card((await execute_text(engine, who, text, "general")).card)
        return {"started": started, "serving": rss_mb()}


def main(argv: list[str]) -> int:
    url, members = argv[0], int(argv[1])
    print(json.dumps(asyncio.run(_serve(url, members))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
