"""Slack's text formats, both ways: command text in, mrkdwn out.

In: with `should_escape` on (see the manifest), Slack turns `@alice` into `<@U123|alice>`,
`#general` into `<#C123|general>`, links into `<https://x>` and `&<>` into entities. The
command grammar wants mentions as they are (it reads the ids) but links and characters
plain, so `command_text` undoes the rest.

Out: mrkdwn treats `<...>` as markup, so text from members ("<!channel>" as an entry
title) must be escaped or it would ping everyone. Mentions of one user or channel and
links stay live.
"""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["command_text", "escape", "mrkdwn", "slack_date", "truncate"]

# <https://x>, <https://x|label>, <mailto:a@b|a@b>: a link becomes its bare target.
_LINK_IN = re.compile(r"<((?:https?|mailto|ftp|tel):[^<>|\s]+)(?:\|[^<>]*)?>")
# What may stay live in our output: a user, a channel, a link.
_KEEP = re.compile(r"<(?:@[UW][A-Z0-9]+|#[CG][A-Z0-9]+|(?:https?|mailto):[^<>\s|]+)(?:\|[^<>]*)?>")
# Group and broadcast mentions (<!subteam^S1|@mods>, <!here>) would notify many people:
# they are shown by name, as plain text.
_BROADCAST = re.compile(r"<!(?:subteam\^[A-Z0-9]+\|)?([^<>|]+)(?:\|([^<>]*))?>")
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def command_text(text: str) -> str:
    """Slack-escaped command text as the command grammar reads it."""
    text = _LINK_IN.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape(text: str) -> str:
    """`text` safe for mrkdwn: `&<>` escaped except in user/channel mentions and links."""
    text = _BROADCAST.sub(_broadcast_name, text)
    out: list[str] = []
    last = 0
    for m in _KEEP.finditer(text):
        out.append(_escape_all(text[last:m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_escape_all(text[last:]))
    return "".join(out)


def _broadcast_name(m: re.Match[str]) -> str:
    name = m.group(2) or m.group(1)
    return name if name.startswith("@") else "@" + name


def _escape_all(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> str:
    """Neutral card text (Markdown-ish, `**bold**`) as escaped Slack mrkdwn (`*bold*`)."""
    return _BOLD.sub(r"*\1*", escape(text))


def slack_date(when: datetime, fallback: str) -> str:
    """A date every member sees in their own time zone (fallback for old clients)."""
    stamp = int(when.timestamp())
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{escape(fallback)}>"


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, marking a cut with an ellipsis (Block Kit rejects more)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
