"""Builders shared by the engine tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import String, Text, func, select

from engine.challenges import ChallengeDraft
from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.service import Engine
from engine.views import ChallengeView
from storage.db import Database
from storage.tables import Base, LedgerRow, Member, OutboxRow
from tests.conftest import member


async def setup_community(engine: Engine, guild: CommunityRef, tz: str = "UTC") -> None:
    await engine.ensure_community(guild, timezone=tz, announce_channel="announcements",
                                  entries_channel="entries")


async def submission_challenge(
    engine: Engine, guild: CommunityRef, clock: FixedClock, name: str = "Dreamscapes", **kw: object
) -> ChallengeView:
    mod = member(guild, "mod", mod=True)
    now = clock.now()
    draft = ChallengeDraft(kind="submission", name=name, prompt="Paint a dream",
                           submissions_close_at=now + timedelta(days=3),
                           voting_close_at=now + timedelta(days=5), **kw)  # type: ignore[arg-type]
    return await engine.create_challenge(mod, draft)


async def post_pending(engine: Engine) -> dict[int, MessageRef]:
    """Deliver every pending outbox row as the console would; returns entry id -> message."""
    posted: dict[int, MessageRef] = {}
    for n, d in enumerate(await engine.deliveries.claim(limit=500), start=1000):
        ref = MessageRef(d.channel_id or "dm", f"m{d.id}")
        await engine.deliveries.sent(d.id, ref)
        if d.kind == "entry":
            entry_id = int(d.dedupe_key.split(":")[1])
            posted[entry_id] = ref
        del n
    return posted


async def submit_and_post(engine: Engine, who: MemberRef, challenge: str, title: str
                          ) -> tuple[int, MessageRef]:
    entry = await engine.submit_entry(who, challenge, title, "https://example.com/x")
    posted = await post_pending(engine)
    return entry.id, posted[entry.id]


async def goal_challenge(
    engine: Engine, guild: CommunityRef, clock: FixedClock, name: str = "Run 50k",
    goal: float = 50, team_mode: str = "individual", days: int = 10, unit: str = "km",
    **kw: object,
) -> ChallengeView:
    mod = member(guild, "mod", mod=True)
    draft = ChallengeDraft(kind="goal", name=name, metric="distance", unit=unit, goal=goal,
                           team_mode=team_mode, ends_at=clock.now() + timedelta(days=days),
                           **kw)  # type: ignore[arg-type]
    return await engine.create_challenge(mod, draft)


async def run_due(engine: Engine) -> int:
    """Run what is due now through the due-event runner, as the bot's scheduler does;
    returns how many due events ran."""
    return await engine.due.run_due()


async def phase(engine: Engine, guild: CommunityRef, slug: str) -> str:
    """The challenge's phase as members see it."""
    return (await engine.challenge_info(member(guild, "observer"), slug)).challenge.phase


async def open_voting(engine: Engine, clock: FixedClock) -> None:
    """Move the clock past the submission deadline of a default challenge and run the
    scheduler, as the bot would."""
    clock.advance(timedelta(days=3, minutes=1))
    await run_due(engine)


async def close_voting(engine: Engine, clock: FixedClock) -> None:
    clock.advance(timedelta(days=2))
    await run_due(engine)


async def select_all(db: Database, model: Any, *where: Any, order_by: Any = None) -> list[Any]:
    """Rows of a table straight from the database (what the engine really stored)."""
    query = select(model).where(*where)
    if order_by is not None:
        query = query.order_by(order_by)
    async with db.session() as session:
        return list((await session.scalars(query)).all())


async def row_counts(db: Database) -> dict[str, int]:
    """Rows per table: a before/after snapshot shows that a refused operation wrote nothing."""
    counts: dict[str, int] = {}
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = int(
                await session.scalar(select(func.count()).select_from(table)) or 0)
    return counts


async def ledger_of(db: Database, external_id: str, community_id: int | None = None
                    ) -> list[LedgerRow]:
    """A member's ledger rows, oldest first."""
    where = [Member.external_id == external_id]
    if community_id is not None:
        where.append(Member.community_id == community_id)
    async with db.session() as session:
        return list((await session.scalars(
            select(LedgerRow).join(Member, Member.id == LedgerRow.member_id)
            .where(*where).order_by(LedgerRow.id))).all())


async def outbox_rows(db: Database, kind: str | None = None) -> list[OutboxRow]:
    where = [OutboxRow.kind == kind] if kind else []
    return await select_all(db, OutboxRow, *where, order_by=OutboxRow.id)


async def stored_text(db: Database) -> list[str]:
    """Every string value in every table."""
    found: list[str] = []
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            if columns:
                for row in (await session.execute(select(*columns))).all():
                    found += [v for v in row if isinstance(v, str)]
    return found
