"""Member-supplied text made fit to store and show: one cleaner for every boundary.

Text reaches Laurels from platforms (JSON may carry any code point, including lone
surrogates) and from terminals. What is cleaned away:

* lone surrogates: they cannot be encoded as UTF-8, so neither database can store them;
* control characters (NUL, escapes...): PostgreSQL refuses NUL, terminals obey escapes;
* invisible format characters: bidi overrides and isolates (they reverse the text shown
  after them), zero-width spaces, soft hyphens, BOMs, Hangul fillers (blank names).

What stays: every visible character, combining marks, emoji sequences (the zero-width
joiner, variation selectors, the tag characters of subdivision flags), the zero-width
non-joiner some scripts need. Whitespace is normalised: in one-line text every run of it
is one space; multi-line text keeps its line breaks.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["clean_display_name", "clean_text"]

MAX_DISPLAY_NAME = 200  # the column's width

_ZWNJ, _ZWJ = "\u200c", "\u200d"
_BLACK_FLAG = "\U0001f3f4"  # a subdivision flag: 🏴 + tag letters + cancel tag
_TAGS = range(0xE0020, 0xE0080)
_TAG_LETTERS = range(0xE0020, 0xE007F)  # all but the cancel tag, which ends the flag
# Letters that render as nothing; used to make a name look blank.
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
_SURROGATES = re.compile("[\ud800-\udfff]")
_LINE_BREAKS = frozenset("\n\r\u2028\u2029\x85\x0b\x0c")


def _dropped(char: str, after: str) -> bool:
    """Whether `char` goes; `after` is the last character kept before it."""
    category = unicodedata.category(char)
    if category == "Cf":
        if char in (_ZWNJ, _ZWJ):
            return False
        # Tag characters only inside a flag sequence (elsewhere they smuggle hidden text).
        return not (ord(char) in _TAGS and (after == _BLACK_FLAG
                                         or ord(after or "\0") in _TAG_LETTERS))
    return category in ("Cs", "Cc") or char in _FILLERS


def clean_text(text: str, *, multiline: bool = False) -> str:
    """`text` without what cannot be stored or should not be shown (see the module), its
    whitespace normalised and trimmed. Idempotent."""
    if not (text.isascii() and text.isprintable()):  # the common case needs no scan
        text = _visible(text.replace("\r\n", "\n"))
    if not multiline:
        return " ".join(text.split())
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _visible(text: str) -> str:
    """Line breaks as "\\n", other whitespace as " ", the characters to drop dropped."""
    if _SURROGATES.search(text):
        # A pair of surrogates is one character spelt in UTF-16: join it; drop the rest.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")
    kept: list[str] = []
    last = ""
    for char in text:
        if char in _LINE_BREAKS:
            char = "\n"
        elif char.isspace():
            char = " "
        elif _dropped(char, last):
            continue
        kept.append(char)
        last = char
    return "".join(kept)


@functools.lru_cache(maxsize=4096)
def clean_display_name(name: str | None) -> str | None:
    """A platform display name as stored: cleaned, one line, at most the column's width;
    None when nothing is left. Cached: a burst of votes asks for the same names."""
    if not name:
        return None
    return clean_text(name)[:MAX_DISPLAY_NAME] or None
