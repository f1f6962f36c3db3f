"""Checking what the admin API receives for a forwarder (create and update bodies): each
field's type and bounds, the template and its lookup tables, with a 400 naming the field.
`rules` holds the `Forwarder` these fields make and the matching rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from forwarders.errors import InvalidForwarder
from forwarders.mapping.template import Template, load_template
from forwarders.rules import (
    DEFAULT_VERBS,
    KINDS,
    MAX_IN_FLIGHT,
    MAX_LIST,
    TERMINATED,
    Kind,
    Terminated,
)

_LISTS = ("verbs", "activity_ids", "activity_prefixes", "activity_types")
FIELDS = frozenset(
    {"name", "url", "kind", "paused", "max_in_flight", "secrets", "template", "terminated", *_LISTS}
)
MAX_LOOKUPS = 20


def _strings(field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise InvalidForwarder(field, "must be a list of non-empty strings")
    if len(value) > MAX_LIST:
        raise InvalidForwarder(field, f"at most {MAX_LIST} entries")
    return tuple(dict.fromkeys(value))


def _field(field: str, value: Any) -> Any:
    if field == "name":
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise InvalidForwarder(field, "must be a non-empty string of at most 200 characters")
        return value.strip()
    if field == "kind":
        if value not in KINDS:
            raise InvalidForwarder(field, f"must be one of {', '.join(KINDS)}")
        return cast(Kind, value)
    if field == "paused":
        if not isinstance(value, bool):
            raise InvalidForwarder(field, "must be a boolean")
        return value
    if field == "max_in_flight":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_IN_FLIGHT:
            raise InvalidForwarder(field, f"must be an integer from 1 to {MAX_IN_FLIGHT}")
        return value
    if field == "url":
        if not isinstance(value, str):
            raise InvalidForwarder(field, "must be a string")
        return value
    return _strings(field, value)


def _terminated(value: Any) -> Terminated:
    if value not in TERMINATED:
        raise InvalidForwarder("terminated", f"must be one of {', '.join(TERMINATED)}")
    return cast(Terminated, value)


def parse_template(value: Any) -> Template | None:
    """`{"csv": "...", "lookups": {"table": "key,value\\n..."}}` -> a checked template (raises
    InvalidTemplate naming the row and column); null -> None (the kind's default)."""
    if value is None:
        return None
    if not isinstance(value, dict) or not set(value) <= {"csv", "lookups", "name"}:
        raise InvalidForwarder("template", 'must be {"csv": text, "lookups": {name: text}} or null')
    lookups = value.get("lookups") or {}
    if not isinstance(lookups, dict) or len(lookups) > MAX_LOOKUPS:
        raise InvalidForwarder(
            "template.lookups", f"must map at most {MAX_LOOKUPS} names to CSV text"
        )
    if not all(isinstance(text, str) for text in lookups.values()):
        raise InvalidForwarder("template.lookups", "each lookup table is CSV text")
    name = value.get("name")
    if not isinstance(value.get("csv"), str) or not (name is None or isinstance(name, str)):
        raise InvalidForwarder("template.csv", "must be the template's CSV text")
    return load_template(value["csv"], lookups=lookups, name=name)


def parse_spec(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """The validated fields of a create (`partial=False`) or update request.

    `secrets` is only checked to be a list here; `signing.validate_secret` checks each one.
    """
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise InvalidForwarder(unknown[0], "unknown field")
    if not partial:
        for required in ("name", "url"):
            if required not in data:
                raise InvalidForwarder(required, "is required")
    fields = {name: _parse(name, value) for name, value in data.items()}
    if "verbs" in fields and not fields["verbs"]:
        raise InvalidForwarder("verbs", "must name at least one verb")
    return fields


def _parse(field: str, value: Any) -> Any:
    if field == "template":
        return parse_template(value)
    if field == "terminated":
        return _terminated(value)
    return _field(field, value)


def spec_defaults() -> dict[str, Any]:
    return {
        "kind": "generic",
        "verbs": DEFAULT_VERBS,
        "paused": False,
        "max_in_flight": 4,
        "template": None,
        "terminated": "drop",
    }
