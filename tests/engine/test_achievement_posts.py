"""Achievement posts: what one transaction unlocks is one post, exactly once, where the
community wants it (a channel of their own, the announcements channel, or nowhere)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from commands.tree import execute_text
from config.catalog import load_default_achievements
from engine.achievements import Catalog
from engine.clock import FixedClock
from engine.context import Tx
from engine.errors import Forbidden, InvalidInput
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from tests.conftest import member
from tests.engine.helpers import (
    open_voting,
    outbox_rows,
    row_counts,
    run_due,
    setup_community,
    submission_challenge,
    submit_and_post,
)


async def test_what_one_transaction_unlocks_is_one_post(
    engine: Engine, db: Database, guild: CommunityRef
) -> None:
    """1,000 points at once unlock Centurion, High Scorer and Luminary: one post, not
    three, listing them in the order they unlocked."""
    await setup_community(engine, guild)
    alice = member(guild, "alice")

    await engine.award_points(member(guild, "mod", mod=True), alice, 1000, "founder")

    (post,) = await outbox_rows(db, "achievement")
    assert post.body["title"] == "🏅 3 achievements unlocked"
    assert post.body["text"].splitlines() == [
        "💯 Alice earned **Centurion**: Reach 100 points.",
        "⭐ Alice earned **High Scorer** (rare): Reach 500 points.",
        "🌟 Alice earned **Luminary** (epic): Reach 1,000 points.",
    ]
    assert post.body["mention"] == "alice"  # one member: they are mentioned
    assert post.channel_id == "announcements"
    assert post.dedupe_key.startswith("ach:3:")
    assert {b.key for b in await engine.badges(alice)} == {"points_100", "points_500",
                                                           "points_1000"}


async def test_a_tally_posts_once_for_every_member_it_unlocked(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    _, garden = await submit_and_post(engine, member(guild, "alice"), c.slug, "Garden")
    _, harbour = await submit_and_post(engine, member(guild, "bob"), c.slug, "Harbour")
    await open_voting(engine, clock)
    await engine.cast_vote(member(guild, "carol"), garden, "👍")
    await engine.cast_vote(member(guild, "dave"), garden, "👍")
    await engine.cast_vote(member(guild, "carol"), harbour, "👍")
    before = len(await outbox_rows(db, "achievement"))

    clock.advance(timedelta(days=2))
    await run_due(engine)

    posts = await outbox_rows(db, "achievement")
    assert len(posts) == before + 1
    text = posts[-1].body["text"]
    assert "Alice earned **Laureate**" in text and "Bob earned **Centurion**" in text
    assert posts[-1].body["mention"] is None  # several members: named in the text


async def test_votes_paid_by_settlement_unlock_in_one_post(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """Settlement pays in transactions of its own: what one payment unlocks (bob's tenth
    vote, a0 passing 100 points) is one post too."""
    engine = Engine(db, clock, settle_in_background=False)
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock, max_entries=10)
    msgs = [(await submit_and_post(engine, member(guild, f"a{i}"), c.slug, f"E{i}"))[1]
            for i in range(10)]
    await open_voting(engine, clock)
    before = len(await outbox_rows(db, "achievement"))
    for msg in msgs:
        await engine.cast_vote(member(guild, "bob"), msg, "👍")
    for i in range(7):
        await engine.cast_vote(member(guild, f"v{i}"), msgs[0], "👍")

    assert await engine.settle_votes(guild) == 17

    posts = (await outbox_rows(db, "achievement"))[before:]
    assert len(posts) == 1
    assert posts[0].body["title"] == "🏅 2 achievements unlocked"
    assert "Bob earned **Critic**" in posts[0].body["text"]
    assert "A0 earned **Centurion**" in posts[0].body["text"]


async def test_a_retried_transaction_posts_once(
    engine: Engine, db: Database, guild: CommunityRef
) -> None:
    """The first attempt unlocks, posts, then loses a race and rolls back: the attempt
    that commits posts what it unlocked, once, and nothing of the attempt before."""
    await setup_community(engine, guild)
    attempts: list[int] = []

    async def lose_the_first_race(tx: Tx) -> None:
        attempts.append(len(attempts) + 1)
        if len(attempts) == 1:
            raise IntegrityError("INSERT ...", None, Exception("a key race"))

    engine.uow.before_commit.append(lose_the_first_race)
    await engine.award_points(member(guild, "mod", mod=True), member(guild, "alice"), 150,
                              "helping out")

    assert attempts == [1, 2]
    (post,) = await outbox_rows(db, "achievement")
    assert post.body["title"] == "💯 Achievement unlocked: Centurion"
    assert post.body["text"].count("earned") == 1


async def test_a_long_list_says_how_many_more(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    raw = [*load_default_achievements(),
           *({"key": f"debut_{i}", "name": f"Debut {i}", "description": "Enter once.",
              "kind": "first", "stat": "entries"} for i in range(12))]
    engine = Engine(db, clock, catalog=Catalog.from_data(raw))
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)

    await engine.submit_entry(member(guild, "alice"), c.slug, "One")

    (post,) = await outbox_rows(db, "achievement")
    assert post.body["title"] == "🏅 13 achievements unlocked"
    lines = post.body["text"].splitlines()
    assert len(lines) == 11 and lines[-1] == "…and 3 more achievements"


async def test_achievement_posts_go_to_their_channel_or_nowhere(
    engine: Engine, db: Database, guild: CommunityRef
) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)

    view = await engine.set_channel(mod, "achievements", "wins")
    assert (view.achievement_posts, view.achievements_channel) == ("channel", "wins")
    await engine.award_points(mod, member(guild, "alice"), 100, "founder")
    assert [p.channel_id for p in await outbox_rows(db, "achievement")] == ["wins"]

    assert (await engine.set_achievement_posts(mod, "off")).achievement_posts == "off"
    await engine.award_points(mod, member(guild, "bob"), 100, "founder")
    assert len(await outbox_rows(db, "achievement")) == 1  # no post for bob's Centurion
    assert [b.key for b in await engine.badges(member(guild, "bob"))] == ["points_100"]

    view = await engine.set_achievement_posts(mod, " Announcements ")
    assert (view.achievement_posts, view.achievements_channel) == ("announcements", None)
    await engine.award_points(mod, member(guild, "carol"), 100, "founder")
    assert [p.channel_id for p in await outbox_rows(db, "achievement")] == [
        "wins", "announcements"]
    assert (await engine.community(guild)).achievement_posts == "announcements"


async def test_bad_or_unauthorised_achievement_settings_change_nothing(
    engine: Engine, db: Database, guild: CommunityRef
) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    await engine.set_channel(mod, "achievements", "wins")
    before = await row_counts(db)

    with pytest.raises(InvalidInput, match="'announcements' or 'off'"):
        await engine.set_achievement_posts(mod, "everywhere")
    with pytest.raises(Forbidden):
        await engine.set_achievement_posts(member(guild, "alice"), "off")
    with pytest.raises(Forbidden):
        await engine.set_channel(member(guild, "alice"), "achievements", "elsewhere")

    assert await row_counts(db) == before
    view = await engine.community(guild)
    assert (view.achievement_posts, view.achievements_channel) == ("channel", "wins")


async def test_settings_commands_for_achievement_posts(
    engine: Engine, guild: CommunityRef
) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)

    async def shown() -> str:
        card = (await execute_text(engine, mod, "/settings show")).card
        return {f.name: f.value for f in card.fields}["Achievements"]

    assert await shown() == "<#announcements> (with announcements)"
    said = await execute_text(engine, mod, "/settings channel achievements <#wins>")
    assert said.card.text == "Achievement posts go to <#wins>."
    assert await shown() == "<#wins>"
    said = await execute_text(engine, mod, "/settings achievements off")
    assert said.card.text.startswith("Achievement posts are off")
    assert await shown() == "off"
    said = await execute_text(engine, mod, "/settings achievements announcements")
    assert said.card.text == "Achievement posts go to <#announcements> (with announcements)."
    said = await execute_text(engine, mod, "/settings achievements nowhere")
    assert said.card.text.startswith("⚠️")
    assert await shown() == "<#announcements> (with announcements)"
