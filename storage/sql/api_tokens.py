"""Plain statements on API tokens: the lookup every API request makes, and its last use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sql.run import Source, fetch, utc
from storage.types import UTCDateTime

__all__ = ["TokenRow", "token_by_prefix", "touch_token"]


@dataclass(frozen=True, slots=True)
class TokenRow:
    """An API token's row with what a request needs of its community and creator."""

    id: int
    community_id: int
    secret_hash: str
    name: str
    rights: dict[str, Any]
    last_used_at: datetime | None
    revoked_at: datetime | None
    platform: str
    community_external_id: str
    creator_external_id: str
    community_public_id: str


# The token's community and creator in the same statement: one round trip per request.
_BY_PREFIX = text(
    "SELECT t.id, t.community_id, t.secret_hash, t.name, t.rights, t.last_used_at, "
    "t.revoked_at, c.platform, c.external_id, m.external_id, c.public_id FROM api_tokens t "
    "JOIN communities c ON c.id = t.community_id JOIN members m ON m.id = t.created_by "
    "WHERE t.prefix = :prefix")
_TOUCH = text("UPDATE api_tokens SET last_used_at = :now WHERE id = :id").bindparams(
    bindparam("now", type_=UTCDateTime()))


async def token_by_prefix(source: Source, prefix: str) -> TokenRow | None:
    """The token whose prefix is `prefix`, revoked or not (None: no such token)."""
    rows = await fetch(source, _BY_PREFIX, {"prefix": prefix})
    if not rows:
        return None
    (id_, community_id, secret_hash, name, rights, last_used, revoked, platform, external_id,
     creator, public_id) = rows[0]
    return TokenRow(int(id_), int(community_id), str(secret_hash), str(name),
                    json.loads(rights) if isinstance(rights, str) else dict(rights),
                    None if last_used is None else utc(last_used),
                    None if revoked is None else utc(revoked), str(platform),
                    str(external_id), str(creator), str(public_id))


async def touch_token(session: AsyncSession, token_id: int, now: datetime) -> None:
    await fetch(session, _TOUCH, {"id": token_id, "now": now})
