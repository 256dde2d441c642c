"""The web dashboard: server-rendered pages per community (leaderboard, challenges and
their galleries, member pages, the achievements catalog, moderator pages), sign-in by
one-time links, sessions and CSRF, SVG charts. Mounted on the process's one HTTP server
by `bot/`; reads everything through `engine.service.Engine`."""

from web.app import web_routes
from web.options import WebOptions

__all__ = ["WebOptions", "web_routes"]
