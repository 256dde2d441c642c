"""What the measurements share: the community, members, an engine on a database."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable

from bench.backends import Backend
from bench.datagen import ENTRIES_CHANNEL
from bench.report import Figure
from bench.sizes import NOW
from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.service import Engine
from storage.db import Database

__all__ = ["COMMUNITY", "MOD", "engine_on", "member", "message", "per_rank_index", "vote_pairs"]

COMMUNITY = CommunityRef("console", "local", "Bench")  # the console platform's community
MOD = MemberRef(COMMUNITY, "bench-mod", "Bench moderator", is_admin=True)


def member(i: int) -> MemberRef:
    return MemberRef(COMMUNITY, f"u{i}", f"Member {i}")


def message(entry: int) -> MessageRef:
    return MessageRef(ENTRIES_CHANNEL, f"m{entry}")


@contextlib.asynccontextmanager
async def engine_on(url: str, **kwargs: object) -> AsyncIterator[Engine]:
    db = Database(url)
    try:
        engine = Engine(db, FixedClock(NOW), **kwargs)  # type: ignore[arg-type]
        await engine.community(COMMUNITY)  # warm the community cache, like a running bot
        yield engine
        await engine.close()  # every counted vote paid for
    finally:
        await db.dispose()


def vote_pairs(entries: int, voters: int, n: int, seed: int = 3) -> list[tuple[int, int]]:
    """`n` distinct (voter, entry) pairs, never a vote for one's own entry; popular entries
    draw more votes."""
    rng = random.Random(seed)
    n = min(n, entries * (voters - 1))
    weights = [1 / (r ** 0.6) for r in range(1, entries + 1)]
    seen: set[tuple[int, int]] = set()
    pairs: list[tuple[int, int]] = []
    while len(pairs) < n:
        batch = rng.choices(range(1, entries + 1), weights=weights, k=n - len(pairs))
        for entry in batch:
            voter = rng.randint(1, voters)
            if voter == entry or (voter, entry) in seen:
                continue
            seen.add((voter, entry))
            pairs.append((voter, entry))
    return pairs


async def per_rank_index(backend: Backend, url: str,
                         measure: Callable[[Engine, str], Awaitable[list[Figure]]]
                         ) -> list[Figure]:
    """`measure(engine, label)` on SQLite's in-process rank index, and on PostgreSQL with
    its default SQL rank index and with the in-process one a single bot process may
    choose (LAURELS_RANK_INDEX=memory)."""
    figures: list[Figure] = []
    for index in ["memory"] if backend.is_sqlite else ["sql", "memory"]:
        label = "" if backend.is_sqlite else f" ({index} rank index)"
        async with engine_on(url, rank_index=index) as engine:
            figures += await measure(engine, label)
    return figures
