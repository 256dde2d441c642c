"""The `laurels` command as a user runs it: real subprocesses, a scratch directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    assert "🎨 Dreamscapes (dreamscapes, submission) open" in result.stdout
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
