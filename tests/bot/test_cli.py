"""The `laurels` command as a user runs it: real subprocesses, a scratch directory."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _laurels(*args: str, cwd: Path, stdin: str = "", timeout: float = 60,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LAURELS_")}
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=full_env)


def test_run_without_tokens_starts_the_console_on_sqlite(tmp_path: Path) -> None:
    result = _laurels("run", cwd=tmp_path, stdin="@mod is moderator\n"
                      "@mod: /challenge create submission Dreamscapes \"Paint\"\n"
                      "@alice: /challenge list\n")
    assert result.returncode == 0, result.stderr
    assert "Laurels console" in result.stdout
    assert "🎨 Dreamscapes (dreamscapes, submission) · open" in result.stdout
    assert (tmp_path / "laurels.db").exists()
    # the data survives a restart: the database is the source of truth
    again = _laurels("run", cwd=tmp_path, stdin="@bob: /challenge list\n")
    assert "Dreamscapes" in again.stdout


def test_console_script_from_file_and_stdin_fails_on_broken_expectation(tmp_path: Path) -> None:
    script = tmp_path / "s.txt"
    script.write_text("@alice: /challenge list\nexpect No challenges here yet\n", "utf-8")
    ok = _laurels("console", "--script", str(script), cwd=tmp_path)
    assert ok.returncode == 0 and "No challenges here yet" in ok.stdout
    bad = _laurels("console", "--script", "-", cwd=tmp_path,
                   stdin="@alice: /challenge list\nexpect a party\n")
    assert bad.returncode == 1
    assert "!! line 2: expected output containing 'a party'" in bad.stdout


def test_the_console_keeps_library_log_lines_out_of_the_session(tmp_path: Path) -> None:
    result = _laurels("run", cwd=tmp_path, stdin="@alice: /challenge list\nclock +7d\n")
    assert result.returncode == 0, result.stderr
    assert "No challenges here yet" in result.stdout
    assert "apscheduler" not in result.stderr, result.stderr  # "Added job Scheduler._wake"
    assert "alembic" not in result.stderr, result.stderr  # "Running upgrade 0001 -> 0002"
    script = tmp_path / "s.txt"
    script.write_text("@alice: /challenge list\n", "utf-8")
    scripted = _laurels("--database", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "console",
                        "--script", str(script), cwd=tmp_path)
    assert scripted.returncode == 0 and "alembic" not in scripted.stderr, scripted.stderr


def test_bytes_that_are_not_utf8_do_not_end_the_console_session(tmp_path: Path) -> None:
    lines = b"@alice: /challenge list\n@alice: /challenge info \xff\xfe\n@bob: /help\n"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LAURELS_")}
    full_env.update(PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")  # strict, not C's escapes
    for args in (["run"], ["console", "--script", "-"]):
        result = subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path,
                                input=lines, capture_output=True, timeout=60, env=full_env)
        out = result.stdout.decode("utf-8")
        assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
        assert "There is no challenge called '\ufffd\ufffd'" in out
        assert "Laurels commands" in out  # the line after it was answered


def test_a_console_script_runs_in_memory_unless_a_database_is_given(tmp_path: Path) -> None:
    create = tmp_path / "create.txt"
    create.write_text("@mod is moderator\n"
                      "@mod: /challenge create submission Dreamscapes \"Paint\"\n", "utf-8")
    listing = tmp_path / "list.txt"
    listing.write_text("@alice: /challenge list\nexpect Dreamscapes\n", "utf-8")

    # The default: in memory, nothing written, nothing remembered.
    assert _laurels("console", "--script", str(create), cwd=tmp_path).returncode == 0
    assert list(tmp_path.glob("*.db")) == []
    assert _laurels("console", "--script", str(listing), cwd=tmp_path).returncode == 1

    # --database: that database, migrated first, and what the script did is kept.
    url = f"sqlite+aiosqlite:///{tmp_path / 'kept.db'}"
    made = _laurels("--database", url, "console", "--script", str(create), cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    listed = _laurels("--database", url, "console", "--script", str(listing), cwd=tmp_path)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    with sqlite3.connect(tmp_path / "kept.db") as conn:
        [(version,)] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert version  # migrated, as `laurels run` does
    missing = _laurels("console", "--script", str(tmp_path / "nope.txt"), cwd=tmp_path)
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_demo_runs_the_tour(tmp_path: Path) -> None:
    result = _laurels("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Results: Dreamscapes" in result.stdout
    assert "Achievement unlocked" in result.stdout


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    result = _laurels("db", "upgrade", cwd=tmp_path,
                      env={"LAURELS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.db").exists()
    assert "latest schema" in result.stdout


def test_database_urls_are_printed_without_passwords() -> None:
    from bot.cli import _safe_url

    shown = _safe_url("postgresql+asyncpg://laurels:s3cret@db.internal:5432/laurels")
    assert "s3cret" not in shown and "db.internal" in shown


INVITE_PERMISSIONS = "93248"  # view, history, send, embed links, add reactions, manage messages


def test_discord_invite_url_from_the_option(tmp_path: Path) -> None:
    given = _laurels("discord", "invite-url", "--client-id", "123456789", cwd=tmp_path)
    assert given.returncode == 0, given.stderr
    assert given.stdout.strip() == (
        "https://discord.com/oauth2/authorize?client_id=123456789"
        f"&scope=bot+applications.commands&permissions={INVITE_PERMISSIONS}")


async def test_discord_invite_url_from_the_environment_or_a_clear_error(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import _discord_invite
    from config.settings import Settings

    monkeypatch.setenv("LAURELS_DISCORD_CLIENT_ID", "987654321")
    assert await _discord_invite(Settings(), None) == 0
    assert "client_id=987654321&" in capsys.readouterr().out
    monkeypatch.delenv("LAURELS_DISCORD_CLIENT_ID")
    assert await _discord_invite(Settings(discord_token=None), None) == 1
    assert "--client-id" in capsys.readouterr().err
    assert await _discord_invite(Settings(), "not-a-number") == 1
    assert "not an application id" in capsys.readouterr().err


async def test_discord_invite_url_asks_discord_for_the_application_id(tmp_path: Path) -> None:
    from tests.bot.discord.fake_discord import FakeDiscord

    async with FakeDiscord() as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAURELS_")}
        env.update(PYTHONPATH=str(ROOT), LAURELS_DISCORD_TOKEN=fake.token,
                   LAURELS_DISCORD_API_BASE=fake.api_base)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "discord", "invite-url", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert f"client_id={fake.application_id}&" in out.decode()


async def _run_bot(tmp_path: Path, fake: Any, gateway_url: str) -> asyncio.subprocess.Process:
    """`laurels run` with a Discord token, talking to the fake Discord."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAURELS_")}
    env.update(PYTHONPATH=str(ROOT), LAURELS_DISCORD_TOKEN=fake.token,
               LAURELS_DISCORD_API_BASE=fake.api_base, LAURELS_DISCORD_GATEWAY_URL=gateway_url)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def _log_until(proc: asyncio.subprocess.Process, text: str, logged: list[str]) -> None:
    """Read the bot's log into `logged` until a line holds `text` (60 s at most)."""
    assert proc.stderr is not None
    async with asyncio.timeout(60):  # migrations, imports, login
        while text not in (logged or [""])[-1]:
            logged.append((await proc.stderr.readline()).decode())
            assert logged[-1], "".join(logged)


async def test_run_with_a_discord_token_serves_discord(tmp_path: Path) -> None:
    from tests.bot.discord.fake_discord import FakeDiscord

    async with FakeDiscord() as fake:
        proc = await _run_bot(tmp_path, fake, fake.gateway_url)
        logged: list[str] = []
        try:
            await _log_until(proc, "Discord platform started", logged)  # after READY
            assert fake.commands()
            record = await fake.dispatch_slash_command("help")
            callback = await fake.wait_for_interaction_response(record, timeout=30)
            assert callback.status == 200
            assert "Laurels commands" in str(callback.json["data"]["embeds"][0]["title"])
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, "".join(logged) + err.decode()


async def test_a_stop_while_discord_is_still_connecting_exits_cleanly(tmp_path: Path) -> None:
    """Ctrl-C while the gateway has not answered yet: the bot stops at once, exit code 0."""
    from tests.bot.discord.fake_discord import FakeDiscord

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(60)  # accepts the connection and never answers
        writer.close()

    gateway = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = gateway.sockets[0].getsockname()[1]
    async with FakeDiscord() as fake, gateway:
        proc = await _run_bot(tmp_path, fake, f"ws://127.0.0.1:{port}")
        logged: list[str] = []
        try:
            await _log_until(proc, "starting the platforms", logged)
            await asyncio.sleep(0.5)  # logging in, then waiting for the gateway
            proc.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0, "".join(logged) + err.decode()
    assert "stopping before start-up finished" in err.decode()


async def _run_slack(tmp_path: Path, fake: Any, *args: str, **env: str
                     ) -> asyncio.subprocess.Process:
    """`laurels run` with Slack's tokens, talking to the fake Slack (`env` overrides)."""
    full = {k: v for k, v in os.environ.items()
            if not k.startswith("LAURELS_") and "proxy" not in k.lower()}
    full.update(PYTHONPATH=str(ROOT), LAURELS_SLACK_BOT_TOKEN=fake.bot_token,
                LAURELS_SLACK_APP_TOKEN=fake.app_token, LAURELS_SLACK_API_URL=fake.api_url,
                LAURELS_SLACK_SIGNING_SECRET=fake.signing_secret,
                LAURELS_CONNECT_RETRY_DELAY="0.2", LAURELS_CONNECT_RETRY_MAX_DELAY="0.5")
    full.update(env)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", *args, cwd=tmp_path, env=full,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


@pytest.mark.parametrize(("env", "line"), [
    ({"LAURELS_SLACK_APP_TOKEN": "xapp-1-revoked"},
     "Slack refused LAURELS_SLACK_APP_TOKEN: invalid_auth (apps.connections.open)"),
    ({"LAURELS_SLACK_APP_TOKEN": ""}, "LAURELS_SLACK_APP_TOKEN is not set"),
    ({"LAURELS_SLACK_BOT_TOKEN": "xoxb-revoked"},
     "Slack refused LAURELS_SLACK_BOT_TOKEN: invalid_auth (auth.test)"),
])
async def test_run_with_a_refused_or_missing_slack_token_exits_78_with_one_line(
        tmp_path: Path, env: dict[str, str], line: str) -> None:
    from tests.bot.slack.fake_slack import FakeSlack

    async with FakeSlack() as fake:
        proc = await _run_slack(tmp_path, fake, **env)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    log = err.decode()
    assert proc.returncode == 78, log
    errors = [x for x in log.splitlines() if " ERROR " in x]
    assert len(errors) == 1 and line in errors[0], log
    assert "Traceback" not in log
    assert len(fake.calls_to("apps.connections.open")) <= 1


async def test_run_with_slack_unreachable_keeps_trying_in_short_lines(tmp_path: Path) -> None:
    from tests.bot.slack.fake_slack import FakeSlack

    async with FakeSlack() as fake:
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            closed = f"http://127.0.0.1:{s.getsockname()[1]}/api/"
        proc = await _run_slack(tmp_path, fake, LAURELS_SLACK_API_URL=closed)
        logged: list[str] = []
        try:
            assert proc.stderr is not None
            async with asyncio.timeout(60):
                while sum("trying again in" in x for x in logged) < 3:
                    logged.append((await proc.stderr.readline()).decode())
                    assert logged[-1], "".join(logged)
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(proc.communicate(), 60)
    log = "".join(logged) + err.decode()
    assert proc.returncode == 0, log
    assert "Traceback" not in log
    retries = [x for x in log.splitlines() if "trying again in" in x]
    assert len(retries) >= 3
    assert all("Slack could not check LAURELS_SLACK_BOT_TOKEN (auth.test): Cannot connect"
               in x for x in retries), log


@pytest.mark.parametrize(("args", "bound"), [((), "127.0.0.1"),
                                             (("--host", "0.0.0.0"), "0.0.0.0")])
async def test_slack_http_listens_on_loopback_unless_told(
        tmp_path: Path, args: tuple[str, ...], bound: str) -> None:
    from tests.bot.http.clients import request
    from tests.bot.slack.fake_slack import FakeSlack

    async with FakeSlack() as fake:
        proc = await _run_slack(tmp_path, fake, "--slack-http", "--port", "0", *args)
        logged: list[str] = []
        try:
            await _log_until(proc, "HTTP: listening on", logged)
            port = int(logged[-1].rsplit(":", 1)[1].split()[0])
            await _log_until(proc, "Slack platform started (HTTP)", logged)
            health = await request(port, "GET", "/healthz")
            ready = await request(port, "GET", "/readyz")
            docs = await request(port, "GET", "/api/docs")
            no_token = await request(port, "GET", "/api/v1/communities/1/leaderboard")
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, "".join(logged) + err.decode()
    assert any(f"HTTP: listening on {bound}:{port} " in x for x in logged)
    assert (health.status, health.body) == (200, b"ok")
    assert ready.status == 200
    # The JSON API is mounted on the same port (bot/runner.py).
    assert docs.status == 200 and b"/api/v1/communities/{community}/leaderboard" in docs.body
    assert no_token.status == 401 and b'"missing_token"' in no_token.body


def test_vote_patience_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from config.settings import Settings

    assert Settings().vote_patience == 30.0
    monkeypatch.setenv("LAURELS_VOTE_PATIENCE", "5")
    assert Settings().vote_patience == 5.0
    monkeypatch.setenv("LAURELS_VOTE_PATIENCE", "0")  # a vote must get some chance
    with pytest.raises(ValidationError, match="vote_patience"):
        Settings()
