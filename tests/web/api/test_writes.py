"""Moderators' writes through the API: the same operations as the commands, acting as the
token's creator; bad input is 400/422 and changes nothing."""

from __future__ import annotations

import socket

import httpx
from sqlalchemy import func, select

from bot.http.app import build_app
from engine.leaderboards import MAX_PAGE_SIZE
from engine.refs import MemberRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Badge, LedgerRow
from tests.web.api.conftest import ADMIN, World
from web.api import api_mount


async def _ledger(world: World) -> tuple[int, int]:
    async with world.engine.db.session() as s:
        count = int(await s.scalar(select(func.count()).select_from(LedgerRow)) or 0)
        total = int(await s.scalar(select(func.coalesce(func.sum(LedgerRow.delta), 0))) or 0)
    return count, total


async def _points(world: World, member: str) -> int:
    return int((await world.get(f"/members/{member}")).json()["points"])


async def test_award_and_deduct_points(world: World) -> None:
    before = await _points(world, "bob")

    r = await world.post("/members/bob/points", json={"amount": 25, "reason": "Great talk"})

    assert r.status_code == 201, r.text
    line = r.json()
    assert (line["delta"], line["balance_after"]) == (25, before + 25)
    assert (line["reason"], line["note"], line["awarded_by"]) == ("award", "Great talk", "Mod")
    deduct = await world.post("/members/bob/points", json={"amount": -5, "reason": "Spam"})
    assert deduct.status_code == 201 and deduct.json()["reason"] == "deduction"
    assert await _points(world, "bob") == before + 20
    history = (await world.get("/members/bob/history", params={"limit": 2})).json()
    assert [x["note"] for x in history["lines"]] == ["Spam", "Great talk"]


async def test_an_idempotency_key_pays_once(world: World) -> None:
    body = {"amount": 10, "reason": "Retry-safe", "key": "import-42"}
    first = await world.post("/members/bob/points", json=body)
    again = await world.post("/members/bob/points", json=body)

    assert first.status_code == 201
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    history = (await world.get("/members/bob/history", params={"limit": 5})).json()
    assert [x["note"] for x in history["lines"]].count("Retry-safe") == 1


async def test_bad_input_is_refused_and_changes_nothing(world: World) -> None:
    before = await _ledger(world)
    bob = await _points(world, "bob")
    cases: list[tuple[object, int]] = [
        ({"amount": 0, "reason": "nothing"}, 422),          # the engine's rule
        ({"amount": 5}, 422),                                # no reason
        ({"amount": 5, "reason": ""}, 422),
        ({"amount": 10**9, "reason": "lots"}, 422),
        ({"amount": "many", "reason": "x"}, 422),
        ({"amount": -(bob + 1), "reason": "too much"}, 422),  # below zero: the engine says
        ([1, 2], 422),
    ]
    for body, status in cases:
        r = await world.post("/members/bob/points", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["code"] == "invalid_input", body
    broken = await world.client.post(world.url("/members/bob/points"), content=b"{amount: 5",
                                     headers={**world.auth(),
                                              "Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "bad_json"
    assert await _ledger(world) == before
    assert "has only" in (await world.post(
        "/members/bob/points", json={"amount": -(bob + 1), "reason": "x"})).json()["error"][
        "message"]


async def test_bad_query_values_are_422(world: World) -> None:
    for path, params in (("/leaderboard", {"page": 0}), ("/leaderboard", {"period": "year"}),
                         ("/leaderboard", {"page_size": MAX_PAGE_SIZE + 1}),
                         ("/leaderboard", {"page": 3}),
                         ("/members/alice/history", {"limit": 0}),
                         ("/members/alice/history", {"before": "x"}),
                         ("/challenges", {"phase": "someday"})):
        r = await world.get(path, params=params)
        assert r.status_code == 422, (path, params, r.text)
        assert r.json()["error"]["code"] == "invalid_input"
    pages = (await world.get("/leaderboard", params={"page": 3})).json()["error"]["message"]
    assert pages == "The board has 1 page."


async def test_unknown_members_get_nothing_written(world: World) -> None:
    before = await _ledger(world)
    for path, body in (("/members/ghost/points", {"amount": 5, "reason": "x"}),
                       ("/members/ghost/badges", {"badge": "Helper", "reason": "x"})):
        r = await world.post(path, json=body)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert await _ledger(world) == before
    assert (await world.get("/members/ghost")).status_code == 404


async def test_award_a_badge(world: World) -> None:
    r = await world.post("/members/bob/badges", json={"badge": "Helper", "reason": "Answered"})

    assert r.status_code == 201, r.text
    badge = r.json()
    assert (badge["name"], badge["reason"], badge["key"]) == ("Helper", "Answered",
                                                               "custom:helper")
    listed = (await world.get("/members/bob/badges")).json()
    assert badge["id"] in [b["id"] for b in listed]
    empty = await world.post("/members/bob/badges", json={"badge": " ", "reason": "x"})
    assert empty.status_code == 422


async def test_advance_then_cancel_a_challenge(world: World) -> None:
    r = await world.post("/challenges/dreamscapes/advance")
    assert r.status_code == 200, r.text
    assert r.json()["phase"] == "voting"

    cancelled = await world.post("/challenges/stepper/cancel", json={"reason": "Rain"})
    assert cancelled.status_code == 200 and cancelled.json()["phase"] == "cancelled"
    again = await world.post("/challenges/stepper/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    unknown = await world.post("/challenges/atlantis/advance")
    assert unknown.status_code == 404
    info = (await world.get("/challenges/dreamscapes")).json()
    assert info["challenge"]["phase"] == "voting"


async def test_writes_need_the_creator_to_still_moderate(world: World) -> None:
    """A token made by a moderator-by-role stops writing when the role changes; it still
    reads. Nothing is written by the refused calls."""
    await world.engine.set_moderator_role(ADMIN, "Mods")
    by_role = MemberRef(ADMIN.community, "carol", "Carol", roles=frozenset({"Mods"}))
    token = (await world.engine.dashboard.create_api_token(by_role, "carols")).token
    ok = await world.post("/members/bob/points", token,
                          json={"amount": 1, "reason": "thanks"})
    assert ok.status_code == 201 and ok.json()["awarded_by"] == "Carol"

    await world.engine.set_moderator_role(ADMIN, "Stewards")
    before = await _ledger(world)
    for path, body in (("/members/bob/points", {"amount": 1, "reason": "x"}),
                       ("/members/bob/badges", {"badge": "Helper", "reason": "x"}),
                       ("/challenges/dreamscapes/advance", None),
                       ("/challenges/dreamscapes/cancel", None)):
        r = await world.post(path, token, json=body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", path
    assert await _ledger(world) == before
    async with world.engine.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Badge).where(
            Badge.name == "Helper")) == 0
    assert (await world.get("/leaderboard", token)).status_code == 200


async def test_unknown_endpoints_and_methods_answer_in_the_error_shape(world: World) -> None:
    missing = await world.client.get("/api/v2/nothing", headers=world.auth())
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = await world.client.delete(world.url("/leaderboard"), headers=world.auth())
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


async def test_an_unreachable_database_is_503_in_the_error_shape() -> None:
    """PostgreSQL on a port nothing listens on: 503 with Retry-After, not a traceback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    db = Database(f"postgresql+asyncpg://laurels@127.0.0.1:{port}/laurels")
    app = build_app([api_mount(Engine(db, settle_in_background=False))])
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            r = await client.get("/api/v1/communities/1/leaderboard",
                                 headers={"Authorization": "Bearer lrl_" + "a" * 43})
    finally:
        await db.dispose()
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "unavailable"
    assert r.headers["Retry-After"] == "5"
