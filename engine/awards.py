"""What moderators give and take by hand: points with a reason, badges; and the badges a
member pins to their profile."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from engine import outbox
from engine.achievements import check
from engine.challenges import slugify
from engine.community_settings import MAX_AWARD
from engine.context import Tx
from engine.errors import Conflict, InvalidInput, NotFound
from engine.ledger import Posting, balance, post
from engine.members import ensure_member, lock_members, moderator, taking_part
from engine.messages import Card
from engine.refs import MemberRef
from engine.text import clean_text
from engine.views import BadgeView, LedgerLine
from engine.wording import plural
from storage.sql.member_page import badge_rows
from storage.tables import Badge, Member

__all__ = ["MAX_SHOWCASE", "award_badge", "award_points", "badges_of", "check_award",
           "check_badge", "showcase"]

MAX_SHOWCASE = 3


def check_award(amount: int, reason: str, key: str | None) -> str:
    """The award's reason, checked with its amount and idempotency key."""
    reason = clean_text(reason or "")
    if not reason:
        raise InvalidInput("Give a reason: it is recorded in the ledger.")
    if len(reason) > 300:
        raise InvalidInput("The reason is too long (300 characters at most).")
    if amount == 0 or abs(amount) > MAX_AWARD:
        raise InvalidInput(f"The amount must be between 1 and {MAX_AWARD:,}.")
    if key is not None and not 0 < len(key) <= 128:
        raise InvalidInput("An idempotency key has 1 to 128 characters.")
    return reason


async def award_points(tx: Tx, actor: MemberRef, target: MemberRef, amount: int, reason: str,
                       key: str | None) -> LedgerLine:
    """A moderator's award (negative `amount` deducts). `key` de-duplicates a retry."""
    mod = await moderator(tx, actor)
    member = await taking_part(tx, target)
    if amount < 0:
        await lock_members(tx, [member.id])  # concurrent deductions see each other
        have = await balance(tx, member.id)
        if have + amount < 0:
            raise InvalidInput(
                f"{member.display_name} has only {plural(have, 'point')}; you can deduct at most "
                f"{have}.")
    # Without a key every award is its own: two identical awards in the same instant (a
    # fixed clock, a quick moderator) both pay.
    posting_key = key or f"manual:{mod.id}:{member.id}:{uuid.uuid4().hex}"
    rows = await post(tx, [Posting(
        member.id, amount, "award" if amount > 0 else "deduction", posting_key,
        f"manual:{mod.id}", note=reason, awarded_by=mod.id)])
    if not rows:
        raise Conflict("That award was already recorded.")
    await check(tx, member.id, ["points"])
    return LedgerLine.of(rows[0], mod.display_name)


def check_badge(badge: str, reason: str) -> tuple[str, str]:
    reason, badge = clean_text(reason or ""), clean_text(badge or "")
    if not reason or not badge:
        raise InvalidInput("Give the badge and a reason.")
    if len(badge) > 100 or len(reason) > 300:
        raise InvalidInput("Badge names stop at 100 characters, reasons at 300.")
    return badge, reason


async def award_badge(tx: Tx, actor: MemberRef, target: MemberRef, badge: str, reason: str
                      ) -> BadgeView:
    """A moderator's badge: a catalog achievement's badge or a custom one by name."""
    mod = await moderator(tx, actor)
    member = await taking_part(tx, target)
    known = tx.catalog.defs.get(badge)
    row = Badge(community_id=tx.community_id, member_id=member.id,
                key=known.key if known else f"custom:{slugify(badge)}",
                name=known.name if known else badge,
                icon=known.badge if known else "🎖️", reason=reason,
                awarded_by=mod.id, awarded_at=tx.now)
    tx.session.add(row)
    await tx.session.flush()
    await outbox.enqueue(tx, "badge", Card(
        title=f"{row.icon} Badge awarded: {row.name}",
        text=f"{member.display_name} received **{row.name}** from "
             f"{mod.display_name}: {reason}", color="gold", mention=member.external_id),
        dedupe_key=f"badge:{row.id}")
    return BadgeView.of(row, False)


async def badges_of(tx: Tx, member: Member) -> list[BadgeView]:
    pinned = set(member.showcase.get("badges", []))
    return [BadgeView(i, key, name, icon, reason, at, i in pinned) for i, key, name, icon,
            reason, at in await badge_rows(tx.source, tx.community_id, member.id)]


async def showcase(tx: Tx, member: MemberRef, badge_ids: list[int]) -> list[BadgeView]:
    """Pin up to three of one's own badges to the profile."""
    if len(badge_ids) > MAX_SHOWCASE:
        raise InvalidInput(f"You can showcase up to {MAX_SHOWCASE} badges.")
    row = await ensure_member(tx, member)
    owned = {b.id for b in (await tx.session.scalars(select(Badge).where(
        Badge.community_id == tx.community_id, Badge.member_id == row.id))).all()}
    missing = [i for i in badge_ids if i not in owned]
    if missing:
        raise NotFound(f"You don't have badge #{missing[0]}. See /badges.")
    row.showcase = {"badges": list(dict.fromkeys(badge_ids))}
    return [b for b in await badges_of(tx, row) if b.showcased]
