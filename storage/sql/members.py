"""Plain statements on communities and members."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.run import (
    Source,
    bucket,
    dialect_of,
    fetch,
    fetch_rows,
    in_list,
    in_params,
    rows_sql,
)
from storage.tables import Community, Member

__all__ = ["MemberRow", "community_row", "insert_members", "lock_community", "lock_members",
           "member_id", "members_by_external_id", "update_members"]

# Every column, so any change to the row is seen (a column added later included).
_COMMUNITY_ROW = text(f"SELECT {', '.join(c.name for c in Community.__table__.columns)} "
                      "FROM communities WHERE id = :id")
_MEMBER_ID = text("SELECT id FROM members WHERE community_id = :community_id "
                  "AND external_id = :external_id")


async def community_row(session: Source, community_id: int) -> tuple[Any, ...] | None:
    """The community's columns as the driver returns them (compared, not interpreted)."""
    rows = await fetch(session, _COMMUNITY_ROW, {"id": community_id})
    return rows[0] if rows else None


async def member_id(session: Source, community_id: int, external_id: str) -> int | None:
    rows = await fetch(session, _MEMBER_ID, {"community_id": community_id,
                                             "external_id": external_id})
    return int(rows[0][0]) if rows else None


# (id, external id, display name, is bot, is moderator, avatar url): what most rules read
# of a member.
MemberRow = tuple[int, str, str | None, bool, bool, str | None]


@lru_cache(maxsize=16)
def _by_external_id(n: int) -> TextClause:
    return text("SELECT id, external_id, display_name, is_bot, is_moderator, avatar_url "
                f"FROM members WHERE community_id = :c AND external_id IN ({in_list('m', n)})")


async def members_by_external_id(session: Source, community_id: int,
                                 external_ids: Sequence[str]) -> dict[str, MemberRow]:
    """The members among `external_ids`, by external id."""
    if not external_ids:
        return {}
    rows = await fetch(session, _by_external_id(bucket(len(external_ids))),
                       {"c": community_id, **in_params("m", list(external_ids))})
    return {str(r[1]): (int(r[0]), str(r[1]), r[2], bool(r[3]), bool(r[4]), r[5])
            for r in rows}


_MEMBER_COLUMNS = ("community_id", "external_id", "display_name", "is_bot", "avatar_url",
                   "is_moderator", "showcase", "created_at")


@lru_cache(maxsize=256)
def _insert_members(rows: int) -> str:
    return (f"INSERT INTO members ({', '.join(_MEMBER_COLUMNS)}) VALUES "
            f"{rows_sql(len(_MEMBER_COLUMNS), rows)} "
            "ON CONFLICT (community_id, external_id) DO NOTHING")


_MEMBER_TYPES = {_MEMBER_COLUMNS.index(c): Member.__table__.c[c].type
                 for c in ("showcase", "created_at")}


async def insert_members(session: AsyncSession, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert members (community, external id, display name, is bot, avatar url, created
    at) in one statement, in the order given; one that exists already is left as it is."""
    await fetch_rows(session, _insert_members(len(rows)),
                     [(c, ext, name, bot, avatar, False, {}, at)
                      for c, ext, name, bot, avatar, at in rows],
                     _MEMBER_TYPES)


_UPDATE_MEMBER = text("UPDATE members SET display_name = :name, is_bot = :bot, "
                      "avatar_url = :avatar WHERE id = :id AND community_id = :c")


async def update_members(session: AsyncSession, community_id: int,
                         rows: Sequence[tuple[int, str | None, bool, str | None]]) -> None:
    """Set (id, display name, is bot, avatar url) of existing members, in the order given."""
    for member, name, bot, avatar in rows:
        await fetch(session, _UPDATE_MEMBER, {"id": member, "name": name, "bot": bot,
                                              "avatar": avatar, "c": community_id})


@lru_cache(maxsize=16)
def _lock_members(members: int) -> TextClause:
    return text(f"SELECT id FROM members WHERE id IN ({in_list('m', members)}) "
                "ORDER BY id FOR NO KEY UPDATE")


async def lock_members(session: AsyncSession, members: Sequence[int]) -> None:
    """Lock these members' rows in id order until the commit (PostgreSQL; SQLite has one
    writer and needs nothing). FOR NO KEY UPDATE: rows that merely reference a member
    (votes, ledger rows) are not blocked."""
    if not members or await dialect_of(session) == "sqlite":
        return
    await fetch(session, _lock_members(bucket(len(members))),
                in_params("m", sorted(members)))


# The namespace of Laurels' advisory locks (PostgreSQL takes two integers: this, and an id).
_COMMUNITY_LOCKS = 0x4C617572  # "Laur"
_LOCK_COMMUNITY = text("SELECT pg_advisory_xact_lock(:ns, CAST(:id AS integer))")


async def lock_community(session: AsyncSession, community_id: int) -> None:
    """Hold the community's write lock until the commit (PostgreSQL; SQLite has one
    writer and needs nothing): the engine's writes of one community run one at a time
    across processes, while votes are counted beside them."""
    if await dialect_of(session) == "sqlite":
        return
    await fetch(session, _LOCK_COMMUNITY, {"ns": _COMMUNITY_LOCKS, "id": community_id})
