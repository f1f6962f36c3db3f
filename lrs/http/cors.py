"""CORS for browser-based content (authoring tools post from the learner's browser).

Starlette's `CORSMiddleware` does the protocol (origin matching, preflight, `Vary`,
credentials with the origin mirrored rather than `*`); it is well tested and small, so we
configure it rather than rewrite it. This module adds the xAPI policy: which headers a
browser may send and read, and a JSON body (our error shape) when a preflight is refused.

The middleware sits outside authentication, so a preflight (`OPTIONS` with
`Access-Control-Request-Method`) is answered without credentials, and a 401/403/429 still
carries the CORS headers a browser needs to let the page read the error. With no allowed
origin configured it is not installed at all: browsers then get no CORS headers.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from lrs.responses import XAPIResponse

ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS")
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "X-Experience-API-Version",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
    "Accept-Language",
)
EXPOSED_HEADERS = (
    "ETag",
    "Last-Modified",
    "X-Experience-API-Version",
    "X-Experience-API-Consistent-Through",
    "Retry-After",
    "X-Request-ID",
    "Content-Type",
    "WWW-Authenticate",
)


class XAPICORSMiddleware(CORSMiddleware):
    """Starlette's middleware with refusals in our `{"error","message","details"}` shape."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ").split(", ")
        body = {
            "error": "cors_refused",
            "message": f"cross-origin request refused: {', '.join(refused)} not allowed",
            "details": {"refused": refused, "origin": request_headers.get("origin")},
        }
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.startswith("access-control-") or name == "vary"
        }
        return XAPIResponse(body, status_code=400, headers=headers)


def cors_middleware(origins: Sequence[str], max_age: int) -> list[Middleware]:
    """The CORS middleware for these origins, or none when no origin is allowed."""
    if not origins:
        return []
    return [
        Middleware(
            XAPICORSMiddleware,
            allow_origins=tuple(origins),
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            allow_credentials=True,
            expose_headers=EXPOSED_HEADERS,
            max_age=max_age,
        )
    ]
