"""GET /statements parameters -> a typed query (xAPI 1.0.3 Communication 2.1.3, 2.0 4.1.6.3).

The `more` cursor is an opaque token naming the stored-sequence position of the last
statement returned; the rest of the query travels unchanged in the `more` IRL, so paging is
stable while new statements arrive (they sort after the cursor, or before it when ascending).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from statements.errors import InvalidQuery
from statements.formats import is_uuid, parse_timestamp
from statements.index import agent_key
from statements.int_params import parse_int_param
from statements.json_input import JSONInputError, decode_json
from statements.types import SpecVersion, StatementFormat, StatementQuery
from statements.validate import validate_activity_id, validate_agent

FILTER_PARAMS = frozenset(
    {
        "agent",
        "verb",
        "activity",
        "registration",
        "related_activities",
        "related_agents",
        "since",
        "until",
        "limit",
        "format",
        "attachments",
        "ascending",
        "cursor",
    }
)
SINGLE_PARAMS = frozenset({"statementId", "voidedStatementId", "format", "attachments"})
FORMATS: tuple[StatementFormat, ...] = ("exact", "ids", "canonical")
CURSOR_PREFIX = "s"
_CURSOR_RE = re.compile(CURSOR_PREFIX + r"([0-9a-f]{1,16})", re.ASCII)
"""16 hex digits hold the largest position (an int64)."""


@dataclass(frozen=True, slots=True)
class SingleStatementRequest:
    """GET by `statementId` or `voidedStatementId`."""

    statement_id: str
    voided: bool
    format: StatementFormat = "exact"
    attachments: bool = False


def parse_statement_params(
    params: Iterable[tuple[str, str]],
    version: SpecVersion,
    *,
    default_limit: int,
    max_limit: int,
) -> SingleStatementRequest | StatementQuery:
    values = _single_values(params)
    if "statementId" in values or "voidedStatementId" in values:
        return _parse_single(values)
    unknown = sorted(set(values) - FILTER_PARAMS)
    if unknown:
        raise InvalidQuery(unknown[0], "unknown parameter for GET /statements")
    limit = _parse_limit(values.get("limit"), default_limit, max_limit)
    return StatementQuery(
        agent=_parse_agent(values.get("agent"), version),
        verb=_parse_iri("verb", values.get("verb")),
        activity=_parse_iri("activity", values.get("activity")),
        registration=_parse_uuid("registration", values.get("registration")),
        related_activities=_parse_bool("related_activities", values.get("related_activities")),
        related_agents=_parse_bool("related_agents", values.get("related_agents")),
        since=_parse_time("since", values.get("since")),
        until=_parse_time("until", values.get("until")),
        limit=limit,
        ascending=_parse_bool("ascending", values.get("ascending")),
        format=_parse_format(values.get("format")),
        attachments=_parse_bool("attachments", values.get("attachments")),
        after=decode_cursor(values["cursor"]) if "cursor" in values else None,
    )


def _single_values(params: Iterable[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in params:
        if name in values:
            raise InvalidQuery(name, "parameter given more than once")
        values[name] = value
    return values


def _parse_single(values: dict[str, str]) -> SingleStatementRequest:
    if "statementId" in values and "voidedStatementId" in values:
        raise InvalidQuery("statementId", "statementId and voidedStatementId are exclusive")
    extra = sorted(set(values) - SINGLE_PARAMS)
    if extra:
        raise InvalidQuery(
            extra[0], "only 'format' and 'attachments' may accompany statementId/voidedStatementId"
        )
    voided = "voidedStatementId" in values
    name = "voidedStatementId" if voided else "statementId"
    statement_id = _parse_uuid(name, values[name])
    assert statement_id is not None  # noqa: S101 - _parse_uuid only returns None for None
    return SingleStatementRequest(
        statement_id=statement_id,
        voided=voided,
        format=_parse_format(values.get("format")),
        attachments=_parse_bool("attachments", values.get("attachments")),
    )


def _parse_agent(raw: str | None, version: SpecVersion) -> str | None:
    if raw is None:
        return None
    try:
        agent: Any = decode_json(raw)
    except JSONInputError as error:
        message = f"must be a JSON Agent or identified Group object ({error.message})"
        raise InvalidQuery("agent", message) from None
    problems = validate_agent(agent, version)
    if problems:
        raise InvalidQuery("agent", f"{problems[0].path or '/'}: {problems[0].message}")
    key = agent_key(agent)
    if key is None:
        raise InvalidQuery("agent", "an anonymous Group cannot be used as a filter")
    return key


def _parse_iri(name: str, raw: str | None) -> str | None:
    if raw is None:
        return None
    problems = validate_activity_id(raw)
    if problems:
        raise InvalidQuery(name, f"must be an IRI ({problems[0].message})")
    return raw


def _parse_uuid(name: str, raw: str | None) -> str | None:
    if raw is None:
        return None
    if not is_uuid(raw):
        raise InvalidQuery(name, "must be a UUID")
    return raw.lower()


def _parse_bool(name: str, raw: str | None) -> bool:
    if raw is None:
        return False
    if raw in ("true", "false"):
        return raw == "true"
    raise InvalidQuery(name, "must be 'true' or 'false'")


def _parse_time(name: str, raw: str | None) -> datetime | None:
    if raw is None:
        return None
    parsed = parse_timestamp(raw)
    if parsed is None:
        raise InvalidQuery(name, "must be an ISO 8601 timestamp")
    return parsed


def _parse_limit(raw: str | None, default: int, maximum: int) -> int:
    """`limit` is a ceiling (0: the server's choice), so a larger one is the server's maximum."""
    value = parse_int_param("limit", raw, default=default, minimum=0, maximum=maximum, clamp=True)
    return default if value == 0 else value


def _parse_format(raw: str | None) -> StatementFormat:
    if raw is None:
        return "exact"
    for candidate in FORMATS:
        if raw == candidate:
            return candidate
    raise InvalidQuery("format", f"must be one of {list(FORMATS)}")


def encode_cursor(position: int) -> str:
    return f"{CURSOR_PREFIX}{position:x}"


def decode_cursor(token: str) -> int:
    """The position of a cursor `encode_cursor` made: a non-negative int64, as positions are."""
    match = _CURSOR_RE.fullmatch(token)
    if match is None or int(match[1], 16) >= 1 << 63:
        raise InvalidQuery("cursor", "not a cursor this LRS issued")
    return int(match[1], 16)


def more_params(params: Iterable[tuple[str, str]], position: int) -> list[tuple[str, str]]:
    """The original query parameters with the cursor moved to `position`."""
    kept = [(name, value) for name, value in params if name != "cursor"]
    return [*kept, ("cursor", encode_cursor(position))]
