"""Reads the JSON API needs beyond those the commands use: whether a member is known, the
achievement catalog as members may see it, and the entries of a challenge."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import func, select

from engine.challenges import find
from engine.context import Tx
from engine.errors import InvalidInput, NotFound
from engine.members import find_member
from engine.views import EntryView, Page
from storage.tables import Entry, Member

__all__ = ["MAX_ENTRIES_PAGE", "ListedEntry", "challenge_entries",
           "check_entries_page", "known_member"]

MAX_ENTRIES_PAGE = 100


@dataclass(frozen=True, slots=True)
class ListedEntry:
    entry: EntryView
    author_id: str  # the author's platform id
    author_name: str


async def known_member(tx: Tx, user_id: str) -> None:
    """NotFound unless the member has taken part here: the API cannot vouch for a platform
    id the way a mention on the platform does, so it reads and writes known members only."""
    if await find_member(tx, user_id) is None:
        raise NotFound(f"No member {user_id} has taken part in this community.")


def check_entries_page(page: int, page_size: int) -> None:
    if page < 1:
        raise InvalidInput("Pages start at 1.")
    if not 1 <= page_size <= MAX_ENTRIES_PAGE:
        raise InvalidInput(f"A page holds 1 to {MAX_ENTRIES_PAGE} entries.")


async def challenge_entries(tx: Tx, ref: str, page: int, page_size: int
                            ) -> Page[ListedEntry]:
    """The entries of the challenge `ref` names, in the order they were submitted,
    disqualified ones included (with their reason)."""
    c = await find(tx, ref)
    total = int(await tx.session.scalar(select(func.count()).select_from(Entry).where(
        Entry.challenge_id == c.id, Entry.community_id == tx.community_id)) or 0)
    rows = (await tx.session.execute(
        select(Entry, Member.external_id, Member.display_name)
        .join(Member, Member.id == Entry.member_id)
        .where(Entry.challenge_id == c.id, Entry.community_id == tx.community_id)
        .order_by(Entry.id).offset((page - 1) * page_size).limit(page_size))).all()
    items = [ListedEntry(EntryView.of(e), ext, name or ext) for e, ext, name in rows]
    return Page(items, page, max(1, math.ceil(total / page_size)), total)
