"""Who a Slack user is in Laurels' terms: a name, a bot or not, a moderator or not.

Moderators are workspace admins and owners, plus whoever the community's moderator
setting names: `/settings moderators` takes a user group (`@mods`, which Slack sends as
`<!subteam^S123|@mods>`), users (`<@U123>`), or several of them in quotes. A member who
matches gets that setting's text as a role, which is what the engine compares.

users.info and usergroups.users.list answers are cached for a few minutes: reactions
arrive for every message in the channels the bot is in, and Slack rate-limits both.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from slack_sdk.errors import SlackApiError

from bot.slack.payloads import SlackUser
from engine.refs import CommunityRef, MemberRef

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from engine.service import Engine

__all__ = ["Directory", "UserFacts", "moderator_ids"]

log = logging.getLogger(__name__)

_GROUP_MENTION = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|[^<>]*)?>")
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_BARE_ID = re.compile(r"(?<![\w^@])([SUW][A-Z0-9]{6,})\b")


@dataclass(frozen=True, slots=True)
class UserFacts:
    display_name: str
    is_bot: bool
    is_admin: bool
    avatar_url: str | None = None  # the profile picture users.info gives (image_72)


def moderator_ids(setting: str) -> tuple[frozenset[str], frozenset[str]]:
    """(user group ids, user ids) named by a moderator setting."""
    groups = set(_GROUP_MENTION.findall(setting))
    users = set(_USER_MENTION.findall(setting))
    rest = _USER_MENTION.sub(" ", _GROUP_MENTION.sub(" ", setting))
    for bare in _BARE_ID.findall(rest):
        (groups if bare.startswith("S") else users).add(bare)
    return frozenset(groups), frozenset(users)


class Directory:
    """Turns Slack user ids into `MemberRef`s, asking Slack as little as possible."""

    def __init__(self, engine: Engine, *, ttl: float = 300.0, group_ttl: float = 60.0,
                 failure_ttl: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.ttl = ttl
        self.group_ttl = group_ttl
        self.failure_ttl = failure_ttl
        self._now = monotonic
        self._users: dict[tuple[str, str], tuple[float, UserFacts]] = {}
        self._groups: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}

    async def member(self, client: AsyncWebClient, community: CommunityRef, user_id: str,
                     fallback_name: str | None = None) -> MemberRef:
        facts = await self.facts(client, community.external_id, user_id, fallback_name)
        roles = await self._roles(client, community, user_id)
        return MemberRef(community, user_id, facts.display_name, is_bot=facts.is_bot,
                         is_admin=facts.is_admin, roles=roles, avatar_url=facts.avatar_url)

    async def facts(self, client: AsyncWebClient, team_id: str, user_id: str,
                    fallback_name: str | None = None) -> UserFacts:
        key = (team_id, user_id)
        cached = self._users.get(key)
        if cached is not None and cached[0] > self._now():
            return cached[1]
        try:
            response = await client.users_info(user=user_id)
        except SlackApiError as exc:
            # A user from another organisation in a shared channel, or a missing scope:
            # they can still vote, but never moderate.
            log.warning("users.info for %s failed: %s", user_id, exc.response.get("error"))
            facts = UserFacts(fallback_name or user_id, False, False)
            self._users[key] = (self._now() + self.failure_ttl, facts)
            return facts
        facts = _facts_of(cast(SlackUser, response["user"]), fallback_name)
        self._users[key] = (self._now() + self.ttl, facts)
        return facts

    async def _roles(self, client: AsyncWebClient, community: CommunityRef, user_id: str
                     ) -> frozenset[str]:
        setting = (await self.engine.community(community)).moderator_role
        if not setting:
            return frozenset()
        groups, users = moderator_ids(setting)
        if user_id in users:
            return frozenset({setting})
        for group in sorted(groups):
            if user_id in await self._group_members(client, community.external_id, group):
                return frozenset({setting})
        return frozenset()

    async def _group_members(self, client: AsyncWebClient, team_id: str, group: str
                             ) -> frozenset[str]:
        key = (team_id, group)
        cached = self._groups.get(key)
        if cached is not None and cached[0] > self._now():
            return cached[1]
        try:
            response = await client.usergroups_users_list(usergroup=group)
            members = frozenset(cast(list[str], response.get("users") or []))
            expires = self._now() + self.group_ttl
        except SlackApiError as exc:
            log.warning("usergroups.users.list for %s failed: %s", group,
                        exc.response.get("error"))
            members, expires = frozenset(), self._now() + self.failure_ttl
        self._groups[key] = (expires, members)
        return members


def _facts_of(user: SlackUser, fallback_name: str | None) -> UserFacts:
    profile = user.get("profile") or {}
    name = (profile.get("display_name") or profile.get("real_name") or user.get("real_name")
            or user.get("name") or fallback_name or user["id"])
    admin = bool(user.get("is_admin") or user.get("is_owner"))
    return UserFacts(name, bool(user.get("is_bot")), admin, profile.get("image_72"))
