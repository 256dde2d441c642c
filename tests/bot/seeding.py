"""The world the command tests of every platform act on."""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.challenges import ChallengeDraft
from engine.refs import MemberRef
from engine.service import Engine

__all__ = ["seed_challenges"]


async def seed_challenges(engine: Engine, admin: MemberRef, alice: MemberRef, bob: MemberRef,
                          now: datetime) -> None:
    """Three submission challenges and three goals, two entries, two joins and a badge."""
    day = timedelta(days=1)

    def submission(name: str) -> ChallengeDraft:
        return ChallengeDraft(kind="submission", name=name, starts_at=now,
                              submissions_close_at=now + 2 * day, voting_close_at=now + 3 * day)

    def goal(name: str) -> ChallengeDraft:
        return ChallengeDraft(kind="goal", name=name, starts_at=now, ends_at=now + 7 * day,
                              goal=42, unit="km")

    for draft in (submission("Dreamscapes"), submission("Doomed"), submission("Stepper"),
                  goal("Marathon"), goal("Steps"), goal("Reading")):
        await engine.create_challenge(admin, draft)
    await engine.submit_entry(alice, "dreamscapes", "Night garden")
    await engine.submit_entry(bob, "dreamscapes", "Cloud harbour")
    await engine.join(alice, "marathon")
    await engine.join(alice, "steps")
    await engine.award_badge(admin, alice, "Welcome", "First day")
