"""The text cleaner: what cannot be stored or should not be shown goes, everything a
member means to write stays."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.text import MAX_DISPLAY_NAME, clean_display_name, clean_text

FAMILY = "👩\u200d👩\u200d👧"  # a ZWJ sequence
HEART = "❤\ufe0f"  # a variation selector
SCOTLAND = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # tag sequence
THUMBS = "👍🏽"  # a skin tone modifier


@pytest.mark.parametrize(("raw", "clean"), [
    ("Night garden", "Night garden"),
    ("  Night \t garden  ", "Night garden"),
    ("Night\u00a0garden", "Night garden"),  # a no-break space is a space
    ("a\ud800b", "ab"),  # lone surrogates cannot be stored as UTF-8
    ("\udfff\ud800", ""),
    ("\ud83d\ude00 pair", "😀 pair"),  # a surrogate pair is the character it spells
    ("\u202eevil\u202c Eve", "evil Eve"),  # a right-to-left override
    ("\u2066iso\u2069 \u2067late\u2069 \u2068first\u2069", "iso late first"),
    ("left\u200e\u200fright", "leftright"),
    ("zero\u200bwidth\ufeff", "zerowidth"),
    ("soft\u00adhyphen", "softhyphen"),
    ("\u3164\u115f", ""),  # Hangul fillers: a blank-looking name
    ("nul\x00 bell\x07 esc\x1b[31m", "nul bell esc[31m"),
    ("hidden\U000e0041\U000e0042 tags", "hidden tags"),  # tag letters outside a flag
    (FAMILY, FAMILY), (HEART, HEART), (SCOTLAND, SCOTLAND), (THUMBS, THUMBS),
    ("e\u0301 n\u0303", "e\u0301 n\u0303"),  # combining marks stay
    ("می\u200cخواهم", "می\u200cخواهم"),  # Persian needs the zero-width non-joiner
    ("𝕬𝖘𝖙𝖗𝖆𝖑 \U0001fae8", "𝕬𝖘𝖙𝖗𝖆𝖑 \U0001fae8"),  # astral, even unassigned here
    ("a\nb\r\nc\u2028d", "a b c d"),
])
def test_one_line_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_multi_line_text_keeps_its_lines() -> None:
    raw = "  Paint a dream:\r\n\n  - a place\u2028- a\ttime \ud800\n\n"
    assert clean_text(raw, multiline=True) == "Paint a dream:\n\n  - a place\n- a time"


def test_display_names_are_one_line_and_cut_to_the_column() -> None:
    assert clean_display_name("\u202eBob\u202c\n Builder") == "Bob Builder"
    assert clean_display_name("x" * 500) == "x" * MAX_DISPLAY_NAME
    assert clean_display_name("\u200b\u3164") is None
    assert clean_display_name(None) is None
    assert clean_display_name("") is None


INVISIBLE = {"Cs", "Cc"}
# Any code point, surrogates included, and often one of those the cleaner decides about.
SPECIAL = ("\ud800\udbff\udc00\udfff\u202a\u202e\u2066\u2069\u200b\u200c\u200d\u200e\ufeff"
           "\u00ad\u3164\x00\x1b\n\r\t\u2028\u00a0\ufe0f\u0301\U0001f3f4\U000e0067\U000e007f"
           "\U0001f469 ")
CHARS = st.one_of(st.characters(exclude_categories=()), st.sampled_from(SPECIAL))


@settings(max_examples=500, deadline=None)
@given(raw=st.text(CHARS, max_size=60), multiline=st.booleans())
def test_any_text_comes_out_storable_visible_and_stable(raw: str, multiline: bool) -> None:
    clean = clean_text(raw, multiline=multiline)
    clean.encode("utf-8")  # never raises: no lone surrogates
    for c in clean:
        category = unicodedata.category(c)
        assert category not in INVISIBLE or (multiline and c == "\n"), ascii(c)
        assert category != "Cf" or c in "\u200c\u200d" or 0xE0020 <= ord(c) <= 0xE007F, ascii(c)
    assert clean == clean.strip()
    assert clean_text(clean, multiline=multiline) == clean  # idempotent
    if not multiline:
        assert "\n" not in clean and "  " not in clean
