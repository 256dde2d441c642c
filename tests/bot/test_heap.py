"""Objects that live as long as the run are set aside from the garbage collector's full
passes, which otherwise walk them all on the event loop's thread (about 100 ms a pass
with the modules a running bot loads)."""

from __future__ import annotations

import asyncio
import gc
import io
import sys
from pathlib import Path

import pytest

from bot import runner
from bot.heap import set_aside, started_objects_set_aside
from bot.runner import RunOptions, run
from config.settings import Settings


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_a_run_sets_aside_what_start_up_left_and_collects_its_garbage_first() -> None:
    live = _Node()
    garbage = _Node()
    del garbage
    with started_objects_set_aside():
        tracked = {id(o) for o in gc.get_objects()}
        assert gc.get_freeze_count() > 0
        assert id(live) not in tracked  # full passes skip it from now on
        assert not any(isinstance(o, _Node) for o in gc.get_objects())
        later = _Node()
        assert id(later) in {id(o) for o in gc.get_objects()}  # collected as usual
        set_aside()  # a platform connected: its objects too
        assert id(later) not in {id(o) for o in gc.get_objects()}
    # Back to the collector when the run ends (tests run many runs in one process).
    assert gc.get_freeze_count() == 0
    assert id(live) in {id(o) for o in gc.get_objects()}


async def test_laurels_run_sets_aside_its_start_up_objects(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    console = runner._console

    async def noted(*args: object, **kwargs: object) -> int:
        seen.append(gc.get_freeze_count())
        return await console(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "_console", noted)
    monkeypatch.setattr(sys, "stdin", io.StringIO("@alice: /help\n"))
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    assert await asyncio.wait_for(run(settings, RunOptions(console_only=True)), 60) == 0
    assert seen and seen[0] > 1000  # the modules and the engine, at least
    assert gc.get_freeze_count() == 0
