"""Moments in card text: a time kept as data until a platform renders it.

A card's `text` and field values may hold moment tokens where they word a time ("Voting
closes <moment>"). Each platform renders a token its own way, so every reader sees a time
that stays true after the card was written:

* Discord: `<t:UNIX:f> (<t:UNIX:R>)` for a date and time, `<t:UNIX:R>` for a relative
  time: the reader's own zone and a relative time the client keeps live;
* Slack: `<!date^UNIX^{date_short_pretty} {time}|fallback>`, the reader's own zone, with
  the time in the community's zone as the fallback;
* the console, notifications and anything that shows plain text: the wording the engine
  chose when it wrote the card (`Moment.text`), in the community's zone;
* the web: a `<time datetime>` element around that wording.

Titles and footers are shown as plain text everywhere (neither Discord's embed titles
nor Slack's headers render time markup), so cards word their moments in the text and
fields.

A token is `STX unix US style US text US local ETX` (U+0002, U+001F, U+0003): control
characters that `engine.text.clean_text` removes from everything members type, so no
member text can forge or break one. Cards written before tokens existed are plain text
and read as they always did.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from engine.timefmt import ago_or_in, format_local

__all__ = ["ABSOLUTE", "RELATIVE", "Moment", "at", "has_moments", "parts", "plain",
           "relative", "render"]

ABSOLUTE = "f"  # a date and time (Discord's letter for it)
RELATIVE = "R"  # "in 2 days", "3 hours ago"

_START, _SEP, _END = "\x02", "\x1f", "\x03"
_TOKEN = re.compile(f"{_START}(-?\\d+){_SEP}([fR]){_SEP}([^{_SEP}{_END}]*){_SEP}"
                    f"([^{_SEP}{_END}]*){_END}")


@dataclass(frozen=True, slots=True)
class Moment:
    """One moment in a card's text."""

    at: datetime  # aware, UTC, whole seconds
    style: str  # ABSOLUTE or RELATIVE
    text: str  # how plain text words it (as of when the card was written)
    local: str  # the date and time in the community's zone

    @property
    def unix(self) -> int:
        return int(self.at.timestamp())

    def token(self) -> str:
        return (f"{_START}{self.unix}{_SEP}{self.style}{_SEP}{_clean(self.text)}{_SEP}"
                f"{_clean(self.local)}{_END}")


def _clean(text: str) -> str:
    return text.replace(_START, "").replace(_SEP, "").replace(_END, "")


def _whole_seconds(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(microsecond=0)


def at(when: datetime, tz: ZoneInfo) -> str:
    """`when` as a date and time: 'Mon 05 Jan 2026 09:00 UTC' in plain text."""
    local = format_local(when, tz)
    return Moment(_whole_seconds(when), ABSOLUTE, local, local).token()


def relative(when: datetime, now: datetime, tz: ZoneInfo) -> str:
    """`when` relative to `now`: 'in 2 days', '3 hours ago' in plain text."""
    return Moment(_whole_seconds(when), RELATIVE, ago_or_in(when, now),
                  format_local(when, tz)).token()


def parts(text: str) -> list[str | Moment]:
    """`text` split into its plain runs and its moments, in order."""
    out: list[str | Moment] = []
    last = 0
    for m in _TOKEN.finditer(text):
        if m.start() > last:
            out.append(text[last:m.start()])
        out.append(Moment(datetime.fromtimestamp(int(m[1]), UTC), m[2], m[3], m[4]))
        last = m.end()
    if last < len(text):
        out.append(text[last:])
    return out


def render(text: str, moment: Callable[[Moment], str],
           other: Callable[[str], str] = lambda s: s) -> str:
    """`text` with each moment rendered by `moment` and the rest by `other`."""
    if _START not in text:
        return other(text)
    return "".join(moment(p) if isinstance(p, Moment) else other(p) for p in parts(text))


def plain(text: str) -> str:
    """`text` with each moment as its plain wording (the console, notifications)."""
    return render(text, lambda m: m.text)


def has_moments(text: str) -> bool:
    return _TOKEN.search(text) is not None
