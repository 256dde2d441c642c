"""The Slack adapter's core: from a Slack user and a command line or a reaction to the
engine, and back to Slack. The Bolt listeners (`interactions`, `events`) only unpack
payloads and call in here.

Tenancy: every payload names its workspace (team id), and that alone picks the
community, so one process serves any number of workspaces.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from bot.inflight import Inflight
from bot.reactions import Reaction, ReactionDispatch, refusal_card
from bot.slack.home import HomeData, home_view
from bot.slack.identity import Directory
from bot.slack.modals import (
    CREATE,
    ModalMeta,
    ModalRequest,
    answer_view,
    kind_view,
    modal_request,
    modal_view,
    read_submission,
)
from bot.slack.render import card_blocks, fallback_text
from bot.slack.replies import Origin, answer
from commands.parsing import OptionType
from commands.spec import Command, Reply
from commands.tree import TREE, execute, execute_text
from engine.errors import Forbidden, LaurelsError
from engine.messages import Card
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.views import ChallengeView
from engine.votes import VoteResult
from engine.wording import plural

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.platform import TeamClients
    from engine.service import Engine

__all__ = ["PLATFORM", "SlackAdapter"]

log = logging.getLogger(__name__)

PLATFORM = "slack"
_LIVE = ("scheduled", "open", "voting", "active")
_TRIGGER_GONE = ("expired_trigger_id", "invalid_trigger_id")


class SlackAdapter:
    """What the listeners share: the engine, who is who, and the work in flight."""

    def __init__(self, engine: Engine, clients: TeamClients, *,
                 directory: Directory | None = None, inflight: Inflight | None = None) -> None:
        self.engine = engine
        self.clients = clients
        self.directory = directory or Directory(engine)
        self.inflight = inflight or Inflight()
        self.reactions = ReactionDispatch(engine)
        self._known: set[str] = set()  # teams whose community exists (seen this process)
        self._homes: set[tuple[str, str]] = set()  # Home tabs published: kept up to date
        self._home_busy: set[tuple[str, str]] = set()
        self._home_dirty: set[tuple[str, str]] = set()

    # -- who ------------------------------------------------------------------------------

    async def community(self, team_id: str, *, channel_id: str | None = None,
                        name: str | None = None) -> CommunityRef:
        """The workspace's community, created on first contact. A command typed in a
        channel makes that channel where announcements go until a moderator picks one
        (`/settings channel`): without any, nothing could be announced at all."""
        ref = CommunityRef(PLATFORM, team_id)
        if team_id not in self._known:
            announce = channel_id if channel_id and channel_id[:1] in ("C", "G") else None
            await self.engine.ensure_community(CommunityRef(PLATFORM, team_id, name),
                                               announce_channel=announce)
            self._known.add(team_id)
        return ref

    async def member(self, client: AsyncWebClient, team_id: str, user_id: str, *,
                     channel_id: str | None = None, name: str | None = None,
                     team_name: str | None = None) -> MemberRef:
        community = await self.community(team_id, channel_id=channel_id, name=team_name)
        return await self.directory.member(client, community, user_id, name)

    # -- commands -------------------------------------------------------------------------

    async def run_line(self, client: AsyncWebClient, origin: Origin, line: str, *,
                       user_name: str | None = None, team_name: str | None = None) -> None:
        """Run a command line for the member at `origin` and answer there (or open the
        command's form). A failure on our side is told to the member, not swallowed."""
        member: MemberRef | None = None
        try:
            member = await self.member(client, origin.team_id, origin.user_id,
                                       channel_id=origin.channel_id, name=user_name,
                                       team_name=team_name)
            reply = await self._reply_or_modal(client, member, line, origin)
            on_home = reply is not None and await self._answer(client, member, origin, reply)
        except Exception:
            # The command's name only: its text may hold anything a member typed.
            log.exception("Slack command failed: %s", " ".join(line.split()[:2]))
            await self._apologise(client, member, origin)
            return
        if not on_home:  # else the Home was just published, the answer on top
            self.refresh_home(client, member)

    async def _answer(self, client: AsyncWebClient, member: MemberRef | None, origin: Origin,
                      reply: Reply) -> bool:
        """Answer where the member is: in the conversation, or, for a button of the Home
        tab or of an answer shown there, in a modal (never the Messages tab). True when
        the answer went on top of the Home instead (too late for a modal)."""
        if not (origin.home or origin.view_id):
            await answer(client, origin, reply)
            return False
        view = answer_view(reply)
        if origin.view_id:  # a button in an answer's modal: the modal shows the new one
            await client.views_update(view_id=origin.view_id, view=view)
            return False
        try:
            await client.views_open(trigger_id=origin.trigger_id, view=view)
        except SlackApiError as exc:
            if exc.response.get("error") not in _TRIGGER_GONE or member is None:
                raise
            # Slack gives 3 seconds from the click to open a modal: the Home says it.
            await self.publish_home(client, member, notice=reply.card)
            return True
        return False

    async def _reply_or_modal(self, client: AsyncWebClient, member: MemberRef, line: str,
                              origin: Origin) -> Reply | None:
        request = modal_request(line)
        if request is not None and origin.trigger_id:
            return await self.open_modal(client, member, request, origin)
        return await execute_text(self.engine, member, line, origin.channel_id,
                                  help_hint="/laurels help")

    async def open_modal(self, client: AsyncWebClient, member: MemberRef,
                         request: ModalRequest, origin: Origin) -> Reply | None:
        """Open the command's form; a Reply instead when there is nothing to fill in."""
        command = request.command
        if command.moderator:
            try:
                await self.engine.require_moderator(member)
            except Forbidden as exc:
                return Reply.error(exc.message)
        choices: dict[str, list[tuple[str, str]]] = {}
        initial = dict(request.prefill)
        meta = ModalMeta(command.path, origin.channel_id, origin.response_url,
                         home=origin.home or origin.view_id is not None)
        if command.path == "challenge submit":
            found = await self._open_for_entries(member, request.prefill.get("challenge"))
            if isinstance(found, Reply):
                return found
            choices["challenge"] = found
            initial["challenge"] = found[0][0] if len(found) == 1 else ""
        if command.path == CREATE:
            view = (await self.create_form(member.community, meta, initial["kind"])
                    if "kind" in initial else kind_view(meta))
        else:
            view = modal_view(command, meta, choices=choices, initial=initial)
        try:
            await client.views_open(trigger_id=origin.trigger_id, view=view)
        except SlackApiError as exc:
            if exc.response.get("error") not in _TRIGGER_GONE:
                raise
            # Slack gives 3 seconds from the click to open a form.
            return Reply.error("The form took too long to open; please try again, or type "
                               "the options.", usage=command.usage)
        return None

    async def _open_for_entries(self, member: MemberRef, wanted: str | None
                                ) -> list[tuple[str, str]] | Reply:
        """(slug, name) of the challenges `member` can submit to (or why there are none)."""
        if wanted:
            try:
                details = await self.engine.challenge_info(member, wanted)
            except LaurelsError as exc:
                return Reply.error(exc.message)
            c = details.challenge
            if details.can_submit:
                return [(c.slug, _menu_label(c))]
            return Reply.error(_why_not_submit(c, len(details.my_entries)))
        page = await self.engine.list_challenges(member.community, "open", page_size=50)
        found = [(c.slug, _menu_label(c)) for c in page.items if c.kind == "submission"]
        if not found:
            return Reply.text("No challenge is taking entries right now. See `/challenge "
                              "list`.", ephemeral=True)
        return found

    async def create_form(self, community: CommunityRef, meta: ModalMeta, kind: str
                          ) -> dict[str, object]:
        """Creating a challenge, second step: the form for `kind`, its channel preselected
        as the community's configured announcements channel."""
        configured = (await self.engine.community(community)).announce_channel
        default = configured if configured and configured[:1] in ("C", "G") else None
        meta = replace(meta, fixed={**meta.fixed, "kind": kind}, default_channel=default)
        return modal_view(TREE[CREATE], meta)

    async def submit_modal(self, client: AsyncWebClient, team_id: str, user_id: str,
                           command: Command, values: Mapping[str, Mapping[str, Mapping[
                               str, object]]], meta: ModalMeta) -> Reply:
        """Run a submitted form's command; raises FormErrors for values it refuses."""
        member = await self.member(client, team_id, user_id)
        community = await self.engine.community(member.community)
        args = read_submission(command, values, tz=ZoneInfo(community.timezone),
                               now=self.engine.clock.now(), fixed=meta.fixed)
        if meta.default_channel:
            # The preselected channel kept: the challenge follows the configured channels.
            for opt in command.options:
                if opt.type is OptionType.CHANNEL and args.get(opt.name) == meta.default_channel:
                    args[opt.name] = None
        reply = await execute(self.engine, command, member, args, meta.channel_id)
        if not meta.home:  # else the answer goes on the Home: see answer_on_home
            self.refresh_home(client, member)
        return reply

    async def answer_on_home(self, client: AsyncWebClient, team_id: str, user_id: str,
                             reply: Reply | None) -> None:
        """After a form opened from the Home tab: refresh the Home, with `reply` on top
        when it could not be shown in the form's place (Slack's 3 seconds had passed)."""
        member = await self.member(client, team_id, user_id)
        if reply is None:
            self.refresh_home(client, member)
        else:
            await self.publish_home(client, member, notice=reply.card)

    async def _apologise(self, client: AsyncWebClient, member: MemberRef | None,
                         origin: Origin) -> None:
        try:
            await self._answer(client, member, origin, Reply.error(
                "Something went wrong on our side; please try again in a moment."))
        except Exception:
            log.exception("could not tell the member about the failure either")

    # -- votes ----------------------------------------------------------------------------

    async def reaction(self, client: AsyncWebClient, team_id: str, user_id: str,
                       message: MessageRef, emoji: str, *, added: bool,
                       event_id: str | None = None) -> None:
        """A reaction on a message: to the one reaction dispatch (bot/reactions.py)."""
        member = await self.member(client, team_id, user_id)
        await self.reactions.handle(Reaction(member, message, emoji, added, event_id),
                                    _ReactionAnswer(self, client))

    async def tell_voter(self, client: AsyncWebClient, reaction: Reaction, why: str) -> None:
        card = refusal_card(why)
        try:
            await client.chat_postEphemeral(channel=reaction.message.channel_id,
                                            user=reaction.member.user_id,
                                            text=fallback_text(card), blocks=card_blocks(card))
        except SlackApiError as exc:
            log.warning("could not explain a refused vote: %s", exc.response.get("error"))

    # -- App Home -------------------------------------------------------------------------

    async def publish_home(self, client: AsyncWebClient, member: MemberRef, *,
                           notice: Card | None = None) -> None:
        """Publish `member`'s Home tab with their current figures (and `notice` on top:
        an answer that could not open as a modal)."""
        engine = self.engine
        profile = await engine.profile(member)
        badges = await engine.badges(member)
        page = await engine.list_challenges(member.community, page_size=20)
        community = await engine.community(member.community)
        data = HomeData(profile, badges, [c for c in page.items if c.phase in _LIVE],
                        moderator=await engine.is_moderator(member), now=engine.clock.now(),
                        tz=ZoneInfo(community.timezone), notice=notice)
        await client.views_publish(user_id=member.user_id, view=home_view(data))
        self._homes.add((member.community.external_id, member.user_id))

    def refresh_home(self, client: AsyncWebClient, member: MemberRef) -> None:
        """After a member's own action: republish their Home if they have one open.

        One refresh at a time per member; actions during it cause one more afterwards,
        so a burst of votes costs two views.publish calls, not one per vote."""
        key = (member.community.external_id, member.user_id)
        if key not in self._homes:
            return
        if key in self._home_busy:
            self._home_dirty.add(key)
            return
        self._home_busy.add(key)

        async def refresh() -> None:
            try:
                while True:
                    self._home_dirty.discard(key)
                    await self.publish_home(client, member)
                    if key not in self._home_dirty:
                        return
            finally:
                self._home_busy.discard(key)

        self.inflight.spawn(refresh())


class _ReactionAnswer:
    """Replies about one reaction on Slack: an ephemeral note, a fresh Home tab."""

    def __init__(self, adapter: SlackAdapter, client: AsyncWebClient) -> None:
        self._adapter = adapter
        self._client = client

    async def refused(self, reaction: Reaction, why: str) -> None:
        await self._adapter.tell_voter(self._client, reaction, why)

    async def recorded(self, reaction: Reaction, result: VoteResult) -> None:
        self._adapter.refresh_home(self._client, reaction.member)


def _menu_label(c: ChallengeView) -> str:
    """A challenge in a form's menu: Slack filters a menu by what members type, so by
    name or slug alike."""
    return c.name if c.name.lower() == c.slug else f"{c.name} ({c.slug})"


def _why_not_submit(c: ChallengeView, mine: int) -> str:
    if c.kind != "submission":
        return f"{c.name} is a goal challenge: log progress instead of submitting."
    if c.phase != "open":
        return f"{c.name} isn't taking entries: {c.status}."
    if mine >= c.max_entries:
        return (f"You have already submitted {mine} of {plural(c.max_entries, 'entry')} to "
                f"{c.name}.")
    return f"Submissions to {c.name} are closed."
