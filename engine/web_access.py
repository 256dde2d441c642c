"""Who may see a community's web pages, and how they sign in: the community behind a
public id, its web settings (public pages, live vote counts), the key that signs links and
sessions, and sign-in links spent (each signs in once)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from engine.context import Tx, View
from engine.errors import InvalidInput
from engine.members import moderator
from engine.refs import MemberRef
from engine.views import WebCommunity
from storage.dialect import insert_ignore
from storage.tables import SiteSecret, SpentLink

__all__ = [
    "WEB_SETTINGS",
    "check_public_id",
    "set_web_setting",
    "signing_key",
    "spend_link",
    "web_community",
]

# The community's web settings (its settings JSON), all off by default.
WEB_SETTINGS = {"public": "web_public", "live_counts": "web_live_counts"}
SECRET_NAME = "web"
PUBLIC_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def check_public_id(public_id: str) -> bool:
    """Whether `public_id` could be one (a cheap refusal before any lookup)."""
    return 0 < len(public_id) <= 32 and set(public_id) <= PUBLIC_ID_CHARS


def web_community(ctx: Tx | View) -> WebCommunity:
    c = ctx.community
    settings = c.settings or {}
    return WebCommunity(c.id, c.platform, c.external_id, c.name or "", c.timezone, c.public_id,
                        bool(settings.get(WEB_SETTINGS["public"], False)),
                        bool(settings.get(WEB_SETTINGS["live_counts"], False)))


async def set_web_setting(tx: Tx, actor: MemberRef, name: str, on: bool) -> WebCommunity:
    """Turn a web setting on or off (moderators only)."""
    if name not in WEB_SETTINGS:
        raise InvalidInput(f"Web settings: {', '.join(WEB_SETTINGS)}.")
    await moderator(tx, actor)
    # A new dict, not an in-place change: the JSON column only notices assignment.
    tx.community.settings = {**tx.community.settings, WEB_SETTINGS[name]: bool(on)}
    return web_community(tx)


async def signing_key(session: AsyncSession, now: datetime) -> str:
    """The installation's key for signing links and sessions: made once, then shared by
    every process through the database."""
    await session.execute(insert_ignore(session, SiteSecret, ["name"]).values(
        name=SECRET_NAME, value=secrets.token_urlsafe(48), created_at=now))
    value = await session.scalar(select(SiteSecret.value).where(
        SiteSecret.name == SECRET_NAME))
    assert value is not None
    return value


async def spend_link(tx: Tx, nonce: str, expires_at: datetime) -> bool:
    """Mark a sign-in link used; False when it was used before. Links past their expiry
    are forgotten here (they are refused by their signature's age anyway)."""
    await tx.session.execute(delete(SpentLink).where(SpentLink.community_id == tx.community_id,
                                                     SpentLink.expires_at < tx.now))
    found = await tx.session.execute(insert_ignore(tx.session, SpentLink, ["nonce"]).values(
        nonce=nonce, community_id=tx.community_id, expires_at=expires_at))
    return found.rowcount == 1
