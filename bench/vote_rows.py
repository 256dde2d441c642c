"""Baseline (c) for SQLite votes: the rows one counted vote writes, written by the bare
`sqlite3` driver in batches of as many votes as there are callers, one durable commit per
batch. No rules, no Python between the statements beyond picking the values: how fast this
schema can take votes on this machine with perfect group commit, the ceiling for the engine.

Per counted vote, as the engine writes them: the vote and its entry's count; for the author
(vote received) and the voter (vote cast), a standing on each board (all time, this week,
this month) with its move in the score histogram, and a ledger row with the balance after
it; both members' counters; the voter's streak.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC
from pathlib import Path
from typing import Any

from bench.sizes import NOW
from bench.timing import Run
from config.catalog import load_default_points
from engine.periods import period_keys

__all__ = ["rows_sqlite"]

_VOTE = ("INSERT INTO votes (community_id, challenge_id, entry_id, voter_id, cast_at) "
         "VALUES (1, 1, ?, ?, ?) ON CONFLICT (entry_id, voter_id) DO NOTHING")
_COUNT = "UPDATE vote_counts SET votes = votes + 1 WHERE entry_id = ?"
_OLD = "SELECT points FROM standings WHERE community_id = 1 AND period = ? AND member_id = ?"
_STANDING = ("INSERT INTO standings (community_id, period, member_id, points) VALUES (1, ?, ?, ?) "
             "ON CONFLICT (community_id, period, member_id) "
             "DO UPDATE SET points = points + excluded.points RETURNING points")
_HISTOGRAM = ("INSERT INTO standings_histogram (community_id, period, points, members) "
              "VALUES (1, ?, ?, ?) ON CONFLICT (community_id, period, points) "
              "DO UPDATE SET members = members + excluded.members RETURNING members")
_EMPTIED = ("DELETE FROM standings_histogram WHERE community_id = 1 AND period = ? "
            "AND points = ? AND members = 0")
_LEDGER = ("INSERT INTO ledger (community_id, member_id, delta, balance_after, reason, "
           "reference, idempotency_key, period_at, created_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)")
_STAT = ("INSERT INTO member_stats (community_id, member_id, stat, value) VALUES (1, ?, ?, 1) "
         "ON CONFLICT (community_id, member_id, stat) DO UPDATE SET value = value + 1")
_STREAK = ("INSERT INTO streaks (community_id, member_id, current, longest, last_day) "
           "VALUES (1, ?, 1, 1, ?) ON CONFLICT (community_id, member_id) DO UPDATE SET "
           "current = 1, longest = max(longest, 1), last_day = excluded.last_day")


_KINDS = {"COMMIT": "commit", _VOTE: "vote", _COUNT: "entry count", _OLD: "standings",
          _STANDING: "standings", _HISTOGRAM: "histogram", _EMPTIED: "histogram",
          _LEDGER: "ledger", _STAT: "counters", _STREAK: "streak"}


class _Timed:
    """A connection that adds up the time spent in each kind of statement."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.spent: dict[str, float] = {}

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        t0 = time.perf_counter()
        try:
            return self.conn.execute(sql, args)
        finally:
            kind = _KINDS.get(sql, "other")
            self.spent[kind] = self.spent.get(kind, 0.0) + time.perf_counter() - t0


def rows_sqlite(path: Path, pairs: list[tuple[int, int]], batch: int, time_cap: float
                ) -> tuple[Run, dict[str, float]]:
    """Each vote's latency is its batch's time: callers that all arrived at its start.
    Also the share of the time each kind of statement took (commit, standings, ...)."""
    conn = _Timed(sqlite3.connect(path, isolation_level=None))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    authors = dict(conn.execute("SELECT id, member_id FROM entries"))
    points = load_default_points()
    boards = period_keys(NOW, UTC)
    at = NOW.replace(tzinfo=None).isoformat(sep=" ")
    today = NOW.date().isoformat()
    run = Run()
    start = time.perf_counter()
    try:
        for first in range(0, len(pairs), batch):
            if time.perf_counter() - start > time_cap:
                break
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            chunk = pairs[first:first + batch]
            for voter, entry in chunk:
                if not conn.execute(_VOTE, (entry, voter, at)).rowcount:
                    continue
                conn.execute(_COUNT, (entry,))
                for member, delta, reason in ((authors[entry], points["vote_received"],
                                               "vote_received"),
                                              (voter, points["vote_cast"], "vote_cast")):
                    balance = _standings(conn, boards, member, delta)
                    conn.execute(_LEDGER, (member, delta, balance, reason, f"entry:{entry}",
                                           f"{reason}:{entry}:{voter}", at, at))
                conn.execute(_STAT, (voter, "votes_cast"))
                conn.execute(_STAT, (authors[entry], "votes_received"))
                conn.execute(_STREAK, (voter, today))
            conn.execute("COMMIT")
            took = time.perf_counter() - t0
            run.latencies.extend([took] * len(chunk))
    finally:
        run.elapsed = time.perf_counter() - start
        conn.conn.close()
    total = sum(conn.spent.values()) or 1.0
    return run, {k: v / total for k, v in sorted(conn.spent.items(), key=lambda kv: -kv[1])}


def _standings(conn: _Timed, boards: tuple[str, ...], member: int, delta: int
               ) -> int:
    """Raise the member on every board, moving them in the histogram; the all-time total."""
    total = 0
    for board in boards:
        old = conn.execute(_OLD, (board, member)).fetchone()
        (new,) = conn.execute(_STANDING, (board, member, delta)).fetchone()
        if old is not None:
            (left,) = conn.execute(_HISTOGRAM, (board, old[0], -1)).fetchone()
            if not left:
                conn.execute(_EMPTIED, (board, old[0]))
        conn.execute(_HISTOGRAM, (board, new, 1)).fetchone()
        total = new if board == boards[0] else total
    return total
