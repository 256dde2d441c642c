"""`laurels demo`: a short scripted tour a newcomer runs to see what Laurels does."""

from __future__ import annotations

from importlib import resources

from bot.console.script import run_script

__all__ = ["run_demo"]


async def run_demo() -> int:
    script = resources.files("bot.console").joinpath("demo.txt").read_text("utf-8")
    result = await run_script(script.splitlines(), echo=print)
    return 0 if result.ok else 1
