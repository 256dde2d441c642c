"""Each kind of engine error gets its status, and anything else a 500, all in the one
shape; nothing escapes to the server as a traceback."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

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
from web.api.errors import install_error_handlers


def _app(exc: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, lambda e: isinstance(e, ConnectionError))

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    return app


async def _get(exc: Exception) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(exc))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/boom")


@pytest.mark.parametrize(("exc", "status", "code"), [
    (NotFound("There is no challenge called 'x'."), 404, "not_found"),
    (InvalidInput("Pages start at 1."), 422, "invalid_input"),
    (Forbidden("Only moderators can do that."), 403, "forbidden"),
    (WrongPhase("Voting is closed."), 409, "wrong_phase"),
    (Conflict("That award was already recorded."), 409, "conflict"),
    (Unavailable("Try again."), 503, "unavailable"),
    (InvalidToken("This API token was revoked."), 401, "invalid_token"),
    (LaurelsError("Something else.", code="odd"), 400, "odd"),
])
async def test_engine_errors_keep_their_code_and_message(exc: LaurelsError, status: int,
                                                         code: str) -> None:
    r = await _get(exc)
    assert r.status_code == status
    assert r.json() == {"error": {"code": code, "message": exc.message}}
    assert ("WWW-Authenticate" in r.headers) == (status == 401)
    assert ("Retry-After" in r.headers) == (status == 503)


async def test_a_bug_is_500_and_logged_a_fault_is_503(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="web.api.errors"):
        bug = await _get(RuntimeError("secret detail"))
    assert bug.status_code == 500 and bug.json()["error"]["code"] == "internal"
    assert "secret detail" not in bug.text  # the traceback is in the log, not the answer
    assert any("GET /boom failed" in r.getMessage() for r in caplog.records)

    fault = await _get(ConnectionError("gone"))
    assert fault.status_code == 503 and fault.headers["Retry-After"] == "5"
