"""Human phrasing of time spans for messages ("closes in 3 days 4 hours")."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from engine.wording import plural

__all__ = ["ago_or_in", "format_local", "span"]


def span(delta: timedelta) -> str:
    """'3 days 4 hours', '45 minutes', 'less than a minute' (two largest units)."""
    seconds = int(abs(delta).total_seconds())
    if seconds < 60:
        return "less than a minute"
    parts: list[str] = []
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(plural(n, name))
    return " ".join(parts[:2])


def ago_or_in(when: datetime, now: datetime) -> str:
    """'in 2 hours' for the future, '2 hours ago' for the past, 'just now' for this minute."""
    if abs(when - now) < timedelta(minutes=1):
        return "just now" if when <= now else "in less than a minute"
    return f"in {span(when - now)}" if when > now else f"{span(now - when)} ago"


def format_local(when: datetime, tz: ZoneInfo) -> str:
    local = when.astimezone(tz)
    return local.strftime("%a %d %b %Y %H:%M ") + (local.tzname() or "")
