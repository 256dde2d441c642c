"""Benchmark sizes: the issue's full sizes, a tiny smoke size, and anything in between."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

__all__ = ["FULL", "NOW", "SMOKE", "Sizes"]

# The benchmark's fixed "now": a Wednesday, so week and month boards both hold points.
NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Sizes:
    vote_entries: int = 10_000
    vote_voters: int = 100_000
    votes: int = 20_000          # votes attempted per approach (stopped early at time_cap)
    concurrency: int = 64        # callers in flight
    time_cap: float = 20.0       # seconds per timed approach
    board_members: int = 1_000_000
    board_reads: int = 2_000     # requests per page of the web and API benchmarks
    # "Top 10 + my rank" reads, one at a time: their p99 is the 100th slowest, steadier on
    # a shared machine than the 20th of 2,000.
    top_reads: int = 10_000
    tally_entries: int = 100_000
    tally_votes: int = 1_000_000
    awards: int = 10_000
    command_reads: int = 500

    def scaled(self, factor: float) -> Sizes:
        """Every data size times `factor` (rounded, at least a handful)."""
        def s(n: int, least: int) -> int:
            return max(least, round(n * factor))

        return replace(
            self, vote_entries=s(self.vote_entries, 20), vote_voters=s(self.vote_voters, 200),
            board_members=s(self.board_members, 500), tally_entries=s(self.tally_entries, 50),
            tally_votes=s(self.tally_votes, 500))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = Sizes()
SMOKE = Sizes(vote_entries=40, vote_voters=400, votes=120, concurrency=16, time_cap=5.0,
              board_members=1_000, board_reads=40, top_reads=40, tally_entries=100,
              tally_votes=1_000, awards=60, command_reads=10)
