"""Read endpoints of challenges: the list, one challenge, its entries and standings.
A challenge is named by its slug or its number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from engine.api_reads import MAX_ENTRIES_PAGE
from engine.challenge_reads import MAX_PAGE
from web.api.access import Api
from web.api.errors import ERROR_RESPONSES, NOT_FOUND
from web.api.schemas import ChallengeInfo, ChallengePage, EntryPage, StandingsOut

__all__ = ["ChallengeRef", "router"]

router = APIRouter(prefix="/v1/communities/{community}/challenges", tags=["challenges"],
                   responses={**ERROR_RESPONSES, **NOT_FOUND})
ChallengeRef = Annotated[str, Path(description="The challenge's slug or number",
                                   max_length=100)]


@router.get("", summary="Challenges, newest first")
async def challenges(
    api: Api,
    phase: Annotated[str | None, Query(description="draft, scheduled, open, voting, "
                                       "active, completed or cancelled; none: all but "
                                       "drafts, running ones first")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 10,
) -> ChallengePage:
    return ChallengePage.of(await api.engine.list_challenges(api.community, phase, page,
                                                         page_size))


@router.get("/{challenge}", summary="One challenge, with its counts")
async def challenge(api: Api, challenge: ChallengeRef
                    ) -> ChallengeInfo:
    return ChallengeInfo.of(await api.engine.challenge_info(api.actor, challenge))


@router.get("/{challenge}/entries", summary="A challenge's entries, in submission order")
async def entries(
    api: Api, challenge: ChallengeRef,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_ENTRIES_PAGE)] = 25,
) -> EntryPage:
    return EntryPage.of(await api.engine.dashboard.challenge_entries(
        api.community, challenge, page, page_size))


@router.get("/{challenge}/standings", summary="A challenge's standings or results")
async def standings(
    api: Api, challenge: ChallengeRef,
    page: Annotated[int, Query(ge=1)] = 1,
) -> StandingsOut:
    """Entries by votes, or participants (teams) by progress; once completed, the final
    placements. Ten rows a page; a page past the end is the last one."""
    return StandingsOut.of(await api.engine.standings(api.community, challenge, page))
