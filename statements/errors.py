"""The one exception family of the xAPI domain.

    XAPIError
     ├── BadRequest                 malformed request the spec answers with 400
     │    ├── InvalidStatement      statement(s) violate the data model (carries Violations)
     │    ├── DuplicateStatementIds the same id twice in one batch
     │    ├── InvalidQuery          a bad query parameter
     │    ├── InvalidDocument       a document body the resource cannot accept
     │    └── UnsupportedVersion    missing or unsupported X-Experience-API-Version
     ├── Unauthenticated            no or wrong credentials (401)
     ├── Forbidden                  valid credentials without the scope (403)
     ├── NotFound                   (404)
     ├── StatementConflict          same id, different statement (409)
     ├── PreconditionRequired       a concurrency header the spec requires is missing (409)
     ├── PreconditionFailed         If-Match / If-None-Match did not hold (412)
     ├── PayloadTooLarge            body or batch over the configured bound (413)
     └── TooManyRequests            rate limited (429)

Each class builds its own message; `lrs.errors` maps classes to HTTP status in one table.
A malformed voiding statement is an `InvalidStatement` (rule
`voiding.object_not_statement_ref`); one that targets a voiding statement is stored and
voids nothing (XAPI-00016: it MAY be rejected, or accepted and ignored), so voiding
needs no class of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class XAPIError(Exception):
    """Base of every error the domain or the service raises on purpose."""

    error = "xapi_error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(XAPIError):
    error = "bad_request"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where (a JSON pointer), which rule, and a human message."""

    path: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "rule": self.rule, "message": self.message}


class InvalidStatement(BadRequest):
    error = "invalid_statement"

    def __init__(self, violations: Iterable[Violation]) -> None:
        self.violations = list(violations)
        first = self.violations[0] if self.violations else Violation("", "unknown", "invalid")
        more = len(self.violations) - 1
        suffix = f" (and {more} more)" if more > 0 else ""
        super().__init__(
            f"{first.path or '/'}: {first.message} [{first.rule}]{suffix}",
            [v.as_dict() for v in self.violations],
        )


class DuplicateStatementIds(BadRequest):
    error = "duplicate_statement_ids"

    def __init__(self, ids: Iterable[str]) -> None:
        dup = sorted(set(ids))
        super().__init__(f"statement id(s) appear more than once in the batch: {dup}", dup)


class InvalidQuery(BadRequest):
    error = "invalid_query"

    def __init__(self, parameter: str, message: str, *, rule: str | None = None) -> None:
        details = (
            {"parameter": parameter} if rule is None else {"parameter": parameter, "rule": rule}
        )
        super().__init__(f"{parameter}: {message}", details)
        self.parameter = parameter


class InvalidDocument(BadRequest):
    error = "invalid_document"


class UnsupportedVersion(BadRequest):
    error = "unsupported_version"


class Unauthenticated(XAPIError):
    error = "unauthenticated"


class Forbidden(XAPIError):
    error = "forbidden"


class NotFound(XAPIError):
    error = "not_found"


class StatementConflict(XAPIError):
    error = "statement_conflict"

    def __init__(self, statement_id: str) -> None:
        super().__init__(
            f"statement {statement_id} already exists with different content",
            {"id": statement_id},
        )


class PreconditionRequired(XAPIError):
    error = "precondition_required"


class PreconditionFailed(XAPIError):
    error = "precondition_failed"


class PayloadTooLarge(XAPIError):
    error = "payload_too_large"


class TooManyRequests(XAPIError):
    error = "too_many_requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after


def details_of(error: XAPIError) -> Mapping[str, Any]:
    """The JSON body every error response carries."""
    return {"error": error.error, "message": error.message, "details": error.details}
