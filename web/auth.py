"""Sessions and CSRF for the dashboard.

Signing in spends a one-time link (engine/sign_in.py) and sets a session cookie: signed
with the installation's key, scoped to the community's path (`/c/<public id>`), holding
the member, whether they moderate, and the CSRF token every form of the session sends
back. The cookie is `HttpOnly`, `SameSite=Lax`, and `Secure` when the dashboard is
served over HTTPS (LAURELS_WEB_BASE_URL).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["COOKIE", "SESSION_TTL", "Session", "Sessions", "origin_ok"]

COOKIE = "laurels_session"
SESSION_TTL = timedelta(hours=12)
SALT = "laurels.session"


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in member of one community."""

    public_id: str
    user_id: str
    name: str
    moderator: bool
    csrf: str

    def csrf_ok(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf, sent or "")


class Sessions:
    def __init__(self, key: str, *, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt=SALT)
        self.secure = secure

    def read(self, request: Request, public_id: str) -> Session | None:
        """The request's session for this community (None: none, expired, altered, or
        another community's)."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=int(SESSION_TTL.total_seconds()))
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("c") != public_id:
            return None
        try:
            return Session(str(data["c"]), str(data["u"]), str(data["n"]), bool(data["m"]),
                           str(data["x"]))
        except KeyError:
            return None

    def start(self, response: Response, public_id: str, user_id: str, name: str,
              moderator: bool) -> None:
        value = self._serializer.dumps({"c": public_id, "u": user_id, "n": name,
                                        "m": int(moderator), "x": secrets.token_urlsafe(24)})
        response.set_cookie(COOKIE, value, max_age=int(SESSION_TTL.total_seconds()),
                            path=f"/c/{public_id}", httponly=True, samesite="lax",
                            secure=self.secure)

    def end(self, response: Response, public_id: str) -> None:
        response.delete_cookie(COOKIE, path=f"/c/{public_id}", httponly=True,
                               samesite="lax", secure=self.secure)


def origin_ok(request: Request) -> bool:
    """A form posted from another site is refused: its Origin (when the browser sends
    one) must be this host."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")
