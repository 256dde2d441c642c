"""HTTP mode: Slack POSTs signed requests to `/slack/events`; Bolt checks and dispatches.

One workaround for slack-bolt (1.30): its body parser takes any form containing the text
"payload" for an interaction, so a slash command such as `/challenge submit x
payload.png` reached no listener. `bolt_request` re-reads such a form as the plain form
it is. Socket Mode hands Bolt parsed payloads and never had the problem.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

__all__ = ["EVENTS_PATH", "HttpServer", "bolt_request", "serve_http"]

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
_FORM = "application/x-www-form-urlencoded"


@dataclass
class HttpServer:
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        """The events URL (with the port actually bound, useful when asked for port 0)."""
        return f"http://{self.host}:{self.port}{EVENTS_PATH}"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def bolt_request(request: web.Request) -> AsyncBoltRequest:
    raw = await request.text()
    req = AsyncBoltRequest(body=raw, query=request.query_string,
                           headers=dict(request.headers))
    if req.content_type == _FORM and not req.body and "payload" in raw:
        fields = dict(parse_qsl(raw, keep_blank_values=True))
        if "payload" not in fields:  # a real interaction has one; this is a command
            req.body = fields
            req.context = build_async_context(AsyncBoltContext({}), fields)
    return req


async def serve_http(app: AsyncApp, *, host: str, port: int) -> HttpServer:
    """Serve `app` at `http://host:port/slack/events` (plus `/healthz` for probes)."""

    async def events(request: web.Request) -> web.Response:
        response = await app.async_dispatch(await bolt_request(request))
        return await to_aiohttp_response(response)

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app = web.Application()
    web_app.router.add_post(EVENTS_PATH, events)
    web_app.router.add_get("/healthz", health)
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    log.info("Slack events at http://%s:%s%s", host, bound, EVENTS_PATH)
    return HttpServer(runner, host, int(bound))
