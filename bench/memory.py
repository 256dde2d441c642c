"""6. Resident memory of a bot process serving the benchmark community (a subprocess, so
the figure is the bot's alone), beside the same process with the engine started only."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.backends import Backend
from bench.report import Figure
from bench.sizes import Sizes

__all__ = ["measure_memory"]

BENCH = "memory"


def _probe(url: str, members: int) -> dict[str, dict[str, float]]:
    out = subprocess.run([sys.executable, "-m", "bench.memory_probe", url, str(members)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


async def measure_memory(backend: Backend, url: str, sizes: Sizes) -> list[Figure]:
    probe = _probe(url, sizes.board_members)
    idle, serving = probe["started"], probe["serving"]
    peak = serving["VmHWM"]
    full = sizes.board_members >= 1_000_000
    return [
        Figure(BENCH, backend.kind, "bot resident memory (peak)", peak, "MB", "lower",
               "same process once the engine started", idle["VmHWM"],
               "<300 MB" if full else "<300 MB (at 1M members)", peak < 300,
               note=f"{sizes.board_members:,} members; all, week and month boards served; "
                    f"resident now {serving['VmRSS']:.0f} MB"),
    ]
