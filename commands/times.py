"""Deadlines typed as a moment ("friday 18:00") or a span after an earlier moment ("3d")."""

from __future__ import annotations

from datetime import datetime

from commands.timeparse import TimeParseError, parse_duration, parse_time
from engine.errors import InvalidInput

__all__ = ["moment"]


def moment(text: str | None, *, after: datetime, now: datetime, tz, what: str  # type: ignore[no-untyped-def]
           ) -> datetime | None:
    """`text` as a time; a bare duration counts from `after` (the previous milestone)."""
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    try:
        return after + parse_duration(text)
    except TimeParseError:
        pass
    try:
        return parse_time(text, tz=tz, now=now)
    except TimeParseError as exc:
        raise InvalidInput(f"{what}: {exc}") from exc
