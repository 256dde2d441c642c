"""`laurels demo`: a short scripted tour a newcomer runs to see what Laurels does; with
`--web`, a longer one played into the database and left there for the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources

from bot.console.platform import COMMUNITY, ConsolePlatform, ScriptError
from bot.console.script import run_script
from config.settings import Settings
from engine.clock import FixedClock
from engine.refs import MemberRef
from engine.service import Engine
from engine.sign_in import WebLinks
from storage.db import Database
from storage.migrate import upgrade_async

__all__ = ["WEB_DEMO_DAYS", "run_demo", "run_web_demo"]

# The web demo's story spans this many days, ending now: its boards are this week's.
WEB_DEMO_DAYS = 14


async def run_demo() -> int:
    script = resources.files("bot.console").joinpath("demo.txt").read_text("utf-8")
    result = await run_script(script.splitlines(), echo=print)
    return 0 if result.ok else 1


def web_demo_lines(base_url: str) -> list[str]:
    script = resources.files("bot.console").joinpath("demo_web.txt").read_text("utf-8")
    art = f"{base_url.rstrip('/')}/static/demo"
    return script.replace("{art}", art).splitlines()


async def run_web_demo(settings: Settings, *, now: datetime | None = None,
                       quiet: bool = False) -> int:
    """Play the web demo into the configured database (migrated first), make the console
    community's pages public, and print where to look."""
    port = settings.web_port or 8080
    base = settings.web_base_url or f"http://127.0.0.1:{port}"
    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    end = now or datetime.now(UTC)
    clock = FixedClock(end - timedelta(days=WEB_DEMO_DAYS))
    secret = settings.web_secret.get_secret_value() if settings.web_secret else None
    engine = Engine(db, clock, settle_in_background=False, web=WebLinks(base, secret))
    out: list[str] = []
    platform = ConsolePlatform(engine, clock, out=out.append)
    try:
        await platform.start()
        for number, line in enumerate(web_demo_lines(base), start=1):
            try:
                await platform.handle(line)
            except ScriptError as exc:
                print(f"!! line {number}: {exc}")
                return 1
        await engine.settle_all()
        clock.set(end)
        await engine.due.run_until(clock, end, after_each=platform.deliver)
        moderator = MemberRef(COMMUNITY, "mod", "mod", is_admin=True)
        place = await engine.dashboard.set_web_setting(moderator, "public", True)
        link = await engine.dashboard.dashboard_link(moderator)
    finally:
        await engine.close()
        await db.dispose()
    if not quiet:
        print(f"The demo community is in {settings.database_url} with its pages public.")
        print("Serve it:  uv run laurels run --web-port", port)
        print(f"Leaderboard: {base}/c/{place.public_id}/")
        print(f"Sign in as the moderator (once, within 15 minutes): {link}")
    return 0
