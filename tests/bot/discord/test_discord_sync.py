"""Starting Laurels on Discord: the command tree registered with the right option types
and permissions, only the intents it needs, and the invite URL's scopes."""

from __future__ import annotations

from typing import Any

import discord

from bot.discord.app import intents
from bot.discord.invite import invite_url
from bot.discord.slash import MANAGE_GUILD, MOD
from commands.parsing import OptionType
from commands.spec import Command
from commands.tree import COMMANDS, TREE
from engine.clock import FixedClock
from engine.service import Engine
from tests.bot.discord.fake_discord import FakeDiscord
from tests.bot.discord.harness import DiscordWorld, discord_world
from tests.bot.discord.payloads import Intents
from tests.bot.discord.payloads import OptionType as D

EXPECTED_TYPE = {OptionType.STRING: D.STRING, OptionType.INTEGER: D.INTEGER,
                 OptionType.NUMBER: D.NUMBER, OptionType.BOOLEAN: D.BOOLEAN,
                 OptionType.MEMBER: D.USER, OptionType.CHANNEL: D.CHANNEL,
                 OptionType.TIME: D.STRING, OptionType.DURATION: D.STRING,
                 OptionType.CHOICE: D.STRING}


def _exposed(stored: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Neutral command path -> (the top-level command showing it, its declaration)."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}

    def walk(top: str, path: list[str], node: dict[str, Any]) -> None:
        subs = [o for o in node.get("options") or []
                if o["type"] in (D.SUB_COMMAND, D.SUB_COMMAND_GROUP)]
        if not subs:
            neutral = path[1:] if path[0] == MOD else path
            out[" ".join(neutral)] = (top, node)
        for sub in subs:
            walk(top, [*path, sub["name"]], sub)

    for name, top in stored.items():
        walk(name, [name], top)
    return out


async def test_the_whole_tree_is_synced_with_types_and_permissions(world: DiscordWorld
                                                                   ) -> None:
    fake = world.fake
    stored = {c["name"]: c for c in fake.commands()}
    exposed = _exposed(stored)
    assert sorted(exposed) == sorted(c.path for c in COMMANDS)  # each once, none lost
    for command in COMMANDS:
        _, node = exposed[command.path]
        assert node["description"] == command.description
        by_name = {o["name"]: o for o in node["options"]}
        for spec in command.options:
            option = by_name[spec.name]
            assert option["type"] == EXPECTED_TYPE[spec.type], (command.path, spec.name)
            assert option.get("required", False) == spec.required
            assert [c["value"] for c in option.get("choices") or []] == list(spec.choices)
            completes = spec.name in command.autocomplete or spec.name == "entry"
            assert option.get("autocomplete", False) == completes
    # Discord refuses a command whose names, descriptions and choices pass 8000 characters.
    for top in stored.values():
        assert _text_size(top) <= 8000, top["name"]
    assert all(c["contexts"] == [0] for c in stored.values())  # servers only
    # Discord-only: an uploaded image for entries.
    _, submit = exposed["challenge submit"]
    upload = next(o for o in submit["options"] if o["name"] == "upload")
    assert upload["type"] == D.ATTACHMENT and not upload["required"]
    _, channel_setting = exposed["settings channel"]
    channel = next(o for o in channel_setting["options"] if o["name"] == "channel")
    assert channel["channel_types"] == [0, 5]


async def test_members_see_only_the_commands_they_may_run(world: DiscordWorld) -> None:
    """Discord sets default permissions per top-level command: one that shows a member a
    moderator's subcommand (`/challenge create`) would show it to every member."""
    stored = {c["name"]: c for c in world.fake.commands()}
    shown: dict[str, list[Command]] = {}
    for path, (top, _) in _exposed(stored).items():
        shown.setdefault(top, []).append(TREE[path])
    for top, commands in shown.items():
        permissions = stored[top]["default_member_permissions"]
        if permissions is None:  # every member sees it
            assert not [c.path for c in commands if c.moderator], top
        else:  # members without Manage Server do not
            assert permissions == str(MANAGE_GUILD), top
            assert all(c.moderator for c in commands), top
    member_view = {c.path for top, cs in shown.items() for c in cs
                   if stored[top]["default_member_permissions"] is None}
    assert member_view == {c.path for c in COMMANDS if not c.moderator}
    assert "settings" in stored and stored["mod"]["default_member_permissions"]
    # The bot's own check still holds where a server lets members see them anyway.
    refused = await world.command("alice", "challenge create",
                                  {"kind": "submission", "name": "Sneaky"})
    assert refused.private and "Only moderators can do that" in refused.text
    assert [o["name"] for o in stored["mod"]["options"]] == ["challenge", "badge", "points"]


def _text_size(option: dict[str, Any]) -> int:
    size = len(option["name"]) + len(option.get("description") or "")
    size += sum(len(c["name"]) + len(str(c["value"])) for c in option.get("choices") or [])
    return size + sum(_text_size(o) for o in option.get("options") or [])


async def test_only_the_needed_intents_and_a_community_per_server(world: DiscordWorld
                                                                  ) -> None:
    identify = world.fake.sessions[0].identify
    assert identify["intents"] == int(Intents.GUILDS | Intents.GUILD_MESSAGE_REACTIONS
                                      | Intents.GUILD_EXPRESSIONS)
    assert intents().value == identify["intents"]
    community = await world.engine.community(world.community)
    assert community.name == "Laurels Test"
    # Defaults: announcements in the system channel until a moderator picks one.
    assert community.announce_channel == str(world.fake.seed.general_channel_id)


async def test_guild_sync_for_fast_iteration(fake: FakeDiscord, engine: Engine,
                                             clock: FixedClock) -> None:
    async with discord_world(fake, engine, clock,
                             discord_guilds=str(fake.seed.guild_id)):
        assert fake.commands() == []
        assert "challenge" in fake.command_names(fake.seed.guild_id)


def test_invite_url_asks_for_the_scopes_and_permissions_used() -> None:
    url = invite_url(1234)
    assert "client_id=1234" in url and "scope=bot+applications.commands" in url
    perms = discord.Permissions(int(url.split("permissions=")[1].split("&")[0]))
    assert perms.send_messages and perms.embed_links and perms.add_reactions
    assert perms.manage_messages and perms.read_message_history and perms.view_channel
    assert not perms.administrator and not perms.manage_guild
