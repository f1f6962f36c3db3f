"""Query parameters of the aggregate endpoints (pure): bad input is a 400 naming the field
and the rule, never a 500."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from statements.errors import BadRequest
from statements.formats import parse_timestamp

INTERVALS = ("day", "week", "month")
FIRST_DAY = "0000-01-01"
PAST_LAST_DAY = "9999-12-32"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SPACE = re.compile(r"\s")
"""What `str.isspace` calls whitespace (both use the same Unicode table), found in one C
scan: a generator over the IRI's characters cost every aggregate request about 2 us."""


def invalid(field: str, rule: str, message: str) -> BadRequest:
    return BadRequest(f"{field}: {message}", {"field": field, "rule": rule})


def day_bound(field: str, raw: str | None) -> str | None:
    """`since`/`until` as a UTC day: rollups hold days, so a bound must fall on midnight UTC
    (`2026-03-01` or `2026-03-01T00:00:00Z`); `since` is inclusive, `until` exclusive."""
    if raw is None or raw == "":
        return None
    if _DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise invalid(field, "date", "not a calendar date") from None
    moment = parse_timestamp(raw)
    if moment is None:
        raise invalid(field, "timestamp", "must be an ISO 8601 date or date-time")
    moment = moment.astimezone(UTC)
    if moment.time() != time(0):
        raise invalid(field, "day-granularity", "rollups are per UTC day: give a UTC midnight")
    return moment.date().isoformat()


def window(since_raw: str | None, until_raw: str | None) -> tuple[str, str, bool]:
    """[since, until) days, and whether the window is bounded at all."""
    since, until = day_bound("since", since_raw), day_bound("until", until_raw)
    if since is not None and until is not None and since >= until:
        raise invalid("until", "after-since", "must be after since")
    return since or FIRST_DAY, until or PAST_LAST_DAY, since is not None or until is not None


def interval(raw: str | None) -> str:
    value = raw or "day"
    if value not in INTERVALS:
        raise invalid("interval", "enum", f"must be one of {', '.join(INTERVALS)}")
    return value


def activity(raw: str | None) -> str:
    if not raw:
        raise invalid("activity", "required", "the activity IRI is required")
    if ":" not in raw or _SPACE.search(raw):
        raise invalid("activity", "iri", "must be an absolute IRI")
    return raw


def cursor_day(raw: str | None) -> str | None:
    if raw is None:
        return None
    bad = invalid("cursor", "cursor", "not a cursor this endpoint returned")
    if not _DATE.fullmatch(raw):
        raise bad
    try:
        date.fromisoformat(raw)
    except ValueError:
        raise bad from None
    return raw


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def group_by(raw: str | None, columns: tuple[str, ...]) -> str:
    """An HRIS attribute the identity import carries (never a field path from the caller)."""
    if not raw:
        raise invalid("group_by", "required", f"one of {', '.join(columns)} is required")
    if raw not in columns:
        raise invalid("group_by", "enum", f"must be one of {', '.join(columns)}")
    return raw


def limit(raw: str | None, maximum: int) -> int:
    if raw is None:
        return maximum
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise invalid("limit", "range", f"must be an integer from 1 to {maximum}")
    return int(raw)
