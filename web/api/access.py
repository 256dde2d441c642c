"""Who is asking: the bearer token, the community it opens, and its rate limit.

Every `/v1/communities/{community}/...` route depends on `caller`: the token is looked
up (401 without one, or for an unknown or revoked one), must be the community's in the
URL (403 otherwise), and takes its place in the token's bucket (429 with `Retry-After`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.api_tokens import ApiAccess, opens
from engine.refs import CommunityRef, MemberRef
from engine.service import Engine
from web.api.errors import BEARER, ApiError
from web.api.ratelimit import TokenBuckets

__all__ = ["Api", "ApiState", "Caller", "caller"]

bearer = HTTPBearer(
    auto_error=False, bearerFormat="lrl_...",
    description="A token a moderator creates with `/settings api-token create [name]`.")


@dataclass
class ApiState:
    engine: Engine
    limits: TokenBuckets


@dataclass(frozen=True, slots=True)
class Caller:
    """An accepted request: what its token grants, and the engine to ask."""

    access: ApiAccess
    engine: Engine

    @property
    def community(self) -> CommunityRef:
        return self.access.community

    @property
    def actor(self) -> MemberRef:
        """The moderator who created the token: reads see as them, writes act as them."""
        return self.access.actor


async def caller(
    request: Request,
    community: Annotated[str, Path(description="The community's public id, as "
                                   "`/settings api-token create` shows it")],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    state: ApiState = request.app.state.api
    if credentials is None:
        raise ApiError(401, "missing_token", "Send an API token: `Authorization: Bearer "
                       "lrl_...` (a moderator creates one with /settings api-token create).",
                       BEARER)
    found = await state.engine.dashboard.api_access(credentials.credentials)
    # 403 whether or not the other community exists: the URL's id is compared with the
    # token's, never looked up, so the answer tells nothing about other communities.
    if not opens(found, community):
        raise ApiError(403, "wrong_community", "This token is for another community.")
    wait = state.limits.take(found.token_id)
    if wait > 0:
        raise ApiError(429, "rate_limited",
                       f"Too many requests with this token; try again in {wait:.1f} s.",
                       {"Retry-After": str(max(1, math.ceil(wait)))})
    return Caller(found, state.engine)


# One dependency per route (each costs a few microseconds of FastAPI's solving).
Api = Annotated[Caller, Depends(caller)]
