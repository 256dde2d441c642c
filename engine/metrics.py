"""Counters an operator watches (exposed by the bot's HTTP server as Prometheus metrics)."""

from __future__ import annotations

from prometheus_client import Counter

__all__ = ["VOTES_NOT_COUNTED"]

VOTES_NOT_COUNTED = Counter(
    "laurels_votes_not_counted",
    "Reactions the platform delivered that could not be recorded (the database was "
    "unavailable for longer than the vote patience); their voters were told.")
