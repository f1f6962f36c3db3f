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
from typing import Any, Literal

from forwarders.events import as_mapping
from forwarders.mapping.template import (
    KINDS_WITH_TEMPLATES,
    Template,
    default_template,
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
