"""/settings api-token create|revoke|list: moderators only, the token shown once, privately."""

from __future__ import annotations

import re

from commands.tree import TREE, execute, execute_text
from engine.api_tokens import InvalidToken
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine

GUILD = CommunityRef("console", "g")
MOD = MemberRef(GUILD, "mod", "Mod", is_admin=True)
ALICE = MemberRef(GUILD, "alice", "Alice")


async def test_create_shows_the_token_once_privately_and_it_works(engine: Engine) -> None:
    await engine.ensure_community(GUILD)

    reply = await execute_text(engine, MOD, "/settings api-token create stats")

    assert reply.ephemeral
    token = re.search(r"`(lrl_[\w-]{43})`", reply.card.text)
    assert token is not None, reply.card.text
    public_id = (await engine.dashboard.web_address(GUILD)).public_id
    assert f"/api/v1/communities/{public_id}/" in reply.card.text
    assert (await engine.dashboard.api_access(token.group(1))).name == "stats"
    listing = await execute_text(engine, MOD, "/settings api-token list")
    assert "stats" in listing.card.text and token.group(1) not in listing.card.text
    assert token.group(1)[:12] in listing.card.text and "last used" in listing.card.text


async def test_revoke_by_name_then_the_token_is_refused(engine: Engine) -> None:
    await engine.ensure_community(GUILD)
    made = await engine.dashboard.create_api_token(MOD, "bot")

    reply = await execute(engine, TREE["settings api-token"], MOD,
                          {"action": "revoke", "name": "bot"})

    assert reply.ephemeral and "revoked" in reply.card.text
    try:
        await engine.dashboard.api_access(made.token)
    except InvalidToken:
        pass
    else:
        raise AssertionError("a revoked token still opened the API")
    empty = await execute_text(engine, MOD, "/settings api-token list")
    assert "No API tokens" in empty.card.text


async def test_members_cannot_and_revoke_needs_a_name(engine: Engine) -> None:
    await engine.ensure_community(GUILD)
    made = await engine.dashboard.create_api_token(MOD, "bot")

    for line in ("/settings api-token create mine", "/settings api-token list",
                 "/settings api-token revoke bot"):
        reply = await execute_text(engine, ALICE, line)
        assert reply.card.text.startswith("⚠️ Only moderators"), line
    nameless = await execute_text(engine, MOD, "/settings api-token revoke")
    assert nameless.card.text.startswith("⚠️") and "Name the token" in nameless.card.text
    assert (await engine.dashboard.api_access(made.token)).name == "bot"
