"""Read endpoints of challenges: the list, one challenge, its entries and standings.
A challenge is named by its slug or its number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from engine.api_reads import MAX_ENTRIES_PAGE
from engine.challenge_reads import MAX_PAGE
from web.api.access import Access, EngineDep
from web.api.errors import ERROR_RESPONSES
from web.api.schemas import ChallengeInfo, ChallengePage, EntryPage, StandingsOut

__all__ = ["ChallengeRef", "router"]

router = APIRouter(prefix="/v1/communities/{community}/challenges", tags=["challenges"],
                   responses=ERROR_RESPONSES)
ChallengeRef = Annotated[str, Path(description="The challenge's slug or number",
                                   max_length=100)]


@router.get("", summary="Challenges, newest first")
async def challenges(
    access: Access, engine: EngineDep,
    phase: Annotated[str | None, Query(description="draft, scheduled, open, voting, "
                                       "active, completed or cancelled; none: all but "
                                       "drafts and cancelled ones")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 10,
) -> ChallengePage:
    return ChallengePage.of(await engine.list_challenges(access.community, phase, page,
                                                         page_size))


@router.get("/{challenge}", summary="One challenge, with its counts")
async def challenge(access: Access, engine: EngineDep, challenge: ChallengeRef
                    ) -> ChallengeInfo:
    return ChallengeInfo.of(await engine.challenge_info(access.actor, challenge))


@router.get("/{challenge}/entries", summary="A challenge's entries, in submission order")
async def entries(
    access: Access, engine: EngineDep, challenge: ChallengeRef,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_ENTRIES_PAGE)] = 25,
) -> EntryPage:
    return EntryPage.of(await engine.challenge_entries(access.community, challenge, page,
                                                       page_size))


@router.get("/{challenge}/standings", summary="A challenge's standings or results")
async def standings(
    access: Access, engine: EngineDep, challenge: ChallengeRef,
    page: Annotated[int, Query(ge=1)] = 1,
) -> StandingsOut:
    """Entries by votes, or participants (teams) by progress; once completed, the final
    placements. Ten rows a page; a page past the end is the last one."""
    return StandingsOut.of(await engine.standings(access.community, challenge, page))
