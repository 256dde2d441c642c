"""Plain identity values the engine takes from adapters."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.avatars import clean_avatar_url
from engine.text import clean_display_name

__all__ = ["CommunityRef", "MemberRef", "MessageRef"]


@dataclass(frozen=True, slots=True)
class CommunityRef:
    """A Discord guild, a Slack workspace (team) or a console session. The platform and
    its id are the community; its name is a label (not compared)."""

    platform: str
    external_id: str
    name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Platform text enters here: no lone surrogates, controls or bidi overrides.
        object.__setattr__(self, "name", clean_display_name(self.name))


@dataclass(frozen=True, slots=True)
class MemberRef:
    """A member of a community, by the platform's user id."""

    community: CommunityRef
    user_id: str
    display_name: str | None = None
    is_bot: bool = False
    # What the platform says about the member's rights: server/workspace admin, and the
    # roles or user groups they hold (matched against the community's moderator role).
    is_admin: bool = False
    roles: frozenset[str] = frozenset()
    # The member's picture where the platform gives one (None: not known here, which
    # leaves a recorded one as it is); https only (`avatars.clean_avatar_url`).
    avatar_url: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Platform text enters here: every use of the name (a member row, a vote batch's
        # comparison, a reply) sees it clean and cut to the column's width.
        object.__setattr__(self, "display_name", clean_display_name(self.display_name))
        object.__setattr__(self, "avatar_url", clean_avatar_url(self.avatar_url))


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A posted message: what a reaction points at."""

    channel_id: str
    message_id: str
