"""`laurels`: run the bot, try it on the console, run scripts, manage the database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from config.settings import load_settings

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="laurels", description=__doc__)
    parser.add_argument("--database", help="database URL (default: LAURELS_DATABASE_URL or "
                        "a SQLite file laurels.db here)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the bot (Discord/Slack when tokens are set, else "
                         "the console)")
    run.add_argument("--slack-http", action="store_true",
                     help="serve Slack over HTTP (events at /slack/events) instead of Socket Mode")
    run.add_argument("--port", type=int, default=3000, help="port for --slack-http")
    console = sub.add_parser("console", help="talk to the bot in this terminal, or run a script")
    console.add_argument("--script", type=Path, help="run this script and print the transcript "
                         "('-' for standard input)")
    sub.add_parser("demo", help="a short scripted tour of what Laurels does")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="create or migrate the schema to the latest version")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {"database_url": args.database} if args.database else {}
    settings = load_settings(**overrides)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "db":
        from storage.migrate import upgrade

        upgrade(settings.database_url)
        print(f"Database is at the latest schema: {_safe_url(settings.database_url)}")
        return 0
    if args.command == "demo":
        from bot.console.demo import run_demo

        return asyncio.run(run_demo())
    if args.command == "console" and args.script is not None:
        from bot.console.script import run_script

        text = sys.stdin.read() if str(args.script) == "-" else args.script.read_text("utf-8")
        result = asyncio.run(run_script(text.splitlines(), echo=print))
        return 0 if result.ok else 1
    if args.command == "console" and not sys.stdin.isatty():
        from bot.console.script import run_script

        result = asyncio.run(run_script(sys.stdin.read().splitlines(), echo=print))
        return 0 if result.ok else 1
    from bot.runner import RunOptions, run

    options = RunOptions(console_only=args.command == "console",
                         slack_http=getattr(args, "slack_http", False),
                         port=getattr(args, "port", 3000))
    return asyncio.run(run(settings, options))


def _safe_url(url: str) -> str:
    """The URL without its password: never print secrets."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())
