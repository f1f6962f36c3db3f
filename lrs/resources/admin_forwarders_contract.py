"""The OpenAPI description of the forwarding admin API (lrs.resources.admin_forwarders):
the bodies, built from the fields and bounds `forwarders.spec` checks; the query tables the
handlers read their parameters with; the answers' schemas, examples and links.

Kept beside the handlers' module so that the handlers stay readable; the `@operation`s that
use these sit on the handlers themselves.
"""

from __future__ import annotations

from typing import Any

from forwarders.queue import STATES
from forwarders.rules import KINDS, MAX_IN_FLIGHT, MAX_LIST, TERMINATED
from forwarders.service import MAX_LIMIT
from lrs.openapi.operations import Link
from lrs.openapi.params import IntParam, TextParam
from lrs.openapi.schemas import (
    ANY_OBJECT,
    BOOLEAN,
    INTEGER,
    NUMBER,
    STRING,
    array,
    closed,
    nullable,
    obj,
)

MAX_OVERLAP_HOURS = 24 * 365
"""How long old secrets may keep signing after a rotation, at most."""

_STRINGS = array({"type": "string", "minLength": 1}, maxItems=MAX_LIST)
FORWARDER_PROPERTIES: dict[str, dict[str, Any]] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "url": {"type": "string", "format": "uri"},
    "kind": {"enum": list(KINDS)},
    "paused": BOOLEAN,
    "max_in_flight": {"type": "integer", "minimum": 1, "maximum": MAX_IN_FLIGHT},
    "secrets": array({"type": "string", "pattern": "^whsec_"}, minItems=1),
    "template": nullable(closed(obj(("csv",), csv=STRING, lookups=ANY_OBJECT, name=STRING))),
    "terminated": {"enum": list(TERMINATED)},
    "verbs": {**_STRINGS, "minItems": 1},
    "activity_ids": _STRINGS,
    "activity_prefixes": _STRINGS,
    "activity_types": _STRINGS,
}
"""Each field `forwarders.spec.parse_spec` accepts (a test holds the two key sets equal)."""
NEW_FORWARDER = closed(obj(("name", "url"), **FORWARDER_PROPERTIES))
FORWARDER_CHANGE = closed(
    obj((), **{k: v for k, v in FORWARDER_PROPERTIES.items() if k != "secrets"})
)
FORWARDER = obj(
    ("id", "name", "kind", "url", "verbs", "paused", "max_in_flight"),
    id=STRING,
    name=STRING,
    kind=STRING,
    url=STRING,
    verbs=array(STRING),
    paused=BOOLEAN,
    paused_reason=nullable(STRING),
    max_in_flight=INTEGER,
)
CREATED = {**FORWARDER, "properties": {**FORWARDER["properties"], "secret": nullable(STRING)}}
EVENT = obj(
    ("id", "forwarder_id", "statement_id", "type", "state", "attempts"),
    id=STRING,
    forwarder_id=STRING,
    statement_id=STRING,
    type=STRING,
    state={"enum": list(STATES)},
    attempts=INTEGER,
)
ATTEMPT = obj(
    ("event_id", "number", "at", "status", "outcome"),
    event_id=STRING,
    forwarder_id=STRING,
    number=INTEGER,
    at=STRING,
    status=nullable(INTEGER),
    latency_ms=NUMBER,
    outcome=STRING,
    error=nullable(STRING),
    excerpt=STRING,
)
REPLAYED = obj(("replayed",), replayed=INTEGER)
STATE_LIST = array({"enum": list(STATES)}, minItems=1)
ACTIONS = ("pause", "resume", "rotate-secret", "test", "replay")
FORWARDER_EXAMPLE = {
    "id": "0b6f3c1e-8f7a-4a57-9d55-5e2f1d0c9a41",
    "name": "marketplace",
    "kind": "marketplace",
    "url": "https://hooks.example.com/xapi",
    "verbs": ["completed", "passed"],
    "activity_ids": [],
    "activity_prefixes": ["https://courses.example.com/"],
    "activity_types": [],
    "paused": False,
    "paused_reason": None,
    "max_in_flight": 4,
}
EVENT_EXAMPLE = {
    "id": "b1946ac9-2492-5d1b-8a84-0f3e2c7c3e0b",
    "forwarder_id": FORWARDER_EXAMPLE["id"],
    "statement_id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "type": "learning.completed",
    "state": "delivered",
    "attempts": 1,
    "created": "2026-03-01T10:00:00.120000+00:00",
    "updated": "2026-03-01T10:00:00.480000+00:00",
}
ATTEMPT_EXAMPLE = {
    "event_id": EVENT_EXAMPLE["id"],
    "forwarder_id": FORWARDER_EXAMPLE["id"],
    "number": 1,
    "at": "2026-03-01T10:00:00.300000+00:00",
    "status": 200,
    "latency_ms": 182.4,
    "outcome": "delivered",
    "error": None,
    "excerpt": '{"ok": true}',
}
_BY_ID = {"forwarder_id": "$response.body#/id"}
FORWARDER_LINKS = {
    "get": Link("GET /admin/forwarders/{forwarder_id}", _BY_ID),
    "change": Link("PATCH /admin/forwarders/{forwarder_id}", _BY_ID),
    "act": Link("POST /admin/forwarders/{forwarder_id}/{action}", _BY_ID),
    "reconcile": Link("GET /admin/forwarders/{forwarder_id}/reconcile", _BY_ID),
    "delete": Link("DELETE /admin/forwarders/{forwarder_id}", _BY_ID),
}
_EVENT = {"event_id": "$response.body#/id"}
EVENT_LINKS = {
    "get": Link("GET /admin/events/{event_id}", _EVENT),
    "attempts": Link("GET /admin/events/{event_id}/attempts", _EVENT),
    "replay": Link("POST /admin/events/{event_id}/replay", _EVENT),
}
ACTION_BODY = obj(
    (),
    overlap_hours={"type": "number", "minimum": 0, "maximum": MAX_OVERLAP_HOURS, "default": 24},
    secret={"type": "string", "pattern": "^whsec_"},
    states=STATE_LIST,
)
EVENT_QUERY = (
    IntParam("limit", "Events per page", default=100, minimum=1, maximum=MAX_LIMIT),
    TextParam("before", "Events created before this instant (ISO 8601)", format="date-time"),
    TextParam("forwarder", "Only this forwarder's events (its id)"),
    TextParam("state", "Only events in this state", enum=STATES),
)
REPLAY_RANGE = obj(
    ("start", "end"),
    start={"type": "string", "format": "date-time"},
    end={"type": "string", "format": "date-time"},
    forwarder=nullable(STRING),
    states=STATE_LIST,
)
RECONCILE_QUERY = (
    TextParam("since", "From this instant (ISO 8601)", required=True, format="date-time"),
    TextParam("until", "To this instant (default now)", format="date-time"),
)
RECONCILE_BODY = closed(
    obj(
        ("since",),
        since={"type": "string", "format": "date-time"},
        until={"type": "string", "format": "date-time"},
        requeue={**BOOLEAN, "default": True},
        replay_dead={**BOOLEAN, "default": False},
    )
)
RECONCILE_REPORT = obj(
    ("forwarder", "since", "until", "qualifying", "counts", "drift"),
    forwarder=obj(("id", "name"), id=STRING, name=STRING),
    since=STRING,
    until=STRING,
    qualifying=INTEGER,
    counts={"type": "object", "additionalProperties": INTEGER},
    drift=BOOLEAN,
    requeued=nullable({"type": "object", "additionalProperties": INTEGER}),
    replayed_dead=nullable(INTEGER),
)
