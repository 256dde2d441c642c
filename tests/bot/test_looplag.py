"""The loop-lag monitor sees a blocked event loop and says so."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.looplag import LoopLag


async def test_a_blocked_loop_is_measured_and_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lag = LoopLag(interval=0.01, warn_after=0.1)
    lag.start()
    await asyncio.sleep(0.05)
    with caplog.at_level(logging.WARNING, logger="bot.looplag"):
        time.sleep(0.2)  # noqa: ASYNC251 (the point: something blocks the loop)
        await asyncio.sleep(0.05)
    await lag.stop()

    figures = lag.figures()
    assert figures.samples >= 3
    assert 0.15 <= figures.max < 1.0
    assert [r.message for r in caplog.records if "blocked for" in r.message]


async def test_a_quiet_loop_has_little_lag() -> None:
    lag = LoopLag(interval=0.005)
    lag.start()
    await asyncio.sleep(0.2)
    await lag.stop()
    assert lag.figures().samples > 10 and lag.figures().p99 < 0.1
