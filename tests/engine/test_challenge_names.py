"""Challenges are named in any script: slugs members can type, found by slug or name,
offered by autocompletion under either, and no invisible characters kept."""

from __future__ import annotations

from sqlalchemy import update

from engine.challenges import slugify
from engine.clock import FixedClock
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Challenge
from tests.conftest import member
from tests.engine.helpers import setup_community, submission_challenge


def test_slugs_transliterate_other_scripts() -> None:
    assert slugify("🌸🌸 Ünïcødé ✨") == "unicode"
    assert slugify("Привет мир") == "privet-mir"
    assert slugify("日本語のタイトル") == "ri-ben-yu-notaitoru"
    assert slugify("Ελληνικά") == "ellenika"
    assert slugify("Night garden") == "night-garden"  # Latin names as before
    assert slugify("✨✨") == ""
    # Whole words, within the limit.
    assert slugify("word " * 20) == "-".join(["word"] * 9)


async def test_non_latin_names_get_slugs_members_can_type(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    unicode = await submission_challenge(engine, guild, clock, name="🌸🌸 Ünïcødé ✨")
    japanese = await submission_challenge(engine, guild, clock, name="日本語のタイトル")
    sparkles = await submission_challenge(engine, guild, clock, name="✨✨")
    stars = await submission_challenge(engine, guild, clock, name="🌟🌟")

    assert (unicode.slug, japanese.slug) == ("unicode", "ri-ben-yu-notaitoru")
    # Nothing to spell: a short readable id, unique in the community.
    assert (sparkles.slug, stars.slug) == ("challenge-3", "challenge-4")
    other = CommunityRef(guild.platform, "another-server")
    await setup_community(engine, other)
    assert (await submission_challenge(engine, other, clock, name="✨")).slug == "challenge-1"

    alice = member(guild, "alice")
    for typed, expected in (("unicode", unicode), ("🌸🌸 Ünïcødé ✨", unicode),
                            ("日本語のタイトル", japanese), ("日本語", japanese),
                            ("✨✨", sparkles), ("challenge-4", stars), ("🌟🌟", stars)):
        found = (await engine.challenge_info(alice, typed)).challenge
        assert found.id == expected.id, typed


async def test_a_fallback_id_skips_slugs_taken(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    named = await submission_challenge(engine, guild, clock, name="Challenge 2")
    emoji = await submission_challenge(engine, guild, clock, name="🎨")
    assert (named.slug, emoji.slug) == ("challenge-2", "challenge-3")


async def test_existing_slugs_are_kept_and_still_found_by_name(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock, name="🌸🌸 Ünïcødé ✨")
    async with db.transaction() as session:  # as the old rule slugged it
        await session.execute(update(Challenge).where(Challenge.id == c.id)
                              .values(slug="n-c-d"))
    await submission_challenge(engine, guild, clock, name="Other")

    alice = member(guild, "alice")
    assert (await engine.challenge_info(alice, "n-c-d")).challenge.slug == "n-c-d"
    assert (await engine.challenge_info(alice, "🌸🌸 Ünïcødé ✨")).challenge.id == c.id
    assert [s for s, _ in await engine.challenge_names(guild, "Ünï")] == ["n-c-d"]


async def test_autocompletion_matches_names_as_well_as_slugs(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    japanese = await submission_challenge(engine, guild, clock, name="日本語のタイトル")
    garden = await submission_challenge(engine, guild, clock, name="Night garden")
    odd = await submission_challenge(engine, guild, clock, name="100% _weird_")

    assert await engine.challenge_names(guild, "日本") == [(japanese.slug, japanese.name)]
    assert await engine.challenge_names(guild, "のタイ") == [(japanese.slug, japanese.name)]
    assert [s for s, _ in await engine.challenge_names(guild, "ri-ben")] == [japanese.slug]
    assert [s for s, _ in await engine.challenge_names(guild, "GARDEN")] == [garden.slug]
    assert [s for s, _ in await engine.challenge_names(guild, "night")] == [garden.slug]
    assert [s for s, _ in await engine.challenge_names(guild, "%")] == [odd.slug]
    assert len(await engine.challenge_names(guild, "")) == 3
    assert await engine.challenge_names(guild, "✨") == []  # nothing matches, not everything


async def test_names_lose_bidi_overrides_and_invisible_characters(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock,
                                   name="\u202eevil\u202c Dream\u200bscapes\u2066")
    assert (c.name, c.slug) == ("evil Dreamscapes", "evil-dreamscapes")
    entry = await engine.submit_entry(member(guild, "alice"), c.slug, "Night\u202e garden\u00ad")
    assert entry.title == "Night garden"
