"""Every error the API answers has one shape: `{"error": {"code": ..., "message": ...}}`.

The engine's `LaurelsError.code` is the code and its message the message; the status
says what kind of failure it was. Bad input (422, or 400 for a body that is not JSON)
changes nothing: the engine checks before it writes, and a refused write rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.api_tokens import InvalidToken
from engine.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LaurelsError,
    NotFound,
    Unavailable,
    WrongPhase,
)

__all__ = [
    "ERROR_RESPONSES",
    "NOT_FOUND",
    "ApiError",
    "ErrorBody",
    "ErrorResponse",
    "LastResort",
    "error_response",
    "install_error_handlers",
    "status_of",
]

log = logging.getLogger(__name__)

BEARER = {"WWW-Authenticate": 'Bearer realm="laurels"'}
RETRY = {"Retry-After": "5"}  # the database is unavailable: seconds before trying again
# Most specific first: InvalidToken before its base class.
_STATUS: tuple[tuple[type[LaurelsError], int], ...] = (
    (InvalidToken, 401), (NotFound, 404), (InvalidInput, 422), (Forbidden, 403),
    (WrongPhase, 409), (Conflict, 409), (Unavailable, 503))
_HTTP_CODES = {400: "bad_request", 401: "invalid_token", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 429: "rate_limited"}


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    """What every error answers."""

    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorResponse, "description": "No token, or an unknown or revoked one."},
    403: {"model": ErrorResponse,
          "description": "A token of another community, or a write its creator may no "
                         "longer make."},
    422: {"model": ErrorResponse, "description": "A value is missing or not allowed."},
    429: {"model": ErrorResponse,
          "description": "Too many requests with this token: wait `Retry-After` seconds."},
}

NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorResponse, "description": "No such member or challenge here."}}


class ApiError(Exception):
    """An error the API layer itself answers (a missing token, a rate limit)."""

    def __init__(self, status: int, code: str, message: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def status_of(exc: LaurelsError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def error_response(status: int, code: str, message: str,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=dict(headers or {}))


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "bad_json", "The body is not valid JSON."
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else str(e.get("msg")))
    return 422, "invalid_input", "; ".join(parts) or "The request is not valid."


def install_error_handlers(app: FastAPI, is_fault: Callable[[BaseException], bool]) -> None:
    """Answer every error in the one shape. `is_fault` tells a database that cannot be
    reached (503, try again) from a bug (500)."""

    async def laurels(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LaurelsError)
        status = status_of(exc)
        headers = BEARER if status == 401 else RETRY if status == 503 else None
        return error_response(status, exc.code, exc.message, headers)

    async def api(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(*_validation_message(exc))

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = {404: "No such endpoint: see /api/docs.",
                   405: "That method is not allowed here."}.get(exc.status_code,
                                                                str(exc.detail))
        return error_response(exc.status_code, code, message, exc.headers)

    app.add_exception_handler(LaurelsError, laurels)
    app.add_exception_handler(ApiError, api)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, http)
    app.add_middleware(LastResort, is_fault=is_fault)


class LastResort:
    """ASGI middleware: anything else a route raises is answered here, in the one shape,
    and not raised further (the server would log a traceback and close the connection):
    503 when the database cannot be reached, else 500 and the traceback in the log."""

    def __init__(self, app: ASGIApp, *, is_fault: Callable[[BaseException], bool]) -> None:
        self.app = app
        self.is_fault = is_fault

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if self.is_fault(exc):
                log.warning("API: the database is unavailable (%s)", type(exc).__name__)
                response = error_response(503, "unavailable", "Laurels couldn't reach its "
                                          "database. Please try again in a moment.", RETRY)
            else:
                log.exception("API: %s %s failed", scope["method"], scope["path"])
                response = error_response(500, "internal", "Something went wrong on our side.")
            if started:
                raise  # too late for an answer: the server closes the connection
            await response(scope, receive, send)
