"""Read endpoints of a community: itself, its statistics, its leaderboards, the
achievement catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from engine.leaderboards import MAX_PAGE_SIZE
from engine.periods import PERIODS
from web.api.access import Access, EngineDep
from web.api.errors import ERROR_RESPONSES
from web.api.schemas import Achievement, BoardOut, BoardStats, Community, CommunityStats, Period

__all__ = ["router"]

router = APIRouter(prefix="/v1/communities/{community}", responses=ERROR_RESPONSES)


@router.get("", tags=["community"], summary="The community")
async def community(access: Access, engine: EngineDep) -> Community:
    return Community.of(await engine.community(access.community))


@router.get("/stats", tags=["community"], summary="Community statistics")
async def stats(access: Access, engine: EngineDep) -> CommunityStats:
    """Members on each board with their average and median points, and how many
    challenges are listed."""
    boards = {}
    for period in PERIODS:
        b = await engine.leaderboard(access.community, period, page_size=1)
        boards[period] = BoardStats(label=b.label, members=b.members, average=b.average,
                                    median=b.median)
    listed = await engine.list_challenges(access.community, page_size=1)
    return CommunityStats(boards=boards, challenges=listed.total)


@router.get("/leaderboard", tags=["leaderboards"], summary="A page of a leaderboard")
async def leaderboard(
    access: Access, engine: EngineDep,
    period: Annotated[Period, Query(description="all time, this week or this month "
                                    "(community time)")] = "all",
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 10,
) -> BoardOut:
    """Members by points; ties share a rank (1, 2, 2, 4). Pages past the last are 422."""
    return BoardOut.of(await engine.leaderboard(access.community, period, page, page_size))


@router.get("/achievements", tags=["achievements"], summary="The achievement catalog")
async def achievements(access: Access, engine: EngineDep) -> list[Achievement]:
    """Every achievement members can see; secret ones appear in a member's progress once
    earned."""
    return [Achievement.of(d) for d in await engine.achievement_catalog(access.community)]
