"""The load generator of the API and page benchmarks, run as its own process (so the
server's event loop serves requests only): `python -m bench.api_load URL CONCURRENCY COUNT
PATH`, the API token, if any, in `LAURELS_BENCH_TOKEN` (not on a command line others can
list).

Keeps CONCURRENCY clients busy, each with its own keep-alive connection, until COUNT GETs
of PATH are answered; prints one JSON line: client-side latencies (s), the wall time, and
the statuses seen.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter

import aiohttp

__all__ = ["load"]


async def load(base: str, token: str | None, concurrency: int, count: int, path: str
               ) -> dict[str, object]:
    queue = iter(range(count))
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def client() -> None:
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(base, connector=connector, headers=headers) as session:
            for _ in queue:
                t0 = time.perf_counter()
                async with session.get(path) as response:
                    await response.read()
                    statuses[response.status] += 1
                latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return {"latencies": latencies, "elapsed": time.perf_counter() - start,
            "statuses": {str(k): v for k, v in statuses.items()}}


def main() -> None:
    base, concurrency, count, path = sys.argv[1:]
    token = os.environ.get("LAURELS_BENCH_TOKEN")
    print(json.dumps(asyncio.run(load(base, token, int(concurrency), int(count), path))))


if __name__ == "__main__":
    main()
