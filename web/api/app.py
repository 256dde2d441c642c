"""The JSON API as an ASGI application: FastAPI, mounted by the bot's one HTTP server at
`/api` (`api_mount`).

FastAPI because the request and response bodies are typed pydantic models (pydantic is a
dependency already), and it checks requests against them (422) and generates the OpenAPI
document from the same types, so documentation and behaviour cannot drift apart. It runs
on the Starlette the server already has.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount

from engine.service import Engine
from web.api import challenges, community, members, moderation
from web.api.access import ApiState
from web.api.docs import render_docs
from web.api.errors import install_error_handlers
from web.api.ratelimit import TokenBuckets

__all__ = ["DESCRIPTION", "api_mount", "build_api"]

DESCRIPTION = """\
Read a community's leaderboards, members, challenges and achievements, and, as a \
moderator, award points and badges or move challenges along.

Authentication: every request sends `Authorization: Bearer lrl_...`, a token a moderator \
creates with `/settings api-token create [name]` (shown once) and revokes with \
`/settings api-token revoke <name or prefix>`. A token opens its own community only \
(403 for any other), and writes as the moderator who created it, with that moderator's \
rights checked again on each write.

Errors are JSON: `{"error": {"code": "...", "message": "..."}}`. 400: the body is not \
JSON; 401: no token, or an unknown or revoked one; 403: another community's token, or a \
write the creator may not make; 404: no such member or challenge; 409: not in this \
phase, or an idempotency key already used; 422: a value is missing or not allowed (and \
nothing changed); 429: too many requests with this token (wait `Retry-After` seconds); \
503: the database cannot be reached (try again).

Rate limit: each token has a bucket of `LAURELS_API_RATE_BURST` requests refilled at \
`LAURELS_API_RATE_LIMIT` a second, in each process."""


def build_api(engine: Engine, *, rate: float = 10.0, burst: int = 60,
              limits: TokenBuckets | None = None) -> FastAPI:
    """The API application over `engine`; each token may make `rate` requests a second on
    average and `burst` at once (or share `limits`)."""
    app = FastAPI(title="Laurels API", version="1", description=DESCRIPTION,
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None)
    app.state.api = ApiState(engine, limits or TokenBuckets(rate, burst))
    install_error_handlers(app, engine.uow.is_fault)
    for module in (community, members, challenges, moderation):
        app.include_router(module.router)

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        html = render_docs(request.app.openapi() | {"servers": [
            {"url": request.scope.get("root_path", "")}]})
        return HTMLResponse(html, headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})

    return app


def api_mount(engine: Engine, *, rate: float = 10.0, burst: int = 60) -> Mount:
    """The API at `/api` on the process's HTTP server (bot/http/app.py)."""
    return Mount("/api", app=build_api(engine, rate=rate, burst=burst))
