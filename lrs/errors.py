"""The one place where domain errors become HTTP responses.

Every error body is `{"error", "message", "details"}`. Lookup follows the exception's MRO, so
a subclass inherits its parent's status unless the table names it.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from lrs.responses import XAPIResponse
from statements.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    StatementConflict,
    TooManyRequests,
    Unauthenticated,
    XAPIError,
    details_of,
)

log = logging.getLogger("lrs.errors")

ERROR_STATUS: dict[type[XAPIError], int] = {
    BadRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    StatementConflict: 409,
    PreconditionRequired: 409,
    PreconditionFailed: 412,
    PayloadTooLarge: 413,
    TooManyRequests: 429,
    XAPIError: 400,
}

AUTH_CHALLENGE = 'Basic realm="xAPI"'


def status_of(error: XAPIError) -> int:
    for cls in type(error).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 400


def error_response(error: XAPIError) -> Response:
    headers: dict[str, str] = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = AUTH_CHALLENGE
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    return XAPIResponse(details_of(error), status_code=status_of(error), headers=headers)


async def handle_xapi_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, XAPIError)  # noqa: S101 - registered for XAPIError only
    return error_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 as JSON instead of plain text."""
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    name = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    body = {"error": name, "message": exc.detail, "details": None}
    return XAPIResponse(body, status_code=exc.status_code, headers=exc.headers)


def internal_error(request_id: str) -> Response:
    """A bug: log it (from inside an `except`) with the request id, answer 500 without a
    traceback; the id in the body lets a user's report find the log line."""
    log.exception("unhandled error (request %s)", request_id, extra={"request_id": request_id})
    body = {
        "error": "internal_error",
        "message": "internal error",
        "details": {"request_id": request_id},
    }
    return XAPIResponse(body, status_code=500, headers={"X-Request-ID": request_id})


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """The last resort, for a bug in the outermost middleware (`lrs.http.admission`
    answers everything inside CORS): Starlette calls this outside all our middleware."""
    return internal_error(request.scope.get("request_id", "-"))
