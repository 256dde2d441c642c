"""Scripted console sessions: each `*.txt` runs through the console platform, its `expect`
lines must hold, and its transcript must equal the checked-in `*.out` file.

Set LAURELS_UPDATE_TRANSCRIPTS=1 to rewrite the `.out` files after an intended change,
then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.console.script import run_script

HERE = Path(__file__).parent
SCRIPTS = sorted(HERE.glob("*.txt"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
async def test_scenario(script: Path) -> None:
    lines = script.read_text("utf-8").splitlines()  # noqa: ASYNC240 - a small local file
    result = await run_script(lines)
    transcript = "\n".join(result.transcript) + "\n"
    assert result.ok, f"{script.name} line {result.line_number}: {result.error}\n{transcript}"
    expected = script.with_suffix(".out")
    if os.environ.get("LAURELS_UPDATE_TRANSCRIPTS"):
        expected.write_text(transcript, "utf-8")
    assert expected.exists(), f"no {expected.name}: run with LAURELS_UPDATE_TRANSCRIPTS=1"
    assert transcript == expected.read_text("utf-8")


async def test_failed_expectation_stops_the_script() -> None:
    result = await run_script(["@alice: /challenge list", "expect something else entirely",
                               "@alice: /profile"])
    assert not result.ok and result.line_number == 2
    assert not any("/profile" in line or "Points" in line for line in result.transcript)


async def test_same_script_same_transcript() -> None:
    script = (HERE / "submission_challenge.txt").read_text("utf-8").splitlines()
    first = await run_script(script)
    second = await run_script(script)
    assert first.transcript == second.transcript
