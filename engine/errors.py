"""The one user-facing error hierarchy: a stable code and a message a member can act on."""

from __future__ import annotations

__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "LaurelsError",
    "NotFound",
    "Unavailable",
    "WrongPhase",
]


class LaurelsError(Exception):
    """Base of every error shown to a member. `code` is stable; `message` is for humans."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class NotFound(LaurelsError):
    code = "not_found"


class InvalidInput(LaurelsError):
    code = "invalid_input"


class Forbidden(LaurelsError):
    code = "forbidden"


class WrongPhase(LaurelsError):
    code = "wrong_phase"


class Conflict(LaurelsError):
    code = "conflict"


class Unavailable(LaurelsError):
    """The database could not be reached (or written) for a while: nothing was changed,
    and the member is asked to try again."""

    code = "unavailable"
