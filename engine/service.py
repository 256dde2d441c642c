"""`Engine`: the one entry point adapters, commands and the scheduler call.

Every method runs in its own transaction, scoped to one community, and returns plain
values or raises a `LaurelsError`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.catalog import load_default_achievements, load_default_points
from engine import (
    achievements,
    challenges,
    entries,
    goals,
    leaderboards,
    ledger,
    outbox,
    schedule,
    vote_points,
    votes,
)
from engine.achievements import Catalog
from engine.batching import GroupCommit
from engine.challenges import ChallengeDraft
from engine.clock import Clock, SystemClock
from engine.context import Tx, View
from engine.errors import Conflict, InvalidInput, NotFound
from engine.ids import as_id
from engine.members import (
    ensure_community,
    ensure_member,
    find_member,
    lock_member,
    require_moderator,
)
from engine.messages import Card
from engine.ordering import KeyedLocks
from engine.ranking import MemoryRankIndex, RankIndex, SqlRankIndex
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.results import tally
from engine.settlement import READ_WAIT, Settler
from engine.text import clean_text
from engine.views import (
    BadgeView,
    ChallengeDetails,
    ChallengeView,
    CommunityView,
    EntryView,
    LedgerLine,
    Page,
    Profile,
)
from storage import fastsql
from storage.db import Database
from storage.plain_reads import PlainReader
from storage.tables import (
    Badge,
    Challenge,
    Community,
    Entry,
    LedgerRow,
    Member,
    Participant,
    Streak,
    Team,
    Vote,
    VoteCount,
)

__all__ = ["Engine", "advance_due_challenge"]

T = TypeVar("T")
MAX_AWARD = 100_000
EDITABLE = ("name", "prompt", "description", "prize", "sponsor_name", "sponsor_url",
            "submissions_close_at", "voting_close_at", "ends_at", "starts_at", "max_entries",
            "vote_emoji", "goal", "unit", "channel_id")


class Engine:
    """The rules of Laurels over one database."""

    def __init__(
        self, db: Database, clock: Clock | None = None, *, catalog: Catalog | None = None,
        points: dict[str, int] | None = None, rank_index: str = "auto",
        default_timezone: str = "UTC",
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.catalog = catalog or Catalog.from_data(load_default_achievements())
        self.default_points = points or load_default_points()
        if rank_index == "auto":
            rank_index = "memory" if db.is_sqlite else "sql"
        self.ranks: RankIndex = MemoryRankIndex(db) if rank_index == "memory" else SqlRankIndex()
        self.default_timezone = default_timezone
        self._community_ids: dict[tuple[str, str], int] = {}
        # Per community: its row as last read, the loaded copy and its point rules.
        self._snapshots: dict[int, tuple[tuple[Any, ...], Community, dict[str, int]]] = {}
        # Called after a commit that wrote due events (the scheduler re-arms its timer).
        self.schedule_listeners: list[Callable[[], None]] = []
        # Concurrent votes share one durable commit (engine/batching.py).
        self.vote_batches = GroupCommit(self, prefetch=_prefetch_votes,
                                        run_set=votes.cast_batch)
        # Counted votes are paid for after their commit (engine/settlement.py), in runs
        # planned set-based (None: one by one, as tests compare).
        self.settler = Settler(self)
        self.pay_run: Callable[[Tx, list[fastsql.UnsettledRow]], Awaitable[int]] | None = \
            vote_points.pay_run
        # A reaction's add and remove apply in arrival order (engine/ordering.py).
        self.reaction_order = KeyedLocks()

    # -- plumbing ---------------------------------------------------------------------

    def _points(self, community: Community) -> dict[str, int]:
        return {**self.default_points, **{k: int(v) for k, v in community.point_rules.items()}}

    async def _tx(self, session: AsyncSession, ref: CommunityRef) -> Tx:
        key = (ref.platform, ref.external_id)
        community_id = self._community_ids.get(key)
        community = await session.get(Community, community_id) if community_id else None
        if community is None:
            community = await session.scalar(
                select(Community).where(Community.platform == ref.platform,
                                        Community.external_id == ref.external_id))
        if community is None:
            raise NotFound("This community isn't set up yet.")
        self._community_ids[key] = community.id
        return Tx(session, community, self.clock.now(), self._points(community), self.catalog)

    async def _first_contact(self, ref: CommunityRef) -> None:
        """Create the community with defaults the first time this engine hears of it."""
        if (ref.platform, ref.external_id) not in self._community_ids:
            await self.ensure_community(ref)

    async def write(self, ref: CommunityRef, work: Callable[[Tx], Awaitable[T]]) -> T:
        """Run `work` in one transaction for the community (created on first contact)."""
        await self._first_contact(ref)
        txs: list[Tx] = []

        async def unit(session: AsyncSession) -> T:
            txs.clear()
            # Votes counted before this write are paid first, as if paid when cast.
            txs.extend((await self._settle_in(session, ref, None))[0])
            tx = await self._tx(session, ref)
            txs.append(tx)
            result = await work(tx)
            await achievements.settle(tx)
            return result

        return await self.db.run(unit, after_commit=lambda _: self._committed(*txs))

    async def settle_votes(self, ref: CommunityRef, limit: int = vote_points.CLAIM) -> int:
        """Pay for up to `limit` of the community's counted votes, oldest first, in one
        transaction; returns how many."""
        txs: list[Tx] = []

        async def unit(session: AsyncSession) -> int:
            paid, count = await self._settle_in(session, ref, limit)
            txs[:] = paid
            return count

        await self._first_contact(ref)
        return await self.db.run(unit, after_commit=lambda _: self._committed(*txs))

    async def settle_all(self) -> int:
        """Pay for every counted vote still waiting, in every community (at start-up:
        votes a stopped process counted but did not pay for); returns how many."""
        async with self.db.session() as session:
            ids = await fastsql.communities_unsettled(session)
        done = 0
        for community_id in ids:
            ref = await self.community_of(community_id)
            while (paid := await self.settle_votes(ref)) > 0:
                done += paid
        return done

    async def close(self) -> None:
        """Pay for the votes counted so far; call before disposing of the database."""
        await self.settler.close()

    async def _settle_in(self, session: AsyncSession, ref: CommunityRef, limit: int | None
                         ) -> tuple[list[Tx], int]:
        """Pay, in this transaction, for the community's waiting votes (all of them, or the
        oldest `limit`). Returns the states to apply after the commit and how many votes."""
        base = await self._tx(session, ref)
        if limit is None and not await fastsql.has_unsettled(session, base.community_id):
            return [], 0
        paid: list[Tx] = []
        count = 0
        while True:
            claimed = await vote_points.claim(base, limit or vote_points.CLAIM)
            count += len(claimed)
            for day in vote_points.days(base, claimed):
                paid.extend(await self._pay(session, ref, day))
            if limit is not None or len(claimed) < vote_points.CLAIM:
                return paid, count

    async def _pay(self, session: AsyncSession, ref: CommunityRef,
                   votes: list[fastsql.UnsettledRow]) -> list[Tx]:
        """Pay for one day's claimed votes: set-based runs, one by one where a run stops."""
        paid: list[Tx] = []
        i = 0
        while i < len(votes):
            tx = await self._paying(session, ref, votes[i])
            done = 0
            if self.pay_run is not None:
                try:
                    async with session.begin_nested():
                        done = await self.pay_run(tx, votes[i:i + vote_points.RUN])
                except vote_points.PlanMoved:
                    done = 0  # rolled back: this vote alone, then plan again
            if done == 0:
                tx = await self._paying(session, ref, votes[i])
                await vote_points.pay_one(tx, votes[i])
                await achievements.settle(tx)
                done = 1
            paid.append(tx)
            i += done
        return paid

    async def _paying(self, session: AsyncSession, ref: CommunityRef,
                      vote: fastsql.UnsettledRow) -> Tx:
        tx = await self._tx(session, ref)
        tx.now = vote.cast_at  # paid as of the vote
        return tx

    def _committed(self, *txs: Tx) -> None:
        """After a commit: in-process indexes see each transaction state's changes."""
        for tx in txs:
            self.ranks.apply(tx.rank_changes)
        if any(tx.schedule_changed for tx in txs):
            for listener in self.schedule_listeners:
                listener()

    async def read(self, ref: CommunityRef, work: Callable[[Tx], Awaitable[T]]) -> T:
        await self._before_read(ref)
        async with self.db.session() as session:
            return await work(await self._read_tx(session, ref))

    async def view(self, ref: CommunityRef, work: Callable[[Tx | View], Awaitable[T]]) -> T:
        """`read` for work that runs plain statements only (storage/fastsql.py): on a
        SQLite file it runs on a session-less reader, a fraction of a session's cost."""
        await self._before_read(ref)
        with self.db.plain_read() as reader:
            if reader is not None:
                view = await self._view(reader, ref)
                if view is not None:
                    return await work(view)
        async with self.db.session() as session:
            return await work(await self._read_tx(session, ref))

    async def _before_read(self, ref: CommunityRef) -> None:
        await self._first_contact(ref)
        # A member sees the points of the vote they just cast.
        await self.settler.flush(ref, READ_WAIT)

    async def _view(self, reader: PlainReader, ref: CommunityRef) -> View | None:
        """A view on the loaded copy of the community while its row is unchanged (None:
        no copy yet, or a changed row, which a session read loads again)."""
        known = await self._unchanged_copy(reader, ref)
        return None if known is None else View(reader, known[0], self.clock.now())

    async def _plain_tx(self, session: AsyncSession, ref: CommunityRef) -> Tx:
        """A Tx for work that runs plain statements only (a vote batch's reads and its
        set-based runs), on the loaded copy of the community while its row is unchanged:
        loading it through the ORM cost a tenth of a batch. Such work never changes the
        community, nor adds ORM objects that would need it attached."""
        known = await self._unchanged_copy(session, ref)
        if known is None:
            return await self._tx(session, ref)
        return Tx(session, known[0], self.clock.now(), known[1], self.catalog)

    async def _unchanged_copy(self, source: fastsql.Source, ref: CommunityRef
                              ) -> tuple[Community, dict[str, int]] | None:
        """The loaded copy of the community and its point rules, if its row is unchanged."""
        community_id = self._community_ids.get((ref.platform, ref.external_id))
        known = None if community_id is None else self._snapshots.get(community_id)
        if community_id is None or known is None:
            return None
        if await fastsql.community_row(source, community_id) != known[0]:
            return None
        return known[1], known[2]

    async def _read_tx(self, session: AsyncSession, ref: CommunityRef) -> Tx:
        """A read's Tx. The community row is compared with one plain statement and the
        loaded copy reused while it is unchanged: loading it through the ORM was half the
        cost of a leaderboard read. Reads never change the copy."""
        known = await self._unchanged_copy(session, ref)
        if known is not None:
            return Tx(session, known[0], self.clock.now(), known[1], self.catalog)
        community_id = self._community_ids.get((ref.platform, ref.external_id))
        row = None if community_id is None else await fastsql.community_row(session,
                                                                             community_id)
        tx = await self._tx(session, ref)
        # Kept only if the row did not change while it loaded (each read statement may see
        # a newer commit on PostgreSQL).
        if row is not None and await fastsql.community_row(session, tx.community_id) == row:
            session.expunge(tx.community)
            self._snapshots[tx.community_id] = (row, tx.community, tx.points)
        return tx

    # -- communities ------------------------------------------------------------------

    async def ensure_community(
        self, ref: CommunityRef, *, timezone: str | None = None,
        announce_channel: str | None = None, entries_channel: str | None = None,
    ) -> CommunityView:
        """The community for `ref`, created with defaults on first contact."""
        view, _ = await self.open_community(ref, timezone=timezone,
                                            announce_channel=announce_channel,
                                            entries_channel=entries_channel)
        return view

    async def open_community(
        self, ref: CommunityRef, *, timezone: str | None = None,
        announce_channel: str | None = None, entries_channel: str | None = None,
    ) -> tuple[CommunityView, bool]:
        """Like `ensure_community`, and whether this call created it (a welcome is due)."""
        async def unit(session: AsyncSession) -> tuple[Community, bool]:
            return await ensure_community(
                session, ref, self.clock.now(), timezone=timezone or self.default_timezone,
                announce_channel=announce_channel, entries_channel=entries_channel)

        community, created = await self.db.run(unit)
        self._community_ids[(ref.platform, ref.external_id)] = community.id
        return self._community_view(community), created

    def _community_view(self, c: Community) -> CommunityView:
        return CommunityView(c.id, c.platform, c.external_id, c.name, c.timezone,
                             c.announce_channel, c.entries_channel, c.moderator_role,
                             self._points(c))

    async def community(self, ref: CommunityRef) -> CommunityView:
        return await self.view(ref, lambda ctx: _const(self._community_view(ctx.community)))

    async def is_moderator(self, member: MemberRef) -> bool:
        """Whether `member` may run moderator commands here."""
        async def work(tx: Tx) -> bool:
            row = await find_member(tx, member.user_id)
            role = tx.community.moderator_role
            return (member.is_admin or bool(row and row.is_moderator)
                    or (role is not None and role in member.roles))

        return await self.read(member.community, work)

    async def _moderate(self, tx: Tx, actor: MemberRef) -> Member:
        member = await ensure_member(tx, actor)
        require_moderator(tx, member, actor)
        return member

    async def set_channel(self, actor: MemberRef, which: str, channel_id: str) -> CommunityView:
        if which not in ("announcements", "entries"):
            raise InvalidInput("Channel kind must be 'announcements' or 'entries'.")
        if not channel_id.strip():
            raise InvalidInput("Which channel?")
        if len(channel_id) > 64:
            raise InvalidInput("That is not a channel id I can use (64 characters at most).")

        async def work(tx: Tx) -> CommunityView:
            await self._moderate(tx, actor)
            if which == "announcements":
                tx.community.announce_channel = channel_id
            else:
                tx.community.entries_channel = channel_id
            return self._community_view(tx.community)

        return await self.write(actor.community, work)

    async def set_timezone(self, actor: MemberRef, zone: str) -> CommunityView:
        try:
            ZoneInfo(zone.strip())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(
                f"'{zone}' is not a time zone I know. Use a name like Europe/Paris or "
                "America/New_York.") from exc

        async def work(tx: Tx) -> CommunityView:
            await self._moderate(tx, actor)
            tx.community.timezone = zone.strip()
            # The digest, period closes and recurring challenges follow local time.
            await schedule.sync_community(tx, schedule.load_templates())
            return self._community_view(tx.community)

        return await self.write(actor.community, work)

    async def set_moderator_role(self, actor: MemberRef, role: str | None) -> CommunityView:
        if role is not None and len(role.strip()) > 200:
            raise InvalidInput("A role name has 200 characters at most.")

        async def work(tx: Tx) -> CommunityView:
            await self._moderate(tx, actor)
            tx.community.moderator_role = clean_text(role or "") or None
            return self._community_view(tx.community)

        return await self.write(actor.community, work)

    async def set_point_rule(self, actor: MemberRef, rule: str, value: int) -> CommunityView:
        if rule not in self.default_points:
            raise InvalidInput(
                f"Unknown point rule '{rule}'. Rules: {', '.join(sorted(self.default_points))}.")
        if not 0 <= value <= MAX_AWARD:
            raise InvalidInput(f"A point rule must be between 0 and {MAX_AWARD:,}.")

        async def work(tx: Tx) -> CommunityView:
            await self._moderate(tx, actor)
            tx.community.point_rules = {**tx.community.point_rules, rule: int(value)}
            return self._community_view(tx.community)

        return await self.write(actor.community, work)

    # -- schedule settings: reminders, digest, recurring challenges --------------------

    async def schedule_settings(self, community: CommunityRef) -> schedule.ScheduleSettings:
        """Reminder leads, digest time and recurring templates (on and available)."""
        templates = schedule.load_templates()
        return await self.read(community, lambda tx: _const(schedule.settings_of(tx, templates)))

    async def set_reminders(self, actor: MemberRef, spec: str) -> schedule.ScheduleSettings:
        """Reminder leads before each deadline ("24h,1h"; "off"); live challenges follow."""
        return await self._set_schedule(actor, "reminders", schedule.parse_reminders(spec))

    async def set_digest(self, actor: MemberRef, spec: str) -> schedule.ScheduleSettings:
        """The weekly digest's community-local weekday and time ("monday 09:00"; "off")."""
        return await self._set_schedule(actor, "digest", schedule.parse_digest(spec))

    async def set_recurring(self, actor: MemberRef, template: str, enabled: bool
                            ) -> schedule.ScheduleSettings:
        """Turn a recurring challenge template on or off for the community."""
        key = (template or "").strip().lower()
        templates = schedule.load_templates()

        async def work(tx: Tx) -> schedule.ScheduleSettings:
            await self._moderate(tx, actor)
            available = schedule.available_templates(tx, templates)
            if key not in available:
                listed = "; ".join(f"{k} ({what})" for k, what in
                                   schedule.settings_of(tx, templates).templates)
                raise InvalidInput(f"There is no template '{key[:40]}'. Templates: {listed}.")
            keys = [k for k in tx.community.settings.get("recurring", []) if k != key]
            return await self._store_schedule(tx, "recurring", [*keys, key] if enabled else keys,
                                              templates)

        return await self.write(actor.community, work)

    async def _set_schedule(self, actor: MemberRef, name: str, value: object
                            ) -> schedule.ScheduleSettings:
        templates = schedule.load_templates()

        async def work(tx: Tx) -> schedule.ScheduleSettings:
            await self._moderate(tx, actor)
            return await self._store_schedule(tx, name, value, templates)

        return await self.write(actor.community, work)

    async def _store_schedule(self, tx: Tx, name: str, value: object,
                              templates: dict[str, schedule.Template]
                              ) -> schedule.ScheduleSettings:
        # A new dict, not an in-place change: the JSON column only notices assignment.
        tx.community.settings = {**tx.community.settings, name: value}
        # Events follow at once: reminders of live challenges are added or dropped, the
        # digest moves, a template's next run is added or removed.
        await schedule.sync_all(tx, templates)
        return schedule.settings_of(tx, templates)

    async def delivery_problems(self, community: CommunityRef) -> outbox.ParkedSummary:
        """Announcements parked after failing for good (shown in /settings show)."""
        async def work(tx: Tx) -> outbox.ParkedSummary:
            return await outbox.parked_summary(tx.session, tx.community_id)

        return await self.read(community, work)

    async def set_member_flags(self, member: MemberRef, *, moderator: bool | None = None,
                               bot: bool | None = None) -> None:
        """Platform-level facts about a member (console roles, a Slack admin list)."""
        async def work(tx: Tx) -> None:
            row = await ensure_member(tx, member)
            if moderator is not None:
                row.is_moderator = moderator
            if bot is not None:
                row.is_bot = bot

        await self.write(member.community, work)

    # -- challenges -------------------------------------------------------------------

    async def create_challenge(self, actor: MemberRef, draft: ChallengeDraft) -> ChallengeView:
        async def work(tx: Tx) -> ChallengeView:
            creator = await self._moderate(tx, actor)
            c = await challenges.create(tx, draft, creator.id)
            await schedule.sync_challenge(tx, c)
            return ChallengeView.of(c, challenges.status_line(c, tx.now))

        return await self.write(actor.community, work)

    async def edit_challenge(self, actor: MemberRef, ref: str, **changes: Any) -> ChallengeView:
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise InvalidInput(f"These can't be edited: {', '.join(sorted(unknown))}.")

        async def work(tx: Tx) -> ChallengeView:
            await self._moderate(tx, actor)
            c = await challenges.find(tx, ref, for_update=True)
            _check_editable(c, changes, tx.now)
            draft = replace(_draft_of(c), **changes)
            checked = challenges.validate(replace(draft, starts_at=draft.starts_at), min(
                tx.now, draft.starts_at or tx.now))
            for name in changes:
                setattr(c, name, getattr(checked, name))
            await tx.session.flush()
            await schedule.sync_challenge(tx, c)
            return ChallengeView.of(c, challenges.status_line(c, tx.now))

        return await self.write(actor.community, work)

    async def cancel_challenge(self, actor: MemberRef, ref: str, reason: str | None
                               ) -> ChallengeView:
        async def work(tx: Tx) -> ChallengeView:
            await self._moderate(tx, actor)
            c = await challenges.find(tx, ref, for_update=True)
            if c.phase in ("completed", "cancelled", "tallying"):
                raise Conflict(f"{c.name} is already {c.phase}.")
            if not await challenges.transition(tx, c, c.phase, "cancelled"):
                raise Conflict(f"{c.name} changed meanwhile; try again.")
            c.cancel_reason = clean_text(reason or "")[:300] or None
            await challenges.announce_phase(tx, c)
            await schedule.sync_challenge(tx, c)
            return ChallengeView.of(c, "Cancelled")

        return await self.write(actor.community, work)

    async def advance_challenge(self, actor: MemberRef, ref: str) -> ChallengeView:
        """Move a challenge to its next phase now (a moderator's shortcut)."""
        async def work(tx: Tx) -> ChallengeView:
            await self._moderate(tx, actor)
            c = await challenges.find(tx, ref, for_update=True)
            await _advance_now(tx, c)
            await schedule.sync_challenge(tx, c)
            return ChallengeView.of(c, challenges.status_line(c, tx.now))

        return await self.write(actor.community, work)

    async def list_challenges(self, community: CommunityRef, phase: str | None = None,
                              page: int = 1, page_size: int = 10) -> Page[ChallengeView]:
        if phase is not None and phase not in set(challenges.SUBMISSION_PHASES) | {"active"}:
            raise InvalidInput("Phase must be one of: draft, scheduled, open, voting, active, "
                               "completed, cancelled.")
        if page < 1:
            raise InvalidInput("Pages start at 1.")
        if not 1 <= page_size <= 50:
            raise InvalidInput("A page holds 1 to 50 challenges.")

        async def work(tx: Tx) -> Page[ChallengeView]:
            query = select(Challenge).where(Challenge.community_id == tx.community_id)
            if phase is not None:
                query = query.where(Challenge.phase == phase)
            else:
                query = query.where(Challenge.phase.not_in(("draft", "cancelled")))
            total = int(await tx.session.scalar(
                select(func.count()).select_from(query.subquery())) or 0)
            rows = (await tx.session.scalars(
                query.order_by(Challenge.phase.in_(("completed",)), Challenge.id.desc())
                .offset((page - 1) * page_size).limit(page_size))).all()
            items = [ChallengeView.of(c, challenges.status_line(c, tx.now)) for c in rows]
            return Page(items, page, max(1, -(-total // page_size)), total)

        return await self.read(community, work)

    async def challenge_info(self, viewer: MemberRef, ref: str) -> ChallengeDetails:
        async def work(tx: Tx) -> ChallengeDetails:
            c = await challenges.find(tx, ref)
            member = await find_member(tx, viewer.user_id)
            n_entries, n_votes = (await tx.session.execute(
                select(func.count(Entry.id), func.coalesce(func.sum(VoteCount.votes), 0))
                .join(VoteCount, VoteCount.entry_id == Entry.id)
                .where(Entry.challenge_id == c.id, Entry.disqualified_reason.is_(None)))).one()
            n_parts = await tx.session.scalar(select(func.count()).where(
                Participant.challenge_id == c.id, Participant.active.is_(True)))
            if c.kind == "submission":
                n_parts = await tx.session.scalar(select(func.count(func.distinct(
                    Entry.member_id))).where(Entry.challenge_id == c.id))
            mine: list[EntryView] = []
            my_votes, joined, pace, team = 0, False, None, None
            if member is not None:
                mine = [EntryView.of(e) for e in (await tx.session.scalars(select(Entry).where(
                    Entry.challenge_id == c.id, Entry.member_id == member.id)
                    .order_by(Entry.id))).all()]
                # Through the challenge's entries: votes have no index by voter, which
                # would cost every vote one more page write.
                my_votes = int(await tx.session.scalar(
                    select(func.count()).select_from(Entry).where(
                        Entry.challenge_id == c.id,
                        select(Vote.id).where(Vote.entry_id == Entry.id,
                                              Vote.voter_id == member.id).exists())) or 0)
                part = await goals.participant(tx, c, member)
                joined = bool(part and part.active) or bool(mine)
                if part is not None and part.active and c.kind == "goal":
                    pace = await goals.pace(tx, c, part)
                    if part.team_id:
                        t = await tx.session.get(Team, part.team_id)
                        team = t.name if t else None
            can_submit = (c.kind == "submission" and c.phase == "open"
                          and len(mine) < c.max_entries
                          and (c.submissions_close_at is None
                               or tx.now < c.submissions_close_at))
            return ChallengeDetails(ChallengeView.of(c, challenges.status_line(c, tx.now)),
                                    int(n_entries), int(n_parts or 0), int(n_votes), joined, mine,
                                    my_votes, can_submit, pace, team)

        return await self.read(viewer.community, work)

    async def challenge_names(self, community: CommunityRef, prefix: str = "",
                              limit: int = 25) -> list[tuple[str, str]]:
        """(slug, name) pairs for autocompletion, newest first."""
        async def work(tx: Tx) -> list[tuple[str, str]]:
            query = select(Challenge.slug, Challenge.name).where(
                Challenge.community_id == tx.community_id,
                Challenge.phase.not_in(("cancelled", "draft")))
            if prefix:
                query = query.where(Challenge.slug.like(f"{challenges.slugify(prefix)}%"))
            rows = await tx.session.execute(query.order_by(Challenge.id.desc()).limit(limit))
            return [(s, n) for s, n in rows.all()]

        return await self.read(community, work)

    async def entry_names(self, community: CommunityRef, typed: str = "", limit: int = 25
                          ) -> list[tuple[int, str]]:
        """(entry id, "#id title by author (challenge)") for autocompletion: entries of
        challenges taking entries or votes whose number or title matches `typed`, newest
        first."""
        typed = clean_text(typed or "").lstrip("#")

        async def work(tx: Tx) -> list[tuple[int, str]]:
            query = (
                select(Entry.id, Entry.title, Member.display_name, Member.external_id,
                       Challenge.name)
                .join(Challenge, Challenge.id == Entry.challenge_id)
                .join(Member, Member.id == Entry.member_id)
                .where(Entry.community_id == tx.community_id,
                       Challenge.phase.in_(("open", "voting")))
            )
            if typed.isdigit():
                query = query.where(Entry.id == (as_id(typed) or 0))  # 0: no such entry
            elif typed:
                escaped = typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                query = query.where(func.lower(Entry.title).like(f"%{escaped.lower()}%",
                                                                 escape="\\"))
            rows = await tx.session.execute(query.order_by(Entry.id.desc()).limit(limit))
            return [(i, f"#{i} {title} by {name or ext} ({challenge})")
                    for i, title, name, ext, challenge in rows.all()]

        return await self.read(community, work)

    async def join(self, member: MemberRef, ref: str, team: str | None = None) -> ChallengeView:
        async def work(tx: Tx) -> ChallengeView:
            row = await ensure_member(tx, member)
            c = await challenges.find(tx, ref, for_share=True)
            await goals.join(tx, row, c, team)
            return ChallengeView.of(c, challenges.status_line(c, tx.now))

        return await self.write(member.community, work)

    async def leave(self, member: MemberRef, ref: str) -> ChallengeView:
        async def work(tx: Tx) -> ChallengeView:
            row = await ensure_member(tx, member)
            c = await challenges.find(tx, ref, for_share=True)
            await goals.leave(tx, row, c)
            return ChallengeView.of(c, challenges.status_line(c, tx.now))

        return await self.write(member.community, work)

    async def log_progress(self, member: MemberRef, ref: str, amount: float,
                           note: str | None = None) -> goals.Pace:
        async def work(tx: Tx) -> goals.Pace:
            row = await ensure_member(tx, member)
            # Logs to one challenge queue up: progress adds up without lost updates, a
            # shared target sees every log, and the tally (which locks it too) sees all.
            c = await challenges.find(tx, ref, for_update=True)
            part = await goals.log_progress(tx, row, c, amount, note)
            return await goals.pace(tx, c, part)

        return await self.write(member.community, work)

    async def submit_entry(self, member: MemberRef, ref: str, title: str,
                           link: str | None = None, image_url: str | None = None) -> EntryView:
        async def work(tx: Tx) -> EntryView:
            row = await ensure_member(tx, member)
            c = await challenges.find(tx, ref, for_share=True)
            return EntryView.of(await entries.submit(tx, row, c, title, link, image_url))

        return await self.write(member.community, work)

    async def feature_entry(self, actor: MemberRef, entry_id: int | str) -> EntryView:
        async def work(tx: Tx) -> EntryView:
            mod = await self._moderate(tx, actor)
            entry = await entries.find_entry(tx, entry_id, for_update=True)
            return EntryView.of(await entries.feature(tx, entry, mod))

        return await self.write(actor.community, work)

    async def disqualify_entry(self, actor: MemberRef, entry_id: int | str, reason: str
                               ) -> EntryView:
        async def work(tx: Tx) -> EntryView:
            mod = await self._moderate(tx, actor)
            entry = await entries.find_entry(tx, entry_id, for_update=True)
            return EntryView.of(await entries.disqualify(tx, entry, mod, reason))

        return await self.write(actor.community, work)

    async def entry(self, community: CommunityRef, entry_id: int | str) -> EntryView:
        async def work(tx: Tx) -> EntryView:
            return EntryView.of(await entries.find_entry(tx, entry_id))

        return await self.read(community, work)

    async def standings(self, community: CommunityRef, ref: str, page: int = 1
                        ) -> leaderboards.Standings:
        async def work(tx: Tx) -> leaderboards.Standings:
            return await leaderboards.challenge_standings(tx, await challenges.find(tx, ref),
                                                          page)

        return await self.read(community, work)

    # -- votes ------------------------------------------------------------------------

    async def cast_vote(self, voter: MemberRef, message: MessageRef, emoji: str
                        ) -> votes.VoteResult:
        """A reaction was added. Replays are no-ops; invalid votes raise with a reason.

        Returns once the vote is durably committed; votes arriving together share one
        commit, each still refused or counted on its own (engine/batching.py).
        """
        async def work(tx: Tx) -> votes.VoteResult:
            return await votes.cast_by(tx, voter, message, emoji)

        async with self.reaction_order.hold(_reaction_key(voter, message)):
            result: votes.VoteResult = await self.vote_batches.submit(voter.community, work,
                                                                      (voter, message, emoji))
        if result.status == "counted":
            self.settler.kick(voter.community)
        return result

    async def retract_vote(self, voter: MemberRef, message: MessageRef, emoji: str
                           ) -> votes.VoteResult:
        async def work(tx: Tx) -> votes.VoteResult:
            member = await find_member(tx, voter.user_id)
            if member is None:
                return votes.IGNORED
            return await votes.retract(tx, member, message, emoji)

        async with self.reaction_order.hold(_reaction_key(voter, message)):
            return await self.write(voter.community, work)

    # -- points -----------------------------------------------------------------------

    async def award_points(self, actor: MemberRef, target: MemberRef, amount: int, reason: str,
                           *, key: str | None = None) -> LedgerLine:
        """A moderator's award (negative `amount` deducts). `key` de-duplicates a retry."""
        reason = clean_text(reason or "")
        if not reason:
            raise InvalidInput("Give a reason: it is recorded in the ledger.")
        if len(reason) > 300:
            raise InvalidInput("The reason is too long (300 characters at most).")
        if amount == 0 or abs(amount) > MAX_AWARD:
            raise InvalidInput(f"The amount must be between 1 and {MAX_AWARD:,}.")
        if key is not None and not 0 < len(key) <= 128:
            raise InvalidInput("An idempotency key has 1 to 128 characters.")

        async def work(tx: Tx) -> LedgerLine:
            mod = await self._moderate(tx, actor)
            member = await ensure_member(tx, target)
            if member.is_bot:
                raise InvalidInput("Bots don't collect points.")
            if amount < 0:
                await lock_member(tx, member)  # concurrent deductions see each other
                have = await ledger.balance(tx, member.id)
                if have + amount < 0:
                    raise InvalidInput(
                        f"{member.display_name} has only {have} points; you can deduct at "
                        f"most {have}.")
            # Without a key every award is its own: two identical awards in the same
            # instant (a fixed clock, a quick moderator) both pay.
            posting_key = key or f"manual:{mod.id}:{member.id}:{uuid.uuid4().hex}"
            rows = await ledger.post(tx, [ledger.Posting(
                member.id, amount, "award" if amount > 0 else "deduction", posting_key,
                f"manual:{mod.id}", note=reason, awarded_by=mod.id)])
            if not rows:
                raise Conflict("That award was already recorded.")
            await achievements.check(tx, member.id, ["points"])
            return LedgerLine.of(rows[0], mod.display_name)

        return await self.write(actor.community, work)

    async def points_history(self, viewer: MemberRef, target_user_id: str | None = None,
                             limit: int = 10) -> list[LedgerLine]:
        async def work(tx: Tx) -> list[LedgerLine]:
            member = await find_member(tx, target_user_id or viewer.user_id)
            if member is None:
                return []
            return await _history(tx, member.id, limit)

        return await self.read(viewer.community, work)

    async def leaderboard(self, viewer: MemberRef, period: str = "all", page: int = 1,
                          page_size: int = 10) -> leaderboards.Board:
        async def work(ctx: Tx | View) -> leaderboards.Board:
            viewer_id = await fastsql.member_id(ctx.source, ctx.community_id, viewer.user_id)
            return await leaderboards.leaderboard(ctx, self.ranks, period, page, page_size,
                                                  viewer_id)

        return await self.view(viewer.community, work)

    async def profile(self, viewer: MemberRef, target_user_id: str | None = None) -> Profile:
        async def work(tx: Tx) -> Profile:
            user_id = target_user_id or viewer.user_id
            member = await find_member(tx, user_id)
            if member is None:
                if target_user_id:
                    raise NotFound("That member hasn't taken part yet.")
                return Profile(user_id, viewer.display_name or user_id, 0, None, 0, 0, [], 0,
                               [], [])
            return await _profile(tx, self.ranks, member)

        return await self.read(viewer.community, work)

    # -- achievements and badges ------------------------------------------------------

    async def achievements(self, viewer: MemberRef) -> list[achievements.Progress]:
        async def work(tx: Tx) -> list[achievements.Progress]:
            member = await find_member(tx, viewer.user_id)
            if member is None:
                return [achievements.Progress(d, 0, False, 0) for d in tx.catalog.defs.values()
                        if not d.secret]
            return await achievements.progress(tx, member.id)

        return await self.read(viewer.community, work)

    async def badges(self, viewer: MemberRef, target_user_id: str | None = None
                     ) -> list[BadgeView]:
        async def work(tx: Tx) -> list[BadgeView]:
            member = await find_member(tx, target_user_id or viewer.user_id)
            if member is None:
                return []
            return await _badges(tx, member)

        return await self.read(viewer.community, work)

    async def award_badge(self, actor: MemberRef, target: MemberRef, badge: str, reason: str
                          ) -> BadgeView:
        """A moderator's badge: a catalog achievement's badge or a custom one by name."""
        reason, badge = clean_text(reason or ""), clean_text(badge or "")
        if not reason or not badge:
            raise InvalidInput("Give the badge and a reason.")
        if len(badge) > 100 or len(reason) > 300:
            raise InvalidInput("Badge names stop at 100 characters, reasons at 300.")

        async def work(tx: Tx) -> BadgeView:
            mod = await self._moderate(tx, actor)
            member = await ensure_member(tx, target)
            known = tx.catalog.defs.get(badge)
            row = Badge(community_id=tx.community_id, member_id=member.id,
                        key=known.key if known else f"custom:{challenges.slugify(badge)}",
                        name=known.name if known else badge,
                        icon=known.badge if known else "🎖️", reason=reason,
                        awarded_by=mod.id, awarded_at=tx.now)
            tx.session.add(row)
            await tx.session.flush()
            await outbox.enqueue(tx, "badge", Card(
                title=f"{row.icon} Badge awarded: {row.name}",
                text=f"{member.display_name} received **{row.name}** from "
                     f"{mod.display_name}: {reason}", color="gold", mention=member.external_id),
                dedupe_key=f"badge:{row.id}")
            return BadgeView.of(row, False)

        return await self.write(actor.community, work)

    async def showcase(self, member: MemberRef, badge_ids: list[int]) -> list[BadgeView]:
        """Pin up to three of one's own badges to the profile."""
        if len(badge_ids) > 3:
            raise InvalidInput("You can showcase up to 3 badges.")

        async def work(tx: Tx) -> list[BadgeView]:
            row = await ensure_member(tx, member)
            owned = {b.id for b in (await tx.session.scalars(select(Badge).where(
                Badge.community_id == tx.community_id, Badge.member_id == row.id))).all()}
            missing = [i for i in badge_ids if i not in owned]
            if missing:
                raise NotFound(f"You don't have badge #{missing[0]}. See /badges.")
            row.showcase = {"badges": list(dict.fromkeys(badge_ids))}
            return [b for b in await _badges(tx, row) if b.showcased]

        return await self.write(member.community, work)

    async def recompute(self, community: CommunityRef) -> int:
        """Rebuild standings and counters from history and grant what was missed."""
        from engine.recompute import recompute

        result = await self.write(community, recompute)
        if isinstance(self.ranks, MemoryRankIndex):
            self.ranks.forget(self._community_ids[(community.platform, community.external_id)])
        return result

    # -- schedule and delivery --------------------------------------------------------

    async def advance_due(self) -> int:
        """Run every phase change whose time has come, in every community; returns count."""
        now = self.clock.now()
        async with self.db.session() as session:
            due = (await session.execute(
                select(Challenge.id, Community.platform, Community.external_id)
                .join(Community, Community.id == Challenge.community_id)
                .where(
                    ((Challenge.phase == "scheduled") & (Challenge.starts_at <= now))
                    | ((Challenge.phase == "open") & (Challenge.submissions_close_at <= now))
                    | ((Challenge.phase == "voting") & (Challenge.voting_close_at <= now))
                    | ((Challenge.phase == "active") & (Challenge.ends_at <= now)))
                .order_by(Challenge.id))).all()
        done = 0
        for challenge_id, platform, external_id in due:
            done += await self.write(CommunityRef(platform, external_id),
                                     lambda tx, cid=challenge_id: _advance_and_sync(tx, cid))
        return done

    async def claim_deliveries(self, limit: int = 20, platforms: Collection[str] | None = None
                               ) -> list[outbox.Delivery]:
        async def unit(session: AsyncSession) -> list[outbox.Delivery]:
            return await outbox.claim(session, self.clock.now(), limit=limit,
                                      skip_locked=not self.db.is_sqlite, platforms=platforms)

        return await self.db.run(unit)

    async def outbox_rows(self, statuses: Collection[str], limit: int = 50
                          ) -> list[outbox.OutboxInfo]:
        """Outbox rows in every community (the `laurels outbox` operator command)."""
        async with self.db.session() as session:
            return await outbox.list_rows(session, statuses, limit=limit)

    async def retry_delivery(self, outbox_id: int) -> outbox.OutboxInfo:
        """Queue a parked announcement again with fresh attempts (operator command)."""
        async def unit(session: AsyncSession) -> outbox.OutboxInfo | None:
            return await outbox.retry(session, outbox_id, self.clock.now())

        info = await self.db.run(unit)
        if info is None:
            raise NotFound(f"There is no outbox message {outbox_id}.")
        if info.status == "sent":
            raise Conflict(f"Outbox message {outbox_id} was already sent.")
        return info

    async def delivered(self, outbox_id: int, message: MessageRef | None) -> None:
        async def unit(session: AsyncSession) -> None:
            await outbox.mark_sent(session, outbox_id, message, self.clock.now())

        await self.db.run(unit)

    async def delivery_failed(self, outbox_id: int, error: str, *,
                              retry_after: float | None = None, permanent: bool = False) -> str:
        async def unit(session: AsyncSession) -> str:
            return await outbox.mark_failed(session, outbox_id, error, self.clock.now(),
                                            retry_after=retry_after, permanent=permanent)

        return await self.db.run(unit)

    def ref_for(self, community_id: int, platform: str, external_id: str) -> CommunityRef:
        self._community_ids[(platform, external_id)] = community_id
        return CommunityRef(platform, external_id)

    async def community_of(self, community_id: int) -> CommunityRef:
        async with self.db.session() as session:
            c = await session.get(Community, community_id)
            if c is None:
                raise NotFound("No such community.")
            return CommunityRef(c.platform, c.external_id, c.name)


async def _const(value: T) -> T:
    return value


def _reaction_key(voter: MemberRef, message: MessageRef) -> tuple[str, ...]:
    ref = voter.community
    return (ref.platform, ref.external_id, voter.user_id, message.channel_id,
            message.message_id)


async def _prefetch_votes(tx: Tx, hints: list[votes.VoteItem]) -> None:
    await votes.prefetch(tx, [h[0] for h in hints], [h[1] for h in hints])


def _draft_of(c: Challenge) -> ChallengeDraft:
    return ChallengeDraft(
        kind=c.kind, name=c.name, prompt=c.prompt, description=c.description,
        starts_at=c.starts_at, submissions_close_at=c.submissions_close_at,
        voting_close_at=c.voting_close_at, ends_at=c.ends_at, max_entries=c.max_entries,
        vote_emoji=c.vote_emoji, early_votes=c.early_votes, prize=c.prize,
        sponsor_name=c.sponsor_name, sponsor_url=c.sponsor_url, metric=c.metric, unit=c.unit,
        goal=c.goal, team_mode=c.team_mode, channel_id=c.channel_id)


def _check_editable(c: Challenge, changes: dict[str, Any], now: datetime) -> None:
    if c.phase in ("tallying", "completed", "cancelled"):
        raise Conflict(f"{c.name} is {c.phase}; it can no longer be edited.")
    started = c.phase not in ("draft", "scheduled")
    if started and "starts_at" in changes:
        raise Conflict(f"{c.name} has already started; its start can't move.")
    if c.phase == "voting" and "submissions_close_at" in changes:
        raise Conflict("Submissions are already closed; that deadline can't move.")
    if c.phase == "voting" and "vote_emoji" in changes:
        raise Conflict("Voting has started; the vote emoji can't change now.")
    for name in ("submissions_close_at", "voting_close_at", "ends_at"):
        if name in changes and changes[name] is not None and changes[name] <= now:
            raise InvalidInput("New deadlines must be in the future.")


async def _advance_now(tx: Tx, c: Challenge) -> None:
    if c.phase == "draft":
        nxt = "scheduled" if c.starts_at > tx.now else ("open" if c.kind == "submission"
                                                        else "active")
        await challenges.transition(tx, c, "draft", nxt)
        if nxt != "scheduled":
            await challenges.announce_phase(tx, c)
        return
    if c.phase == "scheduled":
        c.starts_at = tx.now
    elif c.phase == "open":
        c.submissions_close_at = tx.now
    elif c.phase == "voting":
        c.voting_close_at = tx.now
    elif c.phase == "active":
        c.ends_at = tx.now
    else:
        raise Conflict(f"{c.name} is {c.phase}; there is no next phase.")
    await tx.session.flush()
    await _step(tx, c)


async def _advance_and_sync(tx: Tx, challenge_id: int) -> int:
    steps = await advance_due_challenge(tx, challenge_id)
    c = await tx.session.get(Challenge, challenge_id)
    if c is not None:
        await schedule.sync_challenge(tx, c)
    return steps


async def advance_due_challenge(tx: Tx, challenge_id: int) -> int:
    """Run the challenge's phase changes whose time has come; returns how many ran."""
    c = await tx.session.scalar(select(Challenge).where(
        Challenge.id == challenge_id, Challenge.community_id == tx.community_id
    ).with_for_update())
    steps = 0
    while c is not None:
        deadline = challenges.next_deadline(c)
        if deadline is None or deadline[1] > tx.now or not await _step(tx, c):
            break
        steps += 1
    return steps


async def _step(tx: Tx, c: Challenge) -> bool:
    """One phase change, conditional on the phase still being what we read."""
    if c.phase == "scheduled":
        new = "open" if c.kind == "submission" else "active"
        if await challenges.transition(tx, c, "scheduled", new):
            await challenges.announce_phase(tx, c)
            return True
        return False
    if c.phase == "open":
        if await challenges.transition(tx, c, "open", "voting"):
            await challenges.announce_phase(tx, c)
            return True
        return False
    if c.phase in ("voting", "active"):
        return await tally(tx, c) is not None
    return False


async def _history(tx: Tx, member_id: int, limit: int) -> list[LedgerLine]:
    rows = (await tx.session.scalars(select(LedgerRow).where(
        LedgerRow.community_id == tx.community_id, LedgerRow.member_id == member_id)
        .order_by(LedgerRow.id.desc()).limit(limit))).all()
    names = {m.id: m.display_name for m in (await tx.session.scalars(select(Member).where(
        Member.id.in_({r.awarded_by for r in rows if r.awarded_by})))).all()}
    return [LedgerLine.of(r, names.get(r.awarded_by) if r.awarded_by else None) for r in rows]


async def _badges(tx: Tx, member: Member) -> list[BadgeView]:
    pinned = set(member.showcase.get("badges", []))
    rows = (await tx.session.scalars(select(Badge).where(
        Badge.community_id == tx.community_id, Badge.member_id == member.id)
        .order_by(Badge.id))).all()
    return [BadgeView.of(b, b.id in pinned) for b in rows]


async def _profile(tx: Tx, ranks: RankIndex, member: Member) -> Profile:
    rank = await leaderboards.viewer_rank(tx, ranks, member.id, "all")
    streak = await tx.session.get(Streak, (tx.community_id, member.id))
    badges = await _badges(tx, member)
    active_rows = (await tx.session.execute(
        select(Challenge, Participant).join(Participant, Participant.challenge_id == Challenge.id)
        .where(Challenge.community_id == tx.community_id, Participant.member_id == member.id,
               Participant.active.is_(True),
               Challenge.phase.in_(("scheduled", "open", "voting", "active"))))).all()
    active = []
    for c, part in active_rows:
        status = (f"{part.progress:g}/{c.goal:g} {c.unit or ''}".strip() if c.kind == "goal"
                  else "joined")
        active.append((ChallengeView.of(c, challenges.status_line(c, tx.now)), status))
    entered = (await tx.session.execute(
        select(Challenge, func.count(Entry.id)).join(Entry, Entry.challenge_id == Challenge.id)
        .where(Challenge.community_id == tx.community_id, Entry.member_id == member.id,
               Challenge.phase.in_(("open", "voting")))
        .group_by(Challenge.id))).all()
    for c, n in entered:
        active.append((ChallengeView.of(c, challenges.status_line(c, tx.now)),
                       f"{n} entr{'y' if n == 1 else 'ies'}"))
    return Profile(
        member.external_id, member.display_name, rank.points if rank else 0, rank,
        streak.current if streak and _streak_alive(tx, streak) else 0,
        streak.longest if streak else 0,
        [b for b in badges if b.showcased], len(badges), active,
        await _history(tx, member.id, 5))


def _streak_alive(tx: Tx, streak: Streak) -> bool:
    """A streak is current if its last day is today or yesterday (today can still count)."""
    if streak.last_day is None:
        return False
    return (tx.local_day() - streak.last_day).days <= 1
