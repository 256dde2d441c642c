"""Bearer tokens for the JSON API: a moderator creates one for their community, any
moderator there revokes it; a request presenting it reads that community, and writes
in it as the moderator who created it.

A token is `lrl_` and 43 characters of `secrets.token_urlsafe(32)` (256 random bits).
Only its SHA-256 is stored: a high-entropy secret needs no slow hash, and a leaked table
gives no usable token. Its first 12 characters (`prefix`, 48 random bits, not secret)
find the row; the hashes are then compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from engine.context import Tx
from engine.errors import Conflict, InvalidInput, LaurelsError, NotFound
from engine.members import find_member, moderator, require_moderator
from engine.refs import CommunityRef, MemberRef
from storage.db import Database, is_fault
from storage.sql.api_tokens import TokenRow, token_by_prefix, touch_token
from storage.tables import ApiToken, Member

__all__ = ["MAX_ACTIVE", "TOKEN_START", "ApiAccess", "ApiTokenView", "InvalidToken",
           "NewApiToken", "access_of", "authenticate", "check_name", "create", "list_active",
           "needs_touch", "opens", "prefix_of", "revoke"]

log = logging.getLogger(__name__)

TOKEN_START = "lrl_"
PREFIX_LENGTH = 12  # "lrl_" and 8 random characters
MAX_ACTIVE = 20  # live tokens per community
MAX_NAME = 40
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_TOKEN = re.compile(r"lrl_[A-Za-z0-9_-]{43}")
# Last-use times are kept to the minute: a request writes at most once a minute.
TOUCH_EVERY = timedelta(minutes=1)


class InvalidToken(LaurelsError):
    """No token, an unknown one, or a revoked one (the API's 401)."""

    code = "invalid_token"


@dataclass(frozen=True, slots=True)
class ApiTokenView:
    name: str
    prefix: str
    created_by: str  # the creator's display name
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewApiToken:
    """A token just made: `token` is shown once and never again."""

    token: str
    view: ApiTokenView
    community: str  # its public id, as API addresses name it


@dataclass(frozen=True, slots=True)
class ApiAccess:
    """What a valid token grants: its community, and the moderator it acts as."""

    token_id: int
    name: str
    community_id: int
    public_id: str  # the community in API addresses (/api/v1/communities/<public id>)
    community: CommunityRef
    actor: MemberRef


def check_name(name: str | None) -> str | None:
    """A token's name, checked (None: one is given)."""
    name = (name or "").strip()
    if not name:
        return None
    if len(name) > MAX_NAME or not _NAME.fullmatch(name) or name.startswith(TOKEN_START):
        raise InvalidInput(f"A token's name has 1 to {MAX_NAME} letters, digits, '-', '_' or "
                           "'.', and does not start with lrl_.")
    return name


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def prefix_of(token: str) -> str | None:
    """The prefix that finds the token's row; None when `token` is not shaped like one
    (no lookup is made for it)."""
    return token[:PREFIX_LENGTH] if _TOKEN.fullmatch(token) else None


async def _active(tx: Tx) -> list[ApiToken]:
    return list((await tx.session.scalars(select(ApiToken).where(
        ApiToken.community_id == tx.community_id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id))).all())


async def _views(tx: Tx, rows: list[ApiToken]) -> list[ApiTokenView]:
    names = dict((await tx.session.execute(select(Member.id, Member.display_name).where(
        Member.id.in_({r.created_by for r in rows})))).all()) if rows else {}
    return [ApiTokenView(r.name, r.prefix, names.get(r.created_by) or "?", r.created_at,
                         r.last_used_at) for r in rows]


async def create(tx: Tx, actor: MemberRef, name: str | None) -> NewApiToken:
    """A new token for the actor's community, acting as the actor (a moderator)."""
    creator = await moderator(tx, actor)
    active = await _active(tx)
    if len(active) >= MAX_ACTIVE:
        raise Conflict(f"This community has {MAX_ACTIVE} API tokens already; revoke one "
                       "first (/settings api-token list).")
    if name is None:
        ever = await tx.session.scalar(select(func.count()).select_from(ApiToken).where(
            ApiToken.community_id == tx.community_id)) or 0
        name = f"token-{ever + 1}"
    if any(t.name == name for t in active):
        raise Conflict(f"There is already a token named {name}: revoke it or pick another "
                       "name.")
    while True:  # a prefix already taken (48 random bits: practically never) draws again
        token = TOKEN_START + secrets.token_urlsafe(32)
        prefix = token[:PREFIX_LENGTH]
        if await tx.session.scalar(select(ApiToken.id).where(ApiToken.prefix == prefix)) is None:
            break
    row = ApiToken(community_id=tx.community_id, prefix=prefix, secret_hash=_hash(token),
                   name=name, created_by=creator.id,
                   rights={"admin": actor.is_admin, "roles": sorted(actor.roles)},
                   created_at=tx.now)
    tx.session.add(row)
    await tx.session.flush()
    return NewApiToken(token, ApiTokenView(name, prefix, creator.display_name, tx.now, None),
                       tx.community.public_id)


async def revoke(tx: Tx, actor: MemberRef, which: str) -> ApiTokenView:
    """Revoke the community's live token named `which`, or whose prefix (or whole value)
    it is. Any moderator of the community may."""
    revoker = await moderator(tx, actor)
    which = (which or "").strip()
    if not which:
        raise InvalidInput("Name the token to revoke, or give its prefix (lrl_...).")
    active = await _active(tx)
    if which.startswith(TOKEN_START):
        found = [t for t in active if which.startswith(t.prefix)
                 or (len(which) < PREFIX_LENGTH and t.prefix.startswith(which))]
    else:
        found = [t for t in active if t.name == which]
    if not found:
        raise NotFound(f"No live API token here is named or starts with {which[:PREFIX_LENGTH]}"
                       " (/settings api-token list).")
    if len(found) > 1:
        raise InvalidInput(f"{which} could be {len(found)} tokens; give more of its prefix.")
    token = found[0]
    token.revoked_at = tx.now
    token.revoked_by = revoker.id
    return (await _views(tx, [token]))[0]


async def list_active(tx: Tx, actor: MemberRef) -> list[ApiTokenView]:
    """The community's live tokens (moderators only); never their values."""
    require_moderator(tx, await find_member(tx, actor.user_id), actor)
    return await _views(tx, await _active(tx))


def access_of(row: TokenRow | None, token: str) -> ApiAccess:
    """What the token grants, or InvalidToken: unknown, revoked, or a prefix whose hash
    does not match (compared in constant time)."""
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(token)):
        raise InvalidToken("This API token is not valid.")
    if row.revoked_at is not None:
        raise InvalidToken("This API token was revoked.")
    community = CommunityRef(row.platform, row.community_external_id)
    # The creator's rights as the platform reported them at creation: every moderator
    # write checks them again (members.require_moderator), with the community's current
    # moderator role and the member's current moderator mark.
    actor = MemberRef(community, row.creator_external_id,
                      is_admin=bool(row.rights.get("admin")),
                      roles=frozenset(str(r) for r in row.rights.get("roles", ())))
    return ApiAccess(row.id, row.name, row.community_id, row.community_public_id, community,
                     actor)


def needs_touch(row: TokenRow, now: datetime) -> bool:
    """Whether this use should be written down as the token's last use."""
    return row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY


def opens(access: ApiAccess, community: str) -> bool:
    """Whether the token opens the community named in a URL (its public id): its own
    only. The name is compared, never looked up, so the answer says nothing of other
    communities."""
    return hmac.compare_digest(community, access.public_id)


async def authenticate(db: Database, token: str, now: datetime) -> ApiAccess:
    """What `token` grants (InvalidToken if nothing): one indexed read, on a session-less
    reader where the database has one; its last use is written at most once a minute."""
    prefix = prefix_of(token)
    if prefix is None:
        raise InvalidToken("This API token is not valid.")
    row: TokenRow | None
    with db.plain_read() as reader:
        if reader is not None:
            row = await token_by_prefix(reader, prefix)
    if reader is None:
        async with db.session() as session:
            row = await token_by_prefix(session, prefix)
    access = access_of(row, token)
    assert row is not None
    if needs_touch(row, now):
        try:
            await db.run(lambda session: touch_token(session, row.id, now))
        except Exception as exc:  # a last-use time is not worth refusing the request
            if not is_fault(exc):
                raise
            log.warning("could not record an API token's last use: %s", type(exc).__name__)
    return access
