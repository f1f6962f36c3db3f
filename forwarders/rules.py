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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from forwarders.errors import InvalidForwarder
from forwarders.events import as_mapping
from forwarders.mapping.template import (
    KINDS_WITH_TEMPLATES,
    Template,
    default_template,
    load_template,
)

Kind = Literal["marketplace", "crm", "generic"]
KINDS: tuple[Kind, ...] = ("marketplace", "crm", "generic")
Terminated = Literal["drop", "send"]
TERMINATED: tuple[Terminated, ...] = ("drop", "send")
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
    template: Template | None = None
    """The mapping template; None: the shipped default of the kind (unused for generic)."""
    terminated: Terminated = "drop"
    """Events of a terminated person: dropped, or still sent."""

    def signing_secrets(self, now: datetime) -> list[str]:
        return [s.value for s in self.secrets if s.active(now)]

    def mapping_template(self) -> Template | None:
        """The template payloads are rendered with: None for a generic forwarder."""
        if self.kind not in KINDS_WITH_TEMPLATES:
            return None
        return self.template or default_template(self.kind)


def matches(forwarder: Forwarder, statement: Mapping[str, Any]) -> bool:
    verb = as_mapping(statement.get("verb")).get("id")
    if verb not in forwarder.verbs:
        return False
    obj = as_mapping(statement.get("object"))
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
        return as_mapping(obj.get("definition")).get("type") in forwarder.activity_types
    return True


# -- validation of what the admin API receives ----------------------------------------------

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
