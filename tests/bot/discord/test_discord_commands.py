"""Every command of the tree as a Discord slash command: a happy path and an error path,
answered with the expected embed, in the channel or privately.

One Discord world is shared by the module (seeded once) to keep this fast; each command's
happy path acts on its own challenge, entry or member, so order does not matter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from bot.discord.render import COLOURS
from commands.tree import TREE
from engine.clock import FixedClock
from engine.service import Engine
from storage.db import Database
from tests.bot.discord.fake_discord import FakeDiscord
from tests.bot.discord.harness import DiscordWorld, discord_world
from tests.bot.seeding import seed_challenges
from tests.conftest import START

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")

PUBLIC, PRIVATE = "public", "private"
MOD_ONLY = "Only moderators can do that: here, server managers (Manage Server)"
IN_SERVER = "Laurels commands work in a server."
# Ids filled in by the world fixture: members and channels of the fake server.
IDS: dict[str, int] = {}


def uid(name: str) -> Any:
    return lambda: IDS[name]


@dataclass(frozen=True)
class Case:
    user: str
    options: dict[str, Any]
    visibility: str
    expect: str  # in the answer's embed
    error_user: str
    error_options: dict[str, Any] | None  # None: run from a DM instead of the server
    error: str  # in the refusal's embed
    extra: dict[str, Any] = field(default_factory=dict)


def attachment(name: str, content_type: str) -> dict[str, Any]:
    return {"id": "4242", "filename": name, "size": 1000, "content_type": content_type,
            "url": f"https://cdn.example.com/attachments/4242/{name}"}


CASES: dict[str, Case] = {
    "challenge list": Case("alice", {}, PRIVATE, "Dreamscapes",
                           "alice", {"phase": "someday"}, "phase must be one of"),
    "challenge info": Case("alice", {"challenge": "dreamscapes"}, PRIVATE, "Entries",
                           "alice", {"challenge": "atlantis"},
                           "There is no challenge called 'atlantis'"),
    "challenge join": Case("alice", {"challenge": "reading"}, PRIVATE, "You joined **Reading**",
                           "alice", {"challenge": "atlantis"}, "There is no challenge"),
    "challenge leave": Case("alice", {"challenge": "steps"}, PRIVATE, "You left **Steps**",
                            "alice", {"challenge": "atlantis"}, "There is no challenge"),
    "challenge submit": Case("carol", {"challenge": "dreamscapes", "title": "Third",
                                       "upload": 4242}, PRIVATE, "“Third” is in!",
                             "carol", {"challenge": "dreamscapes", "title": "Fourth",
                                       "upload": 4343}, "notes.txt is not an image",
                             extra={"resolved": {"attachments": {
                                 "4242": attachment("third.png", "image/png"),
                                 "4343": attachment("notes.txt", "text/plain")}}}),
    "challenge log": Case("alice", {"challenge": "marathon", "amount": 5}, PRIVATE, "Logged 5",
                          "alice", {"challenge": "atlantis", "amount": 5},
                          "There is no challenge"),
    "challenge standings": Case("alice", {"challenge": "dreamscapes"}, PRIVATE,
                                "Standings: Dreamscapes", "alice", {"challenge": "atlantis"},
                                "There is no challenge"),
    "challenge create": Case("mod", {"kind": "submission", "name": "Sky castles",
                                     "submissions": "3d", "voting": "2d"}, PRIVATE,
                             "Created Sky castles", "alice",
                             {"kind": "submission", "name": "Sneaky"}, MOD_ONLY),
    "challenge edit": Case("mod", {"challenge": "dreamscapes", "prize": "A mug"}, PRIVATE,
                           "Updated **Dreamscapes**", "mod", {"challenge": "dreamscapes"},
                           "Nothing to change"),
    "challenge cancel": Case("mod", {"challenge": "doomed"}, PRIVATE, "is cancelled",
                             "alice", {"challenge": "dreamscapes"}, MOD_ONLY),
    "challenge advance": Case("mod", {"challenge": "stepper"}, PRIVATE, "is now voting",
                              "alice", {"challenge": "dreamscapes"}, MOD_ONLY),
    "challenge feature": Case("mod", {"entry": "#1"}, PRIVATE, "editor's pick",
                              "mod", {"entry": "#999"}, "There is no entry #999"),
    "challenge disqualify": Case("mod", {"entry": "#2", "reason": "Off topic"}, PRIVATE,
                                 "is disqualified: Off topic", "mod",
                                 {"entry": "#2", "reason": "Twice"}, "already"),
    "leaderboard": Case("alice", {}, PRIVATE, "Leaderboard",
                        "alice", {"period": "yearly"}, "period must be one of"),
    "profile": Case("alice", {}, PRIVATE, "Points", "alice", {"member": uid("dave")},
                    "That member hasn't taken part yet."),
    "badges": Case("alice", {}, PRIVATE, "Badges: alice", "alice", None, IN_SERVER),
    "achievements": Case("alice", {}, PRIVATE, "Achievements", "alice", None, IN_SERVER),
    "badge showcase": Case("alice", {"badge1": "1"}, PRIVATE, "Showcase:",
                           "alice", {"badge1": "shiny"}, "'shiny' is not a badge number"),
    "badge award": Case("mod", {"member": uid("bob"), "badge": "Helper",
                                "reason": "Answered questions"}, PUBLIC, "Awarded",
                        "bob", {"member": uid("bob"), "badge": "Me", "reason": "Because"},
                        MOD_ONLY),
    "points history": Case("alice", {}, PRIVATE, "Points history", "alice", None, IN_SERVER),
    "points award": Case("mod", {"member": uid("bob"), "amount": 10,
                                 "reason": "Great feedback"}, PUBLIC, "Awarded 10 points to <@",
                         "alice", {"member": uid("bob"), "amount": 10, "reason": "x"},
                         MOD_ONLY),
    "points deduct": Case("mod", {"member": uid("bob"), "amount": 5, "reason": "Spam"},
                          PUBLIC, "Deducted 5 points", "alice",
                          {"member": uid("bob"), "amount": 5, "reason": "x"}, MOD_ONLY),
    "settings show": Case("mod", {}, PRIVATE, "Time zone", "alice", {}, MOD_ONLY),
    "settings channel": Case("mod", {"kind": "entries", "channel": uid("entries")}, PRIVATE,
                             "entries to <#", "mod",
                             {"kind": "lobby", "channel": uid("entries")},
                             "kind must be one of"),
    "settings achievements": Case("mod", {"where": "announcements"}, PRIVATE,
                                  "Achievement posts go to <#", "alice", {"where": "off"},
                                  MOD_ONLY),
    "settings timezone": Case("mod", {"zone": "UTC"}, PRIVATE, "Time zone set to UTC",
                              "mod", {"zone": "Mars/Olympus"}, "is not a time zone I know"),
    "settings moderators": Case("mod", {"role": "@Moderator"}, PRIVATE,
                                "Moderators are now server managers (Manage Server) and "
                                "@Moderator.", "alice", {}, MOD_ONLY),
    "settings points": Case("mod", {"rule": "vote_cast", "value": 5}, PRIVATE,
                            "vote_cast is now 5 points", "alice",
                            {"rule": "vote_cast", "value": 5}, MOD_ONLY),
    "settings reminders": Case("mod", {"when": "24h,1h"}, PRIVATE, "Reminders go out",
                               "alice", {"when": "off"}, MOD_ONLY),
    "settings digest": Case("mod", {"day": "monday", "time": "09:00"}, PRIVATE,
                            "The weekly digest goes out every", "alice", {"day": "off"},
                            MOD_ONLY),
    "settings recurring": Case("mod", {"template": "weekly-sketch", "state": "off"}, PRIVATE,
                               "Recurring challenge off", "alice",
                               {"template": "weekly-sketch", "state": "on"}, MOD_ONLY),
    "settings web": Case("mod", {"setting": "public", "state": "on"}, PRIVATE,
                         "are public now", "alice", {"setting": "public", "state": "off"},
                         MOD_ONLY),
    "dashboard": Case("alice", {}, PRIVATE, "dashboard isn't served here", "alice", None,
                      IN_SERVER),
    "settings api-token": Case("mod", {"action": "create", "name": "stats"}, PRIVATE,
                               "shown only this once", "alice", {"action": "list"},
                               MOD_ONLY),
    "help": Case("alice", {}, PRIVATE, "Laurels commands", "alice", None, IN_SERVER),
}


def test_every_command_in_the_tree_has_a_case() -> None:
    assert set(CASES) == set(TREE)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world() -> AsyncIterator[DiscordWorld]:
    db = Database("sqlite+aiosqlite://")
    await db.create_all()
    clock = FixedClock(START)
    engine = Engine(db, clock)
    async with FakeDiscord() as fake:
        entries = fake.add_channel(fake.seed.guild_id, "entries")
        async with discord_world(fake, engine, clock) as w:
            IDS.update(w.users, entries=int(entries["id"]))
            await seed(w, int(entries["id"]))
            yield w
    await db.dispose()


async def seed(w: DiscordWorld, entries: int) -> None:
    """Challenges, entries, goals and a badge for the commands to act on."""
    admin, alice, bob = w.ref("mod", admin=True), w.ref("alice"), w.ref("bob")
    await w.engine.ensure_community(w.community, entries_channel=str(entries))
    await seed_challenges(w.engine, admin, alice, bob, START)
    await w.deliver()


def resolved(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v() if callable(v) else v for k, v in options.items()}


@MODULE_LOOP
@pytest.mark.parametrize("path", list(CASES))
async def test_happy_path(world: DiscordWorld, path: str) -> None:
    case = CASES[path]
    said = await world.command(case.user, path, resolved(case.options), **case.extra)
    assert len(said.messages) == 1, said.text
    [message] = said.messages
    if case.visibility == PUBLIC:
        assert said.public and int(message["channel_id"]) == world.fake.seed.general_channel_id
    else:
        assert said.private
    assert message["embeds"], "answers are embeds"
    assert case.expect in said.text
    assert "⚠️" not in said.text


@MODULE_LOOP
@pytest.mark.parametrize("path", list(CASES))
async def test_error_path(world: DiscordWorld, path: str) -> None:
    case = CASES[path]
    if case.error_options is None:
        said = await world.command(case.error_user, path, {}, in_dm=True)
    else:
        said = await world.command(case.error_user, path, resolved(case.error_options),
                                   **case.extra)
    assert len(said.messages) == 1 and said.private, said.text
    [embed] = said.embeds
    assert embed["description"].startswith("⚠️")
    assert embed["color"] == COLOURS["red"]
    assert case.error in said.text
