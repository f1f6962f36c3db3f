"""What an export holds: the GET /xapi/statements filters, where to start, and the format.

The filters are parsed by `statements.query.parse_statement_params`, the same parser
GET /xapi/statements uses, so an export with `verb=...&since=...` holds what that GET
would return. Paging parameters (`limit`, `cursor`, `ascending`, `format`, `attachments`)
belong to the export itself and are refused in its query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from exports.columns import DEFAULT_COLUMNS, Column, parse_columns
from statements.errors import BadRequest, InvalidQuery
from statements.query import decode_cursor, parse_statement_params
from statements.types import StatementQuery

ExportFormat = Literal["ndjson", "csv", "parquet"]
FORMATS: tuple[ExportFormat, ...] = ("ndjson", "csv", "parquet")
PAGING = frozenset({"limit", "cursor", "ascending", "format", "attachments"})
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
MIN_MAX_FILE_BYTES = 1024
DEFAULT_SETTLE_SECONDS = 5.0
MAX_SETTLE_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class ExportSpec:
    format: ExportFormat
    query: StatementQuery
    """Filters only: ascending, no limit; `after` is where the export starts."""
    params: tuple[tuple[str, str], ...] = ()
    """The filters as given (recorded in the manifest, to repeat the export)."""
    include_voided: bool = False
    columns: tuple[Column, ...] = field(default_factory=lambda: parse_columns(DEFAULT_COLUMNS))
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    """Each file holds at most this many uncompressed bytes of rows (at least one row)."""
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    """How long a write may take to become visible, clock skew between API nodes included:
    the export stops this far behind now, so its cursor never passes a statement that may
    still land below it."""

    after: str | None = None
    """The cursor the export continues from, as given."""

    def manifest_query(self) -> dict[str, Any]:
        """What the manifest records to describe (and repeat) the export."""
        return {
            "filters": urlencode(self.params),
            "after": self.after,
            "include_voided": self.include_voided,
        }


def parse_format(raw: str) -> ExportFormat:
    for candidate in FORMATS:
        if raw == candidate:
            return candidate
    raise BadRequest(f"format must be one of {list(FORMATS)}", {"field": "format"})


def parse_filters(
    raw: str | Sequence[tuple[str, str]], since: str | None = None, until: str | None = None
) -> tuple[StatementQuery, tuple[tuple[str, str], ...]]:
    """GET /xapi/statements filters (a query string or pairs) plus `since`/`until`."""
    pairs = parse_qsl(raw, keep_blank_values=True) if isinstance(raw, str) else list(raw)
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            pairs.append((name, value))
    paging = sorted({name for name, _ in pairs} & PAGING)
    if paging:
        raise InvalidQuery(paging[0], "paging parameters are not filters: an export reads all")
    parsed = parse_statement_params(pairs, "2.0.0", default_limit=1, max_limit=1)
    if not isinstance(parsed, StatementQuery):
        raise InvalidQuery("statementId", "an export takes filters, not one statement")
    return parsed, tuple(pairs)


def build_spec(
    fmt: str,
    *,
    filters: str | Sequence[tuple[str, str]] = "",
    since: str | None = None,
    until: str | None = None,
    after: str | None = None,
    include_voided: bool = False,
    columns: Sequence[str] | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
) -> ExportSpec:
    """Validate every option; each mistake is a 400 naming its field."""
    query, params = parse_filters(filters, since, until)
    position = _position(after)
    if max_file_bytes < MIN_MAX_FILE_BYTES:
        raise BadRequest(
            f"max_file_bytes must be at least {MIN_MAX_FILE_BYTES}", {"field": "max_file_bytes"}
        )
    if not 0 <= settle_seconds <= MAX_SETTLE_SECONDS:
        raise BadRequest(
            f"settle_seconds must be between 0 and {MAX_SETTLE_SECONDS:g}",
            {"field": "settle_seconds"},
        )
    return ExportSpec(
        format=parse_format(fmt),
        query=_reading(query, position),
        params=params,
        include_voided=include_voided,
        columns=parse_columns(columns if columns is not None else DEFAULT_COLUMNS),
        max_file_bytes=max_file_bytes,
        settle_seconds=settle_seconds,
        after=after,
    )


def _position(after: str | None) -> int | None:
    if after is None:
        return None
    try:
        return decode_cursor(after)
    except InvalidQuery:
        raise InvalidQuery("after", "not a cursor from an export manifest") from None


def _reading(query: StatementQuery, after: int | None) -> StatementQuery:
    return StatementQuery(
        agent=query.agent,
        verb=query.verb,
        activity=query.activity,
        registration=query.registration,
        related_activities=query.related_activities,
        related_agents=query.related_agents,
        since=query.since,
        until=query.until,
        ascending=True,
        after=after,
    )
