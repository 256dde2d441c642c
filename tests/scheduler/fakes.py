"""An in-memory platform that records what the bot posts, and can be told to fail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.delivery import DeliveryWorker
from bot.platform import DeliveryError
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
    """Posts succeed (or raise what `fail` returns for that attempt) and are recorded."""

    name: str = "console"
    posts: list[Post] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)  # nonces, one per post request
    fail: Callable[[str, Card], DeliveryError | Exception | None] | None = None

    async def post(self, community_external_id: str, channel_id: str, card: Card, *,
                   nonce: str) -> MessageRef:
        self.attempts.append(nonce)
        error = self.fail(nonce, card) if self.fail is not None else None
        if error is not None:
            raise error
        post = Post(channel_id, card.title, nonce, f"msg-{len(self.posts) + 1}")
        self.posts.append(post)
        return MessageRef(channel_id, post.message_id)

    async def send_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str) -> MessageRef:
        return await self.post(community_external_id, f"@{user_id}", card, nonce=nonce)

    def titles(self) -> list[str]:
        return [p.title for p in self.posts]


async def deliver_all(engine: Engine, platform: RecordingPlatform) -> int:
    """Run the real delivery worker until nothing is due now."""
    worker = DeliveryWorker(engine, {platform.name: platform})
    total = 0
    while handled := await worker.run_once(limit=50):
        total += handled
    return total
