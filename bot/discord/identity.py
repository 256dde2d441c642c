"""Who a Discord user is in Laurels' terms: a name, a bot or not, a moderator or not.

Moderators are members with Manage Server (or Administrator), plus whoever the community's
moderator setting names. `/settings moderators` takes a role mention (`<@&123>`), a role id,
a role name (`Moderators`, `@Moderators`), or user mentions (`<@123>`); several may be
given, separated by commas or spaces. A member who matches gets that setting's text as a
role, which is what the engine compares.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import discord

from engine.refs import CommunityRef, MemberRef

__all__ = ["avatar_url", "is_admin", "matches_setting", "member_ref"]

_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ID = re.compile(r"\d{15,21}")


def is_admin(permissions: discord.Permissions | None) -> bool:
    return permissions is not None and (permissions.administrator or permissions.manage_guild)


def matches_setting(setting: str, user_id: int, roles: Iterable[discord.Role]) -> bool:
    """Whether the moderator setting names this user or one of their roles."""
    if str(user_id) in _USER_MENTION.findall(setting):
        return True
    role_list = list(roles)
    ids = {str(r.id) for r in role_list}
    if ids & set(_ROLE_MENTION.findall(setting)):
        return True
    rest = _USER_MENTION.sub(" ", _ROLE_MENTION.sub(" ", setting))
    names = {r.name.casefold() for r in role_list}
    whole = rest.strip().lstrip("@").strip().casefold()
    if whole and whole in names:  # one role name, spaces and all
        return True
    for part in re.split(r"[,\s]+", rest):
        word = part.strip().lstrip("@")
        if word and ((_ID.fullmatch(word) and word in ids) or word.casefold() in names):
            return True
    return False


def member_ref(community: CommunityRef, user: discord.abc.User, *,
               permissions: discord.Permissions | None = None,
               moderator_setting: str | None = None) -> MemberRef:
    """`user` as the engine sees them. `permissions`: what Discord says they may do here
    (an interaction carries them); `moderator_setting`: the community's setting."""
    roles = list(getattr(user, "roles", ()))
    matched = bool(moderator_setting) and matches_setting(str(moderator_setting), user.id,
                                                          roles)
    return MemberRef(community, str(user.id), user.display_name, is_bot=user.bot,
                     is_admin=is_admin(permissions),
                     roles=frozenset({str(moderator_setting)}) if matched else frozenset(),
                     avatar_url=avatar_url(user))


def avatar_url(user: discord.abc.User | None) -> str | None:
    """The picture Discord shows for `user` here: a server's own avatar for its member,
    else theirs, else Discord's default (CDN addresses)."""
    return None if user is None else str(user.display_avatar.url)
