"""`/healthz` (the process answers) and `/readyz` (the database answers and takes writes).

A load balancer or orchestrator restarts a process whose `/healthz` fails and stops
sending traffic to one whose `/readyz` fails. The database probe runs at most once per
`every` seconds however often `/readyz` is asked, requests arriving meanwhile share the
last answer, and each change of state is logged once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

__all__ = ["Readiness", "health_routes"]

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[str | None]]


class Readiness:
    """Whether the process can do its work: None, or a short reason why not."""

    def __init__(self, probe: Probe, *, every: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.probe = probe
        self.every = every
        self._clock = clock
        self._checked = float("-inf")
        self._reason: str | None = None
        self._lock = asyncio.Lock()

    async def reason(self) -> str | None:
        async with self._lock:  # one probe at a time; the others take its answer
            if self._clock() - self._checked >= self.every:
                reason = await self.probe()
                if reason != self._reason:
                    if reason is None:
                        log.info("ready again: the database answers and takes writes")
                    else:
                        log.error("not ready: %s", reason)
                self._reason = reason
                self._checked = self._clock()
            return self._reason


def health_routes(readiness: Readiness) -> list[BaseRoute]:
    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        reason = await readiness.reason()
        if reason is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)

    return [Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/readyz", readyz, methods=["GET", "HEAD"])]
