"""The Discord adapter's core: from an interaction, a reaction or a server joined to the
engine, and back to Discord. The client (`app.py`) only routes events here.

Tenancy: every event names its server (guild id), and that alone picks the community, so
one process serves any number of servers.

Replies: Discord wants an interaction answered within 3 seconds. A command runs as a task;
if it has not finished within `defer_after` seconds the interaction is deferred ("Laurels
is thinking...", private) and the answer follows by editing that message. A public answer
after a deferral is posted as a followup, since a private message cannot turn public.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

import discord
from discord import app_commands

from bot.discord.dedupe import Seen
from bot.discord.forms import form_for, read_form
from bot.discord.identity import avatar_url, member_ref
from bot.discord.payloads import CommandData, ComponentData
from bot.discord.render import action_of, render
from bot.discord.slash import bind_options, completion_source, invocation
from bot.inflight import Inflight
from bot.reactions import Reaction, ReactionDispatch, refusal_card
from commands.parsing import ParseError
from commands.sharing import shared_line
from commands.spec import Reply
from commands.tree import execute, execute_text
from engine.errors import LaurelsError
from engine.messages import Card
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.votes import VoteResult

if TYPE_CHECKING:
    from engine.service import Engine

__all__ = ["PLATFORM", "DiscordAdapter", "welcome_card"]

log = logging.getLogger(__name__)

PLATFORM = "discord"
_SORRY = "Something went wrong on our side; please try again in a moment."


def welcome_card(owner_id: int | None, channel_id: int) -> Card:
    who = f"<@{owner_id}>, thanks" if owner_id else "Thanks"
    return Card(
        title="👋 Laurels is here",
        text=(f"{who} for adding Laurels! Challenges, votes by reaction, points and "
              "leaderboards for this server.\n\n"
              f"Announcements go to <#{channel_id}> for now. To choose, a member with "
              "Manage Server runs:\n"
              "`/settings channel kind:announcements channel:#announcements`\n"
              "`/settings channel kind:entries channel:#entries`\n"
              "Then `/settings moderators role:@Moderators` names who may run challenges, "
              "and `/challenge create` starts the first one. `/help` lists every command."),
        color="green")


class DiscordAdapter:
    """What the client's events share: the engine, the client, the work in flight."""

    def __init__(self, engine: Engine, client: discord.Client, *,
                 defer_after: float = 2.0) -> None:
        self.engine = engine
        self.client = client
        self.defer_after = defer_after
        self.inflight = Inflight()
        self.seen = Seen()
        self.reactions = ReactionDispatch(engine)
        self._known: set[int] = set()  # servers whose community exists (this process)

    # -- who ------------------------------------------------------------------------------

    async def community(self, guild: discord.Guild | None, guild_id: int) -> CommunityRef:
        """The server's community, created with defaults on first contact: announcements
        go to the system channel (or the first text channel the bot may post in) until a
        moderator picks one."""
        ref = CommunityRef(PLATFORM, str(guild_id))
        if guild_id not in self._known:
            await self._ensure(guild, guild_id)
        return ref

    async def _ensure(self, guild: discord.Guild | None, guild_id: int) -> bool:
        """Create the community if it is new; True when it was."""
        channel = _welcome_channel(guild) if guild is not None else None
        _, created = await self.engine.open_community(
            CommunityRef(PLATFORM, str(guild_id), guild.name if guild else None),
            announce_channel=str(channel.id) if channel else None)
        self._known.add(guild_id)
        return created

    async def _member(self, interaction: discord.Interaction) -> MemberRef:
        assert interaction.guild_id is not None
        community = await self.community(interaction.guild, interaction.guild_id)
        setting = (await self.engine.community(community)).moderator_role
        return member_ref(community, interaction.user, permissions=interaction.permissions,
                          moderator_setting=setting)

    # -- servers --------------------------------------------------------------------------

    async def guild_available(self, guild: discord.Guild) -> None:
        # A server that added the bot while it was offline is welcomed now.
        if await self._ensure(guild, guild.id):
            await self._welcome(guild)

    async def guild_joined(self, guild: discord.Guild) -> None:
        """Added to a server (or added back): its community, and a welcome telling the
        owner what next."""
        await self._ensure(guild, guild.id)
        await self._welcome(guild)

    async def _welcome(self, guild: discord.Guild) -> None:
        channel = _welcome_channel(guild)
        if channel is None:
            log.warning("no channel to welcome %s (%s) in", guild.name, guild.id)
            return
        out = render(welcome_card(guild.owner_id, channel.id))
        try:
            await channel.send(embed=out.embed,
                               allowed_mentions=discord.AllowedMentions(users=True))
        except discord.HTTPException as exc:
            log.warning("could not welcome %s: %s", guild.id, exc)

    # -- interactions ---------------------------------------------------------------------

    async def interaction(self, interaction: discord.Interaction) -> None:
        if not self.seen.first_time(interaction.id):
            return  # replayed after a resume: already answered
        try:
            kind = interaction.type
            if kind is discord.InteractionType.autocomplete:
                await self._autocomplete(interaction)
            elif kind is discord.InteractionType.application_command:
                await self._command(interaction)
            elif kind is discord.InteractionType.component:
                await self._button(interaction)
            elif kind is discord.InteractionType.modal_submit:
                await self._form(interaction)
        except discord.HTTPException as exc:
            # Usually the 3-second deadline missed; there is no one left to tell.
            log.warning("could not answer interaction %s: %s", interaction.id, exc)

    async def _command(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is None:
            await interaction.response.send_message(
                embed=render(Reply.error("Laurels commands work in a server.").card).embed,
                ephemeral=True)
            return
        await self._answer(interaction, self._run_command(interaction))

    async def _run_command(self, interaction: discord.Interaction) -> Reply:
        member = await self._member(interaction)
        inv = invocation(cast(CommandData, interaction.data))
        if inv is None:
            return Reply.error("That command is not one Laurels knows (any more). Try /help.")
        community = await self.engine.community(member.community)
        try:
            args = bind_options(inv, tz=ZoneInfo(community.timezone),
                                now=self.engine.clock.now())
        except ParseError as exc:
            return Reply.error(exc.message, usage=exc.usage)
        return await execute(self.engine, inv.command, member, args,
                             str(interaction.channel_id) if interaction.channel_id else None)

    async def _button(self, interaction: discord.Interaction) -> None:
        data = cast(ComponentData, interaction.data)
        line = action_of(data.get("custom_id", ""))
        if line is None or interaction.guild_id is None:
            return  # another app's component, or not in a server

        async def run() -> Reply:
            member = await self._member(interaction)
            return await execute_text(self.engine, member, line,
                                      str(interaction.channel_id)
                                      if interaction.channel_id else None)

        if await self._open_form(interaction, line):
            return
        # A pager on a private answer turns its page; elsewhere the presser alone is
        # answered (a public leaderboard stays as it is for everyone else). Share posts
        # a new, public message and leaves the private answer as it was.
        message = interaction.message
        replace = (message is not None and message.flags.ephemeral
                   and shared_line(line) is None)
        await self._answer(interaction, run(), private=True, replace=replace)

    async def _open_form(self, interaction: discord.Interaction, line: str) -> bool:
        """Ask for what the button's command still needs (it must be the first answer)."""
        assert interaction.guild_id is not None
        community = await self.community(interaction.guild, interaction.guild_id)
        tz = ZoneInfo((await self.engine.community(community)).timezone)
        modal = form_for(line, tz=tz, now=self.engine.clock.now())
        if modal is None:
            return False
        await interaction.response.send_modal(modal)
        return True

    async def _form(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is None:
            return

        async def run() -> Reply:
            member = await self._member(interaction)
            community = await self.engine.community(member.community)
            try:
                found = read_form(cast(dict[str, object], interaction.data),
                                  tz=ZoneInfo(community.timezone), now=self.engine.clock.now())
            except ParseError as exc:
                return Reply.error(exc.message, usage=exc.usage)
            if found is None:
                return Reply.error("That form is not one Laurels knows (any more).")
            command, args = found
            return await execute(self.engine, command, member, args,
                                 str(interaction.channel_id) if interaction.channel_id else None)

        await self._answer(interaction, run(), private=True)

    async def _answer(self, interaction: discord.Interaction, work: Awaitable[Reply], *,
                      private: bool = False, replace: bool = False) -> None:
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=self.defer_after)
        if task not in done:
            try:
                if replace:
                    await interaction.response.defer()
                else:
                    await interaction.response.defer(ephemeral=True, thinking=True)
            except discord.HTTPException:
                await _outcome(task)  # the work still finishes; its answer has nowhere to go
                raise
        reply = await _outcome(task)
        out = render(reply.card)
        ephemeral = reply.ephemeral or (private and not reply.shared)
        view = out.view or discord.utils.MISSING
        if not interaction.response.is_done():
            if replace:
                await interaction.response.edit_message(content=out.content, embed=out.embed,
                                                        view=out.view)
            else:
                await interaction.response.send_message(content=out.content, embed=out.embed,
                                                        view=view, ephemeral=ephemeral)
            return
        if ephemeral or replace:
            await interaction.edit_original_response(content=out.content, embed=out.embed,
                                                     view=out.view)
            return
        await interaction.edit_original_response(content="Done: posted in the channel.")
        await interaction.followup.send(content=out.content or discord.utils.MISSING,
                                        embed=out.embed, view=view, ephemeral=False)

    async def _autocomplete(self, interaction: discord.Interaction) -> None:
        inv = invocation(cast(CommandData, interaction.data))
        choices: list[app_commands.Choice[str]] = []
        if inv is not None and inv.focused is not None and interaction.guild_id is not None:
            source = completion_source(inv.command, inv.focused)
            typed = str(inv.values.get(inv.focused) or "")
            community = await self.community(interaction.guild, interaction.guild_id)
            try:
                choices = await self._suggest(community, source, typed)
            except LaurelsError:
                choices = []
        await interaction.response.autocomplete(choices[:25])

    async def _suggest(self, community: CommunityRef, source: str | None, typed: str
                       ) -> list[app_commands.Choice[str]]:
        if source == "challenge":
            names = await self.engine.challenge_names(community, typed.strip(), limit=25)
            return [app_commands.Choice(name=f"{name} ({slug})"[:100], value=slug)
                    for slug, name in names]
        if source == "entry":
            return await self._suggest_entries(community, typed.strip().casefold())
        if source == "badge":
            word = typed.strip().casefold()
            return [app_commands.Choice(name=f"{d.badge} {d.name}"[:100], value=d.key)
                    for d in self.engine.catalog.defs.values()
                    if word in d.key.casefold() or word in d.name.casefold()][:25]
        return []

    async def _suggest_entries(self, community: CommunityRef, typed: str
                               ) -> list[app_commands.Choice[str]]:
        """Entries of the challenges taking entries or votes, by number or title."""
        return [app_commands.Choice(name=_cut(label), value=f"#{entry_id}")
                for entry_id, label in await self.engine.entry_names(community, typed)]

    # -- votes ----------------------------------------------------------------------------

    async def reaction(self, event: discord.RawReactionActionEvent, *, added: bool) -> None:
        """A reaction on a message: to the one reaction dispatch (bot/reactions.py)."""
        if event.guild_id is None:
            return
        me = self.client.user
        # Each event runs as its own task. For a known server nothing below yields before
        # the engine call, so an add and a quick remove reach the engine's per-reaction
        # lock in the order Discord sent them.
        community = await self.community(self.client.get_guild(event.guild_id),
                                         event.guild_id)
        user = event.member
        is_bot = (me is not None and event.user_id == me.id) or bool(user and user.bot)
        member = MemberRef(community, str(event.user_id),
                           user.display_name if user is not None else None, is_bot=is_bot,
                           avatar_url=avatar_url(user))
        reaction = Reaction(member, MessageRef(str(event.channel_id), str(event.message_id)),
                            str(event.emoji), added)
        await self.reactions.handle(reaction, _ReactionAnswer(self, event))

    async def _refuse(self, event: discord.RawReactionActionEvent, why: str) -> None:
        """Take the refused reaction off (where the bot may) and tell the voter why."""
        if self._may_manage_messages(event):
            partial = self.client.get_partial_messageable(event.channel_id,
                                                          guild_id=event.guild_id)
            try:
                await partial.get_partial_message(event.message_id).remove_reaction(
                    event.emoji, discord.Object(event.user_id))
            except discord.HTTPException as exc:
                log.info("could not remove a refused vote: %s", exc)
        card = refusal_card(why, f"<#{event.channel_id}>")
        try:
            dm = await self.client.create_dm(discord.Object(event.user_id))
            await dm.send(embed=render(card).embed)
        except discord.HTTPException as exc:
            log.info("could not tell %s why their vote was refused: %s", event.user_id, exc)

    def _may_manage_messages(self, event: discord.RawReactionActionEvent) -> bool:
        guild = self.client.get_guild(event.guild_id or 0)
        if guild is None:
            return True  # not cached: try, and accept a 403
        channel = guild.get_channel_or_thread(event.channel_id)
        if channel is None:
            return guild.me.guild_permissions.manage_messages
        return channel.permissions_for(guild.me).manage_messages


async def _outcome(task: asyncio.Future[Reply]) -> Reply:
    try:
        return await task
    except Exception:
        log.exception("Discord command failed")
        return Reply.error(_SORRY)


class _ReactionAnswer:
    """Replies about one reaction event on Discord."""

    def __init__(self, adapter: DiscordAdapter, event: discord.RawReactionActionEvent) -> None:
        self._adapter = adapter
        self._event = event

    async def refused(self, reaction: Reaction, why: str) -> None:
        await self._adapter._refuse(self._event, why)

    async def recorded(self, reaction: Reaction, result: VoteResult) -> None:
        return None


def _cut(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _welcome_channel(guild: discord.Guild | None) -> discord.TextChannel | None:
    """The system channel, else the first text channel the bot may post in."""
    if guild is None:
        return None
    me = guild.me
    candidates = [guild.system_channel, *sorted(guild.text_channels, key=lambda c: c.position)]
    for channel in candidates:
        if channel is None:
            continue
        if me is None or channel.permissions_for(me).send_messages:
            return channel
    return None
