"""The web layer: what the process serves over HTTP besides health and Slack's events.

The dashboard: server-rendered pages per community (leaderboard, challenges and their
galleries, member pages, the achievements catalog, moderator pages), sign-in by one-time
links, sessions and CSRF, SVG charts. `web.api` is the JSON API. Mounted on the process's
one HTTP server by `bot/`; reads everything through `engine.service.Engine`, and imports
`engine` and `config` only (tests/test_layers.py)."""

from web.app import web_routes
from web.options import WebOptions

__all__ = ["WebOptions", "web_routes"]
