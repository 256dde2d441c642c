"""The HTTP server under clients that stall, flood it, or send too much; real sockets on
loopback, with short timeouts so the whole file runs in seconds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.http.app import build_app
from bot.http.health import Readiness, health_routes
from bot.http.server import HttpOptions, RunningServer, serve
from tests.bot.http.clients import closed_within, request, stall

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
LIMIT = 40


async def _ready() -> str | None:
    return None


async def _echo(request: Request) -> Response:
    return PlainTextResponse(f"{len(await request.body())} bytes")


async def _slow(request: Request) -> Response:
    await asyncio.sleep(2 * BODY_TIMEOUT)  # longer than any timeout: the answer must arrive
    return PlainTextResponse("done")


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    app = build_app([*health_routes(Readiness(_ready)), Route("/echo", _echo, methods=["POST"]),
                     Route("/slow", _slow)],
                    max_body=1000, body_timeout=BODY_TIMEOUT)
    running = await serve(app, HttpOptions(host="127.0.0.1", port=0, max_connections=LIMIT,
                                           header_timeout=HEADER_TIMEOUT,
                                           body_timeout=BODY_TIMEOUT))
    try:
        yield running
    finally:
        await running.stop()


HALF_HEADER = b"GET /healthz HTTP/1.1\r\nHost: laurels.test\r\n"
HALF_BODY = b"POST /echo HTTP/1.1\r\nHost: laurels.test\r\nContent-Length: 100\r\n\r\nab"


async def test_connections_stalled_in_headers_or_body_are_closed(server: RunningServer
                                                                 ) -> None:
    """What picked hypercorn: uvicorn 0.55 keeps each of these open for good."""
    half_header = await stall(server.port, HALF_HEADER)
    dribbling = await stall(server.port, b"GET /healthz HTTP/1.1\r\n")
    half_body = await stall(server.port, HALF_BODY)
    after_a_request = await stall(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    await after_a_request.reader.readuntil(b"ok")
    after_a_request.writer.write(HALF_HEADER)  # keep-alive: a second request, stalled

    async def dribble() -> None:
        for _ in range(20):  # a header line every 0.1 s: never complete
            dribbling.writer.write(b"X-Slow: 1\r\n")
            await asyncio.sleep(0.1)

    dribbler = asyncio.create_task(dribble())
    try:
        closed = await asyncio.gather(*(closed_within(c, HEADER_TIMEOUT + 1.0) for c in
                                        (half_header, dribbling, half_body, after_a_request)))
    finally:
        dribbler.cancel()
    assert closed == [True, True, True, True]


async def test_a_flood_of_stalled_connections_leaves_healthz_answering(
        server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    flood = [await stall(server.port, HALF_HEADER if i % 4 else HALF_BODY)
             for i in range(3 * LIMIT)]
    try:
        assert server.connections.count <= LIMIT
        answers = [await request(server.port, "GET", "/healthz") for _ in range(5)]
        assert [(a.status, a.body) for a in answers] == [(200, b"ok")] * 5
        assert max(a.seconds for a in answers) < 0.5  # not waiting for a timeout
        assert server.connections.count <= LIMIT
        # Every stalled connection is closed: shed to make room, or timed out.
        closed = await asyncio.gather(*(closed_within(c, HEADER_TIMEOUT + 1.0) for c in flood))
        assert all(closed)
    finally:
        for conn in flood:
            conn.close()
    assert server.connections.count == 0
    # 120 stalled connections: a bounded number of log lines, no traceback.
    assert len(caplog.records) <= 5, [r.getMessage() for r in caplog.records]
    assert "Traceback" not in caplog.text


async def test_a_request_slower_than_the_timeouts_is_still_answered(server: RunningServer
                                                                   ) -> None:
    answer = await request(server.port, "GET", "/slow")
    assert (answer.status, answer.body) == (200, b"done")


async def test_bodies_too_large_or_too_slow_are_refused(server: RunningServer,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    caplog.set_level(logging.INFO)
    ok = await request(server.port, "POST", "/echo", b"x" * 1000)
    assert (ok.status, ok.body) == (200, b"1000 bytes")

    caplog.clear()
    declared = await request(server.port, "POST", "/echo", b"x" * 1001)
    assert declared.status == 413
    chunked = await request(server.port, "POST", "/echo",
                            b"400\r\n" + b"x" * 1024 + b"\r\n0\r\n\r\n",
                            headers={"Transfer-Encoding": "chunked"})
    assert chunked.status == 413  # no length given: counted as it arrives

    # A byte every 0.2 s never trips the pause timeout, but the body's deadline.
    slow = await stall(server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n"
                                    b"\r\n")

    async def dribble() -> None:
        for _ in range(20):
            slow.writer.write(b"x")
            await asyncio.sleep(0.2)

    dribbler = asyncio.create_task(dribble())
    try:
        async with asyncio.timeout(BODY_TIMEOUT + 2):
            answer = await slow.reader.read()
    finally:
        dribbler.cancel()
        slow.close()
    assert answer.startswith(b"HTTP/1.1 408")
    # The first refusal is logged; those within the next ten seconds are only counted.
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refused == ["HTTP request refused (413): POST /echo from 127.0.0.1: "
                       "a body of 1001 bytes"]
