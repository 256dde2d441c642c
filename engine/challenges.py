"""Challenges: creation, validation, phases, joining and progress."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from slugify import slugify as _slugify
from sqlalchemy import func, or_, select, update

from engine import moments, outbox
from engine.context import Tx
from engine.emoji import canonical_emoji
from engine.errors import InvalidInput, NotFound
from engine.ids import id_ref
from engine.messages import Button, Card, Field
from engine.text import clean_text
from engine.timefmt import ago_or_in
from engine.vote_rules import tally_due
from storage.tables import Challenge

__all__ = [
    "GOAL_PHASES",
    "SUBMISSION_PHASES",
    "ChallengeDraft",
    "announce_phase",
    "check_url",
    "create",
    "find",
    "live_status",
    "next_deadline",
    "transition",
    "validate",
]

SUBMISSION_PHASES = ("draft", "scheduled", "open", "voting", "tallying", "completed", "cancelled")
GOAL_PHASES = ("draft", "scheduled", "active", "tallying", "completed", "cancelled")
TERMINAL = ("completed", "cancelled")
TEAM_MODES = ("individual", "team", "community")
MAX_NAME = 100
MAX_PROMPT = 2000
MAX_EMOJI = 64  # a custom emoji's name; the column's width


@dataclass(frozen=True, slots=True)
class ChallengeDraft:
    """What a moderator asks for; validated before anything is written."""

    kind: str
    name: str
    prompt: str = ""
    description: str = ""
    starts_at: datetime | None = None  # None: now
    submissions_close_at: datetime | None = None
    voting_close_at: datetime | None = None
    ends_at: datetime | None = None
    max_entries: int = 3
    vote_emoji: str = "👍"
    early_votes: bool = False
    prize: str | None = None
    sponsor_name: str | None = None
    sponsor_url: str | None = None
    metric: str | None = None
    unit: str | None = None
    goal: float | None = None
    team_mode: str = "individual"
    channel_id: str | None = None
    template_key: str | None = None
    draft: bool = False


def check_url(value: str | None, what: str) -> str | None:
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(value) > 500:
        raise InvalidInput(f"The {what} must be a web address starting with http:// or https://.")
    return value


def _text(value: str | None, what: str, limit: int, *, required: bool = False,
          multiline: bool = False) -> str:
    value = clean_text(value or "", multiline=multiline)
    if required and not value:
        raise InvalidInput(f"The {what} can't be empty.")
    if len(value) > limit:
        raise InvalidInput(f"The {what} is {len(value)} characters long; the limit is {limit}.")
    return value


def validate(draft: ChallengeDraft, now: datetime) -> ChallengeDraft:
    """Check every field and fill defaults; raises InvalidInput naming the problem."""
    if draft.kind not in ("submission", "goal"):
        raise InvalidInput("A challenge is either a 'submission' or a 'goal' challenge.")
    starts = draft.starts_at or now
    fields: dict[str, object] = {
        "name": _text(draft.name, "name", MAX_NAME, required=True),
        "prompt": _text(draft.prompt, "prompt", MAX_PROMPT, multiline=True),
        "description": _text(draft.description, "description", MAX_PROMPT, multiline=True),
        "prize": _text(draft.prize, "prize", 300) or None,
        "sponsor_name": _text(draft.sponsor_name, "sponsor name", 100) or None,
        "sponsor_url": check_url(draft.sponsor_url, "sponsor link"),
        "starts_at": starts,
    }
    if not 1 <= draft.max_entries <= 20:
        raise InvalidInput("Max entries per member must be between 1 and 20.")
    emoji = canonical_emoji(draft.vote_emoji)
    if not emoji:
        raise InvalidInput("The vote emoji can't be empty.")
    if draft.channel_id is not None and len(draft.channel_id) > 64:
        raise InvalidInput("That is not a channel id I can use (64 characters at most).")
    if len(emoji) > MAX_EMOJI:
        raise InvalidInput(f"The vote emoji is not an emoji I know: '{draft.vote_emoji[:20]}…'.")
    fields["vote_emoji"] = emoji
    if draft.kind == "submission":
        _check_submission_deadlines(draft, starts, now)
    else:
        fields.update(_check_goal(draft, starts, now))
    return replace(draft, **fields)  # type: ignore[arg-type]


def _check_submission_deadlines(draft: ChallengeDraft, starts: datetime, now: datetime) -> None:
    close, vote_close = draft.submissions_close_at, draft.voting_close_at
    if close is None or vote_close is None:
        raise InvalidInput(
            "A submission challenge needs a submission deadline and a voting deadline.")
    if close <= now:
        raise InvalidInput("The submission deadline must be in the future.")
    if close <= starts:
        raise InvalidInput("The submission deadline must come after the start.")
    if vote_close <= close:
        raise InvalidInput("The voting deadline must come after the submission deadline.")


def _check_goal(draft: ChallengeDraft, starts: datetime, now: datetime) -> dict[str, object]:
    if draft.ends_at is None:
        raise InvalidInput("A goal challenge needs an end date.")
    if draft.ends_at <= now or draft.ends_at <= starts:
        raise InvalidInput("The end of a goal challenge must be in the future, after its start.")
    goal = draft.goal
    if goal is None or not math.isfinite(goal) or goal <= 0 or goal > 1e9:
        raise InvalidInput("The goal must be a positive number.")
    if draft.team_mode not in TEAM_MODES:
        raise InvalidInput(f"Team mode must be one of: {', '.join(TEAM_MODES)}.")
    return {
        "unit": _text(draft.unit, "unit", 20) or None,
        "metric": _text(draft.metric, "metric", 50) or None,
    }


MAX_SLUG = 48  # leaves room in the column for a "-12" that makes it unique
FALLBACK_SLUG = "challenge"


def slugify(name: str) -> str:
    """The name in lowercase ASCII words joined by hyphens, other scripts transliterated
    ("Ünïcødé" -> "unicode", "Привет мир" -> "privet-mir"); "" when nothing is left (a
    name of emoji). Whole words, at most `MAX_SLUG` characters."""
    return _slugify(name, max_length=MAX_SLUG, word_boundary=True)


async def _slugs_like(tx: Tx, base: str) -> set[str]:
    """The community's slugs that are `base` or `base-<anything>`."""
    return set((await tx.session.scalars(select(Challenge.slug).where(
        Challenge.community_id == tx.community_id,
        or_(Challenge.slug == base, Challenge.slug.like(f"{base}-%"))))).all())


async def _unique_slug(tx: Tx, name: str) -> str:
    """A slug no other challenge of the community has: the name's, else "<slug>-2", ...;
    a name with nothing to spell in ASCII gets "challenge-<n>", n counting the
    community's challenges (the next free number if taken), never the bare "challenge",
    which reads as part of the command."""
    base = slugify(name)
    if base:
        taken = await _slugs_like(tx, base)
        if base not in taken:
            return base
        n = 2
    else:
        base = FALLBACK_SLUG
        taken = await _slugs_like(tx, base)
        n = 1 + int(await tx.session.scalar(select(func.count()).select_from(Challenge).where(
            Challenge.community_id == tx.community_id)) or 0)
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


async def create(tx: Tx, draft: ChallengeDraft, created_by: int | None) -> Challenge:
    """Write a validated challenge; it opens now if its start has come."""
    draft = validate(draft, tx.now)
    assert draft.starts_at is not None
    first = "active" if draft.kind == "goal" else "open"
    phase = "draft" if draft.draft else ("scheduled" if draft.starts_at > tx.now else first)
    challenge = Challenge(
        community_id=tx.community_id,
        slug=await _unique_slug(tx, draft.name),
        kind=draft.kind,
        name=draft.name,
        prompt=draft.prompt,
        description=draft.description,
        prize=draft.prize,
        sponsor_name=draft.sponsor_name,
        sponsor_url=draft.sponsor_url,
        phase=phase,
        starts_at=draft.starts_at,
        submissions_close_at=draft.submissions_close_at,
        voting_close_at=draft.voting_close_at,
        ends_at=draft.ends_at,
        max_entries=draft.max_entries,
        vote_emoji=draft.vote_emoji,
        early_votes=draft.early_votes,
        metric=draft.metric,
        unit=draft.unit,
        goal=draft.goal,
        team_mode=draft.team_mode,
        channel_id=draft.channel_id,
        template_key=draft.template_key,
        created_by=created_by,
        created_at=tx.now,
    )
    tx.session.add(challenge)
    await tx.session.flush()
    if phase == first:
        await announce_phase(tx, challenge)
    return challenge


async def find(tx: Tx, ref: str, *, for_update: bool = False, for_share: bool = False
               ) -> Challenge:
    """A challenge by slug, `#id`, or a unique name prefix, within the community.

    `for_share` holds the row against phase changes until the commit (PostgreSQL): what
    joins or submits to a challenge must not commit after it closed or was cancelled.
    """
    lock = "update" if for_update else "share" if for_share else None
    ref = clean_text(ref or "")
    if not ref:
        raise InvalidInput("Which challenge? Give its name or number.")
    query = select(Challenge).where(Challenge.community_id == tx.community_id)
    if (number := id_ref(ref, "challenge")) is not None:
        query = query.where(Challenge.id == number)
    else:
        slug = slugify(ref)
        if slug:
            exact = query.where(Challenge.slug == slug)
            found = await tx.session.scalar(_lock(exact, lock))
            if found is not None:
                return found
        # By its name too: a name typed whole, whatever its script (SQLite lowers ASCII
        # letters only, hence the name as typed as well).
        named = or_(Challenge.name == ref, func.lower(Challenge.name) == ref.lower())
        query = query.where(or_(Challenge.slug.like(f"{slug}%"), named) if slug else named
                            ).order_by(Challenge.id.desc())
    matches = (await tx.session.scalars(_lock(query.limit(2), lock))).all()
    if not matches:
        raise NotFound(f"There is no challenge called '{ref}'. Try /challenge list.")
    if len(matches) > 1:
        names = ", ".join(m.slug for m in matches)
        raise InvalidInput(f"'{ref}' matches several challenges ({names}); be more specific.")
    return matches[0]


def _lock(query, lock: str | None):  # type: ignore[no-untyped-def]
    if lock is None:
        return query
    # The row may be in the session already: take the locked version's values.
    return query.with_for_update(read=lock == "share").execution_options(
        populate_existing=True)


async def transition(tx: Tx, challenge: Challenge, old: str, new: str) -> bool:
    """Move phase `old` -> `new` only if it is still `old`: a second run does nothing."""
    result = await tx.session.execute(
        update(Challenge)
        .where(
            Challenge.id == challenge.id,
            Challenge.community_id == tx.community_id,
            Challenge.phase == old,
        )
        .values(phase=new)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await tx.session.refresh(challenge)
        return False
    challenge.phase = new
    return True


def next_deadline(challenge: Challenge, close_grace: timedelta = timedelta(0)
                  ) -> tuple[str, datetime] | None:
    """The next phase change this challenge is waiting for, and when (the tally comes
    `close_grace` after voting closes: `vote_rules.tally_due`)."""
    if challenge.phase == "scheduled":
        return ("open" if challenge.kind == "submission" else "active", challenge.starts_at)
    if challenge.phase == "open" and challenge.submissions_close_at is not None:
        return ("voting", challenge.submissions_close_at)
    if challenge.phase == "voting" and challenge.voting_close_at is not None:
        return ("tallying", tally_due(challenge.voting_close_at, close_grace))
    if challenge.phase == "active" and challenge.ends_at is not None:
        return ("tallying", challenge.ends_at)
    return None


class Dated(Protocol):
    """What a challenge's status is read from: a row, or a view of one."""

    phase: str
    starts_at: datetime
    submissions_close_at: datetime | None
    voting_close_at: datetime | None
    ends_at: datetime | None
    completed_at: datetime | None


def _status(c: Dated) -> tuple[str, datetime | None]:
    """The phase's wording and the moment it is about: ('Voting closes', close)."""
    if c.phase == "scheduled":
        return "Starts", c.starts_at
    if c.phase == "open" and c.submissions_close_at:
        return "Submissions close", c.submissions_close_at
    if c.phase == "voting" and c.voting_close_at:
        return "Voting closes", c.voting_close_at
    if c.phase == "active" and c.ends_at:
        return "Ends", c.ends_at
    if c.phase == "completed" and c.completed_at:
        return "Completed", c.completed_at
    return c.phase.title(), None


def status_line(challenge: Dated, now: datetime) -> str:
    """'Submissions close in 2 days', 'Voting closed 3 hours ago', ... as plain text."""
    label, when = _status(challenge)
    return f"{label} {ago_or_in(when, now)}" if when is not None else label


def live_status(challenge: Dated, now: datetime, tz: ZoneInfo) -> str:
    """`status_line` for cards: its time a moment (engine/moments.py), so it stays true."""
    label, when = _status(challenge)
    return f"{label} {moments.relative(when, now, tz)}" if when is not None else label


def _channel(challenge: Challenge) -> str | None:
    return challenge.channel_id


async def announce_phase(tx: Tx, challenge: Challenge) -> None:
    """Queue the announcement for the phase the challenge just entered."""
    c, tz = challenge, tx.tz
    fields: list[Field] = []
    buttons: tuple[Button, ...] = ()
    if c.phase in ("open", "active"):
        if c.kind == "submission":
            title = f"🎨 New challenge: {c.name}"
            assert c.submissions_close_at and c.voting_close_at
            fields += [
                Field("Submit by", moments.at(c.submissions_close_at, tz)),
                Field("Voting until", moments.at(c.voting_close_at, tz)),
                Field("Entries per member", str(c.max_entries)),
            ]
            how = (f"Submit with `/challenge submit {c.slug} \"title\" link`, "
                   f"vote with {c.vote_emoji}.")
            buttons = (Button("Submit an entry", f"/challenge submit {c.slug}", "primary"),)
        else:
            title = f"🏁 Challenge started: {c.name}"
            assert c.ends_at
            goal = f"{_num(c.goal or 0)} {c.unit or ''}".strip()
            fields += [
                Field("Goal", f"{goal} ({c.team_mode})"),
                Field("Ends", moments.at(c.ends_at, tz)),
            ]
            how = (f"Join with `/challenge join {c.slug}`, "
                   f"log with `/challenge log {c.slug} <amount>`.")
            buttons = (Button("Join", f"/challenge join {c.slug}", "primary"),)
        if c.prize:
            fields.append(Field("Prize", c.prize))
        if c.sponsor_name:
            sponsor = f"{c.sponsor_name} ({c.sponsor_url})" if c.sponsor_url else c.sponsor_name
            fields.append(Field("Sponsor", sponsor))
        text = "\n".join(x for x in (c.prompt, c.description, how) if x)
        card = Card(title=title, text=text, fields=tuple(fields), buttons=buttons, color="blue",
                    footer=f"#{c.id} · {c.slug}")
    elif c.phase == "voting":
        assert c.voting_close_at
        card = Card(
            title=f"🗳️ Voting is open: {c.name}",
            text=f"React with {c.vote_emoji} on your favourite entries. "
            f"Voting closes {moments.relative(c.voting_close_at, tx.now, tz)}.",
            buttons=(Button("Standings", f"/challenge standings {c.slug}"),),
            color="blue",
            footer=f"#{c.id} · {c.slug}",
        )
    elif c.phase == "cancelled":
        reason = f" Reason: {c.cancel_reason}" if c.cancel_reason else ""
        card = Card(title=f"Challenge cancelled: {c.name}",
                    text=f"This challenge was cancelled.{reason}",
                    color="grey")
    else:
        return
    await outbox.enqueue(tx, f"phase_{c.phase}", card, dedupe_key=f"phase:{c.id}:{c.phase}",
                         channel_id=_channel(c) or tx.community.announce_channel)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")
