"""Turning engine views into neutral cards (shared by every command)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from engine import moments
from engine.achievements import Progress
from engine.challenges import live_status
from engine.leaderboards import Board, Standings
from engine.messages import Button, Card, Field
from engine.views import BadgeView, ChallengeDetails, ChallengeView, LedgerLine, Page, Profile
from engine.wording import has_share, number, plural, standing_rule

__all__ = [
    "achievements_card",
    "badges_card",
    "board_card",
    "board_you",
    "challenge_card",
    "challenge_list_card",
    "challenge_you",
    "history_card",
    "profile_card",
    "profile_summary",
    "standings_card",
]

PHASE_ICONS = {"scheduled": "🗓️", "open": "🎨", "voting": "🗳️", "active": "🏃",
               "completed": "🏆", "cancelled": "✖️", "draft": "📝", "tallying": "⏳"}
RARITY_ICONS = {"common": "⚪", "rare": "🔵", "epic": "🟣", "legendary": "🟠"}
REASONS = {
    "entry_submitted": "entry submitted", "early_entry": "early entry bonus",
    "vote_cast": "vote cast", "vote_received": "vote received", "featured": "editor's pick",
    "placement": "placement", "goal_joined": "joined a goal", "goal_reached": "goal reached",
    "achievement": "achievement", "award": "award", "deduction": "deduction",
}


def challenge_list_card(page: Page[ChallengeView], phase: str | None, tz: ZoneInfo,
                        now: datetime, unfiltered: int | None = None) -> Card:
    """A page of challenges, each with its state. `unfiltered`: how many challenges the
    list holds without the `phase` filter (asked for when the filter leaves none)."""
    title = f"Challenges ({phase})" if phase else "Challenges"
    if not page.items:
        return Card(title=title, text=_no_challenges(page, phase, unfiltered))
    lines = [f"{PHASE_ICONS.get(c.phase, '•')} **{c.name}** (`{c.slug}`, {c.kind}) · "
             f"{_state(c, now, tz)}" for c in page.items]
    return Card(title=title, text="\n".join(lines),
                footer=f"Page {page.page}/{page.pages} · {plural(page.total, 'challenge')}")


def _state(c: ChallengeView, now: datetime, tz: ZoneInfo) -> str:
    """'open: Submissions close in 2 days', 'Completed 3 days ago', 'Cancelled'."""
    status = live_status(c, now, tz)
    if status.lower().startswith(c.phase):
        return status
    return f"{c.phase}: {status}"


def _no_challenges(page: Page[ChallengeView], phase: str | None,
                   unfiltered: int | None) -> str:
    if page.total:
        return (f"Page {page.page} is past the end: the list has "
                f"{plural(page.pages, 'page')}.")
    if phase and unfiltered:
        return (f"No {phase} challenges right now; {plural(unfiltered, 'other challenge')} "
                "in `/challenge list`.")
    return "No challenges here yet. Moderators can start one with `/challenge create`."


def challenge_you(d: ChallengeDetails, tz: ZoneInfo, now: datetime) -> Field:
    """The caller's part in a challenge: their entries and votes, or their progress."""
    c = d.challenge
    if c.kind == "submission":
        mine = (f"{len(d.my_entries)}/{plural(c.max_entries, 'entry')}"
                + (" (" + ", ".join(f"#{e.id} {plural(e.votes, 'vote')}"
                                    for e in d.my_entries) + ")"
                   if d.my_entries else "")
                + f", {plural(d.my_votes, 'vote')} cast")
        if d.can_submit:
            mine += f". You can submit {c.max_entries - len(d.my_entries)} more."
    elif d.my_progress is not None:
        p = d.my_progress
        mine = (f"{number(p.progress)}/{number(p.goal)} {c.unit or ''}, "
                f"{number(p.per_day)} a day").replace(" ,", ",")
        if p.projected_finish is not None:
            mine += ("; at this pace you reach the goal "
                     + moments.relative(p.projected_finish, now, tz))
        if d.team:
            mine += f" (team {d.team})"
    else:
        mine = "joined" if d.joined else "not joined"
    return Field("You", mine, inline=False)


def challenge_card(d: ChallengeDetails, tz: ZoneInfo, now: datetime) -> Card:
    c = d.challenge
    fields = [Field("Phase", f"{PHASE_ICONS.get(c.phase, '')} {c.phase}".strip())]
    if c.kind == "submission":
        fields += [
            Field("Entries", f"{plural(d.entries, 'entry')} from "
                           f"{plural(d.participants, 'member')}"),
            Field("Votes", str(d.votes)),
            Field("Vote with", c.vote_emoji),
        ]
        if c.submissions_close_at:
            fields.append(Field("Submissions close", moments.at(c.submissions_close_at, tz)))
        if c.voting_close_at:
            fields.append(Field("Voting closes", moments.at(c.voting_close_at, tz)))
    else:
        goal = f"{number(c.goal or 0)} {c.unit or ''}".strip()
        fields += [Field("Goal", f"{goal} ({c.team_mode})"),
                   Field("Participants", str(d.participants))]
        if c.ends_at:
            fields.append(Field("Ends", moments.at(c.ends_at, tz)))
    fields.append(challenge_you(d, tz, now))
    if c.prize:
        fields.append(Field("Prize", c.prize))
    if c.sponsor_name:
        fields.append(Field("Sponsor", c.sponsor_name + (f" ({c.sponsor_url})"
                                                         if c.sponsor_url else "")))
    buttons: list[Button] = []
    if c.kind == "goal" and not d.joined and c.phase in ("scheduled", "active"):
        buttons.append(Button("Join", f"/challenge join {c.slug}", "primary"))
    buttons.append(Button("Standings", f"/challenge standings {c.slug}"))
    return Card(title=f"{c.name}", text="\n".join(x for x in (c.prompt, c.description) if x),
                fields=tuple(fields), buttons=tuple(buttons), footer=f"{c.status} · #{c.id}",
                color="blue")


def standings_card(s: Standings) -> Card:
    c = s.challenge
    if not s.rows:
        empty = "No entries yet." if c.kind == "submission" else "Nobody has logged progress yet."
        return Card(title=f"Standings: {c.name}", text=empty)
    lines = [f"{r.rank}. {r.name}" + (f" {r.detail}" if r.detail else "")
             + f": {_score(c, r.points)}" for r in s.rows]
    buttons = _pager(f"/challenge standings {c.slug}", s.page, s.pages)
    return Card(title=f"Standings: {c.name}", text="\n".join(lines), buttons=buttons,
                footer=f"Page {s.page}/{s.pages} · {s.total} ranked")


def _score(c: ChallengeView, score: float) -> str:
    if c.kind == "submission":
        return plural(score, "vote")
    return f"{number(score)} {c.unit or ''}".rstrip()  # a unit is spelt as its moderator set it


def _pager(base: str, page: int, pages: int) -> tuple[Button, ...]:
    buttons = []
    if page > 1:
        buttons.append(Button("◀ Previous", f"{base} page:{page - 1}"))
    if page < pages:
        buttons.append(Button("Next ▶", f"{base} page:{page + 1}"))
    return tuple(buttons)


def board_you(b: Board) -> tuple[Field, str | None]:
    """The caller's line on a board, and how it reads when they share it (None: it says
    nothing worth sharing)."""
    if b.viewer is None:
        return Field("You", "not on this board yet", inline=False), None
    v = b.viewer
    rank = f"{v.standing} with {plural(v.points, 'pt')}"
    return Field("You", rank, inline=False), rank


def board_card(b: Board) -> Card:
    if not b.rows:
        return Card(title=f"Leaderboard: {b.label}", text="No points yet this period.")
    lines = [f"{r.rank}. {r.name}: {plural(r.points, 'pt')}" for r in b.rows]
    fields = [Field("Members", number(b.members)),
              Field("Average", number(round(b.average, 1))), Field("Median", number(b.median)),
              board_you(b)[0]]
    footer = f"Page {b.page}/{b.pages}"
    if b.viewer is not None and has_share(b.viewer.rank, b.viewer.members):
        footer += f" · {standing_rule()}"
    return Card(title=f"Leaderboard: {b.label}", text="\n".join(lines), fields=tuple(fields),
                buttons=_pager(f"/leaderboard {b.period}", b.page, b.pages),
                footer=footer, color="gold")


def profile_card(p: Profile) -> Card:
    rank = p.rank.standing if p.rank else "not ranked yet"
    fields = [Field("Points", number(p.points)), Field("Rank", rank),
              Field("Streak", f"{plural(p.streak, 'day')} (best {p.longest_streak})"),
              Field("Badges", str(p.badges))]
    if p.showcase:
        fields.append(Field("Showcase", " ".join(f"{b.icon} {b.name}" for b in p.showcase)))
    if p.active:
        fields.append(Field("Active challenges", "\n".join(f"{c.name}: {status}"
                                                            for c, status in p.active),
                            inline=False))
    if p.recent:
        fields.append(Field("Recent points", "\n".join(_ledger_line(line) for line in p.recent),
                            inline=False))
    footer = standing_rule() if p.rank and has_share(p.rank.rank, p.rank.members) else None
    return Card(title=f"{p.name}", fields=tuple(fields), color="blue", mention=None,
                footer=footer, summary=profile_summary(p))


def profile_summary(p: Profile) -> str:
    """The profile in one sentence (a notification, a screen reader)."""
    rank = f"ranked {p.rank.standing}" if p.rank else "not ranked yet"
    return (f"{p.name} has {plural(p.points, 'point')}, {rank}, a streak of "
            f"{plural(p.streak, 'day')} (best {p.longest_streak}) and "
            f"{plural(p.badges, 'badge')}.")


def _ledger_line(line: LedgerLine) -> str:
    sign = "+" if line.delta > 0 else ""
    reason = REASONS.get(line.reason, line.reason)
    extra = f" ({line.note})" if line.note else ""
    by = f" by {line.awarded_by}" if line.awarded_by else ""
    return f"{sign}{line.delta} {reason}{extra}{by} → {line.balance_after}"


def history_card(name: str, lines: list[LedgerLine]) -> Card:
    if not lines:
        return Card(title=f"Points history: {name}", text="No points yet.")
    return Card(title=f"Points history: {name}",
                text="\n".join(f"#{line.id} {_ledger_line(line)}" for line in lines))


def badges_card(name: str, badges: list[BadgeView]) -> Card:
    if not badges:
        return Card(title=f"Badges: {name}", text="No badges yet. See /achievements for what "
                    "earns them.")
    lines = [f"{'📌 ' if b.showcased else ''}{b.icon} **{b.name}** (#{b.id})"
             + (f": {b.reason}" if b.reason else "") for b in badges]
    return Card(title=f"Badges: {name}", text="\n".join(lines),
                footer="Pin up to 3 with /badge showcase <badge numbers>")


def achievements_card(progress: list[Progress]) -> Card:
    lines = []
    for p in progress:
        d = p.definition
        mark = "✅" if p.unlocked else "⬜"
        reward = f" (+{plural(d.points, 'pt')})" if d.points else ""
        lines.append(f"{mark} {d.badge} **{d.name}** {RARITY_ICONS.get(d.rarity, '')} "
                     f"{p.label}: {d.description.rstrip('.')}{reward}")
    done = sum(1 for p in progress if p.unlocked)
    return Card(title="Achievements", text="\n".join(lines),
                footer=f"{done}/{len(progress)} unlocked · secret ones appear once earned")
