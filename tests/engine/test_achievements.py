"""Achievements and badges: unlocks in the same transaction, progress, recompute, showcase."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete

from config.catalog import load_default_achievements
from engine.achievements import Catalog
from engine.clock import FixedClock
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.refs import CommunityRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Achievement, Badge, MemberStat, Standing
from tests.conftest import member
from tests.engine.helpers import (
    goal_challenge,
    ledger_of,
    open_voting,
    outbox_rows,
    row_counts,
    run_due,
    select_all,
    setup_community,
    submission_challenge,
    submit_and_post,
)


def _by_key(progress):  # type: ignore[no-untyped-def]
    return {p.definition.key: p for p in progress}


async def test_first_entry_unlocks_first_light_with_points_badge_and_announcement(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    alice = member(guild, "alice")
    before = await row_counts(db)

    await engine.submit_entry(alice, c.slug, "Night garden")

    after = await row_counts(db)
    # one transaction wrote the entry, its points, the achievement, badge and both posts
    assert after["entries"] - before["entries"] == 1
    assert after["achievements"] - before["achievements"] == 1
    assert after["badges"] - before["badges"] == 1
    reasons = [r.reason for r in await ledger_of(db, "alice")]
    assert sorted(reasons) == ["achievement", "early_entry", "entry_submitted"]
    assert (await ledger_of(db, "alice"))[-1].delta == 10
    (badge,) = await engine.badges(alice)
    assert (badge.key, badge.name, badge.icon) == ("first_entry", "First Light", "🌱")
    (post,) = await outbox_rows(db, "achievement")
    assert post.body["title"] == "🌱 Achievement unlocked: First Light"
    assert "(+10 points)" in post.body["text"] and post.body["mention"] == "alice"
    assert (await engine.profile(alice)).points == 85


async def test_progress_is_shown_as_a_fraction(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock, max_entries=10)
    msgs = [(await submit_and_post(engine, member(guild, f"a{i}"), c.slug, f"E{i}"))[1]
            for i in range(7)]
    await open_voting(engine, clock)
    bob = member(guild, "bob")
    for msg in msgs:
        await engine.cast_vote(bob, msg, "👍")

    progress = _by_key(await engine.achievements(bob))
    assert progress["votes_10"].label == "7/10"
    assert not progress["votes_10"].unlocked
    assert progress["votes_100"].label == "7/100"
    # a finished criterion caps at its target
    author = _by_key(await engine.achievements(member(guild, "a0")))
    assert author["first_entry"].label == "1/1" and author["first_entry"].unlocked


async def test_unknown_member_sees_only_public_achievements(
    engine: Engine, guild: CommunityRef
) -> None:
    await setup_community(engine, guild)
    progress = await engine.achievements(member(guild, "newcomer"))
    keys = {p.definition.key for p in progress}
    assert "first_entry" in keys
    assert not keys & {"editors_pick", "crowd_favourite", "marathoner"}
    assert all(p.label.startswith("0/") for p in progress)


async def test_secret_achievement_hidden_until_earned(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    alice = member(guild, "alice")
    entry = await engine.submit_entry(alice, c.slug, "Night garden")
    assert "editors_pick" not in _by_key(await engine.achievements(alice))

    await engine.feature_entry(member(guild, "mod", mod=True), entry.id)

    progress = _by_key(await engine.achievements(alice))
    assert progress["editors_pick"].unlocked
    assert "crowd_favourite" not in progress  # other secrets stay hidden


async def test_prerequisite_must_be_earned_first(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    """'Encore' (2 entries) requires a win: two entries alone leave it locked at 2/2, and
    the win unlocks Laureate and then Encore in the tally's own transaction."""
    raw = [*load_default_achievements(), {
        "key": "encore", "name": "Encore", "description": "Win, and submit 2 entries.",
        "kind": "count", "stat": "entries", "target": 2, "requires": ["first_win"]}]
    engine = Engine(db, clock, catalog=Catalog.from_data(raw))
    await setup_community(engine, guild)
    assert engine.catalog.defs["entries_5"].requires == ("first_entry",)
    c = await submission_challenge(engine, guild, clock)
    alice = member(guild, "alice")
    _, msg = await submit_and_post(engine, alice, c.slug, "One")
    await engine.submit_entry(alice, c.slug, "Two")

    progress = _by_key(await engine.achievements(alice))
    assert progress["encore"].label == "2/2" and not progress["encore"].unlocked

    await open_voting(engine, clock)
    await engine.cast_vote(member(guild, "fan"), msg, "👍")
    clock.advance(timedelta(days=2))
    await run_due(engine)

    progress = _by_key(await engine.achievements(alice))
    assert progress["first_win"].unlocked and progress["encore"].unlocked
    # the tally's one post lists them in the order they unlocked
    text = (await outbox_rows(db, "achievement"))[-1].body["text"]
    assert "Alice earned **Laureate**" in text and "Alice earned **Encore**" in text
    assert text.index("**Laureate**") < text.index("**Encore**")


async def test_prerequisite_chain_unlocks_in_one_go(
    engine: Engine, guild: CommunityRef
) -> None:
    """Jumping from 0 to 1,000 points unlocks 100, 500 and 1,000 in order, at once."""
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    alice = member(guild, "alice")
    await engine.award_points(mod, alice, 1000, "founding member")
    unlocked = {p.definition.key for p in await engine.achievements(alice) if p.unlocked}
    assert {"points_100", "points_500", "points_1000"} <= unlocked


async def test_points_threshold_unlocks_from_ordinary_points(
    engine: Engine, guild: CommunityRef, clock: FixedClock
) -> None:
    """Centurion unlocks the moment votes received carry the member past 100 points."""
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    alice = member(guild, "alice")
    _, msg = await submit_and_post(engine, alice, c.slug, "Night garden")  # 85 points
    await open_voting(engine, clock)
    for i in range(7):
        await engine.cast_vote(member(guild, f"v{i}"), msg, "👍")
    assert (await engine.profile(alice)).points == 99
    assert not _by_key(await engine.achievements(alice))["points_100"].unlocked

    await engine.cast_vote(member(guild, "v7"), msg, "👍")

    progress = _by_key(await engine.achievements(alice))
    assert progress["points_100"].unlocked and progress["points_100"].label == "100/100"
    assert [b.key for b in await engine.badges(alice)] == ["first_entry", "points_100"]


async def test_recompute_grants_a_new_achievement_once(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    engine = Engine(db, clock)
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    alice = member(guild, "alice")
    await engine.submit_entry(alice, c.slug, "One")
    await engine.submit_entry(alice, c.slug, "Two")
    points_before = (await engine.profile(alice)).points

    # the operators add an achievement alice already qualifies for
    raw = [*load_default_achievements(), {
        "key": "entries_2", "name": "Encore", "description": "Submit 2 entries.",
        "kind": "count", "stat": "entries", "target": 2, "points": 15, "badge": "🎭"}]
    upgraded = Engine(db, clock, catalog=Catalog.from_data(raw))
    assert not _by_key(await upgraded.achievements(alice))["entries_2"].unlocked

    assert await upgraded.recompute(guild) == 1
    assert await upgraded.recompute(guild) == 0  # nothing is paid twice

    assert _by_key(await upgraded.achievements(alice))["entries_2"].unlocked
    assert (await upgraded.profile(alice)).points == points_before + 15
    assert [b.key for b in await upgraded.badges(alice)].count("entries_2") == 1
    assert [r.body["title"].split(": ")[1] for r in await outbox_rows(db, "achievement")] == [
        "First Light", "Centurion", "Encore"]


async def test_recompute_rebuilds_standings_and_stats_from_history(
    engine: Engine, db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    c = await submission_challenge(engine, guild, clock)
    ids = {}
    msgs = {}
    for name in ("alice", "bob", "cy"):
        ids[name], msgs[name] = await submit_and_post(engine, member(guild, name), c.slug, name)
    g = await goal_challenge(engine, guild, clock)
    await engine.join(member(guild, "dee"), g.slug)
    await engine.log_progress(member(guild, "dee"), g.slug, 12.5)
    await engine.log_progress(member(guild, "dee"), g.slug, 40)
    await open_voting(engine, clock)
    for voter in ("bob", "cy", "dee"):
        await engine.cast_vote(member(guild, voter), msgs["alice"], "👍")
    await engine.cast_vote(member(guild, "alice"), msgs["bob"], "👍")
    await engine.retract_vote(member(guild, "cy"), msgs["alice"], "👍")
    await engine.disqualify_entry(mod, ids["cy"], "off topic")
    await engine.feature_entry(mod, ids["bob"])
    await engine.award_points(mod, member(guild, "dee"), 40, "helping out")
    clock.advance(timedelta(days=2))
    await run_due(engine)

    def snapshot(rows):  # type: ignore[no-untyped-def]
        """Rows as tuples; a counter at zero is the same as no counter."""
        return sorted(tuple(getattr(r, c.key) for c in r.__table__.columns) for r in rows
                      if getattr(r, "value", 1) != 0)

    standings = snapshot(await select_all(db, Standing))
    stats = snapshot(await select_all(db, MemberStat))
    achievements = snapshot(await select_all(db, Achievement))
    board = await engine.leaderboard(member(guild, "alice"))
    # wreck the derived tables; the ledger and history stay
    async with db.transaction() as s:
        await s.execute(delete(Standing))
        await s.execute(delete(MemberStat))

    assert await engine.recompute(guild) == 0

    assert snapshot(await select_all(db, Standing)) == standings
    assert snapshot(await select_all(db, MemberStat)) == stats
    assert snapshot(await select_all(db, Achievement)) == achievements
    assert await engine.leaderboard(member(guild, "alice")) == board


async def test_moderator_awards_a_badge_by_hand(
    engine: Engine, db: Database, guild: CommunityRef
) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    alice = member(guild, "alice")

    badge = await engine.award_badge(mod, alice, "Community Hero", "ran the meetup")

    assert (badge.name, badge.key, badge.reason) == ("Community Hero", "custom:community-hero",
                                                     "ran the meetup")
    (row,) = await select_all(db, Badge)
    assert row.awarded_by is not None
    (post,) = await outbox_rows(db, "badge")
    assert "from Mod: ran the meetup" in post.body["text"]
    with pytest.raises(Forbidden):
        await engine.award_badge(member(guild, "bob"), alice, "Hero", "me too")
    with pytest.raises(InvalidInput):
        await engine.award_badge(mod, alice, "Hero", "   ")


async def test_showcase_up_to_three_own_badges(
    engine: Engine, guild: CommunityRef
) -> None:
    await setup_community(engine, guild)
    mod = member(guild, "mod", mod=True)
    alice, bob = member(guild, "alice"), member(guild, "bob")
    mine = [(await engine.award_badge(mod, alice, f"Star {i}", "why not")).id for i in range(4)]
    theirs = (await engine.award_badge(mod, bob, "Bob's", "his")).id

    shown = await engine.showcase(alice, mine[1:4])
    assert [b.id for b in shown] == mine[1:4]
    assert [b.id for b in (await engine.profile(alice)).showcase] == mine[1:4]

    with pytest.raises(InvalidInput, match="up to 3"):
        await engine.showcase(alice, mine)
    with pytest.raises(NotFound, match=f"#{theirs}"):
        await engine.showcase(alice, [mine[0], theirs])
    # refusals leave the showcase as it was
    assert [b.id for b in (await engine.profile(alice)).showcase] == mine[1:4]


async def test_repeatable_achievement_is_earned_each_time(
    db: Database, guild: CommunityRef, clock: FixedClock
) -> None:
    raw = [*load_default_achievements(), {
        "key": "voter_3", "name": "Ballot Box", "description": "Every 3 votes cast.",
        "kind": "count", "stat": "votes_cast", "target": 3, "repeatable": True, "points": 4}]
    engine = Engine(db, clock, catalog=Catalog.from_data(raw))
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock, max_entries=10)
    msgs = [(await submit_and_post(engine, member(guild, f"a{i}"), c.slug, f"E{i}"))[1]
            for i in range(7)]
    await open_voting(engine, clock)
    bob = member(guild, "bob")
    for msg in msgs:
        await engine.cast_vote(bob, msg, "👍")

    ballot = _by_key(await engine.achievements(bob))["voter_3"]
    assert (ballot.unlocked, ballot.times) == (True, 2)
    assert [b.key for b in await engine.badges(bob)].count("voter_3") == 2
    assert (await engine.profile(bob)).points == 7 * 5 + 2 * 4
    assert await engine.recompute(guild) == 0
    assert (await engine.profile(bob)).points == 7 * 5 + 2 * 4


def test_the_default_catalog_ships_the_promised_achievements() -> None:
    catalog = Catalog.from_data(load_default_achievements())
    wanted = {"first_entry": ("first", 1), "entries_5": ("count", 5),
              "entries_25": ("count", 25), "first_win": ("first", 1), "wins_3": ("count", 3),
              "votes_10": ("count", 10), "votes_100": ("count", 100),
              "streak_7": ("streak", 7), "streak_30": ("streak", 30),
              "points_100": ("threshold", 100), "points_500": ("threshold", 500),
              "points_1000": ("threshold", 1000)}
    assert {k: (catalog.defs[k].kind, catalog.defs[k].target) for k in wanted} == wanted
    assert len([d for d in catalog.defs.values() if d.secret]) >= 2
    assert {d.rarity for d in catalog.defs.values()} <= {"common", "rare", "epic", "legendary"}


@pytest.mark.parametrize(("item", "message"), [
    ({"kind": "daily"}, "kind must be one of"),
    ({"stat": "likes"}, "stat must be one of"),
    ({"rarity": "mythic"}, "rarity must be one of"),
    ({"target": 0}, "target must be positive"),
    ({"requires": ["nope"]}, "requires unknown"),
])
def test_a_bad_catalog_is_refused_with_the_reason(item: dict[str, object], message: str) -> None:
    base = {"key": "k", "name": "K", "kind": "count", "stat": "entries", "target": 1}
    with pytest.raises(InvalidInput, match=message):
        Catalog.from_data([{**base, **item}])
    with pytest.raises(InvalidInput, match="defined twice"):
        Catalog.from_data([base, base])
