"""Who is asking: the bearer token, the community it opens, and its rate limit.

Every `/v1/communities/{community}/...` route depends on `access`: the token is looked
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
from engine.service import Engine
from web.api.errors import BEARER, ApiError
from web.api.ratelimit import TokenBuckets

__all__ = ["Access", "ApiState", "EngineDep", "access", "engine_of"]

bearer = HTTPBearer(
    auto_error=False, bearerFormat="lrl_...",
    description="A token a moderator creates with `/settings api-token create [name]`.")


@dataclass
class ApiState:
    engine: Engine
    limits: TokenBuckets


def _state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


def engine_of(request: Request) -> Engine:
    return _state(request).engine


async def access(
    request: Request,
    community: Annotated[str, Path(description="The community's id, as "
                                   "`/settings api-token create` shows it")],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiAccess:
    state = _state(request)
    if credentials is None:
        raise ApiError(401, "missing_token", "Send an API token: `Authorization: Bearer "
                       "lrl_...` (a moderator creates one with /settings api-token create).",
                       BEARER)
    found = await state.engine.api_access(credentials.credentials)
    # 403 whether or not the other community exists: the URL's id is compared with the
    # token's, never looked up, so the answer tells nothing about other communities.
    if not opens(found, community):
        raise ApiError(403, "wrong_community", "This token is for another community.")
    wait = state.limits.take(found.token_id)
    if wait > 0:
        raise ApiError(429, "rate_limited",
                       f"Too many requests with this token; try again in {wait:.1f} s.",
                       {"Retry-After": str(max(1, math.ceil(wait)))})
    return found


Access = Annotated[ApiAccess, Depends(access)]
EngineDep = Annotated[Engine, Depends(engine_of)]
