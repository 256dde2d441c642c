"""Dashboard sign-in links: what `/dashboard` sends a member privately, and what the web
dashboard accepts.

A link carries a token signed with the installation's key (itsdangerous): the
community's public id, the member, whether they moderate, a nonce, and when it was made.
It is refused once `LINK_TTL` has passed, when anything in it was changed, and after its
first use (engine/web_access.spend_link).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from engine.errors import LaurelsError

__all__ = ["LINK_TTL", "LinkClaims", "LinkRefused", "SignInLinks", "WebLinks"]

LINK_TTL = timedelta(minutes=15)
SALT = "laurels.sign-in"


class LinkRefused(LaurelsError):
    """A sign-in link that cannot be used: expired, altered, or used already."""


@dataclass(frozen=True, slots=True)
class WebLinks:
    """Where the dashboard is served and the key its links are signed with (None: the
    key kept in the database)."""

    base_url: str
    secret: str | None = None


@dataclass(frozen=True, slots=True)
class LinkClaims:
    public_id: str
    user_id: str
    name: str
    moderator: bool
    nonce: str
    expires_at: datetime


def _signer_class(now: Callable[[], datetime]) -> type[TimestampSigner]:
    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(now().timestamp())

    return ClockSigner


class SignInLinks:
    """Makes and reads sign-in tokens with one key, on the engine's clock."""

    def __init__(self, key: str, now: Callable[[], datetime]) -> None:
        self._now = now
        self._serializer = URLSafeTimedSerializer(key, salt=SALT,
                                                  signer=_signer_class(now))

    def token(self, public_id: str, user_id: str, name: str, moderator: bool) -> str:
        return self._serializer.dumps({"c": public_id, "u": user_id, "n": name[:80],
                                       "m": int(moderator), "j": secrets.token_urlsafe(12)})

    def read(self, token: str, public_id: str) -> LinkClaims:
        """The link's claims, if it is this community's, unaltered and not expired (its
        single use is checked when it is spent)."""
        try:
            data, signed_at = self._serializer.loads(
                token, max_age=int(LINK_TTL.total_seconds()), return_timestamp=True)
        except SignatureExpired as exc:
            raise LinkRefused("This sign-in link has expired. Type /dashboard for a new "
                              "one.") from exc
        except BadSignature as exc:
            raise LinkRefused("This sign-in link is not valid. Type /dashboard for a new "
                              "one.") from exc
        if not _claims_ok(data) or data["c"] != public_id:
            raise LinkRefused("This sign-in link is not valid here. Type /dashboard in "
                              "your community for a new one.")
        return LinkClaims(data["c"], data["u"], data["n"], bool(data["m"]), data["j"],
                          signed_at + LINK_TTL)


def _claims_ok(data: Any) -> bool:
    return (isinstance(data, dict)
            and all(isinstance(data.get(k), str) for k in ("c", "u", "n", "j"))
            and data.get("m") in (0, 1))
