"""ASGI middleware for what every xAPI request shares: the version header and a request id.

Pure ASGI (no BaseHTTPMiddleware) to keep the hot path cheap.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lrs.errors import error_response
from lrs.logs import request_id_var
from statements.errors import UnsupportedVersion
from statements.types import SpecVersion

VERSION_HEADER = "X-Experience-API-Version"
CONSISTENT_THROUGH = "X-Experience-API-Consistent-Through"
STATEMENTS_PATH = "/xapi/statements"
XAPI_PREFIX = "/xapi"
UNVERSIONED = frozenset({"/xapi/about", "/xapi/about/"})


def spec_version(header: str | None) -> SpecVersion:
    """Map a request's version header to the spec family we apply (1.0.x -> 1.0.3)."""
    if header is None:
        raise UnsupportedVersion("the X-Experience-API-Version header is required")
    value = header.strip()
    if value in ("2.0.0", "2.0"):
        return "2.0.0"
    if value in ("1.0", "1.0.0", "1.0.1", "1.0.2", "1.0.3"):
        return "1.0.3"
    raise UnsupportedVersion(
        f"X-Experience-API-Version {value!r} is not supported (use 2.0.0 or 1.0.x)",
        {"supported": ["2.0.0", "1.0.3"]},
    )


class MillisecondClock:
    """The current time as an ISO 8601 string with milliseconds, for the Consistent-Through
    header of every statements answer. The second's prefix is formatted once a second (a
    `strftime` was 4 % of a single statement's API time) and the milliseconds appended."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self._second = -1
        self._prefix = ""

    def __call__(self) -> str:
        ms = int(self.now() * 1000)
        second, millis = divmod(ms, 1000)
        if second != self._second:
            moment = datetime.fromtimestamp(second, UTC)
            self._second, self._prefix = second, moment.strftime("%Y-%m-%dT%H:%M:%S.")
        return f"{self._prefix}{millis:03d}Z"


def is_xapi_path(path: str) -> bool:
    return path == XAPI_PREFIX or path.startswith(XAPI_PREFIX + "/")


class XAPIVersionMiddleware:
    """Requires the version header on xAPI requests and sets it on every response."""

    def __init__(self, app: ASGIApp, fallback: SpecVersion = "2.0.0") -> None:
        self.app = app
        self.fallback: SpecVersion = fallback
        self.now_iso = MillisecondClock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        version: SpecVersion = self.fallback
        if is_xapi_path(path) and path not in UNVERSIONED and scope["method"] != "OPTIONS":
            try:
                version = spec_version(Headers(scope=scope).get(VERSION_HEADER))
            except UnsupportedVersion as error:
                await _send_with_version(error_response(error), scope, receive, send, self.fallback)
                return
        scope.setdefault("state", {})["xapi_version"] = version
        echoed = "2.0.0" if version == "2.0.0" else "1.0.3"
        statements = path.startswith(STATEMENTS_PATH)

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers[VERSION_HEADER] = echoed
                if statements and CONSISTENT_THROUGH not in headers:
                    # errors too: clients poll on it even when a statement is not there yet
                    headers[CONSISTENT_THROUGH] = self.now_iso()
            await send(message)

        await self.app(scope, receive, send_with_version)


async def _send_with_version(
    response: Any, scope: Scope, receive: Receive, send: Send, version: str
) -> None:
    response.headers[VERSION_HEADER] = version
    await response(scope, receive, send)


REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")
"""An accepted `X-Request-ID`: bounded, and of characters that need no escaping anywhere
(UUIDs, ULIDs, W3C trace ids, proxies' ids); anything else is replaced by a new id."""


def request_id_from(header: str | None) -> str:
    return header if header and REQUEST_ID.fullmatch(header) else secrets.token_hex(16)


class RequestIdMiddleware:
    """Accepts `X-Request-ID` (well-formed) or makes one; returns it, exposes it to handlers
    (`scope["request_id"]`) and to every log line of the request (`lrs.logs.request_id_var`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get("x-request-id"))
        scope["request_id"] = request_id
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
