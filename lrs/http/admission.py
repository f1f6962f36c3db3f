"""Every request's way in and out, inside CORS: the alternate request syntax, the xAPI
version, the credential and its rate limit on the way in; the version headers and a JSON 500
for an unexpected exception on the way out.

In order, each step either lets the request go on or answers it:

1. the 1.0.3 alternate request syntax is rewritten into the ordinary request it stands for
   (`lrs.http.alternate_syntax`); a malformed one is a 400 (without version headers: its
   version is not known yet);
2. an xAPI request (not /about, not a preflight) must name a version we serve
   (`lrs.http.middleware.spec_version`), else 400 with the fallback version; the version is
   put in `scope["state"]["xapi_version"]`;
3. from here every answer carries `X-Experience-API-Version` (the family we apply), and on
   /statements `X-Experience-API-Consistent-Through` unless the resource set its own
   (errors too: clients poll on it even when a statement is not there yet);
4. a protected path needs a credential (`lrs.auth.backend`): 401/429 from the gate, with the
   challenge the client can act on; the credential goes in `scope["credential"]` and its
   key to the access log (`note_credential`);
5. the credential's rate limit (`lrs.http.ratelimit`): 429 with `Retry-After`.

An exception that escapes before the answer started becomes the JSON 500 of
`lrs.errors.internal_error` (with the version chosen so far, or the fallback) here, inside
CORS and the edge, so it travels back out like any answer: Starlette's own
`ServerErrorMiddleware` answers outside every middleware, without CORS or our headers.

One pure ASGI layer with one `send` wrapper rather than five middlewares: each layer and each
wrapper of `send` is paid by every request.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lrs.auth.backend import Admitter, admit, protected, refusal
from lrs.errors import error_response, internal_error
from lrs.http.access_log import note_credential
from lrs.http.alternate_syntax import AlternateSyntax
from lrs.http.middleware import (
    CONSISTENT_THROUGH,
    STATEMENTS_PATH,
    UNVERSIONED,
    VERSION_HEADER,
    MillisecondClock,
    is_xapi_path,
    raw_header,
    spec_version,
)
from lrs.http.ratelimit import RateLimit, RateLimiter
from statements.errors import UnsupportedVersion, XAPIError
from statements.types import SpecVersion

VERSION_RAW = VERSION_HEADER.lower().encode("latin-1")
CONSISTENT_RAW = CONSISTENT_THROUGH.lower().encode("latin-1")
ECHOED: dict[SpecVersion, bytes] = {"2.0.0": b"2.0.0", "1.0.3": b"1.0.3"}


class AdmissionMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        gate: Admitter,
        limiter: RateLimiter | None,
        max_body_bytes: int,
        fallback: SpecVersion = "2.0.0",
    ) -> None:
        self.app = app
        self.gate = gate
        self.rate_limit = RateLimit(limiter)
        self.alternate = AlternateSyntax(max_body_bytes)
        self.fallback: SpecVersion = fallback
        self.now_iso = MillisecondClock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = Exchange(send, self.now_iso)
        try:
            await self._admit(scope, receive, exchange)
        except Exception:
            if exchange.started:  # too late for another answer: the server closes the connection
                raise
            response = internal_error(scope.get("request_id", "-"))
            version = exchange.version or self.fallback
            MutableHeaders(raw=response.raw_headers)[VERSION_HEADER] = version
            await response(scope, receive, send)

    async def _admit(self, scope: Scope, receive: Receive, exchange: Exchange) -> None:
        send = exchange.send
        try:
            scope, receive = await self.alternate.apply(scope, receive)
        except XAPIError as error:
            await error_response(error)(scope, receive, send)
            return
        try:
            version = self._version(scope)
        except UnsupportedVersion as error:
            response = error_response(error)
            response.headers[VERSION_HEADER] = self.fallback
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["xapi_version"] = version
        exchange.versioned(version, scope["path"].startswith(STATEMENTS_PATH))
        answer = await self._refusal(scope)
        await (answer or self.app)(scope, receive, send)

    def _version(self, scope: Scope) -> SpecVersion:
        path: str = scope["path"]
        if is_xapi_path(path) and path not in UNVERSIONED and scope["method"] != "OPTIONS":
            return spec_version(raw_header(scope, VERSION_RAW))
        return self.fallback

    async def _refusal(self, scope: Scope) -> Response | None:
        """The answer to a request without the credential or the rate it needs, else None."""
        if not protected(scope):
            return None
        try:
            credential = await admit(self.gate, scope)
        except XAPIError as error:
            return refusal(error, scope["path"])
        scope["credential"] = credential
        note_credential(scope, credential.key)
        return self.rate_limit.refusal(credential.key)


class Exchange:
    """One request's `send`: notes that the answer started, and once the version is known
    adds the version headers to it."""

    __slots__ = ("_send", "_now_iso", "consistent", "echoed", "started", "version")

    def __init__(self, send: Send, now_iso: MillisecondClock) -> None:
        self._send = send
        self._now_iso = now_iso
        self.started = False
        self.version: SpecVersion | None = None
        self.echoed: bytes | None = None
        self.consistent = False

    def versioned(self, version: SpecVersion, consistent: bool) -> None:
        self.version, self.echoed, self.consistent = version, ECHOED[version], consistent

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            if self.echoed is not None:
                message["headers"] = self._with_version(message.get("headers", ()))
        await self._send(message)

    def _with_version(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        out = [h for h in headers if h[0].lower() != VERSION_RAW]
        out.append((VERSION_RAW, self.echoed or b""))
        if self.consistent and not any(h[0].lower() == CONSISTENT_RAW for h in out):
            out.append((CONSISTENT_RAW, self._now_iso().encode("latin-1")))
        return out
