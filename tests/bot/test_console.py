"""The console session: a line that fails never ends it, scripts report a crash clearly,
and the clock refuses jumps past a sane horizon and catches up after long ones in bounded
work."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import pytest

from bot.console.script import SCRIPT_START, run_script
from bot.runner import RunOptions, run
from config.settings import Settings
from engine.service import Engine


async def _boom(*args: object, **kwargs: object) -> object:
    raise RuntimeError("boom")


async def test_a_crash_in_one_line_does_not_end_the_interactive_session(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(Engine, "profile", _boom)  # a bug anywhere below a command
    monkeypatch.setattr(sys, "stdin", io.StringIO(
        "@alice: /profile\n@alice: /challenge list\nclock 9999-12-31T23:59\n@bob: /help\n"))
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    code = await asyncio.wait_for(run(settings, RunOptions(console_only=True)), 60)
    out = capsys.readouterr().out
    assert code == 0
    assert "!! That line failed (RuntimeError: boom)" in out
    assert "No challenges here yet" in out  # the next line was answered
    assert "!! The clock moves at most" in out
    assert "Laurels commands" in out  # and so was the one after the refused jump


async def test_a_crash_in_a_script_stops_it_with_a_clear_report(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Engine, "profile", _boom)
    result = await run_script(["@alice: /challenge list", "@alice: /profile",
                               "@alice: /challenge list"])
    assert not result.ok and result.line_number == 2
    assert result.transcript[-1] == "!! line 2: that line failed (RuntimeError: boom)"
    assert sum("Challenges" in line for line in result.transcript) == 1


@pytest.mark.parametrize(("line", "message"), [
    ("clock 9999-12-31T23:59", "The clock moves at most"),
    ("clock 2031-01-06T09:00", "The clock moves at most"),
    ("clock 9999-12-31T23:59-14:00", "bad clock line"),  # past year 9999 in UTC
    ("clock 2026-01-01T09:00", "The clock only moves forward"),
    ("clock +400d", "bad clock line"),
])
async def test_clock_jumps_past_the_horizon_or_backwards_are_refused(line: str, message: str
                                                                     ) -> None:
    result = await asyncio.wait_for(run_script([line, "@alice: /challenge list"]), 30)
    assert not result.ok and result.line_number == 1
    assert message in result.transcript[-1]
    assert not any("clock is now" in t for t in result.transcript)


def test_the_horizon_is_a_few_years() -> None:
    from bot.console.platform import MAX_CLOCK_JUMP

    assert 365 * 2 <= MAX_CLOCK_JUMP.days <= 366 * 10


async def test_a_long_jump_catches_up_once_instead_of_stepping_through_every_week() -> None:
    two_years = (SCRIPT_START.replace(year=SCRIPT_START.year + 2)).strftime("%Y-%m-%dT%H:%M")
    result = await asyncio.wait_for(run_script([
        "@mod is moderator",
        "@mod: /settings recurring weekly-sketch on",
        '@mod: /challenge create submission Dreamscapes "Paint" submissions:2d voting:1d',
        '@alice: /challenge submit dreamscapes "Night garden"',
        "clock +2d",  # voting opens; a vote gives the entry its place
        "@bob +👍 #5",
        f"clock {two_years}",
        "expect Results: Dreamscapes",  # deadlines always run, however late
        "expect Final standings",
        "@alice: /challenge list",
    ]), 60)
    assert result.ok, result.transcript[-5:]
    weekly = sum("New challenge: Weekly Sketch" in t for t in result.transcript)
    digests = sum("Weekly digest" in t for t in result.transcript)
    # About 104 weeks passed: one late catch-up, then the last weeks one by one.
    assert 1 <= weekly <= 7, weekly
    assert digests <= 7, digests


async def test_a_short_jump_still_runs_everything_at_its_time() -> None:
    result = await run_script([
        "@mod is moderator",
        "@mod: /settings recurring weekly-sketch on",
        "clock +28d",
    ])
    assert result.ok
    posts = [t.split("New challenge: ")[1] for t in result.transcript
             if "New challenge: Weekly Sketch" in t]
    assert posts == [f"Weekly Sketch #{i}" for i in range(1, 5)]


async def test_a_reaction_on_a_message_number_no_one_could_post_is_explained() -> None:
    result = await run_script(["@alice +👍 #" + "9" * 5000, "@alice +👍 #١"])
    assert result.ok
    assert sum("There is no message #" in t for t in result.transcript) == 2
    assert all(len(t) < 200 for t in result.transcript)


async def test_answers_are_private_and_share_posts_them_for_everyone() -> None:
    result = await asyncio.wait_for(run_script([
        "@mod is moderator",
        '@mod: /points award @alice 120 "Welcome"',
        "@alice: /leaderboard",
        "expect #3 (to @alice) Leaderboard: all time",
        "expect You: #1 of 1 with 120 pts",
        "expect [Share]",
        "@bob press Share #3",
        "expect Message #3 was for @alice alone.",
        "@alice press share #3",
        "expect #5 [#general] Leaderboard: all time",
        "expect Shared by: @alice, #1 of 1 with 120 pts",
        "@alice press Share #5",
        "expect Message #5 has no [Share] button",
        "@alice press Next #3",
        "expect has no [Next] button (its buttons: [Share])",
    ]), 30)
    assert result.ok, "\n".join([*result.transcript, str(result.error)])
    shared = result.transcript[result.transcript.index("#5 [#general] Leaderboard: all time"):]
    assert not any(line.strip().startswith("You:") for line in shared[:8])
