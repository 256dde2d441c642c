"""Words for numbers: one place for plurals, so no message says "1 votes"."""

from __future__ import annotations

__all__ = ["plural"]

_IRREGULAR = {"entry": "entries", "person": "people", "challenge": "challenges"}


def plural(n: float, noun: str, many: str | None = None) -> str:
    """'1 vote', '2 votes', '0 entries', '1.5 km' stays a unit ('km' has no plural)."""
    count = f"{n:g}" if isinstance(n, float) else f"{n:,}"
    if n == 1:
        return f"{count} {noun}"
    return f"{count} {many or _IRREGULAR.get(noun) or noun + 's'}"
