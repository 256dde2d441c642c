"""Plain statements the member's own read models run (the web member page, achievement
progress): one member's rows, each an index range of (community, member, ...).

An ORM statement costs far more Python than SQLite spends on these few rows, and the
member page runs a dozen of them per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text

from storage.sql.run import Source, fetch, utc
from storage.types import UTCDateTime

__all__ = ["activity_times", "badge_rows", "balances", "entries_per_challenge",
           "ledger_lines", "participations", "stat_value", "top_stat_value"]

_STAT = text("SELECT value FROM member_stats "
             "WHERE community_id = :c AND member_id = :m AND stat = :stat")
_TOP_STAT = text("SELECT max(value) FROM member_stats "
                 "WHERE community_id = :c AND member_id = :m AND stat LIKE :pattern")
# Times of the member's ledger rows of some reasons, and of their progress logs, since a
# moment: the ledger's (community, member, reason, period_at) index; progress logs are few.
_ACTIVITY = text(
    "SELECT period_at FROM ledger WHERE community_id = :c AND member_id = :m "
    "AND reason IN (:r0, :r1) AND period_at >= :since "
    "UNION ALL SELECT logged_at FROM progress_logs WHERE community_id = :c "
    "AND member_id = :m AND logged_at >= :since",
).bindparams(bindparam("since", type_=UTCDateTime()))
_BALANCES = text("SELECT created_at, balance_after FROM ledger "
                 "WHERE community_id = :c AND member_id = :m ORDER BY id")
# The newest lines (older than :before), with the name of whoever awarded each.
_LINES = text(
    "SELECT l.id, l.delta, l.balance_after, l.reason, l.reference, l.note, a.display_name, "
    "l.awarded_by, l.created_at FROM ledger l LEFT JOIN members a ON a.id = l.awarded_by "
    "WHERE l.community_id = :c AND l.member_id = :m AND l.id < :before "
    "ORDER BY l.id DESC LIMIT :limit")
_BADGES = text("SELECT id, key, name, icon, reason, awarded_at FROM badges "
                "WHERE community_id = :c AND member_id = :m ORDER BY id")
_ENTRIES = text("SELECT challenge_id, count(*) FROM entries "
                "WHERE community_id = :c AND member_id = :m GROUP BY challenge_id")
_PARTICIPANTS = text("SELECT challenge_id, progress FROM participants "
                     "WHERE community_id = :c AND member_id = :m")

NO_LINE_ABOVE = 2 ** 62  # `before` when every line is wanted


async def stat_value(source: Source, community_id: int, member_id: int, stat: str
                     ) -> float | None:
    rows = await fetch(source, _STAT, {"c": community_id, "m": member_id, "stat": stat})
    return None if not rows or rows[0][0] is None else float(rows[0][0])


async def top_stat_value(source: Source, community_id: int, member_id: int, prefix: str
                         ) -> float | None:
    """The largest of the member's counters whose name starts with `prefix`."""
    rows = await fetch(source, _TOP_STAT, {"c": community_id, "m": member_id,
                                           "pattern": f"{prefix}%"})
    return None if not rows or rows[0][0] is None else float(rows[0][0])


async def activity_times(source: Source, community_id: int, member_id: int,
                         reasons: Sequence[str], since: datetime) -> list[datetime]:
    """When the member's ledger rows of `reasons` (two) count, and their progress logs."""
    r0, r1 = (list(reasons) * 2)[:2]
    rows = await fetch(source, _ACTIVITY, {"c": community_id, "m": member_id, "r0": r0,
                                           "r1": r1, "since": since})
    return [utc(at) for (at,) in rows]


async def balances(source: Source, community_id: int, member_id: int
                   ) -> list[tuple[datetime, int]]:
    """(created at, balance after) of every ledger row of the member, in ledger order."""
    rows = await fetch(source, _BALANCES, {"c": community_id, "m": member_id})
    return [(utc(at), int(balance)) for at, balance in rows]


async def ledger_lines(source: Source, community_id: int, member_id: int, limit: int,
                       before: int | None) -> list[tuple[Any, ...]]:
    """(id, delta, balance after, reason, reference, note, awarder's name or None,
    awarder's id or None, created at) of the member's newest ledger lines."""
    rows = await fetch(source, _LINES, {"c": community_id, "m": member_id, "limit": limit,
                                        "before": NO_LINE_ABOVE if before is None else before})
    return [(int(i), int(d), int(b), str(r), ref, note, name, by, utc(at))
            for i, d, b, r, ref, note, name, by, at in rows]


async def entries_per_challenge(source: Source, community_id: int, member_id: int
                                ) -> dict[int, int]:
    rows = await fetch(source, _ENTRIES, {"c": community_id, "m": member_id})
    return {int(c): int(n) for c, n in rows}


async def participations(source: Source, community_id: int, member_id: int
                         ) -> dict[int, float]:
    """The member's progress in each challenge they joined."""
    rows = await fetch(source, _PARTICIPANTS, {"c": community_id, "m": member_id})
    return {int(c): float(p or 0) for c, p in rows}


async def badge_rows(source: Source, community_id: int, member_id: int
                     ) -> list[tuple[int, str, str, str, str | None, datetime]]:
    """(id, key, name, icon, reason, awarded at) of the member's badges, oldest first."""
    rows = await fetch(source, _BADGES, {"c": community_id, "m": member_id})
    return [(int(i), str(k), str(n), str(icon), reason, utc(at))
            for i, k, n, icon, reason, at in rows]
