"""Values that used to raise instead of getting a reply (issue 16): ids past 64 bits,
digits of other scripts, lone surrogates, invisible characters. Each line now gets a clear
answer through the text command path; a refusal changes nothing, and text that is taken
is stored clean."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from commands.tree import execute_text
from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Badge, Challenge, Entry, LedgerRow, Member, ProgressLog
from tests.conftest import member
from tests.engine.helpers import (
    goal_challenge,
    setup_community,
    stored_text,
    submission_challenge,
)
from tests.engine.test_bad_input import table_snapshot

HUGE = "99999999999999999999"  # past 64 bits
JUST_PAST = str(2**63)  # one past the largest id the database holds


@dataclass
class World:
    engine: Engine
    guild: CommunityRef

    def who(self, name: str) -> MemberRef:
        return member(self.guild, name, mod=name == "mod")

    async def say(self, name: str, line: str) -> str:
        reply = await execute_text(self.engine, self.who(name), line)
        return "\n".join(x for x in (reply.card.title, reply.card.text) if x)


@pytest.fixture
async def world(engine: Engine, guild: CommunityRef, clock: FixedClock) -> World:
    await setup_community(engine, guild)
    await submission_challenge(engine, guild, clock)
    await goal_challenge(engine, guild, clock, name="Miles")
    await engine.submit_entry(member(guild, "alice"), "dreamscapes", "Night garden")
    await engine.join(member(guild, "bob"), "miles")
    return World(engine, guild)


REFUSED = [
    ("alice", f"/challenge info #{HUGE}", "too large to be a challenge number"),
    ("alice", f"/challenge info #{JUST_PAST}", "too large to be a challenge number"),
    ("alice", f"/challenge info {HUGE}", "too large to be a challenge number"),
    ("alice", "/challenge info #" + "9" * 90, "too large to be a challenge number"),
    ("alice", "/challenge info #²", "with the digits 0-9"),
    ("alice", "/challenge info ²", "with the digits 0-9"),
    ("alice", "/challenge info ١٢", "with the digits 0-9"),
    ("alice", "/challenge join #²", "with the digits 0-9"),
    ("alice", "/challenge standings #" + HUGE, "too large to be a challenge number"),
    ("mod", "/challenge feature #²", "with the digits 0-9"),
    ("mod", "/challenge feature ³", "with the digits 0-9"),
    ("mod", '/challenge disqualify #² "Off topic"', "with the digits 0-9"),
    ("alice", "/badge showcase ²", "with the digits 0-9"),
    ("alice", "/leaderboard week ١٢", "digits 0-9"),
    ("alice", "/leaderboard week ²", "digits 0-9"),
    ("alice", "/challenge list open ٣", "digits 0-9"),
    ("bob", "/challenge log miles ١٢", "digits 0-9"),
    ("bob", "/challenge log miles 1e400", "too large"),
    ("bob", "/challenge log miles nan", "must be a number"),
    ("bob", "/challenge log miles inf", "must be a number"),
    ("mod", "/points award alice ٥ thanks", "digits 0-9"),
    ("alice", "/challenge info \ud800", "Missing challenge"),
    ("alice", "/challenge info \u202e\u2066", "Missing challenge"),
    ("alice", '/profile "@\udfff\ud800"', "must be a member"),  # not a pair: both go
]


@pytest.mark.parametrize(("who", "line", "message"), REFUSED,
                         ids=[ascii(line)[:60] for _, line, _ in REFUSED])
async def test_an_unusable_value_gets_a_clear_refusal_and_changes_nothing(
        world: World, db: Database, who: str, line: str, message: str) -> None:
    before = await table_snapshot(db)
    said = await world.say(who, line)
    assert said.startswith("⚠️") and message in said, said
    assert await table_snapshot(db) == before


# Characters that must never be stored: lone surrogates (not UTF-8), controls, bidi
# overrides and isolates, zero-width spaces, byte-order marks.
FORBIDDEN = {chr(c) for c in range(0xD800, 0xE000)} | {chr(c) for c in range(0x20)} \
    | set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\ufeff\x7f")


async def test_text_with_surrogates_and_invisible_characters_is_stored_clean(
        world: World, db: Database) -> None:
    said = await world.say("alice", '/challenge submit dreamscapes "Lost\ud800 \u202egarden\u202c"')
    assert "is in!" in said, said
    said = await world.say("mod", '/challenge create goal "Mi\u200bles\ud800 two" goal:5 ends:5d')
    assert "Created Miles two" in said, said
    said = await world.say("bob", '/challenge log miles 5 "a\ud800 note\x00"')
    assert "Logged 5" in said, said
    said = await world.say("mod", '/points award alice 5 "Great\u2066 work\udfff"')
    assert "Awarded 5 points" in said, said
    said = await world.say("mod", '/badge award alice "Helper\ud83d" "Answered\u202e questions"')
    assert "Awarded" in said, said
    said = await world.say("mod", '/challenge join miles "team\ud800"')
    assert "⚠️" in said or "joined" in said, said

    async with db.session() as session:
        titles = set((await session.scalars(select(Entry.title))).all())
        names = set((await session.scalars(select(Challenge.name))).all())
        awards = set((await session.scalars(select(LedgerRow.note))).all())
        notes = set((await session.scalars(select(ProgressLog.note))).all())
        badges = set((await session.execute(select(Badge.name, Badge.reason))).all())
    assert "Lost garden" in titles
    assert "Miles two" in names
    assert "Great work" in awards
    assert "a note" in notes
    assert ("Helper", "Answered questions") in badges
    leftovers = [t for t in await stored_text(db) if FORBIDDEN & set(t)]
    assert leftovers == []


async def test_display_names_are_stored_clean(world: World, db: Database) -> None:
    someone = MemberRef(world.guild, "u-9", "\u202eevil\u202c Eve\ud800 \u200b")
    await world.engine.join(someone, "miles")
    async with db.session() as session:
        name = await session.scalar(select(Member.display_name).where(
            Member.external_id == "u-9"))
    assert name == "evil Eve"
    # A name that is nothing but invisible characters falls back to the member's id.
    blank = MemberRef(world.guild, "u-10", "\u3164\u200b\u202e")
    await world.engine.join(blank, "miles")
    async with db.session() as session:
        name = await session.scalar(select(Member.display_name).where(
            Member.external_id == "u-10"))
    assert name == "u-10"
