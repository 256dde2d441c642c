"""Answers speak to the caller alone; Share posts a public version naming who shared it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from commands.parsing import bind, tokenize
from commands.sharing import SHARE, line_of
from commands.spec import Reply
from commands.tree import COMMANDS, TREE, execute_text, resolve
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from tests.conftest import START

GUILD = CommunityRef("console", "g")
MOD = MemberRef(GUILD, "mod", "Mod", is_admin=True)
ALICE = MemberRef(GUILD, "alice", "Alice")
BOB = MemberRef(GUILD, "bob", "Bob")
UTC = ZoneInfo("UTC")

# Every answer to a member's own question.
ANSWERS = ("/leaderboard", "/leaderboard week", "/profile", "/profile <@bob>", "/badges",
           "/achievements", "/points history", "/challenge list", "/challenge info dune",
           "/challenge standings dune")


def share_of(reply: Reply) -> str:
    [button] = [b for b in reply.card.buttons if b.label == "Share"]
    assert button.action.startswith(f"{SHARE} /")
    return button.action


@pytest.fixture
async def seeded(engine: Engine) -> Engine:
    await engine.ensure_community(GUILD)
    await execute_text(engine, MOD, '/challenge create submission Dune "Paint sand"')
    await engine.award_points(MOD, ALICE, 120, "seed")
    await engine.award_points(MOD, BOB, 80, "seed")
    return engine


@pytest.mark.parametrize("line", ANSWERS)
async def test_answers_are_private_with_a_share_button(seeded: Engine, line: str) -> None:
    reply = await execute_text(seeded, ALICE, line)
    assert reply.ephemeral and not reply.is_error, reply.card.text
    shared = await execute_text(seeded, ALICE, share_of(reply))
    assert not shared.ephemeral and shared.shared
    assert shared.card.title == reply.card.title
    assert shared.card.fields[-1].name == "Shared by"
    assert shared.card.fields[-1].value.startswith("<@alice>")
    assert not any(b.label == "Share" for b in shared.card.buttons)


async def test_the_callers_own_line_is_theirs_alone(seeded: Engine) -> None:
    board = await execute_text(seeded, ALICE, "/leaderboard")
    assert ("You", "#1 of 2 with 120 pts") in [(f.name, f.value) for f in board.card.fields]
    shared = await execute_text(seeded, ALICE, share_of(board))
    fields = {f.name: f.value for f in shared.card.fields}
    assert "You" not in fields and fields["Shared by"] == "<@alice>, #1 of 2 with 120 pts"
    # Someone pressing Share on another's answer shares their own: Share runs for them.
    by_bob = await execute_text(seeded, BOB, share_of(board))
    assert {f.name: f.value for f in by_bob.card.fields}["Shared by"] == (
        "<@bob>, #2 of 2 with 80 pts")

    info = await execute_text(seeded, ALICE, "/challenge info Dune")
    assert share_of(info) == '/share /challenge info challenge:"dune"'  # the slug
    assert "You" in {f.name for f in info.card.fields}
    shared = await execute_text(seeded, ALICE, share_of(info))
    fields = {f.name: f.value for f in shared.card.fields}
    assert "You" not in fields and fields["Shared by"] == "<@alice>"


async def test_only_answers_can_be_shared(seeded: Engine) -> None:
    refused = await execute_text(seeded, MOD, '/share /points award <@bob> 5 "sneaky"')
    assert refused.is_error and "Only answers can be shared" in refused.card.text
    assert (await seeded.profile(BOB)).points == 80  # refused before it ran
    again = await execute_text(seeded, ALICE, "/share /share /leaderboard")
    assert again.is_error
    wrong = await execute_text(seeded, ALICE, "/share /challenge info atlantis")
    assert wrong.is_error and "atlantis" in wrong.card.text
    empty = await execute_text(seeded, ALICE, "/share")
    assert empty.is_error


async def test_replies_to_actions_stay_as_they_were(seeded: Engine) -> None:
    award = await execute_text(seeded, MOD, '/points award <@bob> 5 "Helping"')
    assert not award.ephemeral and not any(b.label == "Share" for b in award.card.buttons)
    joined = await execute_text(seeded, ALICE, "/challenge join dune")
    assert joined.ephemeral and not joined.card.buttons


@pytest.mark.parametrize("args", [
    {"challenge": 'Say "hi" \\ then \'go\'', "page": 3},
    {"challenge": "Night garden", "page": None},
    {"challenge": "Re:Zero “quoted”", "page": 1},
])
def test_share_lines_read_back_exactly_what_they_carry(args: dict[str, object]) -> None:
    for path in ("challenge standings", "challenge info"):
        command = TREE[path]
        given = {k: v for k, v in args.items() if any(o.name == k for o in command.options)}
        line = line_of(command, given)
        assert line is not None
        found, rest = resolve(tokenize(line))
        assert found is command
        bound = bind(command.options, rest, usage=command.usage, tz=UTC, now=START)
        assert {k: v for k, v in bound.items() if v is not None} == {
            k: v for k, v in given.items() if v is not None}


def test_share_lines_carry_members_and_choices() -> None:
    for command, args in ((TREE["leaderboard"], {"period": "week", "page": 2}),
                          (TREE["profile"], {"member": "U0BOB"}),
                          (TREE["profile"], {"member": "bob.smith"}),
                          (TREE["challenge list"], {"phase": "open"})):
        line = line_of(command, args)
        assert line is not None
        _, rest = resolve(tokenize(line))
        bound = bind(command.options, rest, usage=command.usage, tz=UTC, now=START)
        assert {k: v for k, v in bound.items() if v is not None} == args
    assert all(c.name != "share" for c in COMMANDS)  # not a command members are offered
