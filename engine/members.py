"""Communities and members: created on first contact, always looked up by community."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engine.context import Tx
from engine.errors import Forbidden, NotFound
from engine.refs import CommunityRef, MemberRef
from storage import fastsql
from storage.dialect import insert_ignore
from storage.tables import Community, Member

__all__ = ["ensure_community", "ensure_member", "find_member", "lock_member", "lock_members",
           "require_moderator"]


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


async def ensure_member(tx: Tx, ref: MemberRef) -> Member:
    """The member row for `ref`, created on first contact."""
    # Its own key: a batch of votes keeps plain rows under ("member", ...).
    key = ("orm-member", tx.community_id, ref.user_id)
    member = tx.memo.get(key) or await find_member(tx, ref.user_id)
    if member is None:
        await tx.session.execute(
            insert_ignore(tx.session, Member, ["community_id", "external_id"]).values(
                community_id=tx.community_id,
                external_id=ref.user_id,
                display_name=(ref.display_name or ref.user_id)[:200],
                is_bot=ref.is_bot,
                is_moderator=False,
                showcase={},
                created_at=tx.now,
            )
        )
        member = await find_member(tx, ref.user_id)
        assert member is not None
    elif ref.display_name and member.display_name != ref.display_name[:200]:
        member.display_name = ref.display_name[:200]
    if ref.is_bot and not member.is_bot:
        member.is_bot = True
    tx.memo[key] = member
    return member


async def find_member(tx: Tx, external_id: str) -> Member | None:
    return await tx.session.scalar(
        select(Member).where(
            Member.community_id == tx.community_id, Member.external_id == external_id
        )
    )


async def lock_member(tx: Tx, member: Member) -> None:
    """Serialise this member's check-then-write rules (entry limit, balance floor)."""
    await lock_members(tx, [member.id])


async def lock_members(tx: Tx, member_ids: list[int]) -> None:
    """`lock_member` for several members, in id order (concurrent lockers cannot
    deadlock). FOR NO KEY UPDATE on PostgreSQL: rows that merely reference a member
    (votes, ledger rows) are not blocked. SQLite has one writer and needs nothing."""
    if tx.session.bind is not None and tx.session.bind.dialect.name == "sqlite":
        return
    await fastsql.lock_members(tx.session, member_ids)


async def get_member(tx: Tx, external_id: str) -> Member:
    member = await find_member(tx, external_id)
    if member is None:
        raise NotFound("I don't know that member yet: they need to take part first.")
    return member


def require_moderator(tx: Tx, member: Member, ref: MemberRef) -> None:
    """Moderators: platform admins, members marked as such, or holders of the mod role."""
    role = tx.community.moderator_role
    if ref.is_admin or member.is_moderator or (role is not None and role in ref.roles):
        return
    raise Forbidden("Only moderators can do that.")
