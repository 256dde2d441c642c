"""Every command of the tree as a Slack slash command: a happy path and an error path,
answered with the expected blocks, publicly or privately.

One Slack world is shared by the module (seeded once) to keep this fast; each command's
happy path acts on its own challenge, entry or member, so order does not matter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from commands.tree import TREE
from engine.clock import FixedClock
from engine.service import Engine
from storage.db import Database
from tests.bot.seeding import seed_challenges
from tests.bot.slack.fake_slack import FakeSlack
from tests.bot.slack.harness import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    ENTRIES,
    SlackWorld,
    add_members,
    slack_world,
)
from tests.conftest import START

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")

PUBLIC, PRIVATE = "public", "private"
ALICE_MENTION = f"<@{ALICE}|alice>"
BOB_MENTION = f"<@{BOB}|bob>"


@dataclass(frozen=True)
class Case:
    user: str
    line: str
    visibility: str
    expect: str  # in the answer's blocks
    error_user: str
    error_line: str
    error: str  # in the refusal's blocks


MOD_ONLY = "Only moderators can do that: here, workspace admins"
CASES: dict[str, Case] = {
    "challenge list": Case(ALICE, "/challenge list", PRIVATE, "Dreamscapes",
                           ALICE, "/challenge list phase:someday", "phase must be one of"),
    "challenge info": Case(ALICE, "/challenge info dreamscapes", PRIVATE, "Entries",
                           ALICE, "/challenge info atlantis",
                           "There is no challenge called 'atlantis'"),
    "challenge join": Case(ALICE, "/challenge join reading", PRIVATE, "You joined *Reading*",
                           ALICE, "/challenge join", "Missing challenge"),
    "challenge leave": Case(ALICE, "/challenge leave steps", PRIVATE, "You left *Steps*",
                            ALICE, "/challenge leave atlantis", "There is no challenge"),
    "challenge submit": Case(CAROL, '/challenge submit dreamscapes "Third" '
                                    "<https://example.com/3.png>", PRIVATE, "“Third” is in!",
                             CAROL, '/challenge submit dreamscapes "Fourth" link:nowhere',
                             "link"),
    "challenge log": Case(ALICE, "/challenge log marathon 5", PRIVATE, "Logged 5",
                          ALICE, "/challenge log marathon lots", "amount must be a number"),
    "challenge standings": Case(ALICE, "/challenge standings dreamscapes", PRIVATE,
                                "Standings: Dreamscapes", ALICE,
                                "/challenge standings dreamscapes page:0", "page must be"),
    "challenge create": Case(ADMIN, '/challenge create submission "Sky castles" '
                                    "submissions:3d voting:2d", PRIVATE, "Created Sky castles",
                             ALICE, "/challenge create submission Sneaky", MOD_ONLY),
    "challenge edit": Case(ADMIN, '/challenge edit dreamscapes prize:"A mug"', PRIVATE,
                           "Updated *Dreamscapes*", ADMIN, "/challenge edit dreamscapes",
                           "Nothing to change"),
    "challenge cancel": Case(ADMIN, "/challenge cancel doomed", PRIVATE, "is cancelled",
                             ALICE, "/challenge cancel dreamscapes", MOD_ONLY),
    "challenge advance": Case(ADMIN, "/challenge advance stepper", PRIVATE, "is now voting",
                              ALICE, "/challenge advance dreamscapes", MOD_ONLY),
    "challenge feature": Case(ADMIN, "/challenge feature #1", PRIVATE, "editor's pick",
                              ADMIN, "/challenge feature #999", "There is no entry #999"),
    "challenge disqualify": Case(ADMIN, '/challenge disqualify #2 "Off topic"', PRIVATE,
                                 "is disqualified: Off topic", ADMIN,
                                 "/challenge disqualify #2", "Missing reason"),
    "leaderboard": Case(ALICE, "/leaderboard", PRIVATE, "Leaderboard",
                        ALICE, "/leaderboard yearly", "period must be one of"),
    "profile": Case(ALICE, "/profile", PRIVATE, "Points", ALICE,
                    "/profile <@U0NOBODY01|nobody>", "That member hasn't taken part yet."),
    "badges": Case(ALICE, "/badges", PRIVATE, "Badges: alice",
                   ALICE, "/badges <#C0GENERAL1|general>", "member must be a member"),
    "achievements": Case(ALICE, "/achievements", PRIVATE, "Achievements",
                         ALICE, "/achievements everything", "Too many values"),
    "badge showcase": Case(ALICE, "/badge showcase 1", PRIVATE, "Showcase:",
                           ALICE, "/badge showcase shiny", "'shiny' is not a badge number"),
    "badge award": Case(ADMIN, f'/badge award {BOB_MENTION} Helper "Answered questions"',
                        PUBLIC, "Awarded", BOB, f'/badge award {BOB_MENTION} Me "Because"',
                        MOD_ONLY),
    "points history": Case(ALICE, "/points history", PRIVATE, "Points history",
                           ALICE, "/points history <#C0GENERAL1|general>",
                           "member must be a member"),
    "points award": Case(ADMIN, f'/points award {BOB_MENTION} 10 "Great feedback"', PUBLIC,
                         "Awarded 10 points to <@U0BOB00001>", ADMIN,
                         f"/points award {BOB_MENTION} 0 nothing", "amount must be between"),
    "points deduct": Case(ADMIN, f'/points deduct {BOB_MENTION} 5 "Spam"', PUBLIC,
                          "Deducted 5 points", ALICE, f'/points deduct {BOB_MENTION} 5 "x"',
                          MOD_ONLY),
    "settings show": Case(ADMIN, "/settings show", PRIVATE, "Time zone", ALICE,
                          "/settings show", MOD_ONLY),
    "settings channel": Case(ADMIN, f"/settings channel entries <#{ENTRIES}|entries>",
                             PRIVATE, f"entries to <#{ENTRIES}>", ADMIN,
                             "/settings channel lobby <#C0GENERAL1|general>",
                             "kind must be one of"),
    "settings achievements": Case(ADMIN, "/settings achievements announcements", PRIVATE,
                                  "Achievement posts go to <#", ADMIN,
                                  "/settings achievements nowhere", "must be one of"),
    "settings timezone": Case(ADMIN, "/settings timezone UTC", PRIVATE, "Time zone set to UTC",
                              ADMIN, "/settings timezone Mars/Olympus",
                              "is not a time zone I know"),
    "settings moderators": Case(ADMIN, "/settings moderators <!subteam^S0MODS0001|@mods>",
                                PRIVATE, "Moderators are now workspace admins and @mods.", ALICE,
                                "/settings moderators", MOD_ONLY),
    "settings points": Case(ADMIN, "/settings points vote_cast 5", PRIVATE,
                            "vote_cast is now 5 points", ADMIN,
                            "/settings points vote_cast lots", "value must be a whole number"),
    "settings reminders": Case(ADMIN, "/settings reminders 24h,1h", PRIVATE,
                               "Reminders go out 24h, 1h before each deadline", ADMIN,
                               "/settings reminders soon", "is not a reminder time"),
    "settings digest": Case(ADMIN, "/settings digest friday 17:00", PRIVATE,
                            "The weekly digest goes out every Friday 17:00", ADMIN,
                            "/settings digest blursday", "is not a weekday"),
    "settings recurring": Case(ADMIN, "/settings recurring weekly-sketch on", PRIVATE,
                               "Recurring challenge on: Weekly Sketch", ADMIN,
                               "/settings recurring nope on", "There is no template"),
    "settings web": Case(ADMIN, "/settings web public on", PRIVATE, "are public now", ADMIN,
                         "/settings web public maybe", "must be one of"),
    "dashboard": Case(ALICE, "/dashboard", PRIVATE, "dashboard isn't served here", ALICE,
                      "/dashboard now", "Too many values"),
    "settings api-token": Case(ADMIN, "/settings api-token create stats", PRIVATE,
                               "shown only this once", ADMIN,
                               "/settings api-token rotate stats", "action must be one of"),
    "help": Case(ALICE, "/laurels", PRIVATE, "Laurels commands",
                 ALICE, "/laurels frobnicate", "Unknown command /frobnicate"),
}


def test_every_command_in_the_tree_has_a_case() -> None:
    assert set(CASES) == set(TREE)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world() -> AsyncIterator[SlackWorld]:
    with pytest.MonkeyPatch.context() as mp:
        for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            mp.delenv(name, raising=False)
        db = Database("sqlite+aiosqlite://")
        await db.create_all()
        clock = FixedClock(START)
        engine = Engine(db, clock)
        async with FakeSlack() as fake:
            add_members(fake)
            async with slack_world(fake, engine, clock, "socket") as w:
                await seed(w)
                yield w
        await db.dispose()


async def seed(w: SlackWorld) -> None:
    """Challenges, entries, goals and a badge for the commands to act on."""
    admin, alice, bob = w.ref(ADMIN, admin=True), w.ref(ALICE), w.ref(BOB)
    await w.engine.ensure_community(w.community, announce_channel="C0ANNOUNCE",
                                    entries_channel=ENTRIES)
    await seed_challenges(w.engine, admin, alice, bob, START)
    await w.deliver()


def blocks_of(messages: list[dict[str, object]]) -> list[dict[str, object]]:
    assert len(messages) == 1, f"expected one answer, got {messages}"
    blocks = messages[0].get("blocks")
    assert isinstance(blocks, list) and blocks
    return blocks  # type: ignore[return-value]


@MODULE_LOOP
@pytest.mark.parametrize("path", list(CASES))
async def test_happy_path(world: SlackWorld, path: str) -> None:
    case = CASES[path]
    said = await world.command(case.user, case.line)
    if case.visibility == PUBLIC:
        assert not said.private, said.private_text
        blocks = blocks_of(said.public)
        assert said.public[0]["channel"] == "C0GENERAL1"
        assert case.expect in said.public_text
    else:
        assert not said.public, said.public_text
        blocks = blocks_of(said.private)
        assert said.private[0]["response_type"] == "ephemeral"
        assert case.expect in said.private_text
    assert all(b["type"] in ("header", "section", "context", "actions", "image")
               for b in blocks)
    assert "⚠️" not in (said.private_text + said.public_text)


@MODULE_LOOP
@pytest.mark.parametrize("path", list(CASES))
async def test_error_path(world: SlackWorld, path: str) -> None:
    case = CASES[path]
    said = await world.command(case.error_user, case.error_line)
    assert not said.public
    blocks = blocks_of(said.private)
    assert said.private[0]["response_type"] == "ephemeral"
    first = blocks[0]
    assert first["type"] == "section"
    assert first["text"]["text"].startswith("⚠️")  # type: ignore[index]
    assert case.error in said.private_text
