"""Checking an operator's connector definition (the body of POST /admin/connectors)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from connectors.model import KINDS, Kind
from statements.errors import BadRequest

FIELDS = frozenset(
    {"kind", "name", "secret", "activity_template", "completion_threshold", "mapping"}
)
MAX_NAME = 100
MAX_SECRET = 512
MAX_MAPPING = 10_000


def _bad(field: str, rule: str) -> BadRequest:
    return BadRequest(f"{field} {rule}", {"field": field})


def _string(body: dict[str, Any], field: str, limit: int) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _bad(field, f"must be a non-empty string of at most {limit} characters")
    return value.strip()


def _iri(value: Any, field: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise _bad(field, "must be an absolute http(s) IRI")
    return str(value)


def parse_kind(value: Any) -> Kind:
    for kind in KINDS:
        if value == kind:
            return kind
    raise _bad("kind", f"must be one of {list(KINDS)}")


def parse_threshold(value: Any) -> float:
    if type(value) not in (int, float) or not 0 < value <= 1:
        raise _bad("completion_threshold", "must be a number above 0 and at most 1")
    return float(value)


def parse_mapping(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_MAPPING:
        raise _bad("mapping", f"must be an object of at most {MAX_MAPPING} entries")
    return {str(k): _iri(v, f"mapping.{k}") for k, v in value.items()}


def parse_definition(body: dict[str, Any]) -> dict[str, Any]:
    """The checked fields; BadRequest names the first wrong one."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise _bad(unknown[0], "is not a connector field")
    template = _iri(body.get("activity_template"), "activity_template")
    if "{meeting_id}" not in template:
        raise _bad("activity_template", "must contain {meeting_id}")
    return {
        "kind": parse_kind(body.get("kind")),
        "name": _string(body, "name", MAX_NAME),
        "secret": _string(body, "secret", MAX_SECRET),
        "activity_template": template,
        "completion_threshold": parse_threshold(body.get("completion_threshold", 0.75)),
        "mapping": parse_mapping(body.get("mapping")),
    }
