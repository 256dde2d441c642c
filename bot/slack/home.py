"""The App Home tab: a member's dashboard, and the moderators' tools.

Buttons here carry command lines like every other Laurels button, so "Submit" opens the
same form as `/challenge submit <challenge>` and "Advance" runs `/challenge advance`.
Their answers open as modals over the Home (bot/slack/adapter.py), and the forms they open
turn into their answer (bot/slack/interactions.py), never in the Messages tab; when Slack's
3 seconds have passed, the answer heads the Home instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.slack.render import Block, button, card_blocks, section
from bot.slack.text import escape, slack_date, truncate
from commands.render import PHASE_ICONS, REASONS
from engine.messages import Button, Card
from engine.timefmt import format_local
from engine.views import BadgeView, ChallengeView, LedgerLine, Profile
from engine.wording import has_share, plural, standing_rule

__all__ = ["HomeData", "home_view"]

MAX_CHALLENGES = 8  # a view holds 100 blocks; the moderator list repeats these


@dataclass(frozen=True, slots=True)
class HomeData:
    profile: Profile
    badges: list[BadgeView]
    live: list[ChallengeView]  # scheduled, open, voting, active: newest first
    moderator: bool
    now: datetime
    tz: ZoneInfo
    notice: Card | None = None  # an answer shown on top


def home_view(data: HomeData) -> dict[str, object]:
    ids = itertools.count()
    blocks: list[Block] = []
    if data.notice is not None:
        blocks += [*card_blocks(replace(data.notice, buttons=())), {"type": "divider"}]
    blocks += [
        {"type": "header", "text": {"type": "plain_text", "text": "🏅 Your Laurels",
                                    "emoji": True}},
        {"type": "section", "fields": _figures(data)},
    ]
    rank = data.profile.rank
    if rank is not None and has_share(rank.rank, rank.members):
        blocks.append(_context(standing_rule()))
    if data.profile.showcase:
        shown = " ".join(f"{b.icon} {escape(b.name)}" for b in data.profile.showcase)
        blocks.append(_context(f"Showcase: {shown}"))
    blocks.append({"type": "actions", "elements": [
        button(Button("Leaderboard", "/leaderboard"), next(ids)),
        button(Button("My profile", "/profile"), next(ids)),
        button(Button("Achievements", "/achievements"), next(ids)),
        button(Button("Points history", "/points history"), next(ids)),
    ]})
    blocks += [{"type": "divider"}, _header("Challenges")]
    blocks += _challenges(data, ids)
    if data.profile.recent:
        blocks += [_header("Recent points"),
                   _context("\n".join(_ledger(line) for line in data.profile.recent))]
    if data.moderator:
        blocks += [{"type": "divider"}, *_moderator(data, ids)]
    updated = slack_date(data.now, format_local(data.now, data.tz))
    blocks.append(_context(f"Updated {updated}"))
    return {"type": "home", "blocks": blocks[:100]}


def _figures(data: HomeData) -> list[Block]:
    p = data.profile
    rank = p.rank.standing if p.rank else "Not ranked yet"
    icons = " ".join(b.icon for b in data.badges[-8:])
    badges = f"{p.badges} {icons}".strip() if p.badges else "None yet"
    return [_field("Points", f"{p.points:,}"), _field("Rank", rank),
            _field("Streak", f"{plural(p.streak, 'day')} (best {p.longest_streak})"),
            _field("Badges", badges)]


def _challenges(data: HomeData, ids: Iterator[int]) -> list[Block]:
    if not data.live:
        return [section("No challenges are running right now.")]
    mine = {c.id: status for c, status in data.profile.active}
    blocks: list[Block] = []
    for c in data.live[:MAX_CHALLENGES]:
        lines = [f"{PHASE_ICONS.get(c.phase, '•')} *{escape(c.name)}* · {c.phase}",
                 _deadline(c, data)]
        if c.id in mine:
            lines.append(f"You: {escape(mine[c.id])}")
        block = section(truncate("\n".join(lines), 3000))
        block["accessory"] = button(_primary_action(c, c.id in mine), next(ids))
        blocks.append(block)
    return blocks


def _primary_action(c: ChallengeView, joined: bool) -> Button:
    if c.kind == "submission" and c.phase == "open":
        return Button("Submit", f"/challenge submit {c.slug}", "primary")
    if c.kind == "goal" and c.phase in ("scheduled", "active") and not joined:
        return Button("Join", f"/challenge join {c.slug}", "primary")
    return Button("Details", f"/challenge info {c.slug}")


def _deadline(c: ChallengeView, data: HomeData) -> str:
    when = {"scheduled": c.starts_at, "open": c.submissions_close_at,
            "voting": c.voting_close_at, "active": c.ends_at}.get(c.phase)
    if when is None:
        return escape(c.status)
    return f"{escape(c.status)} ({slack_date(when, format_local(when, data.tz))})"


def _moderator(data: HomeData, ids: Iterator[int]) -> list[Block]:
    blocks: list[Block] = [
        _header("Moderator tools"),
        {"type": "actions", "elements": [
            button(Button("Create a challenge", "/challenge create", "primary"), next(ids)),
            button(Button("Settings", "/settings show"), next(ids)),
        ]},
    ]
    for c in data.live[:MAX_CHALLENGES]:
        block = section(f"*{escape(c.name)}* (`{c.slug}`): {c.phase}")
        confirm = {"title": {"type": "plain_text", "text": "Advance the challenge?"},
                   "text": {"type": "mrkdwn",
                            "text": truncate(f"*{escape(c.name)}* leaves the {c.phase} "
                                             "phase now, before its deadline.", 300)},
                   "confirm": {"type": "plain_text", "text": "Advance"},
                   "deny": {"type": "plain_text", "text": "Cancel"}}
        block["accessory"] = button(Button("Advance", f"/challenge advance {c.slug}", "danger"),
                                    next(ids), confirm=confirm)
        blocks.append(block)
    return blocks


def _ledger(line: LedgerLine) -> str:
    sign = "+" if line.delta > 0 else ""
    reason = REASONS.get(line.reason, line.reason)
    return f"{sign}{line.delta} {escape(reason)} → {line.balance_after:,}"


def _field(name: str, value: str) -> Block:
    return {"type": "mrkdwn", "text": f"*{name}*\n{value}"}


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]}
