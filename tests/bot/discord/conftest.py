"""A local Discord per test, and Laurels connected to it (files may override either)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from engine.clock import FixedClock
from engine.service import Engine
from tests.bot.discord.fake_discord import FakeDiscord
from tests.bot.discord.harness import DiscordWorld, discord_world


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def world(fake: FakeDiscord, engine: Engine, clock: FixedClock
                ) -> AsyncIterator[DiscordWorld]:
    async with discord_world(fake, engine, clock) as w:
        yield w
