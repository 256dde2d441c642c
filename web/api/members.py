"""Read endpoints of one member: points and rank, history, streak, badges, achievement
progress, position on each board. Members are named by their platform id; one who has
not taken part in the community is 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from engine.member_reads import MAX_HISTORY
from engine.refs import MemberRef
from web.api.access import Api
from web.api.errors import ERROR_RESPONSES, NOT_FOUND
from web.api.schemas import (
    AchievementProgress,
    Badge,
    HistoryPage,
    LedgerEntry,
    MemberCalendar,
    MemberOut,
    Period,
    PointsOverTime,
    Position,
    Rank,
    Streak,
)

__all__ = ["MemberId", "router"]

router = APIRouter(prefix="/v1/communities/{community}/members/{member}",
                   tags=["members"], responses={**ERROR_RESPONSES, **NOT_FOUND})
MemberId = Annotated[str, Path(description="The member's platform user id", max_length=64)]


@router.get("", summary="A member: points, rank, streak, badges, recent points")
async def member(api: Api, member: MemberId) -> MemberOut:
    return MemberOut.of(await api.engine.profile(api.actor, member))


@router.get("/history", summary="A member's points history")
async def history(
    api: Api, member: MemberId,
    limit: Annotated[int, Query(ge=1, le=MAX_HISTORY)] = 20,
    before: Annotated[int | None, Query(ge=1, description="a line's id: the lines older "
                                        "than it (the next page)")] = None,
) -> HistoryPage:
    await api.engine.dashboard.require_member(api.community, member)
    lines = await api.engine.points_history(api.actor, member, limit, before=before)
    return HistoryPage(lines=[LedgerEntry.of(line) for line in lines],
                       next_before=lines[-1].id if len(lines) == limit else None)


@router.get("/streak", summary="A member's streak")
async def streak(api: Api, member: MemberId) -> Streak:
    profile = await api.engine.profile(api.actor, member)
    return Streak(current=profile.streak, longest=profile.longest_streak)


@router.get("/badges", summary="A member's badges")
async def badges(api: Api, member: MemberId) -> list[Badge]:
    await api.engine.dashboard.require_member(api.community, member)
    return [Badge.of(b) for b in await api.engine.badges(api.actor, member)]


@router.get("/achievements", summary="A member's progress toward each achievement")
async def achievements(api: Api, member: MemberId
                       ) -> list[AchievementProgress]:
    await api.engine.dashboard.require_member(api.community, member)
    progress = await api.engine.achievements(MemberRef(api.community, member))
    return [AchievementProgress.of(p) for p in progress]


@router.get("/position", summary="A member's rank on a board")
async def position(
    api: Api, member: MemberId,
    period: Annotated[Period, Query()] = "all",
) -> Position:
    await api.engine.dashboard.require_member(api.community, member)
    board = await api.engine.leaderboard(MemberRef(api.community, member), period, 1, 1)
    rank = board.viewer
    return Position(period=period, label=board.label, on_board=rank is not None,
                    rank=Rank.of(rank) if rank else None)


@router.get("/calendar", summary="A member's active days over the last year, and streak")
async def calendar(api: Api, member: MemberId) -> MemberCalendar:
    """The days of the last year (community time) on which the member voted, entered or
    logged progress: what their dashboard page draws as a calendar."""
    return MemberCalendar.of(await api.engine.dashboard.member_page(api.community, member))


@router.get("/points-over-time", summary="A member's points at the end of each day")
async def points_over_time(api: Api, member: MemberId) -> PointsOverTime:
    """The all-time points after each day they changed: what their dashboard page draws
    as a line."""
    return PointsOverTime.of(await api.engine.dashboard.member_page(api.community, member))
