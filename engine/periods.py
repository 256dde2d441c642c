"""Leaderboard periods: all time, the community-local ISO week and calendar month."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.errors import InvalidInput

__all__ = ["PERIODS", "period_bounds", "period_key", "period_keys", "period_label"]

PERIODS = ("all", "week", "month")


def period_key(period: str, when: datetime, tz: ZoneInfo) -> str:
    """The standings key for `period` at `when`: 'all', 'w2026-47' or 'm2026-11'."""
    local = when.astimezone(tz)
    if period == "all":
        return "all"
    if period == "week":
        year, week, _ = local.isocalendar()
        return f"w{year}-{week:02d}"
    if period == "month":
        return f"m{local.year}-{local.month:02d}"
    raise InvalidInput(f"Unknown period '{period}'. Use one of: week, month, all.")


def period_keys(when: datetime, tz: ZoneInfo) -> tuple[str, str, str]:
    return tuple(period_key(p, when, tz) for p in PERIODS)  # type: ignore[return-value]


def period_bounds(period: str, when: datetime, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """Start (inclusive) and end (exclusive) of the period holding `when`, in UTC."""
    local = when.astimezone(tz)
    if period == "all":
        return None
    if period == "week":
        start_day = local.date() - timedelta(days=local.weekday())
        end_day = start_day + timedelta(days=7)
    else:
        start_day = local.date().replace(day=1)
        end_day = (start_day + timedelta(days=32)).replace(day=1)
    start = datetime.combine(start_day, time(), tz)
    end = datetime.combine(end_day, time(), tz)
    return start, end


def period_label(period: str, when: datetime, tz: ZoneInfo) -> str:
    local = when.astimezone(tz)
    if period == "week":
        return f"week {local.isocalendar()[1]} of {local.isocalendar()[0]}"
    if period == "month":
        return local.strftime("%B %Y")
    return "all time"
