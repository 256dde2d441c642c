"""Builders shared by the engine tests."""

from __future__ import annotations

from datetime import timedelta

from engine.challenges import ChallengeDraft
from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.service import Engine
from engine.views import ChallengeView
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
    for n, d in enumerate(await engine.claim_deliveries(limit=500), start=1000):
        ref = MessageRef(d.channel_id or "dm", f"m{d.id}")
        await engine.delivered(d.id, ref)
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
