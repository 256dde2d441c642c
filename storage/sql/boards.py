"""Plain statements that read leaderboards: pages, ranks, the score histogram."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text

from storage.sql.run import Source, fetch

__all__ = ["SMALL_GROUP", "BoardRead", "board_groups", "board_page", "board_read",
           "board_scores", "count_scores_above", "score_groups", "score_stats",
           "standing_points", "top_members"]

_POINTS = text("SELECT points FROM standings WHERE community_id = :community_id "
               "AND period = :period AND member_id = :member_id")
_PAGE_FROM = text("SELECT s.points, m.external_id, m.display_name, m.avatar_url "
                  "FROM standings s "
                  "JOIN members m ON m.id = s.member_id "
                  "WHERE s.community_id = :community_id AND s.period = :period "
                  "AND s.points <= :first AND s.points >= :last "
                  "ORDER BY s.points DESC, s.member_id LIMIT :limit")


async def standing_points(session: Source, community_id: int, period: str,
                          member: int) -> int | None:
    rows = await fetch(session, _POINTS, {"community_id": community_id, "period": period,
                                          "member_id": member})
    return int(rows[0][0]) if rows else None


async def board_page(session: Source, community_id: int, period: str, first: int,
                     last: int, limit: int) -> list[tuple[Any, ...]]:
    """(points, external id, display name, avatar url) of the first `limit` members
    scoring from `first` down to `last`, best first, ties by member id: one range of the
    index, the members of each score in it sorted (keep ties small). The lower bound tells
    PostgreSQL's planner how small the range is (without it, it plans parallel workers)."""
    return await fetch(session, _PAGE_FROM, {"community_id": community_id,
                                             "period": period, "first": first,
                                             "last": last, "limit": limit})


_BOARD_SCORES = text("SELECT points FROM standings WHERE community_id = :community_id "
                     "AND period = :period")


async def board_scores(session: Source, community_id: int, period: str) -> list[int]:
    """Every score on a board, in no order (an in-process rank index loads it)."""
    rows = await fetch(session, _BOARD_SCORES, {"community_id": community_id,
                                                "period": period})
    return [r[0] for r in rows]  # integer columns: the drivers return ints


_HIST = "FROM standings_histogram WHERE community_id = :community_id AND period = :period"
_COUNT_ABOVE = text(f"SELECT coalesce(sum(members), 0) {_HIST} AND points > :points")
# The two middle scores: walking up from the lowest score, the first whose running count
# passes the lower middle position, and the next (`t`: the board's size and sum).
_MEDIAN_WALK = (f"SELECT points, cum FROM (SELECT points, sum(members) OVER (ORDER BY points) "
                f"AS cum {_HIST}) AS lo WHERE cum > ((SELECT n FROM t) - 1) / 2 "
                "ORDER BY points LIMIT 2")
_TOTALS = (f"t AS (SELECT coalesce(sum(members), 0) AS n, "
           f"coalesce(sum(CAST(points AS BIGINT) * members), 0) AS w {_HIST})")
_BOARD_STATS = text(f"WITH {_TOTALS} SELECT m.points, m.cum, (SELECT n FROM t), "
                    f"(SELECT w FROM t) FROM ({_MEDIAN_WALK}) AS m")
_SCORE_GROUPS = text(
    "SELECT points, members, cum FROM (SELECT points, members, "
    f"sum(members) OVER (ORDER BY points DESC) AS cum {_HIST}) AS h "
    "WHERE cum > :offset ORDER BY points DESC LIMIT :limit")


async def count_scores_above(session: Source, community_id: int, period: str,
                             points: int) -> int:
    """Members of the board with more than `points` (one row read per distinct score)."""
    rows = await fetch(session, _COUNT_ABOVE, {"community_id": community_id,
                                               "period": period, "points": points})
    return int(rows[0][0])


async def score_stats(session: Source, community_id: int, period: str
                      ) -> tuple[int, int, float]:
    """(members, sum of points, median) of a board from its histogram; zeros when empty."""
    rows = await fetch(session, _BOARD_STATS, {"community_id": community_id,
                                               "period": period})
    if not rows:
        return 0, 0, 0.0
    n, total = int(rows[0][2]), int(rows[0][3])
    low = int(rows[0][0])
    high = low if int(rows[0][1]) > n // 2 else int(rows[1][0])
    return n, total, (low + high) / 2


async def score_groups(session: Source, community_id: int, period: str, offset: int,
                       limit: int) -> list[tuple[int, int, int]]:
    """(points, members, members at or above) of the distinct scores from the one at
    0-based `offset` from the top, best first, at most `limit` of them."""
    rows = await fetch(session, _SCORE_GROUPS, {"community_id": community_id,
                                                "period": period, "offset": offset,
                                                "limit": limit})
    return [(int(p), int(m), int(c)) for p, m, c in rows]


SMALL_GROUP = 64  # members of one score that a page read may sort


@lru_cache(maxsize=512)
def _group_page(backwards: tuple[bool, ...]) -> TextClause:
    parts = " UNION ALL ".join(
        f"SELECT * FROM (SELECT points, member_id FROM standings WHERE community_id = "
        f":community_id AND period = :period AND points = :s_{i} ORDER BY member_id"
        f"{' DESC' if back else ''} LIMIT :l_{i} OFFSET :o_{i}) AS g{i}"
        for i, back in enumerate(backwards))
    return text("SELECT g.points, m.external_id, m.display_name, m.avatar_url "
                f"FROM ({parts}) AS g "
                "JOIN members m ON m.id = g.member_id ORDER BY g.points DESC, g.member_id")


async def board_groups(session: Source, community_id: int, period: str,
                       groups: Sequence[tuple[int, int, int, int]]) -> list[tuple[Any, ...]]:
    """(points, external id, display name, avatar url) of a page given as score groups:
    for each (points, members, skip, take), the members holding exactly that score in
    member id order, skipping `skip` and taking `take`. Each group is an index range read,
    walked from whichever end of the group is nearer: no sort of a group, however many
    members share its score, and at most half of it skipped."""
    if not groups:
        return []
    if groups[0][2] == 0 and all(members <= SMALL_GROUP for _, members, _, _ in groups):
        # Small groups from a group's start (the top of a board, usually): one range of
        # the index, its few tied members sorted, instead of one read per group.
        return await board_page(session, community_id, period, groups[0][0], groups[-1][0],
                                sum(take for _, _, _, take in groups))
    params: dict[str, Any] = {"community_id": community_id, "period": period}
    backwards = []
    for i, (points, members, skip, take) in enumerate(groups):
        from_end = members - skip - take
        backwards.append(from_end < skip)
        params.update({f"s_{i}": points, f"o_{i}": min(skip, from_end), f"l_{i}": take})
    return await fetch(session, _group_page(tuple(backwards)), params)


# Everything a board read needs from the histogram, in one statement (one round trip, one
# snapshot). Rows by kind: 0 (members, sum of points); 5 (the viewer's points); 1 the two
# middle scores (points, running count from the lowest); 2 (members above the viewer),
# counted from whichever side of the median the viewer is on; 3 or 4 the page's score
# groups (points, members, running count), walked from the top for the upper half of the
# board and from the bottom for the lower half (the other branch is not run).
_BOARD_READ = text(
    f"WITH {_TOTALS}, "
    "v AS (SELECT points FROM standings WHERE community_id = :community_id "
    "AND period = :period AND member_id = :member_id) "
    "SELECT 0 AS kind, n AS a, w AS b, 0 AS c FROM t "
    "UNION ALL SELECT 5, points, 0, 0 FROM v "
    f"UNION ALL SELECT * FROM (SELECT 1, points, cum, 0 FROM ({_MEDIAN_WALK}) AS m1) AS m "
    "UNION ALL SELECT 2, CASE WHEN (SELECT points FROM v) IS NULL THEN 0 "
    f"WHEN (SELECT points FROM v) < (SELECT min(points) FROM ({_MEDIAN_WALK}) AS m2) "
    f"THEN (SELECT n FROM t) - (SELECT coalesce(sum(members), 0) {_HIST} "
    "AND points <= (SELECT points FROM v)) "
    f"ELSE (SELECT coalesce(sum(members), 0) {_HIST} AND points > (SELECT points FROM v)) END, "
    "0, 0 "
    "UNION ALL SELECT * FROM (SELECT 3, points, members, cum FROM (SELECT points, members, "
    f"sum(members) OVER (ORDER BY points DESC) AS cum {_HIST}) AS d "
    "WHERE 2 * :offset < (SELECT n FROM t) AND cum > :offset "
    "ORDER BY points DESC LIMIT :limit) AS g3 "
    "UNION ALL SELECT * FROM (SELECT 4, points, members, cum FROM (SELECT points, members, "
    f"sum(members) OVER (ORDER BY points) AS cum {_HIST}) AS u "
    "WHERE 2 * :offset >= (SELECT n FROM t) AND cum > (SELECT n FROM t) - :offset - :limit "
    "ORDER BY points LIMIT :limit) AS g4")


@dataclass(frozen=True, slots=True)
class BoardRead:
    """What one leaderboard read needs, from the histogram in one statement."""

    members: int
    total: int
    median: float
    points: int | None              # the viewer's points (None: not on the board)
    above: int                      # members above the viewer
    groups: list[tuple[int, int, int]]  # (points, members, members at or above) from the top


async def board_read(session: Source, community_id: int, period: str,
                     member: int | None, offset: int, limit: int) -> BoardRead:
    """A board's size, total and median, a member's points and how many are above them,
    and the distinct scores holding positions [offset, offset + limit), in one statement
    that reads histogram rows only (and the member's own standing)."""
    rows = await fetch(session, _BOARD_READ, {
        "community_id": community_id, "period": period, "member_id": member,
        "offset": offset, "limit": limit})
    by_kind: dict[int, list[tuple[Any, ...]]] = {}
    for kind, *values in rows:
        by_kind.setdefault(int(kind), []).append(tuple(values))
    n, total = int(by_kind[0][0][0]), int(by_kind[0][0][1])
    median = 0.0
    if n:
        (low, cum), *rest = [(int(p), int(c)) for p, c, _ in by_kind[1]]
        high = low if cum > n // 2 else int(rest[0][0])
        median = (low + high) / 2
    viewer = by_kind.get(5)
    points = int(viewer[0][0]) if viewer and viewer[0][0] is not None else None
    above = int(by_kind[2][0][0]) if points is not None else 0
    groups = [(int(p), int(m), int(c)) for p, m, c in by_kind.get(3, [])]
    if 4 in by_kind:  # walked up from the bottom: running counts from the lowest
        groups = sorted(((int(p), int(m), n - int(c) + int(m)) for p, m, c in by_kind[4]),
                        reverse=True)
        groups = [g for g in groups if g[2] > offset]
    return BoardRead(n, total, median, points, above, groups)


_TOP_MEMBERS = text("SELECT member_id, points FROM standings WHERE community_id = :community_id "
                    "AND period = :period ORDER BY points DESC, member_id LIMIT :limit")


async def top_members(session: Source, community_id: int, period: str, limit: int
                      ) -> list[tuple[int, int]]:
    """(member, points) of the `limit` best standings of a board, best first, ties by
    member id (an index walk of `limit` rows)."""
    rows = await fetch(session, _TOP_MEMBERS, {"community_id": community_id,
                                               "period": period, "limit": limit})
    return [(int(m), int(p)) for m, p in rows]
