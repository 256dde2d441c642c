"""Keyed locks: arrival order per key, no order across keys, nothing kept afterwards."""

from __future__ import annotations

import asyncio

from engine.ordering import KeyedLocks


async def test_same_key_runs_in_arrival_order_and_other_keys_do_not_wait() -> None:
    locks = KeyedLocks()
    seen: list[str] = []
    gate = asyncio.Event()

    async def step(key: str, name: str, wait: bool) -> None:
        async with locks.hold(key):
            if wait:
                await gate.wait()
            seen.append(name)

    first = asyncio.create_task(step("a", "a1", wait=True))
    second = asyncio.create_task(step("a", "a2", wait=False))
    other = asyncio.create_task(step("b", "b1", wait=False))
    await other
    assert seen == ["b1"]  # "a" is held; "b" is not held up by it
    gate.set()
    await asyncio.gather(first, second)

    assert seen == ["b1", "a1", "a2"]
    assert len(locks) == 0


async def test_a_failure_releases_the_key() -> None:
    locks = KeyedLocks()

    async def fail() -> None:
        async with locks.hold("k"):
            raise ValueError("boom")

    results = await asyncio.gather(fail(), fail(), return_exceptions=True)

    assert [type(r) for r in results] == [ValueError, ValueError]
    assert len(locks) == 0
