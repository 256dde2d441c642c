"""The "entered the top 10" announcement."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.refs import CommunityRef
from engine.service import Engine
from engine.topten import Entered, entered
from storage.db import Database
from tests.conftest import member
from tests.engine.helpers import (
    close_voting,
    open_voting,
    outbox_rows,
    setup_community,
    submission_challenge,
    submit_and_post,
)


async def _seed(engine: Engine, guild: CommunityRef, count: int) -> None:
    """`count` members with 20, 25, 30... points: m00 is last (and joins the board last)."""
    mod = member(guild, "mod", mod=True)
    for i in reversed(range(count)):
        await engine.award_points(mod, member(guild, f"m{i:02}"), 20 + 5 * i, "seed")


async def test_rising_onto_the_first_page_is_announced_once(
    engine: Engine, guild: CommunityRef, db: Database
) -> None:
    await setup_community(engine, guild)
    await _seed(engine, guild, 11)
    assert await outbox_rows(db, "top10") == []

    mod = member(guild, "mod", mod=True)
    await engine.award_points(mod, member(guild, "m00"), 60, "great answer")  # 20 -> 80
    await engine.award_points(mod, member(guild, "m00"), 5, "again")  # already on top

    (row,) = await outbox_rows(db, "top10")
    assert row.body["title"] == "📈 M00 entered the top 10"
    assert row.body["text"] == "M00 is now #1 all time with 80 points."
    assert row.body["mention"] == "m00"


async def test_a_member_already_in_the_top_10_is_not_announced(
    engine: Engine, guild: CommunityRef, db: Database
) -> None:
    await setup_community(engine, guild)
    await _seed(engine, guild, 12)
    mod = member(guild, "mod", mod=True)
    # m02 is 10th with 30 points; rising to the top is no news of this kind.
    await engine.award_points(mod, member(guild, "m02"), 70, "help")

    assert await outbox_rows(db, "top10") == []


async def test_ties_at_tenth_place_count_as_the_first_page(
    engine: Engine, guild: CommunityRef, db: Database
) -> None:
    await setup_community(engine, guild)
    await _seed(engine, guild, 11)
    mod = member(guild, "mod", mod=True)
    # m00 (20) draws level with the 10th (m01, 25): competition rank 10.
    await engine.award_points(mod, member(guild, "m00"), 5, "tie")

    (row,) = await outbox_rows(db, "top10")
    assert row.body["text"] == "M00 is now #10 all time with 25 points."


async def test_a_small_board_announces_nothing(
    engine: Engine, guild: CommunityRef, db: Database
) -> None:
    await setup_community(engine, guild)
    await _seed(engine, guild, 10)
    await engine.award_points(member(guild, "mod", mod=True), member(guild, "m00"), 60, "x")

    assert await outbox_rows(db, "top10") == []


async def test_a_deduction_announces_nothing(
    engine: Engine, guild: CommunityRef, db: Database
) -> None:
    await setup_community(engine, guild)
    await _seed(engine, guild, 12)
    mod = member(guild, "mod", mod=True)
    # m11 falls to the bottom, m01 moves up to 10th without earning anything: no news.
    await engine.award_points(mod, member(guild, "m11"), -70, "spam")

    assert await outbox_rows(db, "top10") == []


async def test_members_rising_together_are_not_announced_if_they_were_on_the_page(
    engine: Engine, guild: CommunityRef, db: Database, clock: FixedClock
) -> None:
    """Results pay ten placements in one transaction: nine members already on the first
    page all rise above each other's old scores and the leader's; none of them is
    "entering" it. The one newcomer to the page is."""
    await setup_community(engine, guild)
    await _seed(engine, guild, 12)  # m02..m11 are the top 10, m00 and m01 below
    mod = member(guild, "mod", mod=True)
    await engine.award_points(mod, member(guild, "m11"), 1000, "founder")  # stays on top
    for rule in ("vote_cast", "vote_received", "entry_submitted", "early_entry"):  # places only
        await engine.set_point_rule(mod, rule, 0)
    c = await submission_challenge(engine, guild, clock, max_entries=1)
    posted = {}
    for i in [*range(2, 11), 0]:  # the page but its leader, and m00 from below it
        posted[i] = (await submit_and_post(engine, member(guild, f"m{i:02}"), c.slug,
                                           f"By m{i:02}"))[1]
    await open_voting(engine, clock)
    for i, msg in posted.items():
        # More votes the higher the member (places keep the page's order); m00 wins.
        for v in range(i + 1 if i else 20):
            await engine.cast_vote(member(guild, f"fan{v}"), msg, "👍")
    await close_voting(engine, clock)

    announced = [r.body["mention"] for r in await outbox_rows(db, "top10")
                 if r.created_at > clock.now() - timedelta(hours=1)]  # at the results
    assert announced == ["m00"]


def test_entered_judges_the_page_as_it_was_before_the_change() -> None:
    # Eleven members; four on the page rise together past each other's old scores.
    before = {1: 90, 2: 80, 3: 70, 4: 60}
    after = {1: 590, 2: 580, 3: 570, 4: 560}
    others = [(m, 100 - 5 * m) for m in range(5, 12)]  # 75, 70, ... 45: unmoved
    top = sorted([*after.items(), *others], key=lambda r: -r[1])[:10 + len(after)]
    assert entered(before, after, top) == []
    # The last of the board rising onto the page is news; a member new to the board too.
    assert entered({11: 45}, {11: 600}, sorted([(11, 600), *others[:-1], *after.items()],
                                               key=lambda r: -r[1])) == [Entered(11, 1, 600)]
    assert entered({99: None}, {99: 71}, [*sorted([*after.items(), *others],
                                                  key=lambda r: -r[1]), (99, 71)]
                   ) == [Entered(99, 6, 71)]


def _entered_pairwise(before: dict[int, int | None], after: dict[int, int],
                      top: list[tuple[int, int]], limit: int = 10) -> list[Entered]:
    """The rule as its docstring states it, member by member: what `entered` counts."""
    if len(top) <= limit:
        return []
    found = []
    for member_id in sorted(after):
        old, new = before.get(member_id), after[member_id]
        if old is not None and new <= old:
            continue
        now_above = sum(1 for m, p in top if m != member_id and p > new)
        if now_above >= limit:
            continue
        if old is not None:
            was_above = sum(1 for m, p in top if m not in after and p > old)
            was_above += sum(1 for m, o in before.items()
                             if m != member_id and o is not None and o > old)
            if was_above < limit:
                continue
        found.append(Entered(member_id, now_above + 1, new))
    return found


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_entered_counts_as_the_rule_reads(data: st.DataObject) -> None:
    """`entered` counts by bisection (settlement moves thousands of members at once);
    it must agree with counting member by member on any board and any change."""
    board = data.draw(st.dictionaries(st.integers(1, 60), st.integers(0, 40), min_size=1,
                                      max_size=60))
    movers = data.draw(st.lists(st.sampled_from(sorted(board)), unique=True, max_size=25))
    after = {m: board[m] for m in movers}
    before = {m: data.draw(st.one_of(st.none(), st.integers(0, 40))) for m in movers}
    top = sorted(board.items(), key=lambda row: (-row[1], row[0]))[:10 + len(after)]
    assert entered(before, after, top) == _entered_pairwise(before, after, top)
