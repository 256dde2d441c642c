"""HTTP mode: Slack POSTs signed requests to `/slack/events`, a route of the process's
one HTTP application (`bot.http`). Each request is checked first (`bot.slack.inbound`):
a bad or missing signature or timestamp gets 401, a body no Slack feature sends gets
400, each with one log line and nothing else done; the rest Bolt dispatches.

One workaround for slack-bolt (1.30): its body parser takes any form containing the text
"payload" for an interaction, so a slash command such as `/challenge submit x
payload.png` reached no listener. `bolt_request` hands Bolt the form as the plain form it
is. Socket Mode hands Bolt parsed payloads and never had the problem.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.slack.inbound import Malformed, parse_body, signature_problem

__all__ = ["EVENTS_PATH", "SlackEvents", "bolt_request"]

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class SlackEvents:
    """The `/slack/events` route. It answers 503 until a Bolt app is attached (while
    Slack is still being connected to, or after stopping): Slack retries those."""

    def __init__(self) -> None:
        self._app: AsyncApp | None = None
        self._secret = ""

    def attach(self, app: AsyncApp, signing_secret: str) -> None:
        self._app, self._secret = app, signing_secret

    def detach(self) -> None:
        self._app = None

    def routes(self) -> list[BaseRoute]:
        return [Route(EVENTS_PATH, self.handle, methods=["POST"])]

    async def handle(self, request: Request) -> Response:
        app = self._app
        if app is None:
            return JSONResponse({"error": "not ready"}, status_code=503,
                                headers={"Retry-After": "5"})
        raw = await request.body()
        problem = signature_problem(self._secret, raw, request.headers)
        if problem is not None:
            return _refuse(request, 401, problem)
        try:
            bolt = bolt_request(raw, request.headers.get("content-type"),
                                request.url.query, request.headers)
        except Malformed as exc:
            return _refuse(request, 400, str(exc))
        return to_starlette_response(await app.async_dispatch(bolt))


def bolt_request(raw: bytes, content_type: str | None, query: str,
                 headers: Mapping[str, str]) -> AsyncBoltRequest:
    """The request as Bolt takes it, or Malformed."""
    text, body = parse_body(raw, content_type)
    try:
        req = AsyncBoltRequest(body=text, query=query, headers=dict(headers))
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        # Bolt reads ids from wherever Slack may put them (team, authorizations, ...).
        raise Malformed(f"body Bolt cannot read ({type(exc).__name__})") from None
    if req.body != body:  # only the "payload" quirk above makes them differ
        req.body = body
        req.context = build_async_context(AsyncBoltContext({}), body)
    return req


def _refuse(request: Request, status: int, reason: str) -> Response:
    client = request.client.host if request.client else "?"
    log.warning("Slack request refused (%d) from %s: %s", status, client, reason)
    error: dict[str, Any] = {"error": "invalid request" if status == 401
                             else "malformed request"}
    return JSONResponse(error, status_code=status)
