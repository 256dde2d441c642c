"""`Engine`: the one entry point adapters, commands and the scheduler call.

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

from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import Any, TypeVar

from config.catalog import load_default_achievements, load_default_points
from engine import (
    achievement_posts,
    achievements,
    api_reads,
    api_tokens,
    awards,
    board_reads,
    challenge_admin,
    challenge_reads,
    community_settings,
    community_stats,
    entries,
    gallery_reads,
    goals,
    leaderboards,
    member_reads,
    outbox,
    schedule,
    votes,
    web_access,
)
from engine.achievements import Catalog
from engine.batching import GroupCommit
from engine.challenges import ChallengeDraft
from engine.clock import Clock, SystemClock
from engine.context import RankMoved, Tx, View, VotesCounted
from engine.due import DueRunner
from engine.errors import Conflict, NotFound, Unavailable
from engine.members import find_member, is_moderator, moderator, require_moderator
from engine.metrics import VOTES_NOT_COUNTED
from engine.ordering import KeyedLocks
from engine.ranking import MemoryRankIndex, RankIndex, SqlRankIndex
from engine.rarity import Rarity
from engine.recompute import recompute
from engine.refs import CommunityRef, MemberRef, MessageRef
from engine.settlement import QUIET_READ_WAIT, READ_WAIT, Settler
from engine.sign_in import SignInLinks, WebLinks
from engine.unit import UnitOfWork
from engine.views import (
    BadgeView,
    BoardPage,
    CatalogItem,
    ChallengeDetails,
    ChallengePage,
    ChallengeView,
    CommunityStats,
    CommunityView,
    EntryView,
    LedgerLine,
    ManualChange,
    MemberMatch,
    MemberPage,
    Page,
    ParkedPost,
    Profile,
    WebCommunity,
)
from storage.db import Database, is_fault
from storage.sql.members import member_id
from storage.sql.web import community_by_public_id

__all__ = ["Engine"]

T = TypeVar("T")


class Engine:
    """The rules of Laurels over one database.

    `settle_in_background`: pay counted votes in a background task soon after they
    commit (the bot); off, they are paid by the next write or `settle_all` (tests that
    look at what is waiting). `vote_patience`: seconds a vote waits out a database fault
    before its voter is told it was not counted. `close_grace`: how long after voting
    closes the tally waits for votes received before the close (`vote_rules.tally_due`).
    """

    def __init__(
        self, db: Database, clock: Clock | None = None, *, catalog: Catalog | None = None,
        points: dict[str, int] | None = None, rank_index: str = "auto",
        default_timezone: str = "UTC", settle_in_background: bool = True,
        vote_patience: float = 30.0, close_grace: timedelta = timedelta(0),
        web: WebLinks | None = None,
    ) -> None:
        self.db = db
        # Where the web dashboard is served (None: not served; /dashboard says so).
        self.web = web
        self._links: SignInLinks | None = None
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
        self.settler = Settler(self.uow, self.vote_batches.idle_for,
                               background=settle_in_background)
        # A reaction's add and remove apply in arrival order (engine/ordering.py).
        self.reaction_order = KeyedLocks()
        self.due = DueRunner(self.uow)
        # The web dashboard's caches: boards as this week began, achievement rarity.
        self.week_start = board_reads.WeekStartBoards(db)
        self.rarity = Rarity()
        self._public_ids: dict[str, CommunityRef] = {}
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

    async def _read(self, viewer: MemberRef | CommunityRef,
                    work: Callable[[Tx], Awaitable[T]]) -> T:
        ref = await self._before_read(viewer)
        return await self.uow.read(ref, work)

    async def _before_read(self, viewer: MemberRef | CommunityRef) -> CommunityRef:
        """Reads see counted votes paid where that is quick: a member who just voted
        waits for their votes (at most `READ_WAIT`); anyone else waits only while no
        burst of votes is under way and few votes wait (at most `QUIET_READ_WAIT`), so
        that neither a burst nor the backlog it leaves holds up the reads of members who
        are not in it."""
        ref = viewer.community if isinstance(viewer, MemberRef) else viewer
        if isinstance(viewer, MemberRef) and self.settler.waiting(ref, viewer.user_id):
            await self.settler.flush(ref, READ_WAIT)
        elif not self.vote_batches.busy and self.settler.few_waiting(ref):
            await self.settler.flush(ref, QUIET_READ_WAIT)
        return ref

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
        return await self._read(community, lambda tx: challenge_reads.list_challenges(
            tx, phase, page, page_size))

    async def challenge_info(self, viewer: MemberRef, ref: str) -> ChallengeDetails:
        return await self._read(viewer, lambda tx: challenge_reads.challenge_info(
            tx, viewer, ref))

    async def challenge_names(self, community: CommunityRef, prefix: str = "",
                              limit: int = 25) -> list[tuple[str, str]]:
        """(slug, name) pairs for autocompletion, newest first."""
        return await self._read(community, lambda tx: challenge_reads.challenge_names(
            tx, prefix, limit))

    async def entry_names(self, community: CommunityRef, typed: str = "", limit: int = 25
                          ) -> list[tuple[int, str]]:
        """(entry id, label) for autocompletion of entries taking votes."""
        return await self._read(community, lambda tx: challenge_reads.entry_names(
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

        return await self._read(community, work)

    async def standings(self, community: CommunityRef, ref: str, page: int = 1
                        ) -> leaderboards.Standings:
        return await self._read(community, lambda tx: leaderboards.standings_of(tx, ref, page))

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
        return await self._read(viewer, lambda tx: member_reads.member_history(
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

        community = await self._before_read(viewer)
        return await self.uow.view(community, work)

    async def profile(self, viewer: MemberRef, target_user_id: str | None = None) -> Profile:
        return await self._read(viewer, lambda tx: member_reads.profile(
            tx, self.ranks, viewer, target_user_id))

    async def achievements(self, viewer: MemberRef) -> list[achievements.Progress]:
        return await self._read(viewer, lambda tx: member_reads.achievement_progress(
            tx, viewer.user_id))

    async def badges(self, viewer: MemberRef, target_user_id: str | None = None
                     ) -> list[BadgeView]:
        return await self._read(viewer, lambda tx: member_reads.badges(
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

    async def require_member(self, community: CommunityRef, user_id: str) -> None:
        """NotFound unless the member has taken part in the community."""
        await self._read(community, lambda tx: api_reads.known_member(tx, user_id))

    async def challenge_entries(self, community: CommunityRef, ref: str, page: int = 1,
                                page_size: int = 25) -> Page[api_reads.ListedEntry]:
        """A challenge's entries in submission order, with their authors."""
        api_reads.check_entries_page(page, page_size)
        return await self._read(community, lambda tx: api_reads.challenge_entries(
            tx, ref, page, page_size))

    async def recompute(self, community: CommunityRef) -> int:
        """Rebuild standings and counters from history and grant what was missed."""
        result = await self._write(community, recompute)
        community_id = self.uow.id_of(community)
        if isinstance(self.ranks, MemoryRankIndex) and community_id is not None:
            self.ranks.forget(community_id)
        return result

    # -- the web dashboard ----------------------------------------------------------------

    async def web_community(self, public_id: str) -> WebCommunity | None:
        """The community whose public id this is (None: no such community)."""
        ref = self._public_ids.get(public_id)
        if ref is None:
            if not web_access.check_public_id(public_id):
                return None
            async with self.db.session() as session:
                found = await community_by_public_id(session, public_id)
            if found is None:
                return None
            ref = self.ref_for(found[0], found[1], found[2])
            self._public_ids[public_id] = ref
        return await self.uow.view(ref, self._web_view)

    async def web_address(self, community: CommunityRef) -> WebCommunity:
        """The community as its web pages know it (its public id, its web settings)."""
        return await self.uow.view(community, self._web_view)

    @staticmethod
    async def _web_view(ctx: Tx | View) -> WebCommunity:
        return web_access.web_community(ctx)

    async def set_web_setting(self, actor: MemberRef, name: str, on: bool) -> WebCommunity:
        """Turn a web setting ("public", "live_counts") on or off."""
        return await self._write(actor.community, lambda tx: web_access.set_web_setting(
            tx, actor, name, on))

    async def signing_key(self) -> str:
        """The key that signs dashboard links and sessions, made once and kept in the
        database (when LAURELS_WEB_SECRET is unset)."""
        return await self.db.run(lambda session: web_access.signing_key(
            session, self.clock.now()))

    async def sign_in_links(self) -> SignInLinks:
        """Makes and reads dashboard sign-in links (the configured key, else the one kept
        in the database)."""
        if self._links is None:
            self._links = SignInLinks(await self.web_key(), self.clock.now)
        return self._links

    async def web_key(self) -> str:
        """The key of the dashboard's links and sessions: LAURELS_WEB_SECRET when set,
        else the one made once and kept in the database."""
        if self.web is not None and self.web.secret:
            return self.web.secret
        return await self.signing_key()

    async def dashboard_link(self, member: MemberRef) -> str | None:
        """A one-time sign-in link to the community's dashboard for `member` (a
        moderator's link opens the moderator pages); None when no dashboard is served."""
        if self.web is None:
            return None
        moderates = await self.is_moderator(member)
        place = await self.web_address(member.community)
        token = (await self.sign_in_links()).token(
            place.public_id, member.user_id, member.display_name or member.user_id, moderates)
        return f"{self.web.base_url.rstrip('/')}/c/{place.public_id}/sign-in/{token}"

    async def spend_link(self, community: CommunityRef, nonce: str, expires_at: datetime
                         ) -> bool:
        """Use up a sign-in link; False when it was used already."""
        return await self._write(community, lambda tx: web_access.spend_link(
            tx, nonce, expires_at))

    async def board_page(self, community: CommunityRef, period: str = "all", page: int = 1,
                         viewer_user_id: str | None = None) -> BoardPage:
        """A page of 100 rows of a board, with movement since last week."""
        async def work(ctx: Tx | View) -> BoardPage:
            viewer = None if viewer_user_id is None else await member_id(
                ctx.source, ctx.community_id, viewer_user_id)
            return await board_reads.board_page(ctx, self.ranks, self.week_start, period,
                                                page, viewer)

        await self._before_read(community)
        return await self.uow.view(community, work)

    async def find_on_board(self, community: CommunityRef, period: str, typed: str
                            ) -> list[MemberMatch]:
        """Members by name, with their rank and page on the board."""
        await self._before_read(community)
        return await self.uow.view(community, lambda ctx: board_reads.find_on_board(
            ctx, self.ranks, period, typed))

    async def challenge_page(self, community: CommunityRef, ref: str) -> ChallengePage:
        return await self._read(community, lambda tx: gallery_reads.challenge_page(
            tx, ref, web_access.web_community(tx).live_counts))

    async def member_page(self, community: CommunityRef, user_id: str) -> MemberPage:
        return await self._read(community, lambda tx: member_reads.member_page(
            tx, self.ranks, self.rarity, user_id))

    async def achievement_catalog(self, community: CommunityRef,
                                  viewer_user_id: str | None = None) -> list[CatalogItem]:
        """Every achievement with its rarity; a secret one stays hidden ("???") unless the
        viewer earned it."""
        return await self._read(community, lambda tx: community_stats.catalog(
            tx, self.ranks, self.rarity, viewer_user_id))

    async def community_stats(self, community: CommunityRef) -> CommunityStats:
        return await self._read(community, lambda tx: community_stats.community_stats(
            tx, self.ranks))

    async def manual_changes(self, community: CommunityRef) -> list[ManualChange]:
        return await self._read(community, community_stats.manual_changes)

    async def parked_posts(self, community: CommunityRef) -> list[ParkedPost]:
        return await self._read(community, community_stats.parked_posts)

    async def retry_parked(self, actor: MemberRef, outbox_id: int) -> ParkedPost:
        """A moderator queues one of their community's parked announcements again."""
        async def work(tx: Tx) -> ParkedPost:
            await moderator(tx, actor)
            return await community_stats.retry_parked(tx, outbox_id)

        return await self._write(actor.community, work)

    # -- API tokens -------------------------------------------------------------------------

    async def create_api_token(self, actor: MemberRef, name: str | None = None
                               ) -> api_tokens.NewApiToken:
        """A bearer token for the JSON API, acting as `actor` (a moderator) in their
        community. Its value is in the answer only: the database keeps its hash."""
        name = api_tokens.check_name(name)
        return await self._write(actor.community, lambda tx: api_tokens.create(
            tx, actor, name))

    async def revoke_api_token(self, actor: MemberRef, which: str
                               ) -> api_tokens.ApiTokenView:
        """Revoke a token of the actor's community by name or prefix (moderators)."""
        return await self._write(actor.community, lambda tx: api_tokens.revoke(
            tx, actor, which))

    async def api_tokens(self, actor: MemberRef) -> list[api_tokens.ApiTokenView]:
        """The community's live tokens (moderators), without their values."""
        return await self.uow.read(actor.community, lambda tx: api_tokens.list_active(
            tx, actor))

    async def api_access(self, token: str) -> api_tokens.ApiAccess:
        """What a bearer token grants, or `InvalidToken` (unknown or revoked)."""
        access = await api_tokens.authenticate(self.db, token, self.clock.now())
        self.uow.remember(access.community_id, access.community)
        return access

    # -- delivery -------------------------------------------------------------------------

    async def claim_deliveries(self, limit: int = 20, platforms: Collection[str] | None = None
                               ) -> list[outbox.Delivery]:
        return await self.db.run(lambda session: outbox.claim(
            session, self.clock.now(), limit=limit, skip_locked=not self.db.is_sqlite,
            platforms=platforms))

    async def outbox_rows(self, statuses: Collection[str], limit: int = 50
                          ) -> list[outbox.OutboxInfo]:
        """Outbox rows in every community (the `laurels outbox` operator command)."""
        async with self.db.session() as session:
            return await outbox.list_rows(session, statuses, limit=limit)

    async def retry_delivery(self, outbox_id: int) -> outbox.OutboxInfo:
        """Queue a parked announcement again with fresh attempts (operator command)."""
        info = await self.db.run(lambda session: outbox.retry(session, outbox_id,
                                                              self.clock.now()))
        if info is None:
            raise NotFound(f"There is no outbox message {outbox_id}.")
        if info.status == "sent":
            raise Conflict(f"Outbox message {outbox_id} was already sent.")
        return info

    async def delivery_started(self, outbox_id: int, attempts: int,
                               started_at: datetime) -> bool:
        """Record, before posting, that an attempt begins; False if the claim was lost."""
        return await self.db.run(lambda session: outbox.start_post(
            session, outbox_id, attempts, self.clock.now(), started_at))

    async def delivered(self, outbox_id: int, message: MessageRef | None) -> None:
        await self.db.run(lambda session: outbox.mark_sent(session, outbox_id, message,
                                                           self.clock.now()))

    async def delivery_failed(self, outbox_id: int, error: str, *,
                              retry_after: float | None = None, permanent: bool = False) -> str:
        return await self.db.run(lambda session: outbox.mark_failed(
            session, outbox_id, error, self.clock.now(), retry_after=retry_after,
            permanent=permanent))

    def ref_for(self, community_id: int, platform: str, external_id: str) -> CommunityRef:
        return self.uow.remember(community_id, CommunityRef(platform, external_id))

    async def community_of(self, community_id: int) -> CommunityRef:
        return await self.uow.community_of(community_id)


def _reaction_key(voter: MemberRef, message: MessageRef) -> tuple[str, ...]:
    ref = voter.community
    return (ref.platform, ref.external_id, voter.user_id, message.channel_id,
            message.message_id)
