"""Bolt middleware: each Events API event is handled once per process.

Slack re-sends an event it thinks was not acknowledged in time (same `event_id`, with
`X-Slack-Retry-Num`; Bolt mirrors Socket Mode's `retry_attempt` into that header), and
occasionally delivers one twice. This skips the replay of other events; reactions go to
the one reaction dispatch (bot/reactions.py), which skips replays of every platform.

A retry for an event this process never saw (it crashed, or restarted) is handled: it
may be the only delivery that will ever arrive.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.inflight import Inflight

__all__ = ["EventDeduplication"]

log = logging.getLogger(__name__)


class EventDeduplication(AsyncMiddleware):
    """Skips events already seen; counts the ones it lets through as in flight.

    The count starts here, before Slack gets its acknowledgement, so that "nothing in
    flight" really means every acknowledged event was handled. The event's listener
    calls `finished` when done.
    """

    def __init__(self, inflight: Inflight, handled_types: frozenset[str], *,
                 capacity: int = 10_000,
                 dispatched: frozenset[str] = frozenset({"reaction_added",
                                                        "reaction_removed"})) -> None:
        self.inflight = inflight
        self.handled_types = handled_types
        self.dispatched = dispatched  # event types whose replays someone else skips
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]
                            ) -> BoltResponse | None:
        body = req.body
        event = body.get("event")
        event_id = body.get("event_id")
        if (body.get("type") != "event_callback" or not isinstance(event, dict)
                or not isinstance(event_id, str)):
            return await next()
        if event_id in self._seen and event.get("type") not in self.dispatched:
            retry = (req.headers.get("x-slack-retry-num") or ["0"])[0]
            log.info("skipping %s %s already handled (retry %s)", event.get("type"), event_id,
                     retry)
            return BoltResponse(status=200, body="")  # acknowledged: Slack stops retrying
        self._remember(event_id)
        if event.get("type") in self.handled_types:
            self.inflight.begin()
        return await next()

    def finished(self, event_id: str, *, ok: bool) -> None:
        """The listener is done with `event_id`; a failure lets a retry try again."""
        if not ok:
            self._seen.pop(event_id, None)
        self.inflight.end()

    def _remember(self, event_id: str) -> None:
        self._seen[event_id] = None
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
