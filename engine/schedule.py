"""What falls due and when: the due-events table is the truth, the scheduler only wakes us.

Subjects and kinds:
- `challenge:{id}` / `phase`: the next phase change (start, submissions close, voting
  closes, goal ends); rewritten after each change.
- `challenge:{id}` / `remind:{deadline}:{offset}`: reminders before a deadline.
- `community:{id}` / `digest`, `close:week`, `close:month`, `recurring:{template}`.

Every handler is idempotent (conditional phase updates, outbox dedupe keys), so an event
that runs twice after a crash changes nothing the second time.

Lateness policy, for events that fall due while the bot is down or busy:
- phase changes (and so results and placement points) always run, however late;
- a reminder later than `reminder_window` of its lead is skipped, not posted late;
- a digest or recurring challenge missed several times runs once, for the latest time;
- every ended week or month gets its standings once (the last `MAX_MISSED_CLOSES`).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from engine import challenges, moments, outbox, top_lists
from engine.context import ScheduleChanged, Tx
from engine.errors import InvalidInput
from engine.leases import LEASE
from engine.messages import Card, Field
from engine.periods import period_key, period_label
from engine.results import MEDALS
from engine.timefmt import span
from engine.wording import plural
from storage.tables import Badge, Challenge, DueEvent, Member

__all__ = [
    "DEFAULT_DIGEST",
    "DEFAULT_REMINDERS",
    "LEASE",
    "MAX_MISSED_CLOSES",
    "ClaimedEvent",
    "ScheduleSettings",
    "Template",
    "available_templates",
    "challenge_events",
    "claim_due",
    "close_period",
    "community_templates",
    "create_recurring",
    "digest",
    "finish",
    "load_templates",
    "missed_occurrences",
    "next_due_at",
    "next_occurrence",
    "parse_digest",
    "parse_reminders",
    "release_leases",
    "remind",
    "reminder_span",
    "reminder_window",
    "reschedule_periodic",
    "settings_of",
    "sync_all",
    "sync_challenge",
    "sync_challenges",
    "sync_community",
]

DEFAULT_REMINDERS = ("24h", "1h")
DEFAULT_DIGEST = "monday 09:00"
MIN_REMINDER = timedelta(minutes=5)
MAX_REMINDER = timedelta(days=14)
MAX_REMINDERS = 4
# LEASE (engine/leases.py): 15 s, renewed by the runner while it works (DueRunner.run_due).
RECURRING_GRACE = timedelta(hours=1)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
OFF_WORDS = frozenset({"off", "none", "no", "never", "disable", "disabled"})
LIVE_PHASES = ("scheduled", "open", "voting", "active")
# How long the lists of posts are before what is left is counted (engine/top_lists.py).
DIGEST_TOP = 5  # top movers, streaks
DIGEST_BADGES = 10
DIGEST_STREAK_DAYS = 7  # streaks shorter than this are not in the digest
DIGEST_CHALLENGES = 8  # open now, and starting soon
CLOSE_TOP = 5  # a period's final standings
# How far back a late community event looks for the occurrences it missed (a decade of
# weeks; only bad data gets near it).
_MAX_CATCH_UP_STEPS = 600
# Ended periods announced after downtime, at most: each ended week or month is announced
# once, however late, but months of downtime do not turn into a flood.
MAX_MISSED_CLOSES = 4


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    id: int
    community_id: int
    subject: str
    kind: str
    due_at: datetime
    attempts: int = 0  # as this claim left it: what a renewal of the lease checks


def reminder_window(offset: timedelta) -> timedelta:
    """How late a reminder may still be posted: a tenth of its lead, at least 5 minutes.

    A "1 hour left" that arrives 40 minutes late misleads more than it helps, so stale
    reminders are skipped rather than posted late.
    """
    return max(offset / 10, timedelta(minutes=5))


_SPAN = re.compile(r"(\d{1,5})\s*(m|mins?|minutes?|h|hrs?|hours?|d|days?)")


def reminder_span(key: str) -> timedelta | None:
    """The lead of a stored reminder key ("24h", "90m", "2d"), None if it is not one."""
    m = _SPAN.fullmatch(key.strip().lower())
    if m is None:
        return None
    n, unit = int(m.group(1)), m.group(2)[0]
    return {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n)}[unit]


def reminder_key(lead: timedelta) -> str:
    """The canonical key of a lead: whole hours as "24h", anything else in minutes."""
    minutes = int(lead.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def parse_reminders(spec: str) -> list[str]:
    """ "24h,1h" -> ["24h", "1h"]; "off" -> []. Raises InvalidInput with what to type."""
    text = (spec or "").strip().lower()
    if text in OFF_WORDS:
        return []
    parts = [p for p in re.split(r"[,;\s]+(?=\d)|[,;]\s*", text) if p.strip()]
    if not parts:
        raise InvalidInput("Give reminder times before each deadline, like 24h,1h, or off.")
    leads: set[timedelta] = set()
    for part in parts:
        lead = reminder_span(part)
        if lead is None:
            raise InvalidInput(f"'{part[:20]}' is not a reminder time; use spans like 24h, "
                               "90m or 2d, separated by commas, or off.")
        if not MIN_REMINDER <= lead <= MAX_REMINDER:
            raise InvalidInput("Reminders can be between 5 minutes and 14 days before a "
                               "deadline.")
        leads.add(lead)
    if len(leads) > MAX_REMINDERS:
        raise InvalidInput(f"At most {MAX_REMINDERS} reminders per deadline.")
    return [reminder_key(lead) for lead in sorted(leads, reverse=True)]


def parse_weekly(spec: str) -> tuple[int, time]:
    """ "monday 09:00", "mon 9", "Friday 17:30" -> (weekday, time)."""
    words = (spec or "").strip().lower().split()
    if not words or len(words) > 2:
        raise InvalidInput("Give a weekday and a time, like monday 09:00, or off.")
    day = words[0]
    matches = [i for i, name in enumerate(WEEKDAYS) if len(day) >= 3 and name.startswith(day)]
    if len(matches) != 1:
        raise InvalidInput(f"'{day[:20]}' is not a weekday; use monday ... sunday.")
    hour, _, minute = (words[1] if len(words) > 1 else "09:00").partition(":")
    if not (hour.isdigit() and (minute.isdigit() or minute == "")
            and int(hour) < 24 and int(minute or 0) < 60 and len(minute) in (0, 2)):
        raise InvalidInput(f"'{words[1][:20]}' is not a time of day; use 24-hour HH:MM.")
    return matches[0], time(int(hour), int(minute or 0))


def parse_digest(spec: str) -> str:
    """The canonical digest setting: "monday 09:00", or "" for off."""
    if (spec or "").strip().lower() in OFF_WORDS:
        return ""
    weekday, at = parse_weekly(spec)
    return f"{WEEKDAYS[weekday]} {at:%H:%M}"


def describe_weekly(weekday: int, at: time) -> str:
    return f"{WEEKDAYS[weekday].title()} {at:%H:%M}"


@functools.cache
def _upsert_statement(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (subject, kind) DO UPDATE, built once per dialect so its
    compiled form is cached (rows come as parameters, several per execution)."""
    stmt = (postgresql.insert(DueEvent) if dialect == "postgresql"
            else sqlite.insert(DueEvent))
    # A moved deadline makes the event pending again; the same deadline keeps its status,
    # so rebuilding the events is harmless and a sent reminder is not sent twice.
    moved = DueEvent.due_at != stmt.excluded.due_at
    return stmt.on_conflict_do_update(
        index_elements=["subject", "kind"],
        set_={"due_at": stmt.excluded.due_at,
              "status": func.coalesce(_case(moved, "pending", DueEvent.status), "pending"),
              "attempts": _case(moved, 0, DueEvent.attempts),
              "lease_until": None},
    )


async def _upsert_many(tx: Tx, subject_kind_due: Sequence[tuple[str, str, datetime]]) -> None:
    if not subject_kind_due:
        return
    bind = tx.session.bind
    stmt = _upsert_statement(bind.dialect.name if bind is not None else "sqlite")
    await tx.session.execute(stmt, [
        {"community_id": tx.community_id, "subject": subject, "kind": kind, "due_at": due,
         "status": "pending", "attempts": 0}
        for subject, kind, due in subject_kind_due])
    tx.emit(ScheduleChanged())


async def _upsert(tx: Tx, subject: str, kind: str, due_at: datetime) -> None:
    await _upsert_many(tx, [(subject, kind, due_at)])


def _case(cond: Any, then: Any, other: Any) -> Any:
    return case((cond, then), else_=other)


def _reminders(tx: Tx) -> dict[str, timedelta]:
    value = tx.community.settings.get("reminders", list(DEFAULT_REMINDERS))
    leads = {str(r): reminder_span(str(r)) for r in value or ()}
    return {k: lead for k, lead in leads.items() if lead is not None}


def challenge_events(tx: Tx, c: Challenge) -> dict[str, datetime]:
    """The events challenge `c` waits for now, by kind, with their due times."""
    wanted: dict[str, datetime] = {}
    nxt = challenges.next_deadline(c, tx.close_grace) if c.phase != "draft" else None
    if nxt is not None:
        wanted["phase"] = nxt[1]
    # A reminder is only wanted while its phase is running: "1 day to submit" before the
    # challenge has even opened would just repeat the opening announcement.
    reminders = _reminders(tx)
    phases: list[tuple[str, tuple[str, ...], datetime | None, datetime | None]] = [
        ("submissions", ("scheduled", "open"), c.starts_at, c.submissions_close_at),
        ("voting", ("scheduled", "open", "voting"), c.submissions_close_at, c.voting_close_at),
        ("end", ("scheduled", "active"), c.starts_at, c.ends_at),
    ]
    for name, while_in, opens, deadline in phases:
        if c.phase not in while_in or deadline is None:
            continue
        for r, lead in reminders.items():
            due = deadline - lead
            if opens is None or due > opens:
                wanted[f"remind:{name}:{r}"] = due
    return wanted


@dataclass(frozen=True, slots=True)
class _Existing:
    id: int
    due_at: datetime
    status: str


async def _existing(tx: Tx, subjects: Sequence[str]) -> dict[str, dict[str, _Existing]]:
    """Current events of `subjects`, read as plain rows (no ORM objects to go stale)."""
    found: dict[str, dict[str, _Existing]] = {s: {} for s in subjects}
    for i in range(0, len(subjects), 500):
        rows = (await tx.session.execute(
            select(DueEvent.id, DueEvent.subject, DueEvent.kind, DueEvent.due_at,
                   DueEvent.status).where(DueEvent.subject.in_(subjects[i:i + 500])))).all()
        for row_id, subject, kind, due_at, status in rows:
            found[subject][kind] = _Existing(row_id, due_at, status)
    return found


async def sync_challenges(tx: Tx, cs: Sequence[Challenge]) -> None:
    """Write the events these challenges wait for; drop those they no longer need.

    Only differences are written: the periodic sweep reads every live challenge's events
    and, when nothing moved, writes nothing.
    """
    subjects = [f"challenge:{c.id}" for c in cs]
    existing = await _existing(tx, subjects)
    writes: list[tuple[str, str, datetime]] = []
    stale: list[int] = []
    for subject, c in zip(subjects, cs, strict=True):
        wanted = challenge_events(tx, c)
        have = existing[subject]
        writes += [(subject, kind, due) for kind, due in wanted.items()
                   if kind not in have or have[kind].due_at != due]
        stale += [e.id for kind, e in have.items() if kind not in wanted
                  and e.status == "pending"]
    await _upsert_many(tx, writes)
    if stale:
        await tx.session.execute(delete(DueEvent).where(DueEvent.id.in_(stale),
                                                        DueEvent.status == "pending"))


async def sync_challenge(tx: Tx, c: Challenge) -> None:
    """Write the events this challenge waits for; drop those it no longer needs."""
    await sync_challenges(tx, [c])


# -- community events: digest, period closes, recurring challenges ------------------------

def next_weekly(after: datetime, tx: Tx, weekday: int, at: time, weeks: int = 1) -> datetime:
    """The first community-local `weekday` `at` strictly after `after`."""
    local = after.astimezone(tx.tz)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    candidate = datetime.combine(day, at, tx.tz)
    while candidate <= after:
        candidate = datetime.combine(candidate.date() + timedelta(days=7 * weeks), at, tx.tz)
    return candidate


def next_period_end(after: datetime, tx: Tx, period: str) -> datetime:
    local = after.astimezone(tx.tz)
    if period == "week":
        day = local.date() + timedelta(days=7 - local.weekday())
    else:
        day = (local.date().replace(day=1) + timedelta(days=32)).replace(day=1)
    return datetime.combine(day, time(), tx.tz)


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    name: str
    kind: str
    weekday: int
    at: time
    prompts: tuple[str, ...]
    weeks_between: int = 1
    submission_days: float = 4
    voting_days: float = 2
    duration_days: float = 7
    max_entries: int = 3
    goal: float | None = None
    unit: str | None = None
    team_mode: str = "individual"

    @classmethod
    def from_data(cls, raw: dict[str, Any]) -> Template:
        day, _, clock = str(raw["every"]).strip().lower().partition(" ")
        if day not in WEEKDAYS:
            raise InvalidInput(f"Template '{raw.get('key')}': 'every' starts with a weekday.")
        hour, _, minute = (clock or "09:00").partition(":")
        prompts = tuple(str(p) for p in raw.get("prompts", ()))
        if not prompts:
            raise InvalidInput(f"Template '{raw.get('key')}' needs at least one prompt.")
        return cls(
            key=str(raw["key"]), name=str(raw["name"]), kind=str(raw.get("kind", "submission")),
            weekday=WEEKDAYS.index(day), at=time(int(hour), int(minute or 0)), prompts=prompts,
            weeks_between=int(raw.get("weeks_between", 1)),
            submission_days=float(raw.get("submission_days", 4)),
            voting_days=float(raw.get("voting_days", 2)),
            duration_days=float(raw.get("duration_days", 7)),
            max_entries=int(raw.get("max_entries", 3)),
            goal=float(raw["goal"]) if raw.get("goal") is not None else None,
            unit=raw.get("unit"), team_mode=str(raw.get("team_mode", "individual")),
        )


@functools.cache
def _shipped_templates() -> tuple[Template, ...]:
    text = resources.files("config").joinpath("defaults", "templates.toml").read_text("utf-8")
    return tuple(Template.from_data(r) for r in tomllib.loads(text)["template"])


def load_templates() -> dict[str, Template]:
    """The shipped templates (config/defaults/templates.toml), read once per process."""
    return {t.key: t for t in _shipped_templates()}


def available_templates(tx: Tx, catalog: dict[str, Template]) -> dict[str, Template]:
    """Every template this community could turn on: the shipped ones and its own."""
    own = {str(r["key"]): Template.from_data(r) for r in tx.community.settings.get("templates", [])}
    return {**catalog, **own}


def community_templates(tx: Tx, catalog: dict[str, Template]) -> dict[str, Template]:
    """The templates this community has turned on (shipped ones and its own)."""
    enabled = tx.community.settings.get("recurring", [])
    return {k: t for k, t in available_templates(tx, catalog).items() if k in enabled}


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """What a community has chosen for reminders, the digest and recurring challenges."""

    reminders: tuple[str, ...]  # e.g. ("24h", "1h"); () = off
    digest: str  # "Monday 09:00", "" = off
    recurring: tuple[str, ...]  # enabled template keys
    templates: tuple[tuple[str, str], ...]  # (key, "Weekly Sketch, every Monday 09:00")


def settings_of(tx: Tx, catalog: dict[str, Template]) -> ScheduleSettings:
    digest_spec = _digest_spec(tx)
    available = available_templates(tx, catalog)
    return ScheduleSettings(
        reminders=tuple(_reminders(tx)),
        digest=describe_weekly(*digest_spec) if digest_spec else "",
        recurring=tuple(community_templates(tx, catalog)),
        templates=tuple((k, f"{t.name}, every "
                         + (f"{t.weeks_between} weeks, " if t.weeks_between > 1 else "")
                         + describe_weekly(t.weekday, t.at))
                        for k, t in sorted(available.items())))


def _digest_spec(tx: Tx) -> tuple[int, time] | None:
    value = str(tx.community.settings.get("digest", DEFAULT_DIGEST) or "")
    if not value:
        return None
    try:
        return parse_weekly(value)
    except InvalidInput:
        return parse_weekly(DEFAULT_DIGEST)  # a hand-edited bad value: keep the default


def next_occurrence(tx: Tx, kind: str, after: datetime, catalog: dict[str, Template]
                    ) -> datetime | None:
    """When the community event `kind` next falls due strictly after `after`, following the
    community's current settings; None when the community no longer wants it."""
    if kind == "digest":
        spec = _digest_spec(tx)
        return next_weekly(after, tx, *spec) if spec else None
    if kind in ("close:week", "close:month"):
        return next_period_end(after, tx, kind.split(":")[1])
    if kind.startswith("recurring:"):
        t = community_templates(tx, catalog).get(kind.split(":", 1)[1])
        return next_weekly(after, tx, t.weekday, t.at, t.weeks_between) if t else None
    return None


def missed_occurrences(tx: Tx, kind: str, due_at: datetime, catalog: dict[str, Template]
                       ) -> list[datetime]:
    """`due_at` and every later occurrence up to now, oldest first (just `due_at` when the
    event runs on time)."""
    found = [due_at]
    for _ in range(_MAX_CATCH_UP_STEPS):
        nxt = next_occurrence(tx, kind, found[-1], catalog)
        if nxt is None or nxt > tx.now:
            break
        found.append(nxt)
    return found


def _wanted_kinds(tx: Tx, catalog: dict[str, Template]) -> list[str]:
    kinds = ["close:week", "close:month"]
    if _digest_spec(tx) is not None:
        kinds.append("digest")
    kinds += [f"recurring:{k}" for k in community_templates(tx, catalog)]
    return kinds


async def sync_community(tx: Tx, templates: dict[str, Template]) -> None:
    """Make the community's periodic events match its settings (harmless when they do).

    A missing event is added at its next occurrence. A pending event still on its
    schedule is kept, even when overdue: a missed digest runs once on the next pass. One
    that no longer fits (the digest moved, the time zone changed) moves to the next
    occurrence; one that failed for good restarts there; one no longer wanted goes.
    """
    subject = f"community:{tx.community_id}"
    existing = {e.kind: e for e in (await tx.session.scalars(
        select(DueEvent).where(DueEvent.subject == subject))).all()}
    wanted = _wanted_kinds(tx, templates)
    for kind in wanted:
        event = existing.get(kind)
        if event is not None and event.status == "pending":
            due = event.due_at
            still_fits = next_occurrence(tx, kind, due - timedelta(microseconds=1),
                                         templates) == due
            if still_fits:
                continue
        nxt = next_occurrence(tx, kind, tx.now, templates)
        if nxt is None:
            continue
        if event is None:
            await _upsert(tx, subject, kind, nxt)
        else:  # moved, or revived after failing for good: a fresh start either way
            await tx.session.execute(update(DueEvent).where(DueEvent.id == event.id).values(
                due_at=nxt, status="pending", attempts=0, lease_until=None))
            tx.emit(ScheduleChanged())
    for kind, event in existing.items():
        if kind not in wanted:
            await tx.session.delete(event)


async def sync_all(tx: Tx, templates: dict[str, Template]) -> None:
    """Rebuild the events of every live challenge and of the community itself."""
    # Locked (PostgreSQL), so a phase change running in another process finishes first
    # and we rebuild from what it committed, not from the phase it just left.
    live = (await tx.session.scalars(select(Challenge).where(
        Challenge.community_id == tx.community_id, Challenge.phase.in_(LIVE_PHASES))
        .order_by(Challenge.id).with_for_update())).all()
    await sync_challenges(tx, live)
    await sync_community(tx, templates)


async def reschedule_periodic(tx: Tx, event: ClaimedEvent, templates: dict[str, Template],
                              after: datetime | None = None) -> None:
    """After a community event ran: pending again at its next occurrence after `after`
    (default now), or gone when the community no longer wants it."""
    # Conditional on the row being as claimed: if another run or a settings change moved
    # it meanwhile, its new time stands.
    mine = (DueEvent.id == event.id, DueEvent.status == "pending",
            DueEvent.due_at == event.due_at)
    nxt = next_occurrence(tx, event.kind, after or tx.now, templates)
    if nxt is None:
        await tx.session.execute(delete(DueEvent).where(*mine))
        return
    await tx.session.execute(update(DueEvent).where(*mine).values(
        due_at=nxt, status="pending", attempts=0, lease_until=None, done_at=tx.now,
        last_error=None))
    tx.emit(ScheduleChanged())


# -- claiming -----------------------------------------------------------------------------

async def claim_due(session: AsyncSession, now: datetime, *, limit: int = 50,
                    skip_locked: bool = False) -> list[ClaimedEvent]:
    """Lease due events, oldest first, so no other process runs them meanwhile.

    On PostgreSQL (`skip_locked`) rows another process is claiming right now are passed
    over, and once its claim commits their lease keeps them out of every other claim.
    """
    query = (select(DueEvent)
             .where(DueEvent.status == "pending", DueEvent.due_at <= now,
                    or_(DueEvent.lease_until.is_(None), DueEvent.lease_until <= now))
             .order_by(DueEvent.due_at, DueEvent.id).limit(limit))
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.scalars(query)).all())
    for row in rows:
        row.lease_until = now + LEASE
        row.attempts += 1
    return [ClaimedEvent(r.id, r.community_id, r.subject, r.kind, r.due_at, r.attempts)
            for r in rows]


async def release_leases(session: AsyncSession) -> int:
    """Forget every lease on pending events (SQLite start-up: we are the only process, so
    a lease can only be left over from a crash); returns how many were released."""
    result = await session.execute(update(DueEvent).where(
        DueEvent.status == "pending", DueEvent.lease_until.is_not(None)
    ).values(lease_until=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def finish(tx: Tx, event: ClaimedEvent, status: str = "done") -> bool:
    """Mark the event done unless it was moved meanwhile (then it runs at its new time)."""
    result = await tx.session.execute(
        update(DueEvent).where(DueEvent.id == event.id, DueEvent.status == "pending",
                               DueEvent.due_at == event.due_at)
        .values(status=status, done_at=tx.now, lease_until=None))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the next pending event can run: its due time, or later while it is leased
    (another process holds it, or it is backing off after a failure). Without the lease
    the scheduler would wake again and again for an event it cannot claim."""
    runnable = case((DueEvent.lease_until > DueEvent.due_at, DueEvent.lease_until),
                    else_=DueEvent.due_at)
    return await session.scalar(select(func.min(runnable)).where(DueEvent.status == "pending"))


# -- handlers -----------------------------------------------------------------------------

async def remind(tx: Tx, c: Challenge, kind: str, due_at: datetime) -> str:
    """Post a reminder, or skip it when it is stale or no longer applies."""
    _, deadline_name, offset = kind.split(":")
    lead = reminder_span(offset)
    if lead is None or tx.now - due_at > reminder_window(lead):
        return "skipped"
    phase_for = {"submissions": "open", "voting": "voting", "end": "active"}[deadline_name]
    deadline = {"submissions": c.submissions_close_at, "voting": c.voting_close_at,
                "end": c.ends_at}[deadline_name]
    if c.phase != phase_for or deadline is None or deadline <= tx.now:
        return "skipped"
    what = {"submissions": "to submit to", "voting": "to vote in", "end": "left in"}
    verb = what[deadline_name]
    title = (f"⏰ {span(deadline - tx.now)} {verb} {c.name}" if deadline_name != "end"
             else f"⏰ {span(deadline - tx.now)} left in {c.name}")
    hint = {"submissions": f"Submit with /challenge submit {c.slug}.",
            "voting": f"React with {c.vote_emoji} on your favourite entries.",
            "end": f"Log your progress with /challenge log {c.slug}."}[deadline_name]
    await outbox.enqueue(tx, "reminder", Card(title=title, text=hint, color="blue",
                                              footer=f"#{c.id} · {c.slug}"),
                         dedupe_key=f"remind:{c.id}:{kind}:{deadline.isoformat()}",
                         channel_id=c.channel_id or tx.community.announce_channel)
    return "done"


async def digest(tx: Tx, due_at: datetime) -> None:
    """The weekly digest: top movers, new badges, streaks, what is open and coming. Every
    list says what its cut left out; movers and streaks rank as `/leaderboard` does."""
    since = due_at - timedelta(days=7)
    # The week most of the seven days fall in: last week for a Monday digest, this week
    # for a Friday one.
    middle = due_at - timedelta(days=3.5)
    week = period_key("week", middle, tx.tz)
    movers = await top_lists.board_top(tx, week, DIGEST_TOP)
    new_badges = (Badge.community_id == tx.community_id, Badge.awarded_at >= since,
                  Badge.awarded_at < due_at)
    badges = (await tx.session.execute(
        select(Member.display_name, Member.external_id, Badge.icon, Badge.name)
        .join(Member, Member.id == Badge.member_id)
        .where(*new_badges).order_by(Badge.id).limit(DIGEST_BADGES))).all()
    badge_lines = [f"{i} {b} ({n or ext})" for n, ext, i, b in badges]
    if len(badges) == DIGEST_BADGES:
        badge_lines += _more(await _count(tx, select(func.count(Badge.id)).where(*new_badges))
                             - DIGEST_BADGES, "badge")
    streaks = await top_lists.streak_top(tx, DIGEST_STREAK_DAYS, DIGEST_TOP)
    fields = [
        Field("Top movers", "\n".join([*(f"{r.rank}. {r.name}: +{r.points}"
                                         for r in movers.rows), *_line(movers.more)])
              or "No points yet", inline=False),
        Field("New badges", "\n".join(badge_lines) or "None", inline=False),
    ]
    if streaks.rows:
        fields.append(Field("Streaks", "\n".join(
            [*(f"{r.name}: {plural(r.points, 'day')}" for r in streaks.rows),
             *_line(streaks.more)]), inline=False))
    running, more_running = await _challenges(tx, ("open", "voting", "active"))
    coming, more_coming = await _challenges(tx, ("scheduled",))
    open_now = [*(f"{c.name}: {challenges.live_status(c, tx.now, tx.tz)}" for c in running),
                *more_running]
    soon = [*(f"{c.name}: starts {moments.relative(c.starts_at, tx.now, tx.tz)}" for c in coming),
            *more_coming]
    fields.append(Field("Open now", "\n".join(open_now) or "Nothing open", inline=False))
    if soon:
        fields.append(Field("Starting soon", "\n".join(soon), inline=False))
    title = f"📰 Weekly digest: {period_label('week', middle, tx.tz)}"
    # One digest per occurrence: a rerun after a crash finds it queued already, while a
    # digest moved to another day in the same week is a new one.
    await outbox.enqueue(tx, "digest", Card(title=title, fields=tuple(fields), color="blue"),
                         dedupe_key=f"digest:{due_at.astimezone(UTC):%Y-%m-%dT%H:%M}")


async def _challenges(tx: Tx, phases: tuple[str, ...]
                      ) -> tuple[Sequence[Challenge], list[str]]:
    """The first challenges in these phases (by start) for the digest, and the line that
    says how many more there are (none when none are)."""
    in_phase = (Challenge.community_id == tx.community_id, Challenge.phase.in_(phases))
    found = (await tx.session.scalars(
        select(Challenge).where(*in_phase).order_by(Challenge.starts_at, Challenge.id)
        .limit(DIGEST_CHALLENGES))).all()
    if len(found) < DIGEST_CHALLENGES:
        return found, []
    more = await _count(tx, select(func.count(Challenge.id)).where(*in_phase))
    return found, _more(more - DIGEST_CHALLENGES, "challenge")


async def _count(tx: Tx, statement: Any) -> int:
    return int(await tx.session.scalar(statement) or 0)


def _more(left_out: int, noun: str) -> list[str]:
    return _line(top_lists.more_line(0, left_out, "", noun))


def _line(line: str | None) -> list[str]:
    return [line] if line else []


async def close_period(tx: Tx, period: str, due_at: datetime) -> None:
    """Announce the closing standings of the week or month that just ended, ranked as
    `/leaderboard` ranks them (tied members share a rank; a tie at the cut is shown
    whole or counted)."""
    ended = due_at - timedelta(seconds=1)
    key = period_key(period, ended, tx.tz)
    top = await top_lists.board_top(tx, key, CLOSE_TOP)
    if not top.rows:
        return
    lines = [f"{MEDALS.get(r.rank, f'{r.rank}.')} {r.name}: {plural(r.points, 'pt')}"
             for r in top.rows]
    await outbox.enqueue(tx, "period_close", Card(
        title=f"🏁 Final standings for {period_label(period, ended, tx.tz)}",
        text="\n".join([*lines, *_line(top.more)]), color="gold"),
        dedupe_key=f"close:{key}")


async def create_recurring(tx: Tx, t: Template, due_at: datetime) -> Challenge | None:
    """The template's next challenge, with the next prompt in rotation, created once."""
    occurrence = int(await tx.session.scalar(select(func.count()).where(
        Challenge.community_id == tx.community_id, Challenge.template_key == t.key)) or 0)
    already = await tx.session.scalar(select(Challenge.id).where(
        Challenge.community_id == tx.community_id, Challenge.template_key == t.key,
        Challenge.created_at >= due_at))
    if already is not None:
        return None
    prompt = t.prompts[occurrence % len(t.prompts)]
    # Deadlines count from the template's moment ("Monday 09:00" -> "Friday 09:00"), not
    # from whenever the runner got to it; after long downtime they count from now, so
    # the challenge still gets its full windows.
    start = due_at if tx.now - due_at <= RECURRING_GRACE else tx.now
    if t.kind == "submission":
        close = start + timedelta(days=t.submission_days)
        draft = challenges.ChallengeDraft(
            kind="submission", name=f"{t.name} #{occurrence + 1}", prompt=prompt,
            starts_at=start, submissions_close_at=close,
            voting_close_at=close + timedelta(days=t.voting_days), max_entries=t.max_entries,
            template_key=t.key)
    else:
        draft = challenges.ChallengeDraft(
            kind="goal", name=f"{t.name} #{occurrence + 1}", prompt=prompt, starts_at=start,
            ends_at=start + timedelta(days=t.duration_days), goal=t.goal, unit=t.unit,
            team_mode=t.team_mode, template_key=t.key)
    return await challenges.create(tx, draft, None)
