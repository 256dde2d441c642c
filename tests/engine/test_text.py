"""The text cleaner: what cannot be stored or should not be shown goes, everything a
member means to write stays."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from engine.text import MAX_DISPLAY_NAME, clean_display_name, clean_text
from storage.db import Database
from tests.conftest import member
from tests.engine.helpers import (
    goal_challenge,
    setup_community,
    stored_text,
    submission_challenge,
)

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


# -- through the engine, on either database ---------------------------------------------

DIRTY = "\x00\ud800\u202e\u200b"  # PostgreSQL refuses NUL, neither database stores "\ud800"


async def test_text_taken_by_the_engine_is_stored_clean(engine: Engine, guild: CommunityRef,
                                                        clock: FixedClock, db: Database) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    alice = MemberRef(guild, "alice", f"Alice{DIRTY}")
    c = await submission_challenge(engine, guild, clock, name=f"Dream{DIRTY}scapes")
    await engine.submit_entry(alice, c.slug, f"Night{DIRTY} garden")
    g = await goal_challenge(engine, guild, clock, name="Relay", team_mode="team")
    await engine.join(member(guild, "bob"), g.slug, f"Hares{DIRTY}")
    await engine.log_progress(member(guild, "bob"), g.slug, 5, f"a{DIRTY} note")
    await engine.award_points(mod, alice, 5, f"Great{DIRTY} work")
    await engine.award_badge(mod, alice, f"Helper{DIRTY}", f"Kind{DIRTY}")
    await engine.disqualify_entry(mod, 1, f"Off{DIRTY} topic")
    await engine.cancel_challenge(mod, "relay", f"Rain{DIRTY}")
    await engine.set_moderator_role(mod, f"@Mods{DIRTY}")

    stored = await stored_text(db)
    assert not [t for t in stored if set(DIRTY) & set(t)]
    for expected in ("Dreamscapes", "Night garden", "Hares", "a note", "Great work", "Helper",
                     "Kind", "Off topic", "Rain", "@Mods", "Alice"):
        assert expected in stored, expected
