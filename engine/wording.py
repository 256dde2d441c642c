"""Words for numbers: one place for plurals, so no message says "1 votes", and one for a
place on a board, so none says "top 100%"."""

from __future__ import annotations

__all__ = ["SHARE_FROM", "has_share", "noun_for", "number", "plural", "standing", "standing_rule",
           "top_share"]

_IRREGULAR = {"person": "people", "pt": "pts"}

# Boards smaller than this show the rank alone: "#2 of 3" says it all.
SHARE_FROM = 10


def number(n: float) -> str:
    """'1,234', '2.5', '0.33': thousands separated, at most two decimals, no trailing 0."""
    if float(n).is_integer():
        return f"{int(n):,}"
    return f"{n:,.2f}".rstrip("0").rstrip(".")


def plural(n: float, noun: str, many: str | None = None) -> str:
    """'1 vote', '2 votes', '0 entries', '-1 point', '1 person', '3 people'.

    `many` is the plural when the rule would get it wrong, or a unit's own spelling
    (`plural(2.5, "km", "km")`)."""
    return f"{number(n)} {noun_for(n, noun, many)}"


def noun_for(n: float, noun: str, many: str | None = None) -> str:
    """The noun alone, as `plural` words it (for a page that styles the number apart)."""
    return noun if abs(n) == 1 else many or _plural_of(noun)


def _plural_of(noun: str) -> str:
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        return noun[:-1] + "ies"  # entry, reply
    if noun.endswith(("s", "sh", "ch", "x")):
        return noun + "es"  # pass, match, box
    return noun + "s"


def top_share(rank: int, members: int) -> int:
    """The whole percent of the board ranked at or above `rank`, rounded up, from 1 to 99
    (the 1st of a million is in the top 1%; 99 of 100 in the top 99%, never "100%")."""
    members = max(members, rank, 1)
    return min(99, max(1, -(-100 * rank // members)))


def has_share(rank: int, members: int) -> bool:
    """Whether `standing` adds "top N%": on boards of `SHARE_FROM` members or more, for
    every place but the last (on a small board, or at the bottom, the rank says it all)."""
    return members >= SHARE_FROM and rank < members


def standing(rank: int, members: int) -> str:
    """A place on a board as people read it: '#4 of 250 (top 2%)', '#2 of 3', '#3 of 3'."""
    members = max(members, rank, 1)
    place = f"#{rank:,} of {members:,}"
    if not has_share(rank, members):
        return place
    return f"{place} (top {top_share(rank, members)}%)"


def standing_rule() -> str:
    """The rule of `standing`, for a card's footer."""
    return (f"top N%: among the best N% of the board, rounded up (on boards of {SHARE_FROM}"
            " or more)")
