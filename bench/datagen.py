"""Realistic communities written with bulk inserts (never through the engine).

SQLite: SQLAlchemy core `insert()` executemany on a plain sqlite3 connection. PostgreSQL:
COPY through asyncpg. Both write the same rows, with explicit ids.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Table, create_engine, event, insert, text
from tqdm import tqdm

from bench.sizes import NOW
from storage.tables import (
    Base,
    Challenge,
    Community,
    Entry,
    LedgerRow,
    Member,
    ScoreCount,
    Standing,
    Vote,
    VoteCount,
)

__all__ = ["CHALLENGE_SLUG", "ENTRIES_CHANNEL", "Writer", "board_dataset", "board_points",
           "last_week_points", "open_writer", "vote_dataset"]

ENTRIES_CHANNEL = "entries"
CHALLENGE_SLUG = "bench"
CHUNK = 20_000
WEEK_DAY = NOW - timedelta(days=1)          # this week and this month
LAST_WEEK_DAY = NOW - timedelta(days=7)     # last week, this month
MONTH_DAY = NOW.replace(day=5)              # this month, an earlier week
OLD_DAY = NOW - timedelta(days=62)          # neither


class Writer(Protocol):
    async def rows(self, table: Table, rows: Iterable[dict[str, Any]], total: int) -> None: ...

    async def finish(self) -> None: ...


class SqliteWriter:
    def __init__(self, path: Path) -> None:
        self.engine = create_engine(f"sqlite:///{path}")

        @event.listens_for(self.engine, "connect")
        def _fast(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=OFF")  # loading only; reruns start over

        Base.metadata.create_all(self.engine)

    async def rows(self, table: Table, rows: Iterable[dict[str, Any]], total: int) -> None:
        with self.engine.begin() as conn, _bar(table, total) as bar:
            for chunk in _chunks(rows):
                conn.execute(insert(table), chunk)
                bar.update(len(chunk))

    async def finish(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        self.engine.dispose()


class PostgresWriter:
    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: Any = None

    async def start(self) -> None:
        import asyncpg

        from storage.db import Database

        db = Database(self.url)
        await db.create_all()
        await db.dispose()
        self.conn = await asyncpg.connect(raw_dsn(self.url))

    async def rows(self, table: Table, rows: Iterable[dict[str, Any]], total: int) -> None:
        json_cols = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}
        with _bar(table, total) as bar:
            for chunk in _chunks(rows):
                cols = list(chunk[0])
                records = [tuple(json.dumps(r[c]) if c in json_cols else r[c] for c in cols)
                           for r in chunk]
                await self.conn.copy_records_to_table(table.name, records=records, columns=cols)
                bar.update(len(chunk))

    async def finish(self) -> None:
        for table in Base.metadata.sorted_tables:
            if "id" in table.columns and table.columns["id"].autoincrement is not False \
                    and table.columns["id"].primary_key:
                await self.conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"GREATEST((SELECT max(id) FROM {table.name}), 1))")
        await self.conn.execute("ANALYZE")
        await self.conn.close()


def raw_dsn(url: str) -> str:
    """A SQLAlchemy asyncpg URL as a plain libpq DSN."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def open_writer(url: str) -> Writer:
    if url.startswith("sqlite"):
        return SqliteWriter(Path(url.split(":///", 1)[1]))
    writer = PostgresWriter(url)
    await writer.start()
    return writer


def _chunks(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while chunk := list(islice(it, CHUNK)):
        yield chunk


def _bar(table: Table, total: int) -> tqdm:
    return tqdm(total=total, desc=f"  {table.name}", unit=" rows", unit_scale=True,
                leave=False, disable=total < 50_000, mininterval=0.5)


def _community() -> dict[str, Any]:
    return {"id": 1, "platform": "console", "external_id": "local", "name": "Bench",
            "timezone": "UTC", "announce_channel": "announcements",
            "entries_channel": ENTRIES_CHANNEL, "moderator_role": None, "point_rules": {},
            "settings": {}, "created_at": NOW - timedelta(days=400),
            "public_id": "bench-community"}


def _members(n: int) -> Iterator[dict[str, Any]]:
    created = NOW - timedelta(days=300)
    for i in range(1, n + 1):
        yield {"id": i, "community_id": 1, "external_id": f"u{i}",
               "display_name": f"Member {i}", "is_bot": False, "is_moderator": False,
               "showcase": {}, "created_at": created}


def _challenge(name: str) -> dict[str, Any]:
    return {"id": 1, "community_id": 1, "slug": CHALLENGE_SLUG, "kind": "submission",
            "name": name, "prompt": "Benchmark", "description": "", "prize": None,
            "sponsor_name": None, "sponsor_url": None, "phase": "voting",
            "starts_at": NOW - timedelta(days=6),
            "submissions_close_at": NOW - timedelta(days=1),
            "voting_close_at": NOW + timedelta(days=2), "ends_at": None, "max_entries": 3,
            "vote_emoji": "👍", "early_votes": False, "metric": None, "unit": None,
            "goal": None, "team_mode": "individual", "channel_id": ENTRIES_CHANNEL,
            "template_key": None, "created_by": None, "created_at": NOW - timedelta(days=7),
            "completed_at": None, "cancel_reason": None}


def _entries(n: int) -> Iterator[dict[str, Any]]:
    submitted = NOW - timedelta(days=3)
    for e in range(1, n + 1):
        yield {"id": e, "community_id": 1, "challenge_id": 1, "member_id": e,
               "title": f"Entry {e}", "link": None, "image_url": None,
               "channel_id": ENTRIES_CHANNEL, "message_id": f"m{e}",
               "submitted_at": submitted + timedelta(seconds=e), "featured": False,
               "disqualified_reason": None}


def _vote_counts(n: int, votes: list[int] | None) -> Iterator[dict[str, Any]]:
    for e in range(1, n + 1):
        yield {"entry_id": e, "community_id": 1, "votes": votes[e - 1] if votes else 0}


async def vote_dataset(writer: Writer, entries: int, voters: int) -> None:
    """A challenge in its voting phase: `entries` entries by members 1..entries, and
    `voters` members in all (the authors among them)."""
    await writer.rows(Community.__table__, [_community()], 1)
    await writer.rows(Member.__table__, _members(voters), voters)
    await writer.rows(Challenge.__table__, [_challenge("Vote benchmark")], 1)
    await writer.rows(Entry.__table__, _entries(entries), entries)
    await writer.rows(VoteCount.__table__, _vote_counts(entries, None), entries)
    await writer.finish()


def board_points(n: int, seed: int = 1) -> Iterator[tuple[int, int, int, int]]:
    """(member id, all-time, month, week) points: a long tail (Pareto, alpha 1.16: the top
    fifth holds most points); a fifth of members active this month, half of them this week."""
    rng = random.Random(seed)
    for i in range(1, n + 1):
        total = min(1_000_000, int(5 * rng.paretovariate(1.16)))
        month = week = 0
        if rng.random() < 0.2:
            month = min(total, int(3 * rng.paretovariate(1.5)))
            if rng.random() < 0.5:
                week = min(month, int(2 * rng.paretovariate(1.8)))
        yield i, total, month, week


def last_week_points(n: int, seed: int = 4) -> Iterator[tuple[int, int, int, int, int]]:
    """`board_points` with last week's points: half of the members who had points this
    month before this week had some of them last week (a stream of its own, so the
    other boards are the same as without it)."""
    rng = random.Random(seed)
    for i, total, month, week in board_points(n):
        last = 0
        if month > week and rng.random() < 0.5:
            last = min(month - week, int(2 * rng.paretovariate(1.8)))
        yield i, total, month, week, last


def _week_key(day: datetime) -> str:
    year, week, _ = day.isocalendar()
    return f"w{year}-{week:02d}"


def _standings(n: int) -> Iterator[dict[str, Any]]:
    week_key, last_week_key = _week_key(NOW), _week_key(LAST_WEEK_DAY)
    month_key = f"m{NOW.year}-{NOW.month:02d}"
    for i, total, month, week, last in last_week_points(n):
        yield {"community_id": 1, "period": "all", "member_id": i, "points": total}
        if month:
            yield {"community_id": 1, "period": month_key, "member_id": i, "points": month}
        if week:
            yield {"community_id": 1, "period": week_key, "member_id": i, "points": week}
        if last:
            yield {"community_id": 1, "period": last_week_key, "member_id": i, "points": last}


def _score_counts(n: int) -> list[dict[str, Any]]:
    """The standings' histogram: members per score of each board, as the ledger keeps it."""
    counts = Counter((row["period"], row["points"]) for row in _standings(n))
    return [{"community_id": 1, "period": period, "points": points, "members": members}
            for (period, points), members in sorted(counts.items())]


def _ledger(n: int) -> Iterator[dict[str, Any]]:
    row_id = 0
    for i, total, month, week, last in last_week_points(n):
        balance = 0
        for k, (delta, day) in enumerate(((total - month, OLD_DAY),
                                          (month - week - last, MONTH_DAY),
                                          (last, LAST_WEEK_DAY), (week, WEEK_DAY))):
            if delta <= 0:
                continue
            row_id += 1
            balance += delta
            yield {"id": row_id, "community_id": 1, "member_id": i, "delta": delta,
                   "balance_after": balance, "reason": "award", "reference": "seed",
                   "note": None, "awarded_by": None, "idempotency_key": f"seed:{i}:{k}",
                   "period_at": day, "created_at": day}


def _ledger_count(n: int) -> int:
    return sum((t > m) + (m - w - last > 0) + (last > 0) + (w > 0)
               for _, t, m, w, last in last_week_points(n))


def tally_votes(entries: int, votes: int, seed: int = 2) -> list[int]:
    """Votes per entry: a few popular entries, a long tail, many ties; sums to `votes`."""
    rng = random.Random(seed)
    weights = [1 / (rank ** 0.8) for rank in range(1, entries + 1)]
    rng.shuffle(weights)
    scale = votes / sum(weights)
    counts = [int(w * scale) for w in weights]
    for k in range(votes - sum(counts)):
        counts[k % entries] += 1
    return counts


def _votes(members: int, counts: list[int]) -> Iterator[dict[str, Any]]:
    cast = NOW - timedelta(hours=6)
    vote_id = 0
    for e, c in enumerate(counts, start=1):
        for k in range(c):
            vote_id += 1
            # k * a prime not dividing `members` visits distinct voters for k < members.
            voter = (e * 7919 + k * 104_729) % members + 1
            yield {"id": vote_id, "community_id": 1, "challenge_id": 1, "entry_id": e,
                   "voter_id": voter, "cast_at": cast}


async def board_dataset(writer: Writer, members: int, tally_entries: int, tally_votes_n: int
                        ) -> None:
    """`members` members on the all-time, month and week boards and last week's (ledger
    rows to match), and a challenge in its voting phase with `tally_entries` entries and
    their votes."""
    await writer.rows(Community.__table__, [_community()], 1)
    await writer.rows(Member.__table__, _members(members), members)
    n_standings = sum(1 + (m > 0) + (w > 0) + (last > 0)
                      for _, _, m, w, last in last_week_points(members))
    await writer.rows(Standing.__table__, _standings(members), n_standings)
    histogram = _score_counts(members)
    await writer.rows(ScoreCount.__table__, histogram, len(histogram))
    await writer.rows(LedgerRow.__table__, _ledger(members), _ledger_count(members))
    await writer.rows(Challenge.__table__, [_challenge("Tally benchmark")], 1)
    counts = tally_votes(tally_entries, tally_votes_n)
    await writer.rows(Entry.__table__, _entries(tally_entries), tally_entries)
    await writer.rows(VoteCount.__table__, _vote_counts(tally_entries, counts), tally_entries)
    await writer.rows(Vote.__table__, _votes(members, counts), tally_votes_n)
    await writer.finish()
