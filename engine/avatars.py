"""Members' pictures: the address of a member's avatar as their platform gives it (Discord's
CDN, Slack's profile images), kept only if it is fit to put in a page's `<img src>`."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

__all__ = ["MAX_AVATAR_URL", "clean_avatar_url"]

MAX_AVATAR_URL = 500  # the column's width; platforms' avatar addresses are ~100 characters
# Never in an address a platform gives, and trouble in markup or CSS if one came.
_REFUSED = frozenset('"\'<>\\`')


@functools.lru_cache(maxsize=4096)
def clean_avatar_url(url: str | None) -> str | None:
    """`url` if it is an https address with a host, at most MAX_AVATAR_URL characters of
    printable ASCII without spaces, quotes or angle brackets, and no credentials; else
    None (the pages then show the member's initials). Cached: a burst of votes carries
    the same addresses."""
    if not url:
        return None
    url = url.strip()
    if (len(url) > MAX_AVATAR_URL or not url.isascii() or not url.isprintable()
            or " " in url or _REFUSED.intersection(url)):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a malformed port or IPv6 literal
        return None
    if parts.scheme.lower() != "https" or not host or "@" in parts.netloc:
        return None
    return url
