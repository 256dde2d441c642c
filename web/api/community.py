"""Read endpoints of a community: itself, its statistics, its leaderboards, the
achievement catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from engine.leaderboards import MAX_PAGE_SIZE
from engine.periods import PERIODS
from web.api.access import Api
from web.api.errors import ERROR_RESPONSES
from web.api.schemas import (
    BoardOut,
    BoardStats,
    CatalogAchievement,
    Community,
    CommunityActivity,
    CommunityStats,
    MovementPage,
    Period,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/communities/{community}", responses=ERROR_RESPONSES)


@router.get("", tags=["community"], summary="The community")
async def community(api: Api) -> Community:
    return Community.of(await api.engine.community(api.community), api.access.public_id)


@router.get("/stats", tags=["community"], summary="Community statistics")
async def stats(api: Api) -> CommunityStats:
    """Members on each board with their average and median points, and how many
    challenges are listed."""
    boards = {}
    for period in PERIODS:
        b = await api.engine.leaderboard(api.community, period, page_size=1)
        boards[period] = BoardStats(label=b.label, members=b.members, average=b.average,
                                    median=b.median)
    listed = await api.engine.list_challenges(api.community, page_size=1)
    return CommunityStats(boards=boards, challenges=listed.total)


@router.get("/stats/activity", tags=["community"], summary="Community activity per day")
async def activity(api: Api) -> CommunityActivity:
    """What the moderators' statistics page shows: for each of the last 30 days, the
    members active, votes cast, entries submitted and points paid; members active this
    week; the busiest challenges."""
    return CommunityActivity.of(await api.engine.dashboard.community_stats(api.community))


@router.get("/leaderboard", tags=["leaderboards"], summary="A page of a leaderboard")
async def leaderboard(
    api: Api,
    period: Annotated[Period, Query(description="all time, this week or this month "
                                    "(community time)")] = "all",
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 10,
) -> BoardOut:
    """Members by points; ties share a rank (1, 2, 2, 4). Pages past the last are 422."""
    return BoardOut.of(await api.engine.leaderboard(api.community, period, page, page_size))


@router.get("/leaderboard/movement", tags=["leaderboards"],
            summary="A page of 100 with each member's movement since last week")
async def movement(
    api: Api,
    period: Annotated[Period, Query(description="all time, this week or this month "
                                    "(community time)")] = "all",
    page: Annotated[int, Query(ge=1)] = 1,
) -> MovementPage:
    """The dashboard's leaderboard: 100 members a page, each with the places they moved:
    this week's board against last week's final board; all time and this month against
    the same board as this week began. Pages past the last are 422."""
    return MovementPage.of(await api.engine.dashboard.board_page(api.community, period, page))


@router.get("/achievements", tags=["achievements"], summary="The achievement catalog")
async def achievements(api: Api) -> list[CatalogAchievement]:
    """Every achievement members can see; secret ones appear in a member's progress once
    earned."""
    items = await api.engine.dashboard.achievement_catalog(api.community)
    return [CatalogAchievement.of(i) for i in items if i.name is not None]  # no secrets
