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


async def test_a_cancelled_waiter_neither_blocks_nor_keeps_the_key() -> None:
    locks = KeyedLocks()
    seen: list[str] = []
    gate = asyncio.Event()

    async def step(name: str, wait: bool) -> None:
        async with locks.hold("k"):
            if wait:
                await gate.wait()
            seen.append(name)

    first = asyncio.create_task(step("first", wait=True))
    doomed = asyncio.create_task(step("doomed", wait=False))
    last = asyncio.create_task(step("last", wait=False))
    await asyncio.sleep(0)  # all three queued on "k"
    doomed.cancel()
    gate.set()
    results = await asyncio.wait_for(
        asyncio.gather(first, doomed, last, return_exceptions=True), 5)

    assert isinstance(results[1], asyncio.CancelledError)
    assert seen == ["first", "last"]
    assert len(locks) == 0


async def test_a_waiter_cancelled_as_the_key_reaches_it_passes_the_key_on() -> None:
    locks = KeyedLocks()
    seen: list[str] = []

    async def step(name: str) -> None:
        async with locks.hold("k"):
            seen.append(name)

    held = locks.hold("k")
    await held.__aenter__()
    handed = asyncio.create_task(step("handed"))
    after = asyncio.create_task(step("after"))
    await asyncio.sleep(0)  # both wait for "k"
    await held.__aexit__(None, None, None)  # "k" goes to `handed`, which has not run yet
    handed.cancel()
    results = await asyncio.wait_for(
        asyncio.gather(handed, after, return_exceptions=True), 5)  # a lost key: time out

    assert isinstance(results[0], asyncio.CancelledError)
    assert seen == ["after"]
    assert len(locks) == 0
