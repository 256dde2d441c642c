"""Delivery killed with SIGKILL where it hurts, against FakeSlack and FakeDiscord driven by
the real adapters in real worker processes: aimed at the moment the platform accepted a
post and nothing was recorded yet, and at random fault points many times over. Every
outbox row ends as exactly one message, and an entry's votes land on that one message.

Slack keeps no nonce at all and Discord only for a few minutes (the fake: set to 0 here,
a restart after a longer outage), so these pass only because a later attempt looks the
first message up before posting again (bot/delivery.py).

On PostgreSQL each restart runs after the dead process's lease has ended; on SQLite the
restarted process releases the leases at start.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.delivery import nonce_for
from engine import leases
from engine.challenges import ChallengeDraft
from engine.clock import FixedClock
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.service import Engine
from storage.db import Database
from storage.tables import Entry, OutboxRow
from tests.bot.discord.fake_discord import FakeDiscord
from tests.bot.slack.fake_slack import FakeSlack, clear_proxy_env
from tests.bot.slack.harness import ADMIN, ALICE, ANNOUNCE, BOB, CAROL, DAVE, ENTRIES
from tests.conftest import START
from tests.scheduler.procs import ForkServer, kill_when_ready, run_worker, start_worker

# A restart's clock: past every lease the previous process can have left (PostgreSQL).
ROUND = leases.LEASE + timedelta(seconds=1)


@dataclass
class World:
    """One chat platform (a fake) and the community Laurels serves on it."""

    platform: str
    community: CommunityRef
    announce: str
    entries: str
    members: list[str]  # user ids
    moderator: str
    worker_args: list[str]  # how a worker process reaches the fake
    posted: Callable[[], list[tuple[str, str, str]]]  # (nonce, channel, message id)
    reacted: Callable[[str, str], bool]  # the bot's vote emoji is on this message

    def member(self, user_id: str, *, mod: bool = False) -> MemberRef:
        return MemberRef(self.community, user_id, f"user {user_id[-4:]}", is_admin=mod)


@contextlib.asynccontextmanager
async def slack(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    clear_proxy_env(monkeypatch)
    async with FakeSlack() as fake:
        for user in (ADMIN, ALICE, BOB, CAROL, DAVE):
            fake.add_user(user, is_admin=user == ADMIN)

        def posted() -> list[tuple[str, str, str]]:
            return [(str(m["metadata"]["event_payload"]["nonce"]), channel, m["ts"])
                    for channel, messages in fake.messages.items() for m in messages
                    if m.get("metadata")]

        def reacted(channel: str, ts: str) -> bool:
            return fake.bot_user_id in fake.reactions[(channel, ts)].get("thumbsup", [])

        yield World("slack", CommunityRef("slack", fake.team_id), ANNOUNCE, ENTRIES,
                    [ALICE, BOB, CAROL, DAVE], ADMIN,
                    ["--slack", fake.api_url, "--token", fake.bot_token], posted, reacted)


@contextlib.asynccontextmanager
async def discord() -> AsyncIterator[World]:
    # Discord's nonce memory long gone: as after an outage of more than a few minutes.
    async with FakeDiscord(nonce_window=0) as fake:
        users = [fake.seed.alice_id, fake.seed.bob_id,
                 int(fake.add_user("carol")["id"]), int(fake.add_user("dave")["id"])]

        def posted() -> list[tuple[str, str, str]]:
            # The fake keeps each message's nonce (Discord does not show it on reads).
            return [(str(m["nonce"]), str(channel), str(mid))
                    for channel, messages in fake.messages.items()
                    for mid, m in messages.items() if m.get("nonce")]

        def reacted(channel: str, message_id: str) -> bool:
            return fake.bot_id in fake.reaction_users(int(message_id), "👍")

        yield World("discord", CommunityRef("discord", str(fake.seed.guild_id)),
                    str(fake.seed.general_channel_id), str(fake.seed.challenges_channel_id),
                    [str(u) for u in users], str(fake.seed.owner_id),
                    ["--discord", fake.api_base, "--token", fake.token], posted, reacted)


@pytest.fixture(params=["slack", "discord"])
async def w(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
            ) -> AsyncIterator[World]:
    async with (slack(monkeypatch) if request.param == "slack" else discord()) as world:
        yield world


async def _setup(engine: Engine, w: World, clock: FixedClock, entries_per_member: int
                 ) -> None:
    """A challenge open for entries, each member's entries queued for posting."""
    await engine.ensure_community(w.community, announce_channel=w.announce,
                                  entries_channel=w.entries)
    c = await engine.create_challenge(w.member(w.moderator, mod=True), ChallengeDraft(
        kind="submission", name="Dreamscapes", prompt="Paint a dream",
        submissions_close_at=clock.now() + timedelta(days=3),
        voting_close_at=clock.now() + timedelta(days=5)))
    for k in range(entries_per_member):
        for user in w.members:
            await engine.submit_entry(w.member(user), c.slug, f"{user[-4:]}'s dream {k}")


async def _rows(db: Database) -> list[OutboxRow]:
    async with db.session() as s:
        return list((await s.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def _entries(db: Database) -> list[Entry]:
    async with db.session() as s:
        return list((await s.scalars(select(Entry).order_by(Entry.id))).all())


async def _assert_each_row_posted_once(db: Database, w: World) -> None:
    rows = await _rows(db)
    assert rows and all(r.status == "sent" for r in rows), [(r.id, r.status) for r in rows]
    posted = w.posted()
    # Exactly one message per outbox row, and it is the one the row recorded.
    assert Counter(nonce for nonce, _, _ in posted) == Counter(nonce_for(r.id) for r in rows)
    where = {nonce: (channel, mid) for nonce, channel, mid in posted}
    assert all(where[nonce_for(r.id)] == (r.channel_id, r.message_id) for r in rows)
    for entry in await _entries(db):  # voters react to the one message; it has the emoji
        assert entry.message_id is not None and entry.channel_id is not None
        assert w.reacted(entry.channel_id, entry.message_id)


def _restart(db: Database, crashed_at: datetime) -> datetime:
    return crashed_at if db.is_sqlite else crashed_at + ROUND


async def test_killed_between_post_and_record_posts_once_and_votes_land_on_it(
        shared_db: Database, w: World, tmp_path: Path) -> None:
    db = shared_db
    clock = FixedClock(START)
    engine = Engine(db, clock)
    await _setup(engine, w, clock, entries_per_member=1)
    first = (await _rows(db))[0].id

    # The platform accepts the first post; the process dies before recording it.
    ready = tmp_path / "posted"
    worker = start_worker(db.url, START, "--deliver", "--hang", "post", *w.worker_args,
                          ready=ready)
    assert await kill_when_ready(worker) == f"posted {nonce_for(first)}"
    assert [nonce for nonce, _, _ in w.posted()] == [nonce_for(first)]
    async with db.session() as s:
        row = await s.get(OutboxRow, first)
    assert row is not None and row.status == "pending" and row.message_id is None
    assert row.post_started_at is not None  # the intent was recorded before the post

    summary = await run_worker(db.url, _restart(db, START), "--deliver", *w.worker_args)
    assert summary["delivered"] == len(await _rows(db))
    await _assert_each_row_posted_once(db, w)

    # Voting opens; every member votes for alice's entry on the one message there is.
    await engine.due.run_until(clock, START + timedelta(days=3, minutes=1))
    entry = next(e for e in await _entries(db) if e.title.startswith(w.members[0][-4:]))
    message = MessageRef(str(entry.channel_id), str(entry.message_id))
    for voter in w.members[1:]:
        await engine.cast_vote(w.member(voter), message, "👍")
    assert (await engine.entry(w.community, entry.id)).votes == len(w.members) - 1


KILL_CHANCE = 0.12
MAX_ROUNDS = 120


async def test_random_kills_never_post_twice(shared_db: Database, w: World,
                                             tmp_path: Path) -> None:
    db = shared_db
    clock = FixedClock(START)
    engine = Engine(db, clock)
    await _setup(engine, w, clock, entries_per_member=3)
    author = (await _entries(db))[0]
    await engine.disqualify_entry(w.member(w.moderator, mod=True), author.id, "Off topic")
    # Submissions close, voting closes: the announcements and the results are queued.
    await engine.due.run_until(clock, START + timedelta(days=5, minutes=1))
    assert (await engine.entry(w.community, author.id)).disqualified_reason == "Off topic"
    kinds = Counter(r.kind for r in await _rows(db))
    assert kinds["entry"] == 3 * len(w.members) and kinds["results"] == 1
    assert kinds["disqualified"] == 1  # a direct message

    kill_log = tmp_path / "kills.log"
    server = ForkServer()
    try:
        now = START + timedelta(days=6)
        statuses: list[int] = []
        while len(statuses) < MAX_ROUNDS:
            status, _ = await server.run(
                db.url, now, "--deliver", "--limit", "5", *w.worker_args,
                "--kill-chance", str(KILL_CHANCE), "--seed", str(len(statuses)),
                "--kill-log", str(kill_log))
            statuses.append(status)
            now += ROUND
            if status == 0 and all(r.status == "sent" for r in await _rows(db)):
                break
        status, summary = await server.run(db.url, now, "--deliver", *w.worker_args)
        assert status == 0 and summary is not None and summary["delivered"] == 0
    finally:
        server.close()

    kills = Counter(kill_log.read_text("utf-8").splitlines()) if kill_log.exists() \
        else Counter[str]()
    assert sum(kills.values()) == statuses.count(-9) >= 15, (kills, statuses)
    # The window that matters (the platform has the post, the outbox does not) was hit
    # again and again.
    window = ("message posted, vote emoji not added", "posted, not recorded", "about to record")
    assert sum(kills[point] for point in window) >= 4, kills
    await _assert_each_row_posted_once(db, w)

