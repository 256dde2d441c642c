"""Times in cards stay data until rendered: announcements keep their moments, so every
platform can show each reader their own zone and a live relative time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from engine import moments
from engine.clock import FixedClock
from engine.messages import Card, Field
from engine.refs import CommunityRef
from engine.service import Engine
from engine.text import clean_text
from storage.db import Database
from tests.conftest import member
from tests.engine.helpers import (
    goal_challenge,
    open_voting,
    outbox_rows,
    run_due,
    setup_community,
    submission_challenge,
)

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def only_moments(text: str) -> list[moments.Moment]:
    return [p for p in moments.parts(text) if isinstance(p, moments.Moment)]


def test_a_moment_keeps_its_time_and_the_engines_wording() -> None:
    close = NOW + timedelta(days=2, hours=3, seconds=30, microseconds=5)
    text = f"Voting closes {moments.relative(close, NOW, PARIS)}; until {moments.at(close, PARIS)}."
    relative, absolute = only_moments(text)
    assert relative.at == absolute.at == close.replace(microsecond=0)
    assert (relative.style, relative.text, relative.local) == (
        "R", "in 2 days 3 hours", "Wed 07 Jan 2026 13:00 CET")
    assert (absolute.style, absolute.text) == ("f", "Wed 07 Jan 2026 13:00 CET")
    assert moments.plain(text) == ("Voting closes in 2 days 3 hours; until "
                                   "Wed 07 Jan 2026 13:00 CET.")
    assert moments.render(text, lambda m: f"<{m.unix}>", str.upper) == (
        f"VOTING CLOSES <{relative.unix}>; UNTIL <{relative.unix}>.")


def test_member_text_cannot_forge_a_moment() -> None:
    token = moments.at(NOW, PARIS)
    assert moments.has_moments(token) and not moments.has_moments(clean_text(token))
    assert moments.plain("plain text") == "plain text"


def test_cards_keep_moments_through_json_and_old_rows_still_read() -> None:
    card = Card(title="🗳️ Voting", text=f"Closes {moments.relative(NOW, NOW, PARIS)}",
                fields=(Field("Until", moments.at(NOW, PARIS)),))
    back = Card.from_json(card.to_json())
    assert back == card and only_moments(back.fields[0].value)[0].at == NOW
    assert back.plain_text() == "**🗳️ Voting**\nCloses just now\nUntil: Mon 05 Jan 2026 10:00 CET"
    # A row written before moments and summaries existed.
    old = {"title": "t", "text": "Voting closes in 2 days.", "fields": [], "buttons": [],
           "image_url": None, "url": None, "footer": None, "color": "blue", "mention": None,
           "react_with": None}
    assert Card.from_json(old).text == "Voting closes in 2 days." and not only_moments(
        Card.from_json(old).text)


async def test_announcements_carry_their_deadlines_as_moments(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild, tz="Europe/Paris")
    c = await submission_challenge(engine, guild, clock)
    [opened] = await outbox_rows(db, "phase_open")
    fields = {f["name"]: f["value"] for f in opened.body["fields"]}
    [submit_by] = only_moments(fields["Submit by"])
    [until] = only_moments(fields["Voting until"])
    assert (submit_by.at, until.at) == (c.submissions_close_at, c.voting_close_at)
    assert submit_by.style == until.style == moments.ABSOLUTE

    await open_voting(engine, clock)
    [voting] = await outbox_rows(db, "phase_voting")
    [closes] = only_moments(voting.body["text"])
    assert closes.at == c.voting_close_at and closes.style == moments.RELATIVE
    # Long after, the text still says when: a platform renders it as of its reading.
    assert closes.text == "in 1 day 23 hours" and closes.local.endswith("CET")


async def test_the_digest_words_what_is_open_and_coming_as_moments(
        engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock) -> None:
    await setup_community(engine, guild)
    await engine.set_digest(member(guild, "mod", mod=True), "monday 09:00")
    await goal_challenge(engine, guild, clock)
    await goal_challenge(engine, guild, clock, name="Later", days=20,
                         starts_at=clock.now() + timedelta(days=9))
    clock.advance(timedelta(days=7))
    await run_due(engine)
    [digest] = await outbox_rows(db, "digest")
    fields = {f["name"]: f["value"] for f in digest.body["fields"]}
    assert only_moments(fields["Open now"]) and only_moments(fields["Starting soon"])
    assert "starts in 2 days" in moments.plain(fields["Starting soon"])
