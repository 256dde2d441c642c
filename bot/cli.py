"""`laurels`: run the bot, try it on the console, run scripts, manage the database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from config.settings import Settings, load_settings

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
    run.add_argument("--host", help="address the HTTP server listens on (default: "
                     "LAURELS_HTTP_HOST, else 127.0.0.1; put a reverse proxy in front)")
    run.add_argument("--port", type=int, help="serve HTTP on this port: /healthz, /readyz, "
                     "and Slack's events with --slack-http (default: LAURELS_HTTP_PORT, "
                     "else 3000 with --slack-http, else no HTTP server)")
    run.add_argument("--web-port", type=int, help="serve the web dashboard on this port (the "
                     "one HTTP port: with /healthz, /readyz and Slack's events; default: "
                     "LAURELS_WEB_PORT, else no dashboard)")
    web = sub.add_parser("web", help="serve the web dashboard alone (no platform, no console)")
    web.add_argument("--host", help="address to listen on (default: LAURELS_HTTP_HOST, else "
                     "127.0.0.1)")
    web.add_argument("--web-port", "--port", dest="web_port", type=int,
                     help="port (default: LAURELS_WEB_PORT, else 8080)")
    console = sub.add_parser("console", help="talk to the bot in this terminal, or run a script")
    console.add_argument("--script", type=Path, help="run this script and print the transcript "
                         "('-' for standard input); in memory unless --database is given")
    demo = sub.add_parser("demo", help="a short scripted tour of what Laurels does")
    demo.add_argument("--web", action="store_true", help="play a longer tour into the "
                      "database (LAURELS_DATABASE_URL, else laurels.db here) and leave it "
                      "there with its dashboard public, for `laurels run --web-port 8080`")
    discord = sub.add_parser("discord", help="Discord helpers")
    discord_sub = discord.add_subparsers(dest="discord_command", required=True)
    invite = discord_sub.add_parser("invite-url", help="print the URL that adds the bot to a "
                                    "server, with the scopes and permissions it needs")
    invite.add_argument("--client-id", help="the application id (default: "
                        "LAURELS_DISCORD_CLIENT_ID, else asked of Discord with the token)")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="create or migrate the schema to the latest version")
    from bench.cli import add_arguments as bench_arguments

    bench_arguments(sub.add_parser("bench", help="run the benchmarks (docs/performance.md); "
                                   "--smoke for a quick check"))
    outbox = sub.add_parser("outbox", help="announcements waiting or parked (failed for good)")
    which = outbox.add_mutually_exclusive_group()
    which.add_argument("--parked", action="store_const", dest="statuses", const=("parked",),
                       help="only parked messages (the default)")
    which.add_argument("--pending", action="store_const", dest="statuses", const=("pending",),
                       help="only messages waiting to be posted or retried")
    which.add_argument("--all", action="store_const", dest="statuses",
                       const=("parked", "pending"), help="parked and pending messages")
    outbox.add_argument("--limit", type=int, default=50, help="show at most this many")
    outbox_sub = outbox.add_subparsers(dest="outbox_command")
    retry = outbox_sub.add_parser("retry", help="queue a parked message again")
    retry.add_argument("id", type=int, help="the message's ID from the listing")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {"database_url": args.database} if args.database else {}
    settings = load_settings(**overrides)
    # Before any handler exists: the runner it imports brings Alembic, which logs on import.
    on_console = _on_console(args, settings)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if on_console:
        from bot.console.terminal import quiet_library_logs

        quiet_library_logs()
    if args.command == "bench":
        from bench.cli import run_from_args

        return run_from_args(args)
    if args.command == "discord":
        return asyncio.run(_discord_invite(settings, args.client_id))
    if args.command == "db":
        from storage.migrate import upgrade

        upgrade(settings.database_url)
        print(f"Database is at the latest schema: {_safe_url(settings.database_url)}")
        return 0
    if args.command == "outbox":
        return asyncio.run(_outbox(settings.database_url, args))
    if args.command == "demo":
        from bot.console.demo import run_demo, run_web_demo

        if args.web:
            return asyncio.run(run_web_demo(settings))
        return asyncio.run(run_demo())
    if args.command == "console" and (args.script is not None or not sys.stdin.isatty()):
        return _console_script(args.script, args.database)
    from bot.runner import RunOptions, run

    options = RunOptions(console_only=args.command == "console",
                         slack_http=getattr(args, "slack_http", False),
                         host=getattr(args, "host", None), port=getattr(args, "port", None),
                         web_port=getattr(args, "web_port", None),
                         web_only=args.command == "web")
    return asyncio.run(run(settings, options))


def _on_console(args: argparse.Namespace, settings: Settings) -> bool:
    """Whether this command talks on the console: a session, a script or the demo."""
    if args.command in ("console", "demo"):
        return True
    from bot.runner import has_platform_tokens

    return args.command == "run" and not has_platform_tokens(settings)


def _console_script(script: Path | None, database: str | None) -> int:
    """Run a console script (a file, '-' or piped input) and print its transcript: in
    memory, unless `database` (given with --database) names one, migrated first as
    `laurels run` does."""
    from bot.console.script import run_script
    from bot.console.terminal import tolerant_streams
    from storage.migrate import upgrade_async

    tolerant_streams()
    if script is None or str(script) == "-":
        text = sys.stdin.read()
    else:
        try:
            text = script.read_text("utf-8", errors="replace")
        except OSError as exc:
            print(f"laurels: cannot read {script}: {exc.strerror}", file=sys.stderr)
            return 2

    async def go() -> bool:
        if database is None:
            return (await run_script(text.splitlines(), echo=print)).ok
        await upgrade_async(database)
        return (await run_script(text.splitlines(), database_url=database, echo=print)).ok

    return 0 if asyncio.run(go()) else 1


async def _outbox(url: str, args: argparse.Namespace) -> int:
    """List parked/pending announcements with their errors, or retry one."""
    from engine.errors import LaurelsError
    from engine.service import Engine
    from storage.db import Database

    db = Database(url)
    try:
        engine = Engine(db)
        if args.outbox_command == "retry":
            try:
                info = await engine.deliveries.retry(args.id)
            except LaurelsError as exc:
                print(exc.message, file=sys.stderr)
                return 1
            print(f"Message {info.id} ({info.kind} for {info.community}) is queued again; "
                  "a running bot posts it within seconds.")
            return 0
        statuses = args.statuses or ("parked",)
        rows = await engine.deliveries.rows(statuses, limit=max(1, args.limit))
        if not rows:
            print(f"No {' or '.join(statuses)} messages.")
            return 0
        print(f"{'ID':>6}  {'STATUS':7}  {'TRIES':>5}  {'COMMUNITY':22}  {'KIND':13}  "
              f"{'CHANNEL':12}  CREATED (UTC)     TITLE / ERROR")
        for r in rows:
            print(f"{r.id:>6}  {r.status:7}  {r.attempts:>5}  {r.community[:22]:22}  "
                  f"{r.kind[:13]:13}  {(r.channel_id or '-')[:12]:12}  "
                  f"{r.created_at:%Y-%m-%d %H:%M}  {r.title}")
            if r.last_error:
                print(f"{'':>8}error: {r.last_error[:300]}")
        if "parked" in statuses:
            print("Fix the cause (channel, permissions), then: laurels outbox retry ID")
        return 0
    finally:
        await db.dispose()


async def _discord_invite(settings: Settings, client_id: str | None) -> int:
    """Print the bot's invite URL; the application id comes from the option, the
    environment, or Discord itself (with the token)."""
    from bot.discord.app import DiscordConfigError
    from bot.discord.invite import application_id, invite_url

    wanted = client_id or os.environ.get("LAURELS_DISCORD_CLIENT_ID", "").strip() or None
    try:
        if wanted is None:
            wanted = str(await application_id(settings))
        if not wanted.isdigit():
            raise DiscordConfigError(f"'{wanted}' is not an application id (digits only).")
    except DiscordConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(invite_url(wanted))
    return 0


def _safe_url(url: str) -> str:
    """The URL without its password: never print secrets."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())
