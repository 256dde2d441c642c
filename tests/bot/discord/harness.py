"""Laurels on the real discord.py client, started by `start_discord`, against FakeDiscord.

`DiscordWorld` plays Discord's side (members running slash commands, typing into
autocompleted options, pressing buttons, reacting) and reads back what the bot said.
Each step waits until the client received the event and the bot finished with it
(`inflight`), so assertions never race the bot; every wait is bounded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import discord

from bot.delivery import DeliveryWorker
from bot.discord.app import RunningDiscord, start_discord
from bot.discord.slash import discord_path
from commands.tree import TREE
from config.settings import Settings
from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from tests.bot.discord.fake_discord import FakeDiscord, InteractionRecord
from tests.bot.discord.payloads import MessageFlags, MessagePayload

STEP = 5.0  # seconds allowed for any single awaited step


def settings_for(fake: FakeDiscord, **extra: Any) -> Settings:
    return Settings(discord_token=fake.token, discord_api_base=fake.api_base,  # type: ignore[arg-type]
                    discord_gateway_url=fake.gateway_url, database_url="sqlite+aiosqlite://",
                    **extra)


def on_discord(path: str) -> str:
    """A command tree path as Discord's tree spells it (bot/discord/slash.py)."""
    command = TREE.get(path)
    return " ".join(discord_path(command)) if command is not None else path


def message_text(message: Mapping[str, Any]) -> str:
    """Every text a member would read in a message: content, embeds, button labels."""
    out = [str(message.get("content") or "")]
    for e in message.get("embeds") or []:
        out += [str(e.get("title") or ""), str(e.get("description") or "")]
        for f in e.get("fields") or []:
            out += [str(f.get("name")), str(f.get("value"))]
        out.append(str((e.get("footer") or {}).get("text") or ""))
    for row in message.get("components") or []:
        out += [str(c.get("label") or "") for c in row.get("components") or []]
    return "\n".join(x for x in out if x)


@dataclass
class Said:
    """What the bot answered to one interaction."""

    record: InteractionRecord
    messages: list[MessagePayload] = field(default_factory=list)

    @property
    def private(self) -> list[MessagePayload]:
        return [m for m in self.messages if m["flags"] & MessageFlags.EPHEMERAL]

    @property
    def public(self) -> list[MessagePayload]:
        return [m for m in self.messages if not m["flags"] & MessageFlags.EPHEMERAL]

    @property
    def text(self) -> str:
        return "\n".join(message_text(m) for m in self.messages)

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return [e for m in self.messages for e in m.get("embeds") or []]


@dataclass
class DiscordWorld:
    fake: FakeDiscord
    engine: Engine
    clock: FixedClock
    running: RunningDiscord
    users: dict[str, int]

    @property
    def client(self) -> discord.Client:
        return self.running.client

    @property
    def guild_id(self) -> int:
        return self.fake.seed.guild_id

    @property
    def community(self) -> CommunityRef:
        return CommunityRef("discord", str(self.guild_id))

    def ref(self, name: str, *, admin: bool = False) -> MemberRef:
        return MemberRef(self.community, str(self.users[name]), name, is_admin=admin)

    # -- what members do ----------------------------------------------------------------

    async def command(self, user: str, path: str, options: Mapping[str, Any] | None = None,
                      *, channel: int | None = None, **extra: Any) -> Said:
        """`user` runs `/path` with `options` ({"name": value}, ids for members/channels).
        `path` is the command tree's ("challenge create"), sent as Discord's members see
        it ("mod challenge create")."""
        async def send() -> InteractionRecord:
            return await self.fake.dispatch_slash_command(
                on_discord(path), dict(options or {}), user_id=self.users[user],
                channel_id=channel or self.fake.seed.general_channel_id, **extra)

        return await self._interaction(send)

    async def autocomplete(self, user: str, path: str, options: Mapping[str, Any],
                           focused: str) -> list[dict[str, Any]]:
        async def send() -> InteractionRecord:
            return await self.fake.dispatch_autocomplete(on_discord(path), options,
                                                         focused=focused,
                                                         user_id=self.users[user])

        said = await self._interaction(send)
        # Discord shows the member an error when an app leaves autocomplete unanswered.
        assert said.record.autocomplete_choices is not None, "autocomplete not answered"
        return said.record.autocomplete_choices

    async def press(self, user: str, message: Mapping[str, Any], label: str) -> Said:
        """`user` presses the button labelled `label` on a stored message."""
        buttons = [c for row in message.get("components") or []
                   for c in row.get("components") or []]
        found = next(b for b in buttons if b.get("label") == label)

        async def send() -> InteractionRecord:
            return await self.fake.dispatch_component(found["custom_id"],
                                                      message_id=int(message["id"]),
                                                      user_id=self.users[user])

        return await self._interaction(send)

    async def submit_form(self, user: str, form: Mapping[str, Any],
                          values: Mapping[str, str]) -> Said:
        """`user` fills in and submits `form` (what the bot opened: `record.modal`)."""
        async def send() -> InteractionRecord:
            return await self.fake.dispatch_modal_submit(str(form["custom_id"]), values,
                                                         user_id=self.users[user])

        return await self._interaction(send)

    async def react(self, user: str, message_id: int | str, emoji: Any = "👍", *,
                    added: bool = True) -> None:
        """`user` adds (or removes) a reaction; returns once the bot handled it."""
        uid, mid = self.users[user], int(message_id)
        event = "raw_reaction_add" if added else "raw_reaction_remove"
        seen = self.expect(event, lambda e: e.message_id == mid and e.user_id == uid)
        if added:
            await self.fake.dispatch_reaction_add(message_id=mid, user_id=uid, emoji=emoji)
        else:
            await self.fake.dispatch_reaction_remove(message_id=mid, user_id=uid, emoji=emoji)
        await seen
        await self.settle()

    def expect(self, event: str, check: Any = None) -> Any:
        """Register a wait for a client event *before* triggering it."""

        return asyncio.ensure_future(self.client.wait_for(event, check=check, timeout=STEP))

    async def _interaction(self, send: Any) -> Said:

        waiting: list[InteractionRecord] = []
        seen = self.expect("interaction",
                           lambda i: bool(waiting) and i.id == waiting[0].id)
        await asyncio.sleep(0)  # let the wait register before the event can arrive
        record = await send()
        waiting.append(record)
        await seen
        await self.settle()
        return Said(record, list(record.messages.values()))

    # -- time and the delivery worker ------------------------------------------------------

    async def deliver(self) -> int:
        """Post every pending announcement through the real delivery worker."""
        worker = DeliveryWorker(self.engine, {"discord": self.running.platform})
        sent = 0
        while handled := await worker.run_once(limit=50):
            sent += handled
        await self.settle()
        return sent

    async def advance(self, delta: timedelta) -> None:
        """Let time pass: phase changes and reminders run, their announcements posted."""
        await self.engine.due.run_until(self.clock, self.clock.now() + delta,
                                               after_each=self.deliver)

    async def settle(self) -> None:
        assert await self.running.adapter.inflight.wait_idle(STEP), "the bot is still busy"

    def posted(self, channel_id: int) -> list[str]:
        return [message_text(m) for m in self.fake.messages_in(channel_id)]


def add_members(fake: FakeDiscord) -> dict[str, int]:
    """The seed's owner (a moderator), alice and bob, plus carol and dave."""
    seed = fake.seed
    users = {"mod": seed.owner_id, "alice": seed.alice_id, "bob": seed.bob_id}
    for name in ("carol", "dave"):
        users[name] = int(fake.add_user(name)["id"])
        fake.add_member(seed.guild_id, users[name])
    return users


@asynccontextmanager
async def discord_world(fake: FakeDiscord, engine: Engine, clock: FixedClock, *,
                        known_server: bool = True, **settings: Any
                        ) -> AsyncIterator[DiscordWorld]:
    """Laurels started with `start_discord` against `fake` (members already added).

    `known_server`: the seed server's community exists already, announcing in #general
    (else the bot meets the server at start-up, as after being added while offline).
    """
    users = add_members(fake)
    if known_server:
        name = fake.guilds[fake.seed.guild_id].payload["name"]
        await engine.ensure_community(CommunityRef("discord", str(fake.seed.guild_id), name),
                                      announce_channel=str(fake.seed.general_channel_id))
    running = await start_discord(engine, settings_for(fake, **settings), ready_timeout=STEP,
                                  guild_ready_timeout=0.1)
    async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
        return None

    # discord.py waits 5 s before identifying again after a lost session.
    running.client.before_identify_hook = no_identify_delay  # type: ignore[method-assign]
    try:
        world = DiscordWorld(fake, engine, clock, running, users)
        await world.settle()
        yield world
    finally:
        await running.stop(grace=STEP)
