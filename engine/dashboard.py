"""`DashboardFacade`: what the web dashboard and the JSON API ask of the engine.

A facade beside `Engine` (engine/service.py), reached as `engine.dashboard`: the
community by its public id, sign-in links, board pages of 100, member and challenge
pages, community statistics, moderators' audit pages and API tokens. Like `Engine`'s,
each method runs one operation of a read model or rule module in one transaction. The
pages' reads go through `Engine.read` and `Engine.view`, and so see counted votes paid
where that is quick; looking up a community or its tokens does not wait for them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from engine import (
    api_reads,
    api_tokens,
    board_reads,
    community_stats,
    gallery_reads,
    member_reads,
    web_access,
)
from engine.context import Tx, View
from engine.members import moderator
from engine.rarity import Rarity
from engine.refs import CommunityRef, MemberRef
from engine.sign_in import SignInLinks, WebLinks
from engine.views import (
    BoardPage,
    CatalogItem,
    ChallengePage,
    CommunityStats,
    ManualChange,
    MemberMatch,
    MemberPage,
    Page,
    ParkedPost,
    WebCommunity,
)
from storage.sql.members import member_id
from storage.sql.web import community_by_public_id

if TYPE_CHECKING:
    from engine.service import Engine

__all__ = ["DashboardFacade"]


class DashboardFacade:
    """The web's operations over one `Engine`. `web`: where the dashboard is served
    (None: not served; /dashboard says so)."""

    def __init__(self, engine: Engine, web: WebLinks | None) -> None:
        self._engine = engine
        self.web = web
        self._links: SignInLinks | None = None
        # Caches of the web's pages: boards as this week began, achievement rarity.
        self.week_start = board_reads.WeekStartBoards(engine.db)
        self.rarity = Rarity()
        self._public_ids: dict[str, CommunityRef] = {}

    # -- the community's address and sign-in ------------------------------------------

    async def web_community(self, public_id: str) -> WebCommunity | None:
        """The community whose public id this is (None: no such community)."""
        engine = self._engine
        ref = self._public_ids.get(public_id)
        if ref is None:
            if not web_access.check_public_id(public_id):
                return None
            async with engine.db.session() as session:
                found = await community_by_public_id(session, public_id)
            if found is None:
                return None
            ref = engine.ref_for(found[0], found[1], found[2])
            self._public_ids[public_id] = ref
        return await engine.uow.view(ref, _web_view)

    async def web_address(self, community: CommunityRef) -> WebCommunity:
        """The community as its web pages know it (its public id, its web settings)."""
        return await self._engine.uow.view(community, _web_view)

    async def set_web_setting(self, actor: MemberRef, name: str, on: bool) -> WebCommunity:
        """Turn a web setting ("public", "live_counts") on or off."""
        return await self._engine.uow.write(actor.community, lambda tx:
                                            web_access.set_web_setting(tx, actor, name, on))

    async def sign_in_links(self) -> SignInLinks:
        """Makes and reads dashboard sign-in links (the configured key, else the one kept
        in the database)."""
        if self._links is None:
            self._links = SignInLinks(await self.web_key(), self._engine.clock.now)
        return self._links

    async def web_key(self) -> str:
        """The key of the dashboard's links and sessions: LAURELS_WEB_SECRET when set,
        else one made once and kept in the database."""
        if self.web is not None and self.web.secret:
            return self.web.secret
        clock = self._engine.clock
        return await self._engine.db.run(lambda session: web_access.signing_key(
            session, clock.now()))

    async def dashboard_link(self, member: MemberRef) -> str | None:
        """A one-time sign-in link to the community's dashboard for `member` (a
        moderator's link opens the moderator pages); None when no dashboard is served."""
        if self.web is None:
            return None
        moderates = await self._engine.is_moderator(member)
        place = await self.web_address(member.community)
        token = (await self.sign_in_links()).token(
            place.public_id, member.user_id, member.display_name or member.user_id, moderates)
        return f"{self.web.base_url.rstrip('/')}/c/{place.public_id}/sign-in/{token}"

    async def spend_link(self, community: CommunityRef, nonce: str, expires_at: datetime
                         ) -> bool:
        """Use up a sign-in link; False when it was used already."""
        return await self._engine.uow.write(community, lambda tx: web_access.spend_link(
            tx, nonce, expires_at))

    # -- pages ----------------------------------------------------------------------------

    async def board_page(self, community: CommunityRef, period: str = "all", page: int = 1,
                         viewer_user_id: str | None = None) -> BoardPage:
        """A page of 100 rows of a board, with movement since last week."""
        ranks = self._engine.ranks

        async def work(ctx: Tx | View) -> BoardPage:
            viewer = None if viewer_user_id is None else await member_id(
                ctx.source, ctx.community_id, viewer_user_id)
            return await board_reads.board_page(ctx, ranks, self.week_start, period, page,
                                                viewer)

        return await self._engine.view(community, work)

    async def find_on_board(self, community: CommunityRef, period: str, typed: str
                            ) -> list[MemberMatch]:
        """Members by name, with their rank and page on the board."""
        ranks = self._engine.ranks
        return await self._engine.view(community, lambda ctx: board_reads.find_on_board(
            ctx, ranks, period, typed))

    async def challenge_page(self, community: CommunityRef, ref: str) -> ChallengePage:
        return await self._engine.read(community, lambda tx: gallery_reads.challenge_page(
            tx, ref, web_access.web_community(tx).live_counts))

    async def member_page(self, community: CommunityRef, user_id: str) -> MemberPage:
        ranks = self._engine.ranks
        return await self._engine.read(community, lambda tx: member_reads.member_page(
            tx, ranks, self.rarity, user_id))

    async def achievement_catalog(self, community: CommunityRef,
                                  viewer_user_id: str | None = None) -> list[CatalogItem]:
        """Every achievement with its rarity; a secret one stays hidden ("???") unless the
        viewer earned it."""
        ranks = self._engine.ranks
        return await self._engine.read(community, lambda tx: community_stats.catalog(
            tx, ranks, self.rarity, viewer_user_id))

    async def community_stats(self, community: CommunityRef) -> CommunityStats:
        ranks = self._engine.ranks
        return await self._engine.read(community, lambda tx: community_stats.community_stats(
            tx, ranks))

    async def require_member(self, community: CommunityRef, user_id: str) -> None:
        """NotFound unless the member has taken part in the community."""
        await self._engine.read(community, lambda tx: api_reads.known_member(tx, user_id))

    async def challenge_entries(self, community: CommunityRef, ref: str, page: int = 1,
                                page_size: int = 25) -> Page[api_reads.ListedEntry]:
        """A challenge's entries in submission order, with their authors."""
        api_reads.check_entries_page(page, page_size)
        return await self._engine.read(community, lambda tx: api_reads.challenge_entries(
            tx, ref, page, page_size))

    # -- moderators' pages ----------------------------------------------------------------

    async def manual_changes(self, community: CommunityRef) -> list[ManualChange]:
        return await self._engine.read(community, community_stats.manual_changes)

    async def parked_posts(self, community: CommunityRef) -> list[ParkedPost]:
        return await self._engine.read(community, community_stats.parked_posts)

    async def retry_parked(self, actor: MemberRef, outbox_id: int) -> ParkedPost:
        """A moderator queues one of their community's parked announcements again."""
        async def work(tx: Tx) -> ParkedPost:
            await moderator(tx, actor)
            return await community_stats.retry_parked(tx, outbox_id)

        return await self._engine.uow.write(actor.community, work)

    # -- API tokens -----------------------------------------------------------------------

    async def create_api_token(self, actor: MemberRef, name: str | None = None
                               ) -> api_tokens.NewApiToken:
        """A bearer token for the JSON API, acting as `actor` (a moderator) in their
        community. Its value is in the answer only: the database keeps its hash."""
        name = api_tokens.check_name(name)
        return await self._engine.uow.write(actor.community, lambda tx: api_tokens.create(
            tx, actor, name))

    async def revoke_api_token(self, actor: MemberRef, which: str
                               ) -> api_tokens.ApiTokenView:
        """Revoke a token of the actor's community by name or prefix (moderators)."""
        return await self._engine.uow.write(actor.community, lambda tx: api_tokens.revoke(
            tx, actor, which))

    async def api_tokens(self, actor: MemberRef) -> list[api_tokens.ApiTokenView]:
        """The community's live tokens (moderators), without their values."""
        return await self._engine.uow.read(actor.community, lambda tx: api_tokens.list_active(
            tx, actor))

    async def api_access(self, token: str) -> api_tokens.ApiAccess:
        """What a bearer token grants, or `InvalidToken` (unknown or revoked)."""
        engine = self._engine
        access = await api_tokens.authenticate(engine.db, token, engine.clock.now())
        engine.uow.remember(access.community_id, access.community)
        return access


async def _web_view(ctx: Tx | View) -> WebCommunity:
    return web_access.web_community(ctx)
