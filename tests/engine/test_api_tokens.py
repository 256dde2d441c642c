"""API tokens: made by moderators, shown once, kept as a hash, scoped to one community,
revoked by name or prefix; the token acts as its creator, checked again on each write."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.api_tokens import InvalidToken
from engine.clock import FixedClock
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from storage.db import Database
from storage.tables import ApiToken
from tests.conftest import member
from tests.engine.helpers import setup_community

A = CommunityRef("discord", "1", "A")
B = CommunityRef("discord", "2", "B")


async def _rows(db: Database) -> list[ApiToken]:
    async with db.session() as session:
        return list((await session.scalars(select(ApiToken).order_by(ApiToken.id))).all())


async def test_a_moderator_creates_a_token_shown_once_and_stored_hashed(
        engine: Engine, db: Database) -> None:
    await setup_community(engine, A)
    made = await engine.dashboard.create_api_token(member(A, "mod", mod=True), "stats-bot")

    assert made.token.startswith("lrl_") and len(made.token) == 47
    assert made.view.name == "stats-bot" and made.token.startswith(made.view.prefix)
    (row,) = await _rows(db)
    assert row.secret_hash == hashlib.sha256(made.token.encode()).hexdigest()
    assert made.token not in (row.secret_hash, row.prefix, row.name)
    access = await engine.dashboard.api_access(made.token)
    assert access.community == A and access.actor.user_id == "mod"
    assert access.public_id == made.community


async def test_only_moderators_make_list_or_revoke_tokens(engine: Engine, db: Database) -> None:
    await setup_community(engine, A)
    made = await engine.dashboard.create_api_token(member(A, "mod", mod=True))
    alice = member(A, "alice")

    with pytest.raises(Forbidden):
        await engine.dashboard.create_api_token(alice, "mine")
    with pytest.raises(Forbidden):
        await engine.dashboard.api_tokens(alice)
    with pytest.raises(Forbidden):
        await engine.dashboard.revoke_api_token(alice, made.view.name)
    assert len(await _rows(db)) == 1
    assert (await engine.dashboard.api_access(made.token)).name == "token-1"


async def test_revoked_token_is_refused_and_names_are_unique_among_live_ones(
        engine: Engine, db: Database) -> None:
    await setup_community(engine, A)
    mod, other_mod = member(A, "mod", mod=True), member(A, "ann", mod=True)
    made = await engine.dashboard.create_api_token(mod, "bot")
    with pytest.raises(Conflict):
        await engine.dashboard.create_api_token(mod, "bot")

    revoked = await engine.dashboard.revoke_api_token(other_mod, "bot")  # any moderator may

    assert revoked.prefix == made.view.prefix
    with pytest.raises(InvalidToken, match="revoked"):
        await engine.dashboard.api_access(made.token)
    assert await engine.dashboard.api_tokens(mod) == []
    again = await engine.dashboard.create_api_token(mod, "bot")  # the name is free again
    by_prefix = await engine.dashboard.revoke_api_token(mod, again.view.prefix)
    assert by_prefix.name == "bot"
    with pytest.raises(NotFound):
        await engine.dashboard.revoke_api_token(mod, "bot")


async def test_tokens_are_scoped_to_their_community(engine: Engine) -> None:
    for guild in (A, B):
        await setup_community(engine, guild)
    in_a = await engine.dashboard.create_api_token(member(A, "mod", mod=True), "bot")
    await engine.dashboard.create_api_token(member(B, "mod", mod=True), "bot")  # same name: fine

    with pytest.raises(NotFound):  # B's moderator cannot revoke A's token
        await engine.dashboard.revoke_api_token(member(B, "mod", mod=True), in_a.view.prefix)
    listed = await engine.dashboard.api_tokens(member(B, "mod", mod=True))
    assert [t.name for t in listed] == ["bot"]
    assert (await engine.dashboard.api_access(in_a.token)).community == A


@pytest.mark.parametrize("bad", ["", "lrl_", "lrl_" + "x" * 42, "Bearer x", "lrl_" + "!" * 43])
async def test_malformed_and_unknown_tokens_are_refused(engine: Engine, bad: str) -> None:
    await setup_community(engine, A)
    made = await engine.dashboard.create_api_token(member(A, "mod", mod=True))
    forged = made.token[:-1] + ("A" if made.token[-1] != "A" else "B")  # same prefix

    for token in (bad, forged):
        with pytest.raises(InvalidToken):
            await engine.dashboard.api_access(token)


async def test_bad_names_change_nothing(engine: Engine, db: Database) -> None:
    await setup_community(engine, A)
    mod = member(A, "mod", mod=True)
    for name in ("has space", "x" * 41, "lrl_abc", "-dash"):
        with pytest.raises(InvalidInput):
            await engine.dashboard.create_api_token(mod, name)
    assert await _rows(db) == []


async def test_last_use_is_written_at_most_once_a_minute(engine: Engine, db: Database,
                                                         clock: FixedClock) -> None:
    await setup_community(engine, A)
    made = await engine.dashboard.create_api_token(member(A, "mod", mod=True))
    start = clock.now()

    await engine.dashboard.api_access(made.token)
    clock.advance(timedelta(seconds=30))
    await engine.dashboard.api_access(made.token)
    assert [r.last_used_at for r in await _rows(db)] == [start]
    clock.advance(timedelta(seconds=31))
    await engine.dashboard.api_access(made.token)
    assert [r.last_used_at for r in await _rows(db)] == [start + timedelta(seconds=61)]


async def test_writes_check_the_creators_rights_again(engine: Engine) -> None:
    """A moderator by role makes a token; once the community's moderator role changes,
    the token still reads but its writes are refused, as the creator's commands are."""
    await setup_community(engine, A)
    admin = member(A, "owner", mod=True)
    await engine.set_moderator_role(admin, "Mods")
    by_role = MemberRef(A, "carol", "Carol", roles=frozenset({"Mods"}))
    made = await engine.dashboard.create_api_token(by_role, "carols")
    await engine.award_points(admin, member(A, "alice"), 5, "seed")

    actor = (await engine.dashboard.api_access(made.token)).actor
    line = await engine.award_points(actor, member(A, "alice"), 3, "via the API")
    assert line.balance_after == 8 and line.awarded_by == "Carol"

    await engine.set_moderator_role(admin, "Stewards")
    actor = (await engine.dashboard.api_access(made.token)).actor
    with pytest.raises(Forbidden):
        await engine.award_points(actor, member(A, "alice"), 3, "via the API")
    assert (await engine.leaderboard(A)).rows[0].points == 8
