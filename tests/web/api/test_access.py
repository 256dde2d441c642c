"""Who may call what: every endpoint refuses a missing, unknown or revoked token (401) and
another community's token (403), and each token has its own rate limit (429)."""

from __future__ import annotations

import httpx
import pytest
from starlette.routing import Mount

from bot.http.app import build_app
from tests.web.api.conftest import ADMIN, World
from web.api import build_api
from web.api.ratelimit import TokenBuckets

# Every operation of the API, with a request that would succeed with the right token.
CALLS: list[tuple[str, str, dict[str, object] | None]] = [
    ("GET", "", None),
    ("GET", "/stats", None),
    ("GET", "/stats/activity", None),
    ("GET", "/leaderboard", None),
    ("GET", "/leaderboard/movement", None),
    ("GET", "/achievements", None),
    ("GET", "/members/alice", None),
    ("GET", "/members/alice/history", None),
    ("GET", "/members/alice/streak", None),
    ("GET", "/members/alice/badges", None),
    ("GET", "/members/alice/achievements", None),
    ("GET", "/members/alice/position", None),
    ("GET", "/members/alice/calendar", None),
    ("GET", "/members/alice/points-over-time", None),
    ("GET", "/challenges", None),
    ("GET", "/challenges/dreamscapes", None),
    ("GET", "/challenges/dreamscapes/entries", None),
    ("GET", "/challenges/dreamscapes/standings", None),
    ("POST", "/members/alice/points", {"amount": 5, "reason": "r"}),
    ("POST", "/members/alice/badges", {"badge": "Helper", "reason": "r"}),
    ("POST", "/challenges/dreamscapes/advance", None),
    ("POST", "/challenges/dreamscapes/cancel", {"reason": "r"}),
]
IDS = [f"{method} {path or '/'}" for method, path, _ in CALLS]


def _template(path: str) -> str:
    return (path.replace("/alice", "/{member}").replace("/dreamscapes", "/{challenge}"))


async def test_every_operation_of_the_api_is_called_here(world: World) -> None:
    doc = (await world.client.get("/api/openapi.json")).json()
    operations = {(method.upper(), path) for path, item in doc["paths"].items()
                  for method in item}
    called = {(m, f"/v1/communities/{{community}}{_template(p)}") for m, p, _ in CALLS}
    assert called == operations


async def _call(world: World, method: str, path: str, body: dict[str, object] | None,
                headers: dict[str, str], community: str | None = None) -> httpx.Response:
    return await world.client.request(method, world.url(path, community), headers=headers,
                                      json=body)


def _error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]


@pytest.mark.parametrize(("method", "path", "body"), CALLS, ids=IDS)
async def test_no_token_is_401(world: World, method: str, path: str,
                               body: dict[str, object] | None) -> None:
    for headers in ({}, {"Authorization": "Basic bW9kOnB3"}, {"Authorization": "Bearer"}):
        r = await _call(world, method, path, body, headers)
        _error(r, 401, "missing_token")
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "body"), CALLS, ids=IDS)
async def test_unknown_and_revoked_tokens_are_401(world: World, method: str, path: str,
                                                  body: dict[str, object] | None) -> None:
    forged = world.token[:-2] + ("AA" if not world.token.endswith("AA") else "BB")
    for token in ("lrl_nope", forged):
        _error(await _call(world, method, path, body, world.auth(token)), 401, "invalid_token")
    await world.engine.dashboard.revoke_api_token(ADMIN, "tests")
    r = await _call(world, method, path, body, world.auth())
    _error(r, 401, "invalid_token")
    assert "revoked" in r.json()["error"]["message"]


@pytest.mark.parametrize(("method", "path", "body"), CALLS, ids=IDS)
async def test_another_communitys_token_is_403_and_changes_nothing(
        world: World, method: str, path: str, body: dict[str, object] | None) -> None:
    before = (await world.get("/members/alice")).json()
    # B's token on A's URL, A's token on B's URL, and on a community that does not exist:
    # the same answer each time, so a token learns nothing about other communities.
    for token, community in ((world.b_token, world.a), (world.token, world.b),
                             (world.token, "no-such-community")):
        r = await _call(world, method, path, body, world.auth(token), community)
        _error(r, 403, "wrong_community")
    assert (await world.get("/members/alice")).json() == before
    assert (await world.get("/challenges/dreamscapes")).json()["challenge"]["phase"] == "open"


async def test_each_token_has_its_own_rate_limit(world: World) -> None:
    now = [0.0]
    limits = TokenBuckets(rate=1.0, burst=2, clock=lambda: now[0])
    app = build_app([Mount("/api", app=build_api(world.engine, limits=limits))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        async def get(token: str, community: str) -> httpx.Response:
            return await client.get(world.url("/leaderboard", community),
                                    headers=world.auth(token))

        assert [(await get(world.token, world.a)).status_code for _ in range(2)] == [200, 200]
        limited = await get(world.token, world.a)
        _error(limited, 429, "rate_limited")
        assert limited.headers["Retry-After"] == "1"
        assert (await get(world.b_token, world.b)).status_code == 200  # B's own bucket
        now[0] += 1.0
        assert (await get(world.token, world.a)).status_code == 200
        _error(await get(world.token, world.a), 429, "rate_limited")
