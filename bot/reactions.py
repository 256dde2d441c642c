"""One dispatch for reactions, whatever the platform.

Each adapter turns its platform's reaction event into one neutral `Reaction` and hands it
to `ReactionDispatch.handle`, with an `Answer` that knows how to reply on that platform.
Everything else about a reaction happens here, once: bots are ignored, a replayed
delivery is skipped, an added reaction is cast and a removed one taken back, and a
refused or uncounted vote is explained to the voter alone in the same words everywhere.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from engine.errors import LaurelsError
from engine.messages import Card
from engine.refs import MemberRef, MessageRef
from engine.service import Engine
from engine.votes import VoteResult

__all__ = ["Answer", "Reaction", "ReactionDispatch", "refusal_card"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reaction:
    """A reaction added to or removed from a message, as the platform reported it."""

    member: MemberRef
    message: MessageRef
    emoji: str
    added: bool
    # The platform's id of this delivery, where it has one (Slack's event_id): a replay
    # of the same event carries the same id.
    delivery_id: str | None = None


class Answer(Protocol):
    """How an adapter replies about a reaction on its platform."""

    async def refused(self, reaction: Reaction, why: str) -> None:
        """Tell the voter alone why their reaction did not count, with `refusal_card`
        (and, where the platform allows, take the reaction off)."""
        ...

    async def recorded(self, reaction: Reaction, result: VoteResult) -> None:
        """A vote was counted or taken back (refresh what shows the member's figures)."""
        ...


def refusal_card(why: str, where: str | None = None) -> Card:
    """What a voter is told when their reaction does not count; `where` names the channel
    when the answer arrives elsewhere (a direct message)."""
    text = f"⚠️ {why}"
    if where:
        text += f"\nYour reaction in {where} was not counted."
    return Card(text=text, color="red")


class ReactionDispatch:
    """Casts and takes back votes from platform reactions, one reaction at a time."""

    def __init__(self, engine: Engine, *, replay_memory: int = 10_000) -> None:
        self.engine = engine
        self._capacity = replay_memory
        self._seen: OrderedDict[str, None] = OrderedDict()

    def _first_delivery(self, delivery_id: str | None) -> bool:
        if delivery_id is None:
            return True
        if delivery_id in self._seen:
            return False
        self._seen[delivery_id] = None
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True

    async def handle(self, reaction: Reaction, answer: Answer) -> VoteResult | None:
        """Apply `reaction`; returns the engine's result (None: ignored or refused)."""
        if reaction.member.is_bot:
            return None  # the bot's own reactions (the vote emoji under each entry) and others'
        if not self._first_delivery(reaction.delivery_id):
            log.debug("skipping a replayed reaction %s", reaction.delivery_id)
            return None
        try:
            if reaction.added:
                result = await self.engine.cast_vote(reaction.member, reaction.message,
                                                     reaction.emoji)
            else:
                result = await self.engine.retract_vote(reaction.member, reaction.message,
                                                        reaction.emoji)
        except LaurelsError as exc:
            await answer.refused(reaction, exc.message)
            return None
        except Exception:
            # A delivery that failed on our side may be delivered again: let it through.
            self._seen.pop(reaction.delivery_id or "", None)
            raise
        if result.status in ("counted", "retracted"):
            await answer.recorded(reaction, result)
        return result
