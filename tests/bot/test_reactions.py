"""The one reaction dispatch: what every platform's reactions go through."""

from __future__ import annotations

from datetime import timedelta

from bot.reactions import Reaction, ReactionDispatch, refusal_card
from engine.clock import FixedClock
from engine.refs import CommunityRef, MessageRef
from engine.service import Engine
from engine.votes import VoteResult
from storage.tables import Vote
from tests.conftest import member
from tests.engine.helpers import (
    open_voting,
    select_all,
    setup_community,
    submission_challenge,
    submit_and_post,
)


class Replies:
    """An `Answer` that notes what it was asked to say."""

    def __init__(self) -> None:
        self.refusals: list[tuple[str, str]] = []
        self.records: list[tuple[str, str]] = []

    async def refused(self, reaction: Reaction, why: str) -> None:
        self.refusals.append((reaction.member.user_id, why))

    async def recorded(self, reaction: Reaction, result: VoteResult) -> None:
        self.records.append((reaction.member.user_id, result.status))


async def _entry(engine: Engine, guild: CommunityRef, clock: FixedClock) -> MessageRef:
    await setup_community(engine, guild)
    c = await submission_challenge(engine, guild, clock)
    _, msg = await submit_and_post(engine, member(guild, "alice"), c.slug, "Dune")
    await open_voting(engine, clock)
    return msg


async def test_add_remove_refusal_bots_and_replays(engine: Engine, guild: CommunityRef,
                                                   clock: FixedClock) -> None:
    msg = await _entry(engine, guild, clock)
    dispatch, replies = ReactionDispatch(engine), Replies()
    bob, alice = member(guild, "bob"), member(guild, "alice")

    added = await dispatch.handle(Reaction(bob, msg, "👍", True, "Ev1"), replies)
    replay = await dispatch.handle(Reaction(bob, msg, "👍", True, "Ev1"), replies)
    own = await dispatch.handle(Reaction(alice, msg, "👍", True, "Ev2"), replies)
    robot = await dispatch.handle(Reaction(member(guild, "robot", bot=True), msg, "👍", True),
                                  replies)
    removed = await dispatch.handle(Reaction(bob, msg, "👍", False, "Ev3"), replies)

    assert added is not None and added.status == "counted"
    assert replay is None and own is None and robot is None
    assert removed is not None and removed.status == "retracted"
    assert replies.refusals == [("alice", "You can't vote for your own entry.")]
    assert replies.records == [("bob", "counted"), ("bob", "retracted")]
    assert await select_all(engine.db, Vote) == []


async def test_a_late_reaction_is_refused_with_a_reason(engine: Engine, guild: CommunityRef,
                                                        clock: FixedClock) -> None:
    msg = await _entry(engine, guild, clock)
    clock.advance(timedelta(days=3))
    replies = Replies()
    await ReactionDispatch(engine).handle(Reaction(member(guild, "bob"), msg, "👍", True),
                                          replies)
    assert replies.refusals == [("bob", "Voting on Dreamscapes closed 1 day 1 minute ago.")]


def test_the_refusal_reads_the_same_everywhere() -> None:
    assert refusal_card("Voting is closed.").text == "⚠️ Voting is closed."
    assert refusal_card("Voting is closed.", "<#42>").text == (
        "⚠️ Voting is closed.\nYour reaction in <#42> was not counted.")
