"""A seeded community A (and B) behind the process's one-port application, with the API
mounted as `bot/runner.py` mounts it, and an HTTP client talking to it in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from bot.http.app import build_app
from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from tests.bot.seeding import seed_challenges
from web.api import api_mount

A = CommunityRef("discord", "100", "Painters")
B = CommunityRef("discord", "200", "Potters")
ADMIN = MemberRef(A, "mod", "Mod", is_admin=True)
ALICE = MemberRef(A, "alice", "Alice")
BOB = MemberRef(A, "bob", "Bob")
B_ADMIN = MemberRef(B, "bmod", "B mod", is_admin=True)


@dataclass
class World:
    engine: Engine
    clock: FixedClock
    client: httpx.AsyncClient
    a: str  # communities' public ids, as URLs name them
    b: str
    token: str  # A's moderator token
    b_token: str

    def url(self, path: str, community: str | None = None) -> str:
        return f"/api/v1/communities/{self.a if community is None else community}{path}"

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    async def get(self, path: str, token: str | None = None, **kw: object) -> httpx.Response:
        return await self.client.get(self.url(path), headers=self.auth(token), **kw)  # type: ignore[arg-type]

    async def post(self, path: str, token: str | None = None, **kw: object) -> httpx.Response:
        return await self.client.post(self.url(path), headers=self.auth(token), **kw)  # type: ignore[arg-type]


async def seed(engine: Engine, clock: FixedClock) -> tuple[str, str]:
    await engine.ensure_community(A, announce_channel="general", entries_channel="entries")
    await engine.ensure_community(B)
    await seed_challenges(engine, ADMIN, ALICE, BOB, clock.now())
    await engine.award_points(ADMIN, ALICE, 30, "Helped a newcomer")
    await engine.award_points(ADMIN, BOB, 10, "Tidied the wiki")
    await engine.award_points(B_ADMIN, MemberRef(B, "alice", "Alice"), 99, "In B")
    web = engine.dashboard
    return (await web.web_address(A)).public_id, (await web.web_address(B)).public_id


@pytest.fixture
async def world(engine: Engine, clock: FixedClock) -> AsyncIterator[World]:
    a, b = await seed(engine, clock)
    token = (await engine.dashboard.create_api_token(ADMIN, "tests")).token
    b_token = (await engine.dashboard.create_api_token(B_ADMIN, "b")).token
    app = build_app([api_mount(engine, rate=1000, burst=1000)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://laurels.test") as client:
        yield World(engine, clock, client, a, b, token, b_token)
