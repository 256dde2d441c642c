"""`Engine`: the one entry point adapters, commands and the scheduler call; the web
and the delivery worker reach its two companions through it (`engine.dashboard`,
`engine.deliveries`).

A facade: each method checks its arguments, then runs one operation of the module that
holds its rules in one transaction of the unit of work (engine/unit.py), scoped to one
community. It returns plain values (engine/views.py) or raises a `LaurelsError`.

Wiring, in one place: settlement pays counted votes before every write; point
thresholds and the top 10 are settled, and what the transaction unlocked is posted in
one post, before every commit; committed events reach the rank index (standings
moved), the settler (votes counted) and whoever listens for schedule changes (the
scheduler).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from config.catalog import load_default_achievements, load_default_points
from engine import (
    achievement_posts,
    achievements,
    awards,
    challenge_admin,
    challenge_reads,
    community_settings,
    entries,
    goals,
    leaderboards,
    member_reads,
    outbox,
    schedule,
    votes,
)
from engine.achievements import Catalog
from engine.batching import GroupCommit
from engine.challenges import ChallengeDraft
from engine.clock import Clock, SystemClock
from engine.context import RankMoved, Tx, View, VotesCounted
from engine.dashboard import DashboardFacade
from engine.deliveries import Deliveries
from engine.due import DueRunner
from engine.errors import Unavailable
from engine.members import find_member, is_moderator, require_moderator
from engine.metrics import VOTES_NOT_COUNTED
from engine.ordering import KeyedLocks
from engine.ranking import MemoryRankIndex, RankIndex, SqlRankIndex
from engine.recompute import recompute
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.settlement import Settler
from engine.sign_in import WebLinks
from engine.unit import UnitOfWork
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
from storage.db import Database, is_fault
from storage.sql.members import member_id

__all__ = ["Engine"]

T = TypeVar("T")


class Engine:
    """The rules of Laurels over one database.

    `settle_in_background`: pay counted votes in a background task soon after they
    commit (the bot); off, they are paid by the next write or `settle_all` (tests that
    look at what is waiting). `vote_patience`: seconds a vote waits out a database fault
    before its voter is told it was not counted. `close_grace`: how long after voting
    closes the tally waits for votes received before the close (`vote_rules.tally_due`).
    `web`: where the web dashboard is served (None: not served), handed to `dashboard`.

    It builds the two facades beside it: `dashboard` (engine/dashboard.py: the web's
    pages and the JSON API, over this facade's reads and unit of work) and `deliveries`
    (engine/deliveries.py: the outbox as the delivery worker and the operator see it, in
    plain transactions: outbox rows are not one community's).
    """

    def __init__(
        self, db: Database, clock: Clock | None = None, *, catalog: Catalog | None = None,
        points: dict[str, int] | None = None, rank_index: str = "auto",
        default_timezone: str = "UTC", settle_in_background: bool = True,
        vote_patience: float = 30.0, close_grace: timedelta = timedelta(0),
        web: WebLinks | None = None,
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.uow = UnitOfWork(db, self.clock,
                              catalog or Catalog.from_data(load_default_achievements()),
                              points or load_default_points(), default_timezone,
                              close_grace)
        if rank_index == "auto":
            rank_index = "memory" if db.is_sqlite else "sql"
        self.ranks: RankIndex = MemoryRankIndex(db) if rank_index == "memory" else SqlRankIndex()
        # Concurrent votes share one durable commit (engine/batching.py).
        self.vote_batches = GroupCommit(self.uow, votes.record, patience=vote_patience)
        # Counted votes are paid for after their commit (engine/settlement.py).
        self.settler = Settler(self.uow, self.vote_batches,
                               background=settle_in_background)
        # A reaction's add and remove apply in arrival order (engine/ordering.py).
        self.reaction_order = KeyedLocks()
        self.due = DueRunner(self.uow)
        # The facades beside this one: the web's pages and API, and the outbox.
        self.dashboard = DashboardFacade(self, web)
        self.deliveries = Deliveries(db, self.clock)
        self.uow.before_write.append(self.settler.settle_in)
        self.uow.before_commit.append(achievements.settle)
        # Last: what the transaction unlocked (thresholds above included), in one post.
        self.uow.before_commit.append(achievement_posts.announce)
        self.uow.on(RankMoved, self.ranks.moved)
        self.uow.on(VotesCounted, self.settler.counted)

    @property
    def default_points(self) -> dict[str, int]:
        return self.uow.default_points

    @property
    def catalog(self) -> Catalog:
        return self.uow.catalog

    @catalog.setter
    def catalog(self, catalog: Catalog) -> None:
        """A new achievement catalog for the operations from now on."""
        self.uow.catalog = catalog

    async def _write(self, ref: CommunityRef, work: Callable[[Tx], Awaitable[T]]) -> T:
        return await self.uow.write(ref, work)

    async def read(self, viewer: MemberRef | CommunityRef,
                   work: Callable[[Tx], Awaitable[T]]) -> T:
        """`work` in a read transaction of the viewer's community, once the votes the
        viewer should see paid are (`Settler.before_read`)."""
        return await self.uow.read(await self.settler.before_read(viewer), work)

    async def view(self, viewer: MemberRef | CommunityRef,
                   work: Callable[[Tx | View], Awaitable[T]]) -> T:
        """Like `read`, on the snapshot of the last commit where one is kept (boards)."""
        return await self.uow.view(await self.settler.before_read(viewer), work)

    # -- votes: counted first, paid after -------------------------------------------------

    async def cast_vote(self, voter: MemberRef, message: MessageRef, emoji: str, *,
                        received_at: datetime | None = None) -> votes.VoteResult:
        """A reaction was added. Replays are no-ops; invalid votes raise with a reason.

        Returns once the vote is durably committed; votes arriving together share one
        commit, each judged on its own (engine/batching.py), as of `received_at` (now by
        default): a vote received before voting closed counts even if committed after.
        """
        item = votes.VoteItem(voter, message, emoji, received_at or self.clock.now())
        async with self.reaction_order.hold(_reaction_key(voter, message)):
            try:
                result: votes.VoteResult = await self.vote_batches.submit(voter.community,
                                                                          item)
            except Exception as exc:
                if not is_fault(exc):
                    raise
                VOTES_NOT_COUNTED.inc()
                raise Unavailable(
                    "Your vote wasn't counted: Laurels couldn't reach its database. Please "
                    "react again in a moment.") from exc
        return result

    async def retract_vote(self, voter: MemberRef, message: MessageRef, emoji: str
                           ) -> votes.VoteResult:
        async def work(tx: Tx) -> votes.VoteResult:
            member = await find_member(tx, voter.user_id)
            if member is None:
                return votes.IGNORED
            return await votes.retract(tx, member, message, emoji)

        async with self.reaction_order.hold(_reaction_key(voter, message)):
            try:
                return await self.uow.write(voter.community, work,
                                            patience=self.vote_batches.patience)
            except Exception as exc:
                if not is_fault(exc):
                    raise
                VOTES_NOT_COUNTED.inc()
                raise Unavailable(
                    "Removing your vote didn't go through: Laurels couldn't reach its "
                    "database. Please add your reaction and remove it again in a moment."
                ) from exc

    async def settle_votes(self, ref: CommunityRef, limit: int = 1024) -> int:
        """Pay for up to `limit` of the community's counted votes, oldest first."""
        return await self.settler.settle(ref, limit)

    async def settle_all(self) -> int:
        """Pay for every counted vote still waiting, in every community."""
        return await self.settler.settle_all()

    async def close(self) -> None:
        """Pay for the votes counted so far; call before disposing of the database."""
        await self.settler.close()

    # -- communities and settings -------------------------------------------------------

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
        c, created = await self.uow.open_community(
            ref, timezone=timezone, announce_channel=announce_channel,
            entries_channel=entries_channel)
        return community_settings.view_of(c, self.uow.points_of(c)), created

    async def community(self, ref: CommunityRef) -> CommunityView:
        async def work(ctx: Tx | View) -> CommunityView:
            return community_settings.view_of(ctx.community, self.uow.points_of(ctx.community))

        return await self.uow.view(ref, work)

    async def is_moderator(self, member: MemberRef) -> bool:
        """Whether `member` may run moderator commands here."""
        async def work(tx: Tx) -> bool:
            row = await find_member(tx, member.user_id)
            return is_moderator(member, bool(row and row.is_moderator),
                                tx.community.moderator_role)

        return await self.uow.read(member.community, work)

    async def require_moderator(self, member: MemberRef) -> None:
        """Forbidden, naming who the moderators are here, unless `member` is one."""
        async def work(tx: Tx) -> None:
            require_moderator(tx, await find_member(tx, member.user_id), member)

        await self.uow.read(member.community, work)

    async def set_channel(self, actor: MemberRef, which: str, channel_id: str) -> CommunityView:
        community_settings.check_channel(which, channel_id)
        return await self._write(actor.community, lambda tx: community_settings.set_channel(
            tx, actor, which, channel_id))

    async def set_achievement_posts(self, actor: MemberRef, place: str) -> CommunityView:
        """Achievement posts back to the announcements channel ("announcements") or off
        ("off"); `set_channel(actor, "achievements", channel)` gives them a channel."""
        place = achievement_posts.check_place(place)
        return await self._write(actor.community, lambda tx:
                                 community_settings.set_achievement_posts(tx, actor, place))

    async def set_timezone(self, actor: MemberRef, zone: str) -> CommunityView:
        zone = community_settings.check_timezone(zone)
        return await self._write(actor.community, lambda tx: community_settings.set_timezone(
            tx, actor, zone))

    async def set_moderator_role(self, actor: MemberRef, role: str | None) -> CommunityView:
        return await self._write(actor.community, lambda tx:
                                 community_settings.set_moderator_role(tx, actor, role))

    async def set_point_rule(self, actor: MemberRef, rule: str, value: int) -> CommunityView:
        community_settings.check_point_rule(self.default_points, rule, value)
        return await self._write(actor.community, lambda tx:
                                 community_settings.set_point_rule(tx, actor, rule, value))

    async def schedule_settings(self, community: CommunityRef) -> schedule.ScheduleSettings:
        """Reminder leads, digest time and recurring templates (on and available)."""
        templates = schedule.load_templates()

        async def work(tx: Tx) -> schedule.ScheduleSettings:
            return schedule.settings_of(tx, templates)

        return await self.uow.read(community, work)

    async def set_reminders(self, actor: MemberRef, spec: str) -> schedule.ScheduleSettings:
        """Reminder leads before each deadline ("24h,1h"; "off"); live challenges follow."""
        leads = schedule.parse_reminders(spec)
        return await self._write(actor.community, lambda tx: community_settings.set_schedule(
            tx, actor, "reminders", leads))

    async def set_digest(self, actor: MemberRef, spec: str) -> schedule.ScheduleSettings:
        """The weekly digest's community-local weekday and time ("monday 09:00"; "off")."""
        when = schedule.parse_digest(spec)
        return await self._write(actor.community, lambda tx: community_settings.set_schedule(
            tx, actor, "digest", when))

    async def set_recurring(self, actor: MemberRef, template: str, enabled: bool
                            ) -> schedule.ScheduleSettings:
        """Turn a recurring challenge template on or off for the community."""
        return await self._write(actor.community, lambda tx: community_settings.set_recurring(
            tx, actor, template, enabled))

    async def set_member_flags(self, member: MemberRef, *, moderator: bool | None = None,
                               bot: bool | None = None) -> None:
        """Platform-level facts about a member (console roles, a Slack admin list)."""
        await self._write(member.community, lambda tx: community_settings.set_member_flags(
            tx, member, moderator=moderator, bot=bot))

    async def delivery_problems(self, community: CommunityRef) -> outbox.ParkedSummary:
        """Announcements parked after failing for good (shown in /settings show)."""
        return await self.uow.read(community, lambda tx: outbox.parked_summary(
            tx.session, tx.community_id))

    # -- challenges ---------------------------------------------------------------------

    async def create_challenge(self, actor: MemberRef, draft: ChallengeDraft) -> ChallengeView:
        return await self._write(actor.community, lambda tx: challenge_admin.create(
            tx, actor, draft))

    async def edit_challenge(self, actor: MemberRef, ref: str, **changes: Any) -> ChallengeView:
        challenge_admin.check_edit(changes)
        return await self._write(actor.community, lambda tx: challenge_admin.edit(
            tx, actor, ref, changes))

    async def cancel_challenge(self, actor: MemberRef, ref: str, reason: str | None
                               ) -> ChallengeView:
        return await self._write(actor.community, lambda tx: challenge_admin.cancel(
            tx, actor, ref, reason))

    async def advance_challenge(self, actor: MemberRef, ref: str) -> ChallengeView:
        """Move a challenge to its next phase now (a moderator's shortcut)."""
        return await self._write(actor.community, lambda tx: challenge_admin.advance(
            tx, actor, ref))

    async def list_challenges(self, community: CommunityRef, phase: str | None = None,
                              page: int = 1, page_size: int = 10) -> Page[ChallengeView]:
        challenge_reads.check_listing(phase, page, page_size)
        return await self.read(community, lambda tx: challenge_reads.list_challenges(
            tx, phase, page, page_size))

    async def challenge_info(self, viewer: MemberRef, ref: str) -> ChallengeDetails:
        return await self.read(viewer, lambda tx: challenge_reads.challenge_info(
            tx, viewer, ref))

    async def challenge_names(self, community: CommunityRef, prefix: str = "",
                              limit: int = 25) -> list[tuple[str, str]]:
        """(slug, name) pairs for autocompletion, newest first."""
        return await self.read(community, lambda tx: challenge_reads.challenge_names(
            tx, prefix, limit))

    async def entry_names(self, community: CommunityRef, typed: str = "", limit: int = 25
                          ) -> list[tuple[int, str]]:
        """(entry id, label) for autocompletion of entries taking votes."""
        return await self.read(community, lambda tx: challenge_reads.entry_names(
            tx, typed, limit))

    async def join(self, member: MemberRef, ref: str, team: str | None = None) -> ChallengeView:
        return await self._write(member.community, lambda tx: goals.join_by(
            tx, member, ref, team))

    async def leave(self, member: MemberRef, ref: str) -> ChallengeView:
        return await self._write(member.community, lambda tx: goals.leave_by(tx, member, ref))

    async def log_progress(self, member: MemberRef, ref: str, amount: float,
                           note: str | None = None) -> goals.Pace:
        return await self._write(member.community, lambda tx: goals.log_by(
            tx, member, ref, amount, note))

    async def submit_entry(self, member: MemberRef, ref: str, title: str,
                           link: str | None = None, image_url: str | None = None) -> EntryView:
        return await self._write(member.community, lambda tx: entries.submit_by(
            tx, member, ref, title, link, image_url))

    async def feature_entry(self, actor: MemberRef, entry_id: int | str) -> EntryView:
        return await self._write(actor.community, lambda tx: entries.feature_by(
            tx, actor, entry_id))

    async def disqualify_entry(self, actor: MemberRef, entry_id: int | str, reason: str
                               ) -> EntryView:
        return await self._write(actor.community, lambda tx: entries.disqualify_by(
            tx, actor, entry_id, reason))

    async def entry(self, community: CommunityRef, entry_id: int | str) -> EntryView:
        async def work(tx: Tx) -> EntryView:
            return EntryView.of(await entries.find_entry(tx, entry_id))

        return await self.read(community, work)

    async def standings(self, community: CommunityRef, ref: str, page: int = 1
                        ) -> leaderboards.Standings:
        return await self.read(community, lambda tx: leaderboards.standings_of(tx, ref, page))

    # -- points, boards, profiles ----------------------------------------------------------

    async def award_points(self, actor: MemberRef, target: MemberRef, amount: int, reason: str,
                           *, key: str | None = None) -> LedgerLine:
        """A moderator's award (negative `amount` deducts). `key` de-duplicates a retry."""
        reason = awards.check_award(amount, reason, key)
        return await self._write(actor.community, lambda tx: awards.award_points(
            tx, actor, target, amount, reason, key))

    async def points_history(self, viewer: MemberRef, target_user_id: str | None = None,
                             limit: int = 10, *, before: int | None = None
                             ) -> list[LedgerLine]:
        """The newest ledger lines of a member (the viewer by default), up to `limit`;
        with `before`, those older than the line of that id (the next page)."""
        member_reads.check_history(limit, before)
        return await self.read(viewer, lambda tx: member_reads.member_history(
            tx, target_user_id or viewer.user_id, limit, before))

    async def leaderboard(self, viewer: MemberRef | CommunityRef, period: str = "all",
                          page: int = 1, page_size: int = 10) -> leaderboards.Board:
        """A page of the board, with the viewer's own rank (none for a community: the
        board as anyone sees it)."""
        async def work(ctx: Tx | View) -> leaderboards.Board:
            viewer_id = (await member_id(ctx.source, ctx.community_id, viewer.user_id)
                         if isinstance(viewer, MemberRef) else None)
            return await leaderboards.leaderboard(ctx, self.ranks, period, page, page_size,
                                                  viewer_id)

        return await self.view(viewer, work)

    async def profile(self, viewer: MemberRef, target_user_id: str | None = None) -> Profile:
        return await self.read(viewer, lambda tx: member_reads.profile(
            tx, self.ranks, viewer, target_user_id))

    async def achievements(self, viewer: MemberRef) -> list[achievements.Progress]:
        return await self.read(viewer, lambda tx: member_reads.achievement_progress(
            tx, viewer.user_id))

    async def badges(self, viewer: MemberRef, target_user_id: str | None = None
                     ) -> list[BadgeView]:
        return await self.read(viewer, lambda tx: member_reads.badges(
            tx, target_user_id or viewer.user_id))

    async def award_badge(self, actor: MemberRef, target: MemberRef, badge: str, reason: str
                          ) -> BadgeView:
        """A moderator's badge: a catalog achievement's badge or a custom one by name."""
        badge, reason = awards.check_badge(badge, reason)
        return await self._write(actor.community, lambda tx: awards.award_badge(
            tx, actor, target, badge, reason))

    async def showcase(self, member: MemberRef, badge_ids: list[int]) -> list[BadgeView]:
        """Pin up to three of one's own badges to the profile."""
        return await self._write(member.community, lambda tx: awards.showcase(
            tx, member, badge_ids))

    async def recompute(self, community: CommunityRef) -> int:
        """Rebuild standings and counters from history and grant what was missed."""
        result = await self._write(community, recompute)
        community_id = self.uow.id_of(community)
        if isinstance(self.ranks, MemoryRankIndex) and community_id is not None:
            self.ranks.forget(community_id)
        return result

    def ref_for(self, community_id: int, platform: str, external_id: str) -> CommunityRef:
        return self.uow.remember(community_id, CommunityRef(platform, external_id))

    async def community_of(self, community_id: int) -> CommunityRef:
        return await self.uow.community_of(community_id)


def _reaction_key(voter: MemberRef, message: MessageRef) -> tuple[str, ...]:
    ref = voter.community
    return (ref.platform, ref.external_id, voter.user_id, message.channel_id,
            message.message_id)
