"""An in-memory platform that records what the bot posts, and can be told to fail."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.delivery import DeliveryWorker
from bot.platform import DeliveryError, PostWindow
from engine.messages import Card
from engine.refs import MessageRef
from engine.service import Engine

__all__ = ["Post", "RecordingPlatform", "deliver_all"]


@dataclass(frozen=True, slots=True)
class Post:
    channel: str
    title: str
    nonce: str
    message_id: str


@dataclass
class RecordingPlatform:
    """Posts succeed (or raise what `fail` returns for that attempt) and are recorded.

    `land_then_fail` makes a post land and then raise anyway (the answer was lost), and
    `lookups` records each `find_posted` with its window. A post is found by its nonce.
    """

    name: str = "console"
    posts: list[Post] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)  # nonces, one per post request
    fail: Callable[[str, Card], DeliveryError | Exception | None] | None = None
    land_then_fail: Callable[[str, Card], Exception | None] | None = None
    lookups: list[tuple[str, PostWindow]] = field(default_factory=list)
    # Called at the start of every post (a test checks what the database holds then).
    on_post: Callable[[str], Awaitable[None]] | None = None

    async def post(self, community_external_id: str, channel_id: str, card: Card, *,
                   nonce: str) -> MessageRef:
        self.attempts.append(nonce)
        if self.on_post is not None:
            await self.on_post(nonce)
        error = self.fail(nonce, card) if self.fail is not None else None
        if error is not None:
            raise error
        post = Post(channel_id, card.title, nonce, f"msg-{len(self.posts) + 1}")
        self.posts.append(post)
        lost = self.land_then_fail(nonce, card) if self.land_then_fail is not None else None
        if lost is not None:
            raise lost
        return MessageRef(channel_id, post.message_id)

    async def send_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str) -> MessageRef:
        return await self.post(community_external_id, f"@{user_id}", card, nonce=nonce)

    async def find_posted(self, community_external_id: str, channel_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        self.lookups.append((nonce, window))
        found = next((p for p in self.posts if p.nonce == nonce), None)
        return None if found is None else MessageRef(found.channel, found.message_id)

    async def find_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        return await self.find_posted(community_external_id, f"@{user_id}", card,
                                      nonce=nonce, window=window)

    def titles(self) -> list[str]:
        return [p.title for p in self.posts]


async def deliver_all(engine: Engine, platform: RecordingPlatform,
                      wall_clock: Callable[[], datetime] | None = None) -> int:
    """Run the real delivery worker until nothing is due now."""
    worker = DeliveryWorker(engine, {platform.name: platform}) if wall_clock is None \
        else DeliveryWorker(engine, {platform.name: platform}, wall_clock=wall_clock)
    total = 0
    while handled := await worker.run_once(limit=50):
        total += handled
    return total
