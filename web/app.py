"""The dashboard's routes, in one place: the bot mounts them on its one HTTP server
(bot/http/app.py), beside `/healthz`, Slack's events and the JSON API.

`web_routes(engine, options)` is all a server needs; `WebOptions` says where the
dashboard is served (its base URL decides whether cookies are `Secure`)."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from engine.service import Engine
from web.options import WebOptions
from web.pages import Dashboard

__all__ = ["STATIC", "WebOptions", "web_routes"]

STATIC = Path(__file__).parent / "static"



def web_routes(engine: Engine, options: WebOptions | None = None) -> list[BaseRoute]:
    """Every route of the dashboard: pages under `/c/<public id>/`, static files."""
    pages = Dashboard(engine, options or WebOptions())
    c = "/c/{cid}"
    return [
        Route("/", pages.home, methods=["GET", "HEAD"]),
        Route(f"{c}/", pages.leaderboard, methods=["GET", "HEAD"]),
        Route(f"{c}/challenges", pages.challenges, methods=["GET", "HEAD"]),
        Route(f"{c}/challenges/{{slug}}", pages.challenge, methods=["GET", "HEAD"]),
        Route(f"{c}/achievements", pages.achievements, methods=["GET", "HEAD"]),
        Route(f"{c}/members/{{user}}", pages.member, methods=["GET", "HEAD"]),
        Route(f"{c}/sign-in/{{token}}", pages.sign_in, methods=["GET", "HEAD", "POST"]),
        Route(f"{c}/sign-out", pages.sign_out, methods=["POST"]),
        Route(f"{c}/mod/", pages.mod_stats, methods=["GET", "HEAD"]),
        Route(f"{c}/mod/settings", pages.mod_settings, methods=["GET", "HEAD", "POST"]),
        Route(f"{c}/mod/announcements", pages.mod_announcements, methods=["GET", "HEAD"]),
        Route(f"{c}/mod/announcements/{{outbox_id:int}}/retry", pages.mod_retry,
              methods=["POST"]),
        Route(f"{c}/mod/audit", pages.mod_audit, methods=["GET", "HEAD"]),
        Route(f"{c}/mod/members/{{user}}", pages.mod_member, methods=["GET", "HEAD", "POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
