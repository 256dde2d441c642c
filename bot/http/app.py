"""The one ASGI application the process serves on its one HTTP port.

Whatever the process offers over HTTP is a list of Starlette routes mounted here:
`/healthz` and `/readyz`, Slack's `/slack/events` in HTTP mode, later the dashboard and
`/api/v1/...`. Every request body goes through `BodyLimits` first.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from bot.http.limits import BodyLimits

__all__ = ["build_app"]

MAX_BODY = 1 << 20  # bytes; Slack's largest requests (form submissions) are far smaller


def build_app(routes: Sequence[BaseRoute], *, max_body: int = MAX_BODY,
              body_timeout: float = 10.0) -> Starlette:
    """An application serving `routes`; bodies over `max_body` bytes, or slower than
    `body_timeout` seconds, are refused before any route runs."""
    return Starlette(routes=list(routes), middleware=[
        Middleware(BodyLimits, max_bytes=max_body, within=body_timeout)])
