"""Communities and members: created on first contact, always looked up by community, and
who among them moderates."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from engine.context import Tx
from engine.errors import Forbidden, NotFound
from engine.refs import CommunityRef, MemberRef
from storage.dialect import insert_ignore
from storage.sql import members as sql
from storage.tables import Community, Member

__all__ = [
    "MAX_NAME",
    "ensure_community",
    "ensure_member",
    "ensure_rows",
    "find_member",
    "get_member",
    "is_moderator",
    "known_rows",
    "lock_members",
    "moderator",
    "moderators_label",
    "moderators_only",
    "refuse_bots",
    "require_moderator",
    "taking_part",
]

MAX_NAME = 200  # a display name's column width


async def ensure_community(
    session: AsyncSession, ref: CommunityRef, now: object, *, timezone: str = "UTC",
    announce_channel: str | None = None, entries_channel: str | None = None,
) -> tuple[Community, bool]:
    """The community's row, inserted with these defaults if new; True when it was."""
    stmt = insert_ignore(session, Community, ["platform", "external_id"]).values(
        platform=ref.platform,
        external_id=ref.external_id,
        name=(ref.name or "")[:200],
        timezone=timezone,
        announce_channel=announce_channel,
        entries_channel=entries_channel,
        point_rules={},
        settings={},
        created_at=now,
    )
    inserted = (await session.execute(stmt)).rowcount == 1
    community = await session.scalar(
        select(Community).where(
            Community.platform == ref.platform, Community.external_id == ref.external_id
        )
    )
    assert community is not None
    return community, inserted


def _name(ref: MemberRef) -> str:
    return (ref.display_name or ref.user_id)[:MAX_NAME]


async def known_rows(tx: Tx, refs: Sequence[MemberRef]) -> dict[str, sql.MemberRow]:
    """The member rows of those of `refs` already recorded, by platform id (read only)."""
    cid = tx.community_id
    found: dict[str, sql.MemberRow] = {}
    unknown = []
    for ref in refs:
        row = tx.memo.get(("member", cid, ref.user_id))
        if row is None:
            unknown.append(ref.user_id)
        else:
            found[ref.user_id] = row
    if unknown:
        read = await sql.members_by_external_id(tx.session, cid, sorted(set(unknown)))
        for user_id, row in read.items():
            tx.memo[("member", cid, user_id)] = found[user_id] = row
    return found


async def ensure_rows(tx: Tx, refs: Sequence[MemberRef]) -> dict[str, sql.MemberRow]:
    """The member rows of `refs` by platform id: new members inserted, renamed members
    (and members the platform now says are bots, or shows with another picture) updated,
    in a fixed order (new ones by platform id, changed ones by row id), so concurrent
    transactions that create or touch members lock them in one order. Remembered for the
    rest of the transaction."""
    cid = tx.community_id
    wanted = {r.user_id: r for r in refs}
    found = await known_rows(tx, list(wanted.values()))
    new = sorted(u for u in wanted if u not in found)
    if new:
        await sql.insert_members(tx.session, [
            (cid, u, _name(wanted[u]), wanted[u].is_bot, wanted[u].avatar_url, tx.now)
            for u in new])
        found.update(await sql.members_by_external_id(tx.session, cid, new))
    changed = []
    for user_id, ref in wanted.items():
        member_id, _, name, is_bot, is_mod, avatar = found[user_id]
        renamed = bool(ref.display_name) and name != ref.display_name[:MAX_NAME]
        # No picture in the ref: the platform did not say here, not that there is none.
        pictured = ref.avatar_url is not None and ref.avatar_url != avatar
        if renamed or (ref.is_bot and not is_bot) or pictured:
            found[user_id] = (member_id, user_id, ref.display_name[:MAX_NAME]
                              if renamed and ref.display_name else name,
                              is_bot or ref.is_bot, is_mod,
                              ref.avatar_url if pictured else avatar)
            changed.append(found[user_id])
    if changed:
        await sql.update_members(tx.session, cid, [(m, name, bot, avatar)
                                                   for m, _, name, bot, _, avatar
                                                   in sorted(changed)])
        for m, *_ in changed:  # a copy the session loaded earlier is stale now
            loaded = tx.session.identity_map.get(identity_key(Member, m))
            if loaded is not None:
                await tx.session.refresh(loaded)
    for user_id in wanted:
        tx.memo[("member", cid, user_id)] = found[user_id]
    return {u: found[u] for u in wanted}


async def ensure_member(tx: Tx, ref: MemberRef) -> Member:
    """The member row for `ref`, created on first contact."""
    member_id = (await ensure_rows(tx, [ref]))[ref.user_id][0]
    member = await tx.session.get(Member, member_id)
    assert member is not None
    return member


def refuse_bots(member: Member) -> None:
    """Bots take no part: no entries, no goals, no votes, no points, no badges."""
    if member.is_bot:
        raise Forbidden(f"{member.display_name or member.external_id} is a bot: bots don't "
                        "take part in challenges or collect points and badges.")


async def taking_part(tx: Tx, ref: MemberRef) -> Member:
    """The member row of someone about to take part (created on first contact); bots
    are refused (`refuse_bots`)."""
    member = await ensure_member(tx, ref)
    refuse_bots(member)
    return member


async def find_member(tx: Tx, external_id: str) -> Member | None:
    return await tx.session.scalar(
        select(Member).where(
            Member.community_id == tx.community_id, Member.external_id == external_id
        )
    )


async def get_member(tx: Tx, external_id: str) -> Member:
    member = await find_member(tx, external_id)
    if member is None:
        raise NotFound("I don't know that member yet: they need to take part first.")
    return member


async def lock_members(tx: Tx, member_ids: Sequence[int]) -> None:
    """Serialise these members' check-then-write rules (the daily vote cap, the entry
    limit, the balance floor) with concurrent transactions, in id order (lockers cannot
    deadlock). A no-op on SQLite, which has one writer."""
    await sql.lock_members(tx.session, member_ids)


def is_moderator(ref: MemberRef, marked: bool, moderator_role: str | None) -> bool:
    """Moderators: platform admins (Discord's Manage Server, Slack's admins and owners),
    members marked as moderators, and holders of the community's moderator role or group
    (adapters report those as `ref.roles`)."""
    return (ref.is_admin or marked
            or (moderator_role is not None and moderator_role in ref.roles))


# Whom each platform lets manage a community, in its own words: they moderate Laurels
# there (the adapters report them as `MemberRef.is_admin`).
_ADMINS = {
    "discord": "server managers (Manage Server)",
    "slack": "workspace admins",
    "console": "members marked as moderators (@name is moderator)",
}


def moderators_label(platform: str, moderator_role: str | None) -> str:
    """Who the moderators are, in words a member can act on: "server managers (Manage
    Server) and @Moderators", "workspace admins and @mods"."""
    admins = _ADMINS.get(platform, "the community's admins")
    if not moderator_role:
        return admins
    named = moderator_role.strip()
    if not named.startswith(("@", "<")) and " " not in named and "," not in named:
        named = f"@{named}"  # a role or group named bare, as members see it mentioned
    return f"{admins} and {named}"


def moderators_only(platform: str, moderator_role: str | None) -> str:
    """What a member who may not run a moderator's command is told."""
    return f"Only moderators can do that: here, {moderators_label(platform, moderator_role)}."


def require_moderator(tx: Tx, member: Member | None, ref: MemberRef) -> None:
    """Forbidden, naming who the moderators are, unless `ref` moderates here (`member`:
    their row, None when they have none yet)."""
    marked = bool(member and member.is_moderator)
    if is_moderator(ref, marked, tx.community.moderator_role):
        return
    raise Forbidden(moderators_only(tx.community.platform, tx.community.moderator_role))


async def moderator(tx: Tx, actor: MemberRef) -> Member:
    """The acting member's row, if they moderate here (else Forbidden)."""
    member = await ensure_member(tx, actor)
    require_moderator(tx, member, actor)
    return member
