"""What falls due and when: the due-events table is the truth, the scheduler only wakes us.

Subjects and kinds:
- `challenge:{id}` / `phase`: the next phase change (start, submissions close, voting
  closes, goal ends); rewritten after each change.
- `challenge:{id}` / `remind:{deadline}:{offset}`: reminders before a deadline.
- `community:{id}` / `digest`, `close:week`, `close:month`, `recurring:{template}`.

Every handler is idempotent (conditional phase updates, outbox dedupe keys), so an event
that runs twice after a crash changes nothing the second time.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engine import challenges, outbox
from engine.context import Tx
from engine.errors import InvalidInput
from engine.messages import Card, Field
from engine.periods import period_key, period_label
from engine.timefmt import ago_or_in, span
from storage.dialect import insert_for
from storage.tables import Badge, Challenge, DueEvent, Member, Standing, Streak

__all__ = [
    "DEFAULT_REMINDERS",
    "ClaimedEvent",
    "Template",
    "claim_due",
    "load_templates",
    "next_due_at",
    "sync_challenge",
    "sync_community",
]

DEFAULT_REMINDERS = ("24h", "1h")
REMINDER_SPANS = {"24h": timedelta(hours=24), "1h": timedelta(hours=1),
                  "3h": timedelta(hours=3), "48h": timedelta(hours=48)}
LEASE = timedelta(minutes=5)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    id: int
    community_id: int
    subject: str
    kind: str
    due_at: datetime


def reminder_window(offset: timedelta) -> timedelta:
    """How late a reminder may still be posted: a tenth of its lead, at least 5 minutes."""
    return max(offset / 10, timedelta(minutes=5))


async def _upsert(tx: Tx, subject: str, kind: str, due_at: datetime) -> None:
    stmt = insert_for(tx.session, DueEvent).values(
        community_id=tx.community_id, subject=subject, kind=kind, due_at=due_at,
        status="pending", attempts=0)
    # A moved deadline makes the event pending again; the same deadline keeps its status,
    # so rebuilding the events is harmless and a sent reminder is not sent twice.
    moved = DueEvent.due_at != stmt.excluded.due_at
    stmt = stmt.on_conflict_do_update(
        index_elements=["subject", "kind"],
        set_={"due_at": stmt.excluded.due_at,
              "status": func.coalesce(_case(moved, "pending", DueEvent.status), "pending"),
              "attempts": _case(moved, 0, DueEvent.attempts),
              "lease_until": None},
    )
    await tx.session.execute(stmt)
    tx.schedule_changed = True


def _case(cond: Any, then: Any, other: Any) -> Any:
    from sqlalchemy import case

    return case((cond, then), else_=other)


def _reminders(tx: Tx) -> Sequence[str]:
    value = tx.community.settings.get("reminders", list(DEFAULT_REMINDERS))
    return [r for r in value if r in REMINDER_SPANS]


async def sync_challenge(tx: Tx, c: Challenge) -> None:
    """Write the events this challenge waits for; drop those it no longer needs."""
    subject = f"challenge:{c.id}"
    wanted: dict[str, datetime] = {}
    deadline = challenges.next_deadline(c) if c.phase != "draft" else None
    if deadline is not None:
        wanted["phase"] = deadline[1]
    if c.phase in ("scheduled", "open") and c.submissions_close_at is not None:
        for r in _reminders(tx):
            wanted[f"remind:submissions:{r}"] = c.submissions_close_at - REMINDER_SPANS[r]
    if c.phase in ("scheduled", "open", "voting") and c.voting_close_at is not None:
        for r in _reminders(tx):
            wanted[f"remind:voting:{r}"] = c.voting_close_at - REMINDER_SPANS[r]
    if c.phase in ("scheduled", "active") and c.ends_at is not None:
        for r in _reminders(tx):
            wanted[f"remind:end:{r}"] = c.ends_at - REMINDER_SPANS[r]
    for kind, due in wanted.items():
        await _upsert(tx, subject, kind, due)
    stale = delete(DueEvent).where(DueEvent.subject == subject, DueEvent.status == "pending")
    if wanted:
        stale = stale.where(DueEvent.kind.not_in(list(wanted)))
    await tx.session.execute(stale)


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


def load_templates() -> dict[str, Template]:
    text = resources.files("config").joinpath("defaults", "templates.toml").read_text("utf-8")
    return {t.key: t for t in (Template.from_data(r) for r in tomllib.loads(text)["template"])}


def community_templates(tx: Tx, catalog: dict[str, Template]) -> dict[str, Template]:
    """The templates this community has turned on (shipped ones and its own)."""
    own = {r["key"]: Template.from_data(r) for r in tx.community.settings.get("templates", [])}
    enabled = tx.community.settings.get("recurring", [])
    return {k: t for k, t in {**catalog, **own}.items() if k in enabled}


async def sync_community(tx: Tx, templates: dict[str, Template]) -> None:
    """Make sure the community's periodic events exist (harmless when they already do)."""
    subject = f"community:{tx.community_id}"
    existing = {e.kind: e for e in (await tx.session.scalars(
        select(DueEvent).where(DueEvent.subject == subject))).all()}
    digest = tx.community.settings.get("digest", "monday 09:00")
    wanted: dict[str, datetime] = {}
    if digest:
        day, _, clock = str(digest).partition(" ")
        hour, _, minute = (clock or "09:00").partition(":")
        wanted["digest"] = next_weekly(tx.now, tx, WEEKDAYS.index(day),
                                       time(int(hour), int(minute or 0)))
    wanted["close:week"] = next_period_end(tx.now, tx, "week")
    wanted["close:month"] = next_period_end(tx.now, tx, "month")
    for key, t in community_templates(tx, templates).items():
        wanted[f"recurring:{key}"] = next_weekly(tx.now, tx, t.weekday, t.at)
    for kind, due in wanted.items():
        if kind not in existing:
            await _upsert(tx, subject, kind, due)
    for kind, event in existing.items():
        if kind not in wanted and event.status == "pending":
            await tx.session.delete(event)


async def reschedule(tx: Tx, event: ClaimedEvent, due_at: datetime) -> None:
    await tx.session.execute(update(DueEvent).where(DueEvent.id == event.id).values(
        due_at=due_at, status="pending", attempts=0, lease_until=None))


# -- claiming -----------------------------------------------------------------------------

async def claim_due(session: AsyncSession, now: datetime, *, limit: int = 50,
                    skip_locked: bool = False) -> list[ClaimedEvent]:
    """Lease due events, oldest first, so no other process runs them meanwhile."""
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
    return [ClaimedEvent(r.id, r.community_id, r.subject, r.kind, r.due_at) for r in rows]


async def finish(tx: Tx, event: ClaimedEvent, status: str = "done") -> bool:
    """Mark the event done unless it was moved meanwhile (then it runs at its new time)."""
    result = await tx.session.execute(
        update(DueEvent).where(DueEvent.id == event.id, DueEvent.status == "pending",
                               DueEvent.due_at == event.due_at)
        .values(status=status, done_at=tx.now, lease_until=None))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def next_due_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(func.min(DueEvent.due_at)).where(
        DueEvent.status == "pending"))


# -- handlers -----------------------------------------------------------------------------

async def remind(tx: Tx, c: Challenge, kind: str, due_at: datetime) -> str:
    """Post a reminder, or skip it when it is stale or no longer applies."""
    _, deadline_name, offset = kind.split(":")
    lead = REMINDER_SPANS.get(offset, timedelta(hours=1))
    if tx.now - due_at > reminder_window(lead):
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
    """The weekly digest: top movers, new badges, streaks, what is open and coming."""
    since = due_at - timedelta(days=7)
    week = period_key("week", since, tx.tz)
    movers = (await tx.session.execute(
        select(Member.display_name, Standing.points).join(Member, Member.id == Standing.member_id)
        .where(Standing.community_id == tx.community_id, Standing.period == week,
               Standing.points > 0)
        .order_by(Standing.points.desc(), Standing.member_id).limit(5))).all()
    badges = (await tx.session.execute(
        select(Member.display_name, Badge.icon, Badge.name)
        .join(Member, Member.id == Badge.member_id)
        .where(Badge.community_id == tx.community_id, Badge.awarded_at >= since,
               Badge.awarded_at < due_at).order_by(Badge.id).limit(10))).all()
    streaks = (await tx.session.execute(
        select(Member.display_name, Streak.current).join(Member, Member.id == Streak.member_id)
        .where(Streak.community_id == tx.community_id, Streak.current >= 7)
        .order_by(Streak.current.desc()).limit(5))).all()
    running = (await tx.session.scalars(select(Challenge).where(
        Challenge.community_id == tx.community_id,
        Challenge.phase.in_(("open", "voting", "active", "scheduled")))
        .order_by(Challenge.starts_at).limit(8))).all()
    fields = [
        Field("Top movers", "\n".join(f"{n}: +{p}" for n, p in movers) or "No points yet",
              inline=False),
        Field("New badges", "\n".join(f"{i} {b} ({n})" for n, i, b in badges) or "None",
              inline=False),
    ]
    if streaks:
        fields.append(Field("Streaks", "\n".join(f"{n}: {d} days" for n, d in streaks),
                            inline=False))
    open_now = [f"{c.name}: {challenges.status_line(c, tx.now)}" for c in running
                if c.phase != "scheduled"]
    soon = [f"{c.name}: starts {ago_or_in(c.starts_at, tx.now)}" for c in running
            if c.phase == "scheduled"]
    fields.append(Field("Open now", "\n".join(open_now) or "Nothing open", inline=False))
    if soon:
        fields.append(Field("Starting soon", "\n".join(soon), inline=False))
    title = f"📰 Weekly digest: {period_label('week', since, tx.tz)}"
    await outbox.enqueue(tx, "digest", Card(title=title, fields=tuple(fields), color="blue"),
                         dedupe_key=f"digest:{week}")


async def close_period(tx: Tx, period: str, due_at: datetime) -> None:
    """Announce the closing standings of the week or month that just ended."""
    ended = due_at - timedelta(seconds=1)
    key = period_key(period, ended, tx.tz)
    top = (await tx.session.execute(
        select(Member.display_name, Standing.points).join(Member, Member.id == Standing.member_id)
        .where(Standing.community_id == tx.community_id, Standing.period == key,
               Standing.points > 0)
        .order_by(Standing.points.desc(), Standing.member_id).limit(5))).all()
    if not top:
        return
    medals = ("🥇", "🥈", "🥉", "4.", "5.")
    lines = [f"{medals[i]} {name}: {pts} pts" for i, (name, pts) in enumerate(top)]
    await outbox.enqueue(tx, "period_close", Card(
        title=f"🏁 Final standings for {period_label(period, ended, tx.tz)}",
        text="\n".join(lines), color="gold"), dedupe_key=f"close:{key}")


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
    start = tx.now
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
