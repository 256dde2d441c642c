"""Slack's request signing (v0) and a client that POSTs signed requests to an HTTP-mode app.

Slack signs every HTTP request it sends to an app:

    X-Slack-Request-Timestamp: <unix seconds>
    X-Slack-Signature: v0=<hex HMAC-SHA256(signing_secret, f"v0:{timestamp}:{raw body}")>

and apps must reject bad signatures and timestamps more than five minutes away from now
(https://docs.slack.dev/authentication/verifying-requests-from-slack). When a delivery
fails Slack retries it with `X-Slack-Retry-Num` / `X-Slack-Retry-Reason`.

`serve_bolt_app` runs a real slack-bolt `AsyncApp` behind slack-bolt's own aiohttp
adapter on 127.0.0.1, and `SignedSender` plays Slack's side of that conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Self

import aiohttp
from aiohttp import web

from tests.bot.slack.payloads import encode_form, encode_interaction

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

__all__ = [
    "MAX_CLOCK_SKEW",
    "RetryReason",
    "SignedResponse",
    "SignedSender",
    "compute_signature",
    "serve_bolt_app",
    "signed_headers",
]

# Slack's (and Bolt's) replay window, in seconds.
MAX_CLOCK_SKEW = 5 * 60

RetryReason = Literal["http_timeout", "http_error", "connection_failed", "ssl_error",
                      "too_many_redirects", "unknown_error"]


def compute_signature(signing_secret: str, timestamp: int | str, body: bytes | str) -> str:
    """`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` keyed with the signing secret."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    signing_secret: str,
    body: bytes | str,
    *,
    content_type: str,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: RetryReason | str | None = None,
) -> dict[str, str]:
    """The headers Slack would send with `body` (timestamp defaults to now)."""
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": compute_signature(signing_secret, ts, body),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    return headers


@dataclass(frozen=True)
class SignedResponse:
    """What the app answered."""

    status: int
    headers: Mapping[str, str]
    text: str
    json: Any = field(default=None)


class SignedSender:
    """Sends Slack-style signed requests to an app's request URL.

    Every `post_*` method accepts the same knobs to build hostile or unusual requests:

    * `timestamp`: the X-Slack-Request-Timestamp to sign with (default: now). Use
      `stale=True` as shorthand for "six minutes ago".
    * `secret`: sign with this secret instead of the real one (a bad signature).
    * `signature`: send this exact X-Slack-Signature (overrides signing entirely).
    * `retry_num` / `retry_reason`: add Slack's retry headers.
    """

    def __init__(self, url: str, signing_secret: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.signing_secret = signing_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post_raw(
        self,
        body: bytes | str,
        *,
        content_type: str,
        timestamp: int | None = None,
        stale: bool = False,
        secret: str | None = None,
        signature: str | None = None,
        retry_num: int | None = None,
        retry_reason: RetryReason | str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> SignedResponse:
        if stale and timestamp is None:
            timestamp = int(time.time()) - MAX_CLOCK_SKEW - 60
        headers = signed_headers(secret or self.signing_secret, body, content_type=content_type,
                                 timestamp=timestamp, retry_num=retry_num,
                                 retry_reason=retry_reason)
        if signature is not None:
            headers["X-Slack-Signature"] = signature
        headers.update(extra_headers or {})
        if self._session is None:
            # trust_env=False: a CI proxy variable must not divert loopback traffic.
            self._session = aiohttp.ClientSession(timeout=self._timeout, trust_env=False)
        data = body.encode() if isinstance(body, str) else body
        async with self._session.post(self.url, data=data, headers=headers) as resp:
            text = await resp.text()
            parsed: Any = None
            if resp.content_type == "application/json" and text:
                parsed = json.loads(text)
            return SignedResponse(status=resp.status, headers=dict(resp.headers), text=text,
                                  json=parsed)

    async def post_event(self, envelope: Mapping[str, Any], **kw: Any) -> SignedResponse:
        """An Events API delivery (`event_callback` or `url_verification`) as JSON."""
        return await self.post_raw(json.dumps(envelope), content_type="application/json", **kw)

    async def post_slash_command(self, form: Mapping[str, str], **kw: Any) -> SignedResponse:
        """A slash command as `application/x-www-form-urlencoded`."""
        return await self.post_raw(encode_form(form),
                                   content_type="application/x-www-form-urlencoded", **kw)

    async def post_interaction(self, payload: Mapping[str, Any], **kw: Any) -> SignedResponse:
        """block_actions / view_submission / ...: a form whose `payload` field holds JSON."""
        return await self.post_raw(encode_interaction(payload),
                                   content_type="application/x-www-form-urlencoded", **kw)


@asynccontextmanager
async def serve_bolt_app(app: AsyncApp, path: str = "/slack/events") -> AsyncIterator[str]:
    """Serve `app` in HTTP mode on 127.0.0.1 (ephemeral port); yields the request URL.

    Uses slack-bolt's aiohttp adapter functions, i.e. what `AsyncApp.start()` runs,
    without binding 0.0.0.0 or a fixed port.
    """
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

    async def handle(request: web.Request) -> web.Response:
        bolt_resp = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_resp)

    web_app = web.Application()
    web_app.router.add_post(path, handle)
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        await runner.cleanup()
