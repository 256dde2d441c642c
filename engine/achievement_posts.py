"""Achievement posts: what one transaction unlocks, announced together in one post, where
the community wants them (a channel of their own, the announcements channel, or nowhere).

A vote run, a tally or a threshold's reward can unlock several achievements at once;
`achievements._grant` notes each on the transaction (`Tx.unlocks`) and `announce`, a
`before_commit` hook (engine/service.py), writes them as one outbox row. Its dedupe key
is made of the unlocks it holds, so the post commits (or rolls back) with the unlocks
themselves and never repeats: each unlock happens once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine import outbox
from engine.achievements import AchievementDef
from engine.context import Tx, Unlock
from engine.errors import InvalidInput
from engine.messages import Card, Field
from engine.wording import plural
from storage.tables import Community, Member

__all__ = ["KIND", "MAX_LINES", "PLACES", "PostsTo", "announce", "card", "check_place",
           "dedupe_key", "posts_to", "send_to"]

KIND = "achievement"  # the outbox kind of every achievement post, one unlock or several
MAX_LINES = 10  # unlocks listed in one post; the rest are counted
PLACES = ("announcements", "off")  # besides a channel of their own
_SETTING = "achievement_posts"  # in the community's settings JSON


@dataclass(frozen=True, slots=True)
class PostsTo:
    """Where a community's achievement posts go: `to` is "announcements" (the default),
    "channel" (`channel`, a channel of their own) or "off"."""

    to: str = "announcements"
    channel: str | None = None


def posts_to(community: Community) -> PostsTo:
    """The community's choice (the announcements channel unless a moderator chose)."""
    raw: Any = (community.settings or {}).get(_SETTING)
    if isinstance(raw, dict):
        if raw.get("to") == "off":
            return PostsTo("off")
        if raw.get("to") == "channel" and raw.get("channel"):
            return PostsTo("channel", str(raw["channel"]))
    return PostsTo()


def check_place(place: str) -> str:
    """`place` ("announcements" or "off") checked, or InvalidInput saying what fits."""
    cleaned = (place or "").strip().lower()
    if cleaned not in PLACES:
        raise InvalidInput("Achievement posts go to the announcements channel, a channel "
                           "of their own (/settings channel achievements #channel), or "
                           "nowhere: say 'announcements' or 'off'.")
    return cleaned


def send_to(community: Community, place: PostsTo) -> None:
    """Store where achievement posts go (the default is stored as no choice at all)."""
    settings = {k: v for k, v in (community.settings or {}).items() if k != _SETTING}
    if place.to == "channel":
        settings[_SETTING] = {"to": "channel", "channel": place.channel}
    elif place.to == "off":
        settings[_SETTING] = {"to": "off"}
    # A new dict, not an in-place change: the JSON column only notices assignment.
    community.settings = settings


async def announce(tx: Tx) -> None:
    """Post what this transaction unlocked, in one post (a `before_commit` hook: after
    `achievements.settle`, whose thresholds unlock too)."""
    unlocks = list(tx.unlocks)  # a retried attempt starts with none (engine/unit.py)
    tx.unlocks.clear()
    if not unlocks:
        return
    place = posts_to(tx.community)
    if place.to == "off":
        return
    rows = (await tx.session.execute(
        select(Member.id, Member.external_id, Member.display_name).where(
            Member.community_id == tx.community_id,
            Member.id.in_(sorted({u.member_id for u in unlocks}))))).all()
    names = {m: (ext, name or ext) for m, ext, name in rows}
    await outbox.enqueue(tx, KIND, card(unlocks, tx.catalog.defs, names),
                         dedupe_key=dedupe_key(unlocks), channel_id=place.channel)


def dedupe_key(unlocks: Sequence[Unlock]) -> str:
    """One unlock keeps the key it always had; several, a digest of all of them."""
    if len(unlocks) == 1:
        u = unlocks[0]
        return f"ach:{u.key}:{u.member_id}:{u.times}"
    held = "\n".join(sorted(f"{u.key}:{u.member_id}:{u.times}" for u in unlocks))
    return f"ach:{len(unlocks)}:{hashlib.sha256(held.encode()).hexdigest()[:40]}"


def card(unlocks: Sequence[Unlock], defs: dict[str, AchievementDef],
         names: dict[int, tuple[str, str]]) -> Card:
    """The post: one unlock as it always read; several as one line each (the first
    `MAX_LINES`, then how many more). `names`: member id -> (platform id, display name)."""
    def who(member_id: int) -> tuple[str, str]:
        return names.get(member_id, (str(member_id), str(member_id)))

    if len(unlocks) == 1:
        u = unlocks[0]
        d = defs[u.key]
        mention, name = who(u.member_id)
        return Card(title=f"{d.badge} Achievement unlocked: {d.name}",
                    text=f"{name} earned **{d.name}**: {d.description}{_reward(d)}",
                    fields=(Field("Rarity", d.rarity.title()),), color="gold",
                    mention=mention)
    lines = []
    for u in unlocks[:MAX_LINES]:
        d = defs[u.key]
        rarity = "" if d.rarity == "common" else f" ({d.rarity})"
        lines.append(f"{d.badge} {who(u.member_id)[1]} earned **{d.name}**{rarity}: "
                     f"{d.description}{_reward(d)}")
    if len(unlocks) > MAX_LINES:
        lines.append(f"…and {plural(len(unlocks) - MAX_LINES, 'more achievement')}")
    members = {u.member_id for u in unlocks}
    return Card(title=f"🏅 {plural(len(unlocks), 'achievement')} unlocked",
                text="\n".join(lines), color="gold",
                mention=who(next(iter(members)))[0] if len(members) == 1 else None)


def _reward(d: AchievementDef) -> str:
    return f" (+{plural(d.points, 'point')})" if d.points else ""
