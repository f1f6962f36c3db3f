"""Forwarder configuration and the rule that decides which statements it reacts to.

A forwarder reacts to a statement when the verb is one of its verbs (default: ADL
`completed` and `passed`) and the object is an Activity passing its activity filters:
- the id filter: the id is one of `activity_ids` or starts with one of `activity_prefixes`
  (either list set means the filter applies; the two lists are alternatives);
- the type filter: `object.definition.type` is one of `activity_types`.
Both filters must hold when both are set. Only the statement's own object counts (not its
context activities, not definitions stored from other statements): the decision is a pure
function of the statement, so a backfill decides exactly as the live path did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from forwarders.errors import InvalidForwarder

Kind = Literal["marketplace", "crm", "generic"]
KINDS: tuple[Kind, ...] = ("marketplace", "crm", "generic")
ADL = "http://adlnet.gov/expapi/verbs/"
DEFAULT_VERBS = (ADL + "completed", ADL + "passed")
MAX_IN_FLIGHT = 64
MAX_LIST = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SigningSecret:
    """A `whsec_` secret; during a rotation the old one gets an `expires` and both sign."""

    id: str
    value: str
    added: datetime
    expires: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expires is None or self.expires > now


@dataclass(frozen=True, slots=True)
class Forwarder:
    id: str
    name: str
    url: str
    kind: Kind = "generic"
    verbs: tuple[str, ...] = DEFAULT_VERBS
    activity_ids: tuple[str, ...] = ()
    activity_prefixes: tuple[str, ...] = ()
    activity_types: tuple[str, ...] = ()
    paused: bool = False
    paused_reason: str | None = None
    max_in_flight: int = 4
    """Deliveries in flight at once, per worker: a slow receiver only holds its own lanes."""
    secrets: tuple[SigningSecret, ...] = ()
    created: datetime = EPOCH

    def signing_secrets(self, now: datetime) -> list[str]:
        return [s.value for s in self.secrets if s.active(now)]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def matches(forwarder: Forwarder, statement: Mapping[str, Any]) -> bool:
    verb = _mapping(statement.get("verb")).get("id")
    if verb not in forwarder.verbs:
        return False
    obj = _mapping(statement.get("object"))
    if obj.get("objectType", "Activity") != "Activity":
        return False
    activity_id = obj.get("id")
    if not isinstance(activity_id, str):
        return False
    if (forwarder.activity_ids or forwarder.activity_prefixes) and not (
        activity_id in forwarder.activity_ids
        or any(activity_id.startswith(p) for p in forwarder.activity_prefixes)
    ):
        return False
    if forwarder.activity_types:
        return _mapping(obj.get("definition")).get("type") in forwarder.activity_types
    return True


# -- validation of what the admin API receives ----------------------------------------------

_LISTS = ("verbs", "activity_ids", "activity_prefixes", "activity_types")
FIELDS = frozenset({"name", "url", "kind", "paused", "max_in_flight", "secrets", *_LISTS})


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
    fields = {name: _field(name, value) for name, value in data.items()}
    if "verbs" in fields and not fields["verbs"]:
        raise InvalidForwarder("verbs", "must name at least one verb")
    return fields


def spec_defaults() -> dict[str, Any]:
    return {"kind": "generic", "verbs": DEFAULT_VERBS, "paused": False, "max_in_flight": 4}


def normalise_lists(fields: Mapping[str, Any]) -> dict[str, Sequence[str]]:
    return {name: list(fields[name]) for name in _LISTS if name in fields}
