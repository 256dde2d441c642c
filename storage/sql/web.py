"""Plain statements the web dashboard's read models run: communities by their public id,
points of several members at once, positions in a board, names, and what a week did."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import TextClause, text

from storage.sql.run import Source, bucket, fetch, in_list, in_params

__all__ = ["community_by_public_id", "find_members", "points_before_period",
           "standings_of_members", "tied_before"]

_BY_PUBLIC_ID = text("SELECT id, platform, external_id, name FROM communities "
                     "WHERE public_id = :public_id")
# Members of one score ahead of a member on a board: boards list a score's members in id
# order (storage/sql/boards.board_groups). An index range of (community, period, points).
_TIED_BEFORE = text("SELECT count(*) FROM standings WHERE community_id = :c "
                    "AND period = :period AND points = :points AND member_id < :member_id")
# Members whose display name or platform id starts with the text (case-insensitive), the
# best scorers first.
_FIND = text("SELECT m.id, m.external_id, m.display_name, s.points FROM members m "
             "LEFT JOIN standings s ON s.community_id = m.community_id AND s.period = :period "
             "AND s.member_id = m.id "
             "WHERE m.community_id = :c AND m.is_bot = :no AND (lower(m.display_name) LIKE :p "
             "ESCAPE '\\' OR lower(m.external_id) = :exact) "
             "ORDER BY coalesce(s.points, 0) DESC, m.id LIMIT :limit")
# A board's points less what a later period (this week) added: the board as it stood when
# that period began (a reversal counts where its original did, so the difference is
# exact). Members whose every point came in that period were not on it yet.
_BEFORE = text("SELECT a.points - coalesce(w.points, 0) FROM standings a "
               "LEFT JOIN standings w ON w.community_id = a.community_id "
               "AND w.member_id = a.member_id AND w.period = :since "
               "WHERE a.community_id = :c AND a.period = :board "
               "AND (w.points IS NULL OR w.points <> a.points)")


async def community_by_public_id(session: Source, public_id: str
                                 ) -> tuple[int, str, str, str] | None:
    """(id, platform, external id, name) of the community with this public id."""
    rows = await fetch(session, _BY_PUBLIC_ID, {"public_id": public_id})
    if not rows:
        return None
    cid, platform, external_id, name = rows[0]
    return int(cid), str(platform), str(external_id), str(name or "")


@lru_cache(maxsize=32)
def _standings_of(n: int) -> TextClause:
    return text("SELECT member_id, period, points FROM standings WHERE community_id = :c "
                f"AND period IN ({in_list('p', 2)}) AND member_id IN ({in_list('m', n)})")


async def standings_of_members(session: Source, community_id: int, periods: Sequence[str],
                               member_ids: Sequence[int]) -> dict[tuple[int, str], int]:
    """Points of these members on up to two boards, by (member, period)."""
    if not member_ids:
        return {}
    wanted = (list(periods) * 2)[:2] or ["all", "all"]  # the statement takes two
    rows = await fetch(session, _standings_of(bucket(len(member_ids))),
                       {"c": community_id, **in_params("p", wanted),
                        **in_params("m", list(member_ids))})
    return {(int(m), str(p)): int(points) for m, p, points in rows}


async def tied_before(session: Source, community_id: int, period: str, points: int,
                      member_id: int) -> int:
    rows = await fetch(session, _TIED_BEFORE, {"c": community_id, "period": period,
                                               "points": points, "member_id": member_id})
    return int(rows[0][0]) if rows else 0


async def find_members(session: Source, community_id: int, period: str, typed: str,
                       limit: int) -> list[tuple[int, str, str, int | None]]:
    """(member id, external id, name, points on `period` or None when not on it) of
    members whose name starts with `typed`, or whose platform id is `typed`."""
    lowered = typed.lower()
    escaped = lowered.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await fetch(session, _FIND, {"c": community_id, "period": period, "no": False,
                                        "p": f"{escaped}%", "exact": lowered,
                                        "limit": limit})
    return [(int(i), str(e), str(n or e), None if p is None else int(p)) for i, e, n, p in rows]


async def points_before_period(session: Source, community_id: int, board: str, since: str
                               ) -> list[int]:
    """The points of the members on `board` before the period `since` added its own
    (unsorted; members with nothing before it left out)."""
    return [int(r[0]) for r in await fetch(session, _BEFORE, {"c": community_id,
                                                              "board": board, "since": since})]
