"""5. Command round trips through the console platform's path: text in, parsed, run,
rendered as console text; beside the bare engine call the command wraps."""

from __future__ import annotations

import random

from bench.backends import Backend
from bench.common import engine_on, member
from bench.report import Figure
from bench.sizes import Sizes
from bench.timing import run_one_by_one
from bot.console.render import render_card
from commands.tree import execute_text

__all__ = ["measure_commands"]

BENCH = "commands"


async def measure_commands(backend: Backend, url: str, sizes: Sizes) -> list[Figure]:
    rng = random.Random(9)
    viewers = [rng.randint(1, sizes.board_members) for _ in range(sizes.command_reads)]
    figures: list[Figure] = []
    async with engine_on(url) as engine:
        await engine.leaderboard(member(1), "all")  # a running bot has its board loaded

        for text, bare in (
            ("/profile", lambda v: engine.profile(member(v))),
            ("/leaderboard", lambda v: engine.leaderboard(member(v), "all")),
        ):
            async def command(v: int, text: str = text) -> None:
                reply = await execute_text(engine, member(v), text, "general")
                assert not reply.card.text.startswith("⚠"), reply.card.text
                render_card(reply.card)

            console = await run_one_by_one(command, viewers, sizes.time_cap)
            engine_only = await run_one_by_one(bare, viewers, sizes.time_cap)
            for q in (50, 99):
                figures.append(Figure(
                    BENCH, backend.kind, f"{text} round trip p{q}", console.ms(q), "ms",
                    "lower", f"engine.{text[1:]}() alone p{q}", engine_only.ms(q),
                    note=f"{console.done} commands, {sizes.board_members:,} members"
                    if q == 50 else None))
    return figures

