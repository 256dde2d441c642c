"""What the runner and the delivery worker need from a platform adapter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from engine.messages import Card
from engine.refs import MessageRef

__all__ = ["DeliveryError", "Platform", "PostWindow", "RunningPlatform", "StartError"]


class DeliveryError(Exception):
    """Posting failed. `permanent`: retrying cannot help (channel gone, no permission)."""

    def __init__(self, message: str, *, permanent: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class StartError(Exception):
    """A platform could not start; the message names the setting and what the platform
    said. `permanent`: retrying cannot help (a missing or refused credential, a bad
    setting), so the process stops. Otherwise (unreachable, a timeout, a server error, a
    rate limit) the start is tried again later."""

    def __init__(self, message: str, *, permanent: bool = True) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class PostWindow:
    """When an earlier attempt's message can have been created, on the platform's clock
    (aware UTC datetimes): the span to search when looking for it."""

    start: datetime
    end: datetime


class Platform(Protocol):
    """An adapter able to post announcements for the communities of its platform.

    Posting is made idempotent in two steps. `post` carries a `nonce` that is the same on
    every attempt of one outbox row. Before an attempt that follows one which may have
    reached the platform (the process died, or the answer was lost), the worker asks
    `find_posted` (or `find_direct`) for that earlier message; when it is there it is
    recorded as the post, and nothing is posted again.
    """

    name: str  # "discord", "slack", "console": matches CommunityRef.platform

    async def post(self, community_external_id: str, channel_id: str, card: Card, *,
                   nonce: str) -> MessageRef:
        """Post `card`; `nonce` is stable across retries so the platform can de-duplicate."""
        ...

    async def send_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str) -> MessageRef | None:
        """Message one member privately (None when the platform cannot)."""
        ...

    async def find_posted(self, community_external_id: str, channel_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        """The message an earlier `post` of `card` with `nonce` created in `channel_id`
        within `window`, or None when there is none. A message found is made whole as
        `post` would have left it (the card's reaction added). Raises DeliveryError when
        the platform cannot be asked: then nothing may be posted yet."""
        ...

    async def find_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str, window: PostWindow) -> MessageRef | None:
        """`find_posted` for a `send_direct` to `user_id`."""
        ...


class RunningPlatform(Protocol):
    """A started adapter: what the runner keeps until shutdown."""

    platform: Platform

    async def stop(self) -> None:
        """Disconnect cleanly (called once, on shutdown)."""
        ...
