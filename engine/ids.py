"""Numbers typed as references ("#12", "12"): one parser, so every lookup by number
refuses the same way.

Ids are ASCII digits within the signed 64-bit range the database holds (SQLite INTEGER,
PostgreSQL BIGINT). Anything else written as a number, such as "²", "١٢" or a 30-digit
number, is refused with a clear InvalidInput rather than reaching `int()` or the
database, where it would raise.
"""

from __future__ import annotations

from engine.errors import InvalidInput

__all__ = ["INT64_MAX", "as_id", "id_ref", "int64", "parse_id"]

INT64_MAX = 2**63 - 1
_DIGITS = frozenset("0123456789")


def int64(digits: str) -> int | None:
    """The value of `digits` (ASCII digits only) if it fits in a signed 64-bit integer.

    Checks the length before converting: `int()` refuses strings of thousands of digits
    with a ValueError, and a value past 64 bits overflows the database driver.
    """
    if not digits or not _DIGITS.issuperset(digits):
        return None
    significant = digits.lstrip("0")
    if len(significant) > len(str(INT64_MAX)):
        return None
    value = int(digits) if significant else 0
    return value if value <= INT64_MAX else None


def _body(text: str) -> str:
    return text.strip().lstrip("#").strip()


def as_id(text: str) -> int | None:
    """The id `text` names ("12", "#12"), or None when it names none (never raises)."""
    return int64(_body(text))


def id_ref(text: str, what: str) -> int | None:
    """The id in `text` when it is written as a number, None when it is a name.

    "Written as a number" is any digits, of any script ("#²", "١٢"): those that are not
    an id we can hold raise InvalidInput, worded for `what` ("challenge", "entry").
    """
    body = _body(text)
    if not body.isdigit():
        return None
    return parse_id(text, what)


def parse_id(text: str, what: str) -> int:
    """The id in `text` ("12", "#12"); InvalidInput for anything else."""
    body = _body(text)
    value = int64(body)
    if value is not None:
        return value
    shown = _shown(text.strip())
    a_what = f"{'an' if what[:1] in 'aeiou' else 'a'} {what}"
    if body and _DIGITS.issuperset(body):
        raise InvalidInput(f"{shown} is too large to be {a_what} number.")
    if body.isdigit():
        raise InvalidInput(f"Write the {what} number with the digits 0-9, like #12 "
                           f"(got '{shown}').")
    raise InvalidInput(f"'{shown}' is not {a_what} number: give it like #12.")


def _shown(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
