"""Times and durations as members type them: "friday 18:00", "in 3 days", "2h", "2026-12-01".

Library or grammar
------------------
This is a small explicit grammar, not dateparser. dateparser (1.5, pinned with
RELATIVE_BASE, TIMEZONE, RETURN_AS_TIMEZONE_AWARE and PREFER_DATES_FROM='future') was
measured on the phrases below: it is fast enough (~1-2 ms a phrase after a ~175 ms
first call) and deterministic, but inconsistent with what a deadline needs:

* "friday 18:00" typed on a Friday morning gave the Friday a week later;
* "noon" typed in the afternoon gave today's noon (in the past), while "9am" typed at
  the same moment gave tomorrow's;
* "tomorrow" kept the current clock time rather than a fixed time of day;
* garbage such as "a" or "1" came back as a date (2027-01-06).

The accepted forms are few and listed in every error message, so a grammar is both
shorter to read and easier to trust than a pile of corrections around a library.

Accepted by `parse_time` (case-insensitive; "at", "on", "the" and commas are ignored):

* ISO: ``2026-12-01``, ``2026-12-01 18:00``, ``2026-12-01T18:00``, optionally with an
  offset ``Z``/``UTC``/``+02:00``/``-0500`` (an offset makes the time absolute);
* month names: ``dec 1``, ``1 december``, ``december 1st 2026``, each with an optional time;
* ``today 18:00``, ``tomorrow``, ``tomorrow 9:00``;
* weekdays: ``friday``, ``fri 6pm``, ``friday 18:00``: the next such day whose moment
  is strictly after `now` (so on a Friday after 18:00, "friday 18:00" is next week's);
* a time alone: ``18:00``, ``6pm``, ``6:30 pm``, ``noon``, ``midnight``: the next
  occurrence strictly after `now` (today, else tomorrow);
* ``in 3 days``, ``in 2h``, ``in an hour``, or a bare duration ``5d``: `now` + duration.

Meaning, documented once:

* A day without a time means 00:00 (the start of that day) in the community zone:
  "2026-12-01", "tomorrow" and "friday" all mean the midnight that begins that day.
* Wall-clock times are read in the community zone `tz` with zoneinfo. A time that does
  not exist (the DST gap, e.g. 02:30 when clocks jump from 02:00 to 03:00) is shifted
  forward by the gap (02:30 -> 03:30 new time), which is what zoneinfo's fold=0 gives.
  A time that happens twice (clocks go back) means the first of the two (fold=0).
* Durations are elapsed time: "in 1 day" across a DST change is exactly 24 hours.
* Everything is relative to the `now` passed in; the system clock is never read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.wording import plural

__all__ = [
    "ACCEPTED_DURATIONS",
    "ACCEPTED_TIMES",
    "MAX_AHEAD",
    "MAX_DURATION",
    "MIN_DURATION",
    "SpanTooShort",
    "TimeParseError",
    "humanize_delta",
    "parse_duration",
    "parse_time",
]

ACCEPTED_TIMES = ("2026-12-01 18:00, tomorrow 9:00, today 18:00, friday 18:00, fri 6pm, "
                  "dec 1, noon, in 3 days, 5d")
ACCEPTED_DURATIONS = "5d, 2h, 90m, 1w, 1d12h, 1h30m, 3 days, 45 minutes"
ISO_EXAMPLE = "2026-12-01T18:00"

MAX_DURATION = timedelta(days=366)
MIN_DURATION = timedelta(minutes=1)
# Beyond this a typed year is almost surely a typo; it also keeps datetime arithmetic far
# from year 9999, where converting between zones overflows.
MAX_AHEAD = timedelta(days=10 * 366)
# Long enough for any phrase above; bounds the work done on pasted garbage.
_MAX_INPUT = 120


class TimeParseError(ValueError):
    """A time or duration a member typed that we cannot use; `message` says why and how."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SpanTooShort(TimeParseError):
    """A span under `MIN_DURATION` (seconds, "0.5m"): where a moment is accepted as well,
    the message says how to give one."""


# --- durations -----------------------------------------------------------------------------

_UNIT_SECONDS: dict[str, int] = {}
for _names, _seconds in (
    (("w", "wk", "wks", "week", "weeks"), 7 * 86400),
    (("d", "day", "days"), 86400),
    (("h", "hr", "hrs", "hour", "hours"), 3600),
    (("m", "min", "mins", "minute", "minutes"), 60),
):
    for _name in _names:
        _UNIT_SECONDS[_name] = _seconds

# Units people try that we refuse on purpose, with the reason.
_REFUSED_UNITS = {
    **dict.fromkeys(("mo", "mon", "mos", "month", "months", "y", "yr", "yrs", "year", "years"),
                    "Months and years vary in length; use days or weeks (e.g. 30d, 8w)."),
}
_SECONDS = ("s", "sec", "secs", "second", "seconds")
# Said whenever a span is too short: the minimum, and how to write one.
_AT_LEAST = (f"at least {plural(MIN_DURATION // timedelta(minutes=1), 'minute')} "
             "(1m, 90m, 2h, 5d)")

# One "amount unit" part: "12h", "1.5 days", "an hour". "a"/"an" must be followed by a
# space so "ad" is not read as "1 day".
_PART = re.compile(r"\s*(?:(\d{1,12}(?:\.\d{1,6})?)\s*|(an?|one)\s+)([a-z]+)\.?\s*")


def _normalize(text: str) -> str:
    # Collapse any whitespace (phones insert non-breaking spaces) and drop list punctuation.
    text = text.replace(",", " ").lower()
    text = re.sub(r"\band\b", " ", text)
    return " ".join(text.split())


def _duration_parts(text: str) -> list[tuple[str, float, str]] | None:
    """(raw amount, amount, unit) parts if `text` is shaped like a duration, else None."""
    parts: list[tuple[str, float, str]] = []
    pos = 0
    while pos < len(text):
        m = _PART.match(text, pos)
        if m is None or m.end() == pos:
            return None
        raw = m.group(1) or m.group(2)
        amount = float(m.group(1)) if m.group(1) else 1.0
        parts.append((raw, amount, m.group(3)))
        pos = m.end()
    return parts or None


def parse_duration(text: str) -> timedelta:
    """A positive span of at most 366 days: "5d", "1h30m", "3 days", "2 weeks", "an hour"."""
    cleaned = _normalize(text)
    if not cleaned:
        raise TimeParseError(f"Give a duration, like {ACCEPTED_DURATIONS}.")
    if len(cleaned) > _MAX_INPUT:
        raise TimeParseError(f"That is too long to be a duration. Try {ACCEPTED_DURATIONS}.")
    if cleaned.startswith("-"):
        raise TimeParseError("A duration must be longer than zero.")
    parts = _duration_parts(cleaned.removeprefix("+").strip())
    if parts is None and re.fullmatch(r"\+?\d+(?:\.\d+)?", cleaned):
        n = cleaned.lstrip("+")
        raise TimeParseError(f"Add a unit to {n}: {n}d, {n}h or {n}m.")
    if parts is None:
        raise TimeParseError(
            f"I couldn't read '{text.strip()}' as a duration. Try {ACCEPTED_DURATIONS}.")
    total = 0.0
    seen: set[int] = set()
    for raw, amount, unit in parts:
        if unit in _REFUSED_UNITS:
            raise TimeParseError(_REFUSED_UNITS[unit])
        if unit in _SECONDS:
            raise SpanTooShort(f"Spans are counted in minutes, hours, days or weeks, {_AT_LEAST}.")
        size = _UNIT_SECONDS.get(unit)
        if size is None:
            raise TimeParseError(
                f"Unknown unit '{unit}' after {raw}. Use w, d, h or m, like {ACCEPTED_DURATIONS}.")
        if size in seen:
            # "1h 2h" is more likely a typo than a sum.
            raise TimeParseError(f"'{text.strip()}' gives the same unit twice.")
        seen.add(size)
        total += amount * size
    if not math.isfinite(total) or total > MAX_DURATION.total_seconds():
        raise TimeParseError(f"That is too long: at most {MAX_DURATION.days} days.")
    if total <= 0:
        raise TimeParseError("A duration must be longer than zero.")
    if total < MIN_DURATION.total_seconds():
        raise SpanTooShort(f"That is too short: a span is {_AT_LEAST}.")
    return timedelta(seconds=round(total))


# --- humanizing ----------------------------------------------------------------------------

_HUMAN_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))


def humanize_delta(delta: timedelta) -> str:
    """'3 days 4 hours', '2 hours', '45 minutes', 'less than a minute'.

    The sign is ignored (callers say "in ..." or "... ago"). At most two units, the
    second only when it is the next smaller one, so "3 days 0 hours 5 minutes" reads as
    "3 days": a deadline message wants the gist, not the exact count.
    """
    seconds = int(abs(delta).total_seconds())
    if seconds < 60:
        return "less than a minute"
    for i, (name, size) in enumerate(_HUMAN_UNITS):
        n, rest = divmod(seconds, size)
        if not n:
            continue
        out = plural(n, name)
        if i + 1 < len(_HUMAN_UNITS):
            sub_name, sub_size = _HUMAN_UNITS[i + 1]
            m = rest // sub_size
            if m:
                out += f" {plural(m, sub_name)}"
        return out
    raise AssertionError("unreachable: seconds >= 60 always has a minute")


# --- moments -------------------------------------------------------------------------------

_WEEKDAYS: dict[str, int] = {}
for _i, _names in enumerate((
    ("monday", "mon"),
    ("tuesday", "tue", "tues"),
    ("wednesday", "wed", "weds"),
    ("thursday", "thu", "thur", "thurs"),
    ("friday", "fri"),
    ("saturday", "sat"),
    ("sunday", "sun"),
)):
    for _name in _names:
        _WEEKDAYS[_name] = _i

_MONTHS: dict[str, int] = {}
for _i, _names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
    ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
    ("october", "oct"), ("november", "nov"), ("december", "dec"),
), start=1):
    for _name in _names:
        _MONTHS[_name] = _i

_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)?"

_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[t ]\s*(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d{1,6})?)?"
    r"\s*(?P<off>z|utc|gmt|[+-]\d{2}(?::?\d{2})?)?)?")
_TIME = re.compile(
    r"(?P<noon>noon|midday)|(?P<midnight>midnight)"
    r"|(?P<h12>\d{1,2})(?:[:.](?P<m12>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)"
    r"|(?P<h24>\d{1,2}):(?P<m24>\d{2})")
_MONTH_DAY = re.compile(
    rf"(?:(?P<mon>{_MONTH_RE})\.?\s*(?P<d>\d{{1,2}}){_ORD}"
    rf"|(?P<d2>\d{{1,2}}){_ORD}\s*(?:of\s+)?(?P<mon2>{_MONTH_RE})\.?)(?:\s+(?P<y>\d{{4}}))?")
_FILLER = re.compile(r"\b(?:at|on|the)\b")


@dataclass(frozen=True, slots=True)
class _Day:
    """A day phrase before it is pinned to a date: how to pick the date."""

    kind: str  # "date" (fixed), "today", "tomorrow", "weekday", "month_day"
    value: date | None = None
    weekday: int = 0
    month: int = 0
    day: int = 0


def _err_unreadable(text: str) -> TimeParseError:
    shown = text.strip()
    if len(shown) > 40:
        shown = shown[:40] + "…"
    return TimeParseError(f"I couldn't read '{shown}' as a time. Try {ACCEPTED_TIMES}.")


def _read_time(text: str) -> time | None:
    """'18:00', '6pm', '6:30 p.m.', 'noon', 'midnight' -> time; None if not a time."""
    m = _TIME.fullmatch(text)
    if m is None:
        return None
    if m["noon"]:
        return time(12, 0)
    if m["midnight"]:
        return time(0, 0)
    if m["h12"] is not None:
        hour, minute = int(m["h12"]), int(m["m12"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise TimeParseError(f"'{text}' is not a time: with am/pm the hour is 1 to 12.")
        hour = hour % 12 + (12 if m["ampm"].startswith("p") else 0)
        return time(hour, minute)
    hour, minute = int(m["h24"]), int(m["m24"])
    if hour > 23 or minute > 59:
        raise TimeParseError(f"'{text}' is not a time: use 00:00 to 23:59.")
    return time(hour, minute)


def _checked_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise TimeParseError(f"There is no such date: {year:04d}-{month:02d}-{day:02d}.") from None


def _read_day(text: str) -> _Day | None:
    """A day phrase, or None if `text` is not one."""
    if text == "today":
        return _Day("today")
    if text in ("tomorrow", "tmrw", "tmr", "tomorow"):
        return _Day("tomorrow")
    if text in _WEEKDAYS:
        return _Day("weekday", weekday=_WEEKDAYS[text])
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if m:
        return _Day("date", value=_checked_date(int(m[1]), int(m[2]), int(m[3])))
    m = _MONTH_DAY.fullmatch(text)
    if m:
        month = _MONTHS[m["mon"] or m["mon2"]]
        day = int(m["d"] or m["d2"])
        if m["y"]:
            return _Day("date", value=_checked_date(int(m["y"]), month, day))
        if day < 1 or day > 31 or (month == 2 and day > 29) or (month in (4, 6, 9, 11)
                                                                  and day > 30):
            raise TimeParseError(f"There is no such date: {text}.")
        return _Day("month_day", month=month, day=day)
    return None


def _split_day_time(text: str) -> tuple[_Day | None, time | None] | None:
    """Split "friday 18:00", "6pm fri", "tomorrow", "noon" into a day and a time."""
    day = _read_day(text)
    if day is not None:
        return day, None
    moment = _read_time(text)
    if moment is not None:
        return None, moment
    # Try every split point: the phrases are a handful of words, so this is cheap and
    # avoids a regex that must know both orders.
    words = text.split(" ")
    for cut in range(1, len(words)):
        left, right = " ".join(words[:cut]), " ".join(words[cut:])
        day, moment = _read_day(left), _read_time(right)
        if day is not None and moment is not None:
            return day, moment
        moment, day = _read_time(left), _read_day(right)
        if day is not None and moment is not None:
            return day, moment
    return None


def _wall_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time in `tz`.

    fold=0 everywhere: a repeated time (clocks go back) is its first occurrence, and a
    missing one (clocks jump forward) is read with the offset before the jump, which lands
    it after the jump by the gap's length (02:30 -> 03:30).
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _resolve(day: _Day | None, at: time | None, *, tz: ZoneInfo, now: datetime) -> datetime:
    today = now.astimezone(tz).date()
    clock = at if at is not None else time(0, 0)
    if day is None:
        # A time alone: its next occurrence.
        for offset in (0, 1, 2):
            when = _wall_to_utc(today + timedelta(days=offset), clock, tz)
            if when > now:
                return when
        raise AssertionError("a wall time recurs within two days")
    if day.kind == "date":
        assert day.value is not None
        return _wall_to_utc(day.value, clock, tz)
    if day.kind == "today":
        return _wall_to_utc(today, clock, tz)
    if day.kind == "tomorrow":
        return _wall_to_utc(today + timedelta(days=1), clock, tz)
    if day.kind == "weekday":
        # Today counts only if the moment is still ahead; 8 days covers "next week's".
        for offset in range(8):
            candidate = today + timedelta(days=offset)
            if candidate.weekday() == day.weekday:
                when = _wall_to_utc(candidate, clock, tz)
                if when > now:
                    return when
        raise AssertionError("a weekday recurs within a week")
    # month_day without a year: this year's if still ahead, else the next year that has
    # that date (Feb 29 may need a few years).
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, day.month, day.day)
        except ValueError:
            continue
        when = _wall_to_utc(candidate, clock, tz)
        if when > now:
            return when
    raise TimeParseError(f"There is no such date in the coming years: {day.month}/{day.day}.")


def _parse_iso(m: re.Match[str], tz: ZoneInfo) -> datetime:
    day = _checked_date(int(m["y"]), int(m["mo"]), int(m["d"]))
    if m["h"] is None:
        return _wall_to_utc(day, time(0, 0), tz)
    hour, minute, second = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise TimeParseError(f"'{m.group(0)}' is not a time: use 00:00 to 23:59.")
    at = time(hour, minute, second)
    off = m["off"]
    if off is None:
        return _wall_to_utc(day, at, tz)
    if off in ("z", "utc", "gmt"):
        return datetime.combine(day, at, tzinfo=UTC)
    sign = -1 if off[0] == "-" else 1
    digits = off[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise TimeParseError(f"'{off}' is not a UTC offset.")
    offset = sign * timedelta(hours=hours, minutes=minutes)
    return (datetime.combine(day, at) - offset).replace(tzinfo=UTC)


def _parse_moment(cleaned: str, *, tz: ZoneInfo, now: datetime) -> datetime:
    m = _ISO.fullmatch(cleaned)
    if m:
        return _parse_iso(m, tz)
    if cleaned.startswith("in "):
        return now + parse_duration(cleaned[3:])
    if _duration_parts(cleaned) is not None and not cleaned[-1].isdigit():
        # Shaped like a duration ("5d", "2 weeks"): parse_duration's errors are the useful
        # ones ("too long", "unknown unit"), so let them through.
        try:
            return now + parse_duration(cleaned)
        except TimeParseError:
            if _read_time(cleaned) is None and _read_day(cleaned) is None:
                raise
    split = _split_day_time(cleaned)
    if split is None:
        raise _err_unreadable(cleaned)
    day, at = split
    return _resolve(day, at, tz=tz, now=now)


def parse_time(text: str, *, tz: ZoneInfo, now: datetime, future_only: bool = True) -> datetime:
    """The aware UTC moment `text` names, read in the community zone `tz` relative to `now`.

    Raises TimeParseError for anything unreadable, for a moment more than ten years
    ahead, and (with `future_only`, the default) for a moment at or before `now`.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")  # a programming error, not input
    now = now.astimezone(UTC)
    cleaned = _normalize(_FILLER.sub(" ", text.lower())).rstrip(".")
    if not cleaned:
        raise TimeParseError(f"Give a time, like {ACCEPTED_TIMES}.")
    if len(cleaned) > _MAX_INPUT:
        raise TimeParseError(f"That is too long to be a time. Try {ACCEPTED_TIMES}.")
    try:
        when = _parse_moment(cleaned, tz=tz, now=now)
    except SpanTooShort as exc:
        raise SpanTooShort(f"{exc.message} Or give a date and time: {ISO_EXAMPLE} (ISO, "
                           f"{ISO_EXAMPLE}+02:00 with an offset), friday 18:00.") from None
    except OverflowError:
        # Dates near year 1 or 9999 cannot move between zones.
        raise TimeParseError("That date is out of range.") from None
    if when - now > MAX_AHEAD:
        raise TimeParseError("That is too far ahead: pick a time within ten years.")
    if future_only and when <= now:
        raise TimeParseError(f"That time is in the past (it was {humanize_delta(now - when)} ago).")
    return when
