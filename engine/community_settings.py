"""A community's settings: channels (achievement posts too), time zone, moderators, point
rules, the schedule."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine import achievement_posts, schedule
from engine.context import Tx
from engine.errors import InvalidInput
from engine.members import ensure_member, moderator
from engine.refs import MemberRef
from engine.text import clean_text
from engine.views import CommunityView
from storage.tables import Community

__all__ = ["MAX_AWARD", "check_channel", "check_point_rule", "check_timezone",
           "community_view", "set_achievement_posts", "set_channel", "set_member_flags",
           "set_moderator_role", "set_point_rule", "set_recurring", "set_schedule",
           "set_timezone", "view_of"]

MAX_AWARD = 100_000
CHANNEL_KINDS = ("announcements", "entries", "achievements")


def community_view(tx: Tx) -> CommunityView:
    return view_of(tx.community, tx.points)


def view_of(c: Community, points: dict[str, int]) -> CommunityView:
    """The community's settings as commands and pages show them."""
    posts = achievement_posts.posts_to(c)
    return CommunityView(c.id, c.platform, c.external_id, c.name, c.timezone,
                         c.announce_channel, c.entries_channel, c.moderator_role, points,
                         posts.to, posts.channel)


def check_channel(which: str, channel_id: str) -> None:
    if which not in CHANNEL_KINDS:
        raise InvalidInput("Channel kind must be 'announcements', 'entries' or "
                           "'achievements'.")
    if not channel_id.strip():
        raise InvalidInput("Which channel?")
    if len(channel_id) > 64:
        raise InvalidInput("That is not a channel id I can use (64 characters at most).")


async def set_channel(tx: Tx, actor: MemberRef, which: str, channel_id: str) -> CommunityView:
    await moderator(tx, actor)
    if which == "announcements":
        tx.community.announce_channel = channel_id
    elif which == "achievements":
        achievement_posts.send_to(tx.community, achievement_posts.PostsTo("channel",
                                                                          channel_id))
    else:
        tx.community.entries_channel = channel_id
    return community_view(tx)


async def set_achievement_posts(tx: Tx, actor: MemberRef, place: str) -> CommunityView:
    """Achievement posts back to the announcements channel, or off ("announcements",
    "off", checked by `achievement_posts.check_place`); a channel of their own is set
    with `set_channel`."""
    await moderator(tx, actor)
    achievement_posts.send_to(tx.community, achievement_posts.PostsTo(place))
    return community_view(tx)


def check_timezone(zone: str) -> str:
    try:
        ZoneInfo(zone.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"'{zone}' is not a time zone I know. Use a name like Europe/Paris or "
            "America/New_York.") from exc
    return zone.strip()


async def set_timezone(tx: Tx, actor: MemberRef, zone: str) -> CommunityView:
    await moderator(tx, actor)
    tx.community.timezone = zone
    # The digest, period closes and recurring challenges follow local time.
    await schedule.sync_community(tx, schedule.load_templates())
    return community_view(tx)


async def set_moderator_role(tx: Tx, actor: MemberRef, role: str | None) -> CommunityView:
    if role is not None and len(role.strip()) > 200:
        raise InvalidInput("A role name has 200 characters at most.")
    await moderator(tx, actor)
    tx.community.moderator_role = clean_text(role or "") or None
    return community_view(tx)


def check_point_rule(rules: dict[str, int], rule: str, value: int) -> None:
    if rule not in rules:
        raise InvalidInput(
            f"Unknown point rule '{rule}'. Rules: {', '.join(sorted(rules))}.")
    if not 0 <= value <= MAX_AWARD:
        raise InvalidInput(f"A point rule must be between 0 and {MAX_AWARD:,}.")


async def set_point_rule(tx: Tx, actor: MemberRef, rule: str, value: int) -> CommunityView:
    await moderator(tx, actor)
    tx.community.point_rules = {**tx.community.point_rules, rule: int(value)}
    tx.points = {**tx.points, rule: int(value)}
    return community_view(tx)


async def set_schedule(tx: Tx, actor: MemberRef, name: str, value: object
                       ) -> schedule.ScheduleSettings:
    await moderator(tx, actor)
    return await _store_schedule(tx, name, value)


async def set_recurring(tx: Tx, actor: MemberRef, template: str, enabled: bool
                        ) -> schedule.ScheduleSettings:
    key = (template or "").strip().lower()
    await moderator(tx, actor)
    templates = schedule.load_templates()
    available = schedule.available_templates(tx, templates)
    if key not in available:
        listed = "; ".join(f"{k} ({what})" for k, what in
                           schedule.settings_of(tx, templates).templates)
        raise InvalidInput(f"There is no template '{key[:40]}'. Templates: {listed}.")
    keys = [k for k in tx.community.settings.get("recurring", []) if k != key]
    return await _store_schedule(tx, "recurring", [*keys, key] if enabled else keys)


async def _store_schedule(tx: Tx, name: str, value: object) -> schedule.ScheduleSettings:
    templates = schedule.load_templates()
    # A new dict, not an in-place change: the JSON column only notices assignment.
    tx.community.settings = {**tx.community.settings, name: value}
    # Events follow at once: reminders of live challenges are added or dropped, the
    # digest moves, a template's next run is added or removed.
    await schedule.sync_all(tx, templates)
    return schedule.settings_of(tx, templates)


async def set_member_flags(tx: Tx, member: MemberRef, *, moderator: bool | None = None,
                           bot: bool | None = None) -> None:
    """Platform-level facts about a member (console roles, a Slack admin list)."""
    row = await ensure_member(tx, member)
    if moderator is not None:
        row.is_moderator = moderator
    if bot is not None:
        row.is_bot = bot
