"""Moderators' writes: award or deduct points, award a badge, advance or cancel a
challenge. Each goes through the same engine operation as the command, acting as the
moderator who created the token: their rights are checked again on every write."""

from __future__ import annotations

from fastapi import APIRouter

from engine.refs import MemberRef
from web.api.access import Api
from web.api.challenges import ChallengeRef
from web.api.errors import ERROR_RESPONSES, NOT_FOUND, ErrorResponse
from web.api.members import MemberId
from web.api.schemas import AwardBadge, AwardPoints, Badge, CancelChallenge, Challenge, LedgerEntry

__all__ = ["router"]

WRITE_ERRORS: dict[int | str, dict[str, object]] = {
    **ERROR_RESPONSES, **NOT_FOUND,
    400: {"model": ErrorResponse, "description": "The body is not JSON."},
    409: {"model": ErrorResponse,
          "description": "Not now: the idempotency key was used, or the challenge's phase "
                         "does not allow it."},
}
router = APIRouter(prefix="/v1/communities/{community}", tags=["moderation"],
                   responses=WRITE_ERRORS)


@router.post("/members/{member}/points", status_code=201,
             summary="Award (or, negative, deduct) points")
async def award_points(api: Api, member: MemberId,
                       body: AwardPoints) -> LedgerEntry:
    await api.engine.dashboard.require_member(api.community, member)
    line = await api.engine.award_points(api.actor, MemberRef(api.community, member),
                                     body.amount, body.reason, key=body.key)
    return LedgerEntry.of(line)


@router.post("/members/{member}/badges", status_code=201, summary="Award a badge")
async def award_badge(api: Api, member: MemberId,
                      body: AwardBadge) -> Badge:
    await api.engine.dashboard.require_member(api.community, member)
    badge = await api.engine.award_badge(api.actor, MemberRef(api.community, member),
                                     body.badge, body.reason)
    return Badge.of(badge)


@router.post("/challenges/{challenge}/advance", summary="Move a challenge to its next phase")
async def advance(api: Api, challenge: ChallengeRef) -> Challenge:
    return Challenge.of(await api.engine.advance_challenge(api.actor, challenge))


@router.post("/challenges/{challenge}/cancel", summary="Cancel a challenge")
async def cancel(api: Api, challenge: ChallengeRef,
                 body: CancelChallenge | None = None) -> Challenge:
    reason = body.reason if body else None
    return Challenge.of(await api.engine.cancel_challenge(api.actor, challenge, reason))
