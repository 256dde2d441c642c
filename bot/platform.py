"""What the runner and the delivery worker need from a platform adapter."""

from __future__ import annotations

from typing import Protocol

from engine.messages import Card
from engine.refs import MessageRef

__all__ = ["DeliveryError", "Platform", "RunningPlatform", "StartError"]


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


class Platform(Protocol):
    """An adapter able to post announcements for the communities of its platform."""

    name: str  # "discord", "slack", "console": matches CommunityRef.platform

    async def post(self, community_external_id: str, channel_id: str, card: Card, *,
                   nonce: str) -> MessageRef:
        """Post `card`; `nonce` is stable across retries so the platform can de-duplicate."""
        ...

    async def send_direct(self, community_external_id: str, user_id: str, card: Card, *,
                          nonce: str) -> MessageRef | None:
        """Message one member privately (None when the platform cannot)."""
        ...


class RunningPlatform(Protocol):
    """A started adapter: what the runner keeps until shutdown."""

    platform: Platform

    async def stop(self) -> None:
        """Disconnect cleanly (called once, on shutdown)."""
        ...
