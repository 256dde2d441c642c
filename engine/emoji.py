"""Canonical emoji: one spelling for 👍, 👍🏽, :+1:, thumbsup and <:name:id>."""

from __future__ import annotations

import re
from functools import lru_cache

import emoji as emoji_lib

__all__ = ["canonical_emoji", "variant_emoji"]

_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")
_DISCORD_CUSTOM = re.compile(r"^<a?:([A-Za-z0-9_~\-]+):\d+>$")
_SLACK_SKIN = re.compile(r"::skin-tone-\d$")
_SLACK_TONE = re.compile(r"::skin-tone-([2-6])$")
_TONES = re.compile("[\U0001f3fb-\U0001f3ff]")


# Both are pure, every vote asks, and a community reacts with a few dozen spellings:
# remembered, a vote skips the emoji library's tables (a twentieth of a vote batch).
@lru_cache(maxsize=4096)
def canonical_emoji(raw: str) -> str:
    """A unicode emoji without skin tone or variation selector, or a custom emoji's name.

    Platforms spell the same reaction differently (Slack sends `+1::skin-tone-3`,
    Discord sends `👍🏽` or `<:laurel:123>`); votes compare canonical forms.
    """
    text = raw.strip()
    custom = _DISCORD_CUSTOM.match(text)
    if custom:
        text = custom.group(1)
    text = _SLACK_SKIN.sub("", text.strip(":"))
    text = text.strip(":")
    if not text:
        return ""
    if emoji_lib.is_emoji(_SKIN_TONES.sub("", text)) or emoji_lib.emoji_count(text):
        return _SKIN_TONES.sub("", text)
    name = text.lower()
    for language in ("alias", "en"):
        char = emoji_lib.emojize(f":{name}:", language=language)
        if char != f":{name}:":
            return _SKIN_TONES.sub("", char)
    return name


@lru_cache(maxsize=4096)
def variant_emoji(raw: str) -> str:
    """The emoji with its skin tone: 👍 and 👍🏽 are two reactions a member can both hold,
    while 👍, :+1: and thumbsup are one spelled three ways. Slack's "+1::skin-tone-4" is
    👍🏽."""
    text = raw.strip()
    tone = "".join(_TONES.findall(text))
    slack = _SLACK_TONE.search(text)
    if slack:
        tone = chr(0x1F3FB + int(slack.group(1)) - 2)
    return canonical_emoji(text) + tone
