"""A small community played through the console platform, and an ASGI client on the
dashboard: what every web test starts from."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from bot.console.platform import COMMUNITY, ConsolePlatform
from bot.http.app import build_app
from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from engine.sign_in import WebLinks
from storage.db import Database
from tests.conftest import START
from web import WebOptions, web_routes

__all__ = ["BASE_URL", "OTHER", "World", "csrf_of", "world"]

BASE_URL = "http://laurels.test"
OTHER = CommunityRef("console", "elsewhere", "Elsewhere")

SCRIPT = """\
@mod is moderator
@mod: /challenge create submission Dreamscapes "Paint a dream" submissions:2d voting:1d prize:P
@alice: /challenge submit dreamscapes "Night garden" https://laurels.test/static/demo/night-garden.svg
@bob: /challenge submit dreamscapes "Cloud harbour" https://laurels.test/static/demo/cloud-harbour.svg
@mod: /challenge create goal "Miles" "Walk" ends:10d goal:50 unit:km
@alice: /challenge join miles
@alice: /challenge log miles 12
clock +2d
@bob +👍 #4
@carol +👍 #4
@alice +👍 #7
clock +1d
@mod: /points award carol 30 "Helped out"
"""


@dataclass
class World:
    engine: Engine
    clock: FixedClock
    client: httpx.AsyncClient
    public_id: str
    other_public_id: str

    @property
    def base(self) -> str:
        return f"/c/{self.public_id}"

    async def sign_in(self, user: str, *, moderator: bool = False,
                      community: CommunityRef = COMMUNITY) -> httpx.Response:
        """Follow a fresh sign-in link of `user` (GET, then the button's POST)."""
        link = await self.link(user, moderator=moderator, community=community)
        path = link.removeprefix(BASE_URL)
        shown = await self.client.get(path)
        assert shown.status_code == 200, shown.text
        return await self.client.post(path)

    async def link(self, user: str, *, moderator: bool = False,
                   community: CommunityRef = COMMUNITY) -> str:
        link = await self.engine.dashboard.dashboard_link(
            MemberRef(community, user, user, is_admin=moderator))
        assert link is not None
        return link


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@asynccontextmanager
async def world(*, public: bool = True) -> AsyncIterator[World]:
    db = Database("sqlite+aiosqlite://")
    await db.create_all()
    clock = FixedClock(START)
    engine = Engine(db, clock, settle_in_background=False, web=WebLinks(BASE_URL))
    platform = ConsolePlatform(engine, clock, out=lambda _: None)
    await platform.start()
    for line in SCRIPT.splitlines():
        await platform.handle(line)
    await engine.settle_all()
    mod = MemberRef(COMMUNITY, "mod", "mod", is_admin=True)
    if public:
        await engine.dashboard.set_web_setting(mod, "public", True)
    place = await engine.dashboard.web_address(COMMUNITY)
    await engine.ensure_community(OTHER)
    other = await engine.dashboard.web_address(OTHER)
    app = build_app(web_routes(engine, WebOptions(BASE_URL)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        try:
            yield World(engine, clock, client, place.public_id, other.public_id)
        finally:
            await engine.close()
            await db.dispose()
