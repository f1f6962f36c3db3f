"""Unexpected exceptions answered inside the middleware, so the 500 is a normal response.

Starlette answers an exception no handler claims from `ServerErrorMiddleware`, outside every
middleware of the app: that 500 has no CORS headers (a browser page cannot read it), no
version header and nothing our middleware adds. This middleware sits just inside CORS and
the request id, around authentication and the resources, and turns the exception into the
JSON 500 of `lrs.errors.internal_error` there, so it travels back out like any answer.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lrs.errors import internal_error
from lrs.http.middleware import VERSION_HEADER
from statements.types import SpecVersion


class InternalErrorMiddleware:
    def __init__(self, app: ASGIApp, fallback: SpecVersion = "2.0.0") -> None:
        self.app = app
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, noting_start)
        except Exception:
            if started:  # too late for another answer: the server closes the connection
                raise
            response = internal_error(scope.get("request_id", "-"))
            # the version middleware is inside: the version it chose, or the fallback
            version = scope.get("state", {}).get("xapi_version", self.fallback)
            MutableHeaders(raw=response.raw_headers)[VERSION_HEADER] = version
            await response(scope, receive, send)
