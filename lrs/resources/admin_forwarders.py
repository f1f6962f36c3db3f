"""The forwarding admin API under /admin (scope `admin`): forwarders, events, replays.

Thin: parse, call `forwarders.service.ForwarderService`, shape. Secrets are write-only: a
generated secret is returned once, at creation or rotation, never listed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forwarders.queue import STATES
from forwarders.reconcile import Reconciler, parse_moment
from forwarders.rules import KINDS, MAX_IN_FLIGHT, MAX_LIST, TERMINATED
from forwarders.service import MAX_LIMIT, ForwarderService
from lrs.auth.backend import credential_of
from lrs.auth.scopes import require_admin
from lrs.openapi.operations import ADMIN_ONLY, Body, Link, Reply, operation
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
from lrs.resources.admin_credentials import record_admin_change
from lrs.resources.bodies import parse_json, read_body
from lrs.responses import XAPIResponse
from lrs.services import Services
from statements.errors import BadRequest, InvalidQuery
from statements.formats import parse_timestamp, utc_instant

MAX_ADMIN_BODY = 64 * 1024
MAX_FORWARDER_BODY = 6 * 1024 * 1024
"""A forwarder's body may carry its mapping template and lookup tables (forwarders.mapping)."""

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
    overlap_hours={"type": "number", "minimum": 0, "maximum": 24 * 365, "default": 24},
    secret={"type": "string", "pattern": "^whsec_"},
    states=STATE_LIST,
)
EVENT_QUERY = (
    IntParam("limit", "Events per page", default=100, minimum=1, maximum=MAX_LIMIT),
    TextParam("before", "Events created before this instant (ISO 8601)", format="date-time"),
    TextParam("forwarder", "Only this forwarder's events (its id)"),
    TextParam("state", "Only events in this state", enum=STATES),
)
LIMIT, BEFORE, *_ = EVENT_QUERY
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


def _service(request: Request) -> ForwarderService:
    require_admin(credential_of(request.scope))
    services: Services = request.state.services
    return services.forwarders


async def _json(request: Request, limit: int = MAX_ADMIN_BODY) -> dict[str, Any]:
    body = await read_body(request, limit)
    value = parse_json(body) if body else {}
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return value


MAX_OVERLAP_HOURS = 24 * 365


def _overlap_hours(value: Any) -> float:
    """How long old secrets keep signing after a rotation: a number of hours, 0 to a year."""
    if type(value) not in (int, float) or not 0 <= value <= MAX_OVERLAP_HOURS:
        message = f"overlap_hours must be a number from 0 to {MAX_OVERLAP_HOURS}"
        raise BadRequest(message, {"field": "overlap_hours"})
    return float(value)


def _optional_text(value: Any, name: str) -> str | None:
    """A string or nothing: never an object that would become a query operator."""
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{name} must be a string", {"field": name})
    return value


def _time(value: Any, name: str) -> datetime:
    parsed = parse_timestamp(value) if isinstance(value, str) else None
    if parsed is None:
        raise BadRequest(f"{name} must be an ISO 8601 timestamp", {"field": name})
    return utc_instant(parsed)


@operation(
    "GET",
    "Every forwarder (secrets are never listed)",
    tag="forwarders",
    access=ADMIN_ONLY,
    ok=Reply(200, "The forwarders", array(FORWARDER), [FORWARDER_EXAMPLE]),
)
async def list_forwarders(request: Request) -> Response:
    views = await _service(request).list_forwarders()
    return XAPIResponse([v.as_dict() for v in views])


@operation(
    "POST",
    "Create a forwarder (a generated secret is shown once, here)",
    tag="forwarders",
    access=ADMIN_ONLY,
    body=Body(NEW_FORWARDER, {"name": "marketplace", "url": "https://hooks.example.com/xapi"}),
    ok=Reply(
        201,
        "The forwarder, with `secret` when one was generated",
        CREATED,
        {**FORWARDER_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
        links=FORWARDER_LINKS,
    ),
)
async def create_forwarder(request: Request) -> Response:
    service = _service(request)
    created = await service.create_forwarder(await _json(request, MAX_FORWARDER_BODY))
    await record_admin_change(request, "forwarder.created", created.view.forwarder.id)
    return XAPIResponse(created.as_dict(), status_code=201)


@operation(
    "GET",
    "One forwarder",
    tag="forwarders",
    access=ADMIN_ONLY,
    ok=Reply(200, "It", FORWARDER, FORWARDER_EXAMPLE),
)
@operation(
    "PATCH",
    "Change a forwarder (any field but its secrets: see rotate-secret)",
    tag="forwarders",
    access=ADMIN_ONLY,
    body=Body(FORWARDER_CHANGE, {"paused": True}),
    ok=Reply(200, "The changed forwarder", FORWARDER, {**FORWARDER_EXAMPLE, "paused": True}),
)
@operation(
    "DELETE", "Delete a forwarder", tag="forwarders", access=ADMIN_ONLY, ok=Reply(204, "Deleted")
)
async def forwarder(request: Request) -> Response:
    service = _service(request)
    forwarder_id = request.path_params["forwarder_id"]
    if request.method == "DELETE":
        await service.delete_forwarder(forwarder_id)
        await record_admin_change(request, "forwarder.deleted", forwarder_id)
        return Response(status_code=204)
    if request.method == "PATCH":
        body = await _json(request, MAX_FORWARDER_BODY)
        view = await service.update_forwarder(forwarder_id, body)
        await record_admin_change(
            request, "forwarder.updated", forwarder_id, {"fields": sorted(body)}
        )
    else:
        view = await service.get_forwarder(forwarder_id)
    return XAPIResponse(view.as_dict())


@operation(
    "POST",
    "Pause, resume, rotate its secret, send a test event or replay its events",
    tag="forwarders",
    access=ADMIN_ONLY,
    path={"action": {"enum": list(ACTIONS)}},
    body=Body(ACTION_BODY, {"overlap_hours": 24}, required=False),
    ok=(
        Reply(
            200,
            "pause/resume: the forwarder; rotate-secret: {secret}; replay: {replayed}",
            ANY_OBJECT,
        ),
        Reply(202, "test: the queued test event", EVENT, links=EVENT_LINKS),
    ),
)
async def forwarder_action(request: Request) -> Response:
    service = _service(request)
    forwarder_id, action = request.path_params["forwarder_id"], request.path_params["action"]
    body = await _json(request)
    response = await _forwarder_action(service, forwarder_id, action, body)
    details = {"states": body.get("states", ["dead"])} if action == "replay" else None
    await record_admin_change(request, f"forwarder.{action}", forwarder_id, details)
    return response


async def _forwarder_action(
    service: ForwarderService, forwarder_id: str, action: str, body: dict[str, Any]
) -> Response:
    if action == "pause":
        return XAPIResponse((await service.pause_forwarder(forwarder_id)).as_dict())
    if action == "resume":
        return XAPIResponse((await service.resume_forwarder(forwarder_id)).as_dict())
    if action == "rotate-secret":
        overlap = timedelta(hours=_overlap_hours(body.get("overlap_hours", 24)))
        secret = await service.rotate_secret(forwarder_id, body.get("secret"), overlap)
        return XAPIResponse({"secret": secret if "secret" not in body else None})
    if action == "test":
        return XAPIResponse((await service.send_test_event(forwarder_id)).as_dict(), 202)
    if action == "replay":
        states = body.get("states", ["dead"])
        count = await service.replay_forwarder(forwarder_id, states)
        return XAPIResponse({"replayed": count})
    raise BadRequest(f"unknown action {action!r}")


@operation(
    "GET",
    "Forwarded events, newest first",
    tag="forwarders",
    access=ADMIN_ONLY,
    query=EVENT_QUERY,
    ok=Reply(200, "The events", array(EVENT), [EVENT_EXAMPLE]),
)
async def list_events(request: Request) -> Response:
    service = _service(request)
    params = request.query_params
    limit = LIMIT.read(params)
    raw_before = BEFORE.read(params)
    before = _time(raw_before, "before") if raw_before is not None else None
    records = await service.list_events(
        forwarder_id=params.get("forwarder"),
        state=params.get("state"),
        limit=limit,
        before=before,
    )
    return XAPIResponse([r.as_dict() for r in records])


@operation(
    "GET",
    "One event",
    tag="forwarders",
    access=ADMIN_ONLY,
    ok=Reply(200, "The event", EVENT, EVENT_EXAMPLE),
)
async def event(request: Request) -> Response:
    record = await _service(request).get_event(request.path_params["event_id"])
    return XAPIResponse(record.as_dict())


@operation(
    "GET",
    "Every delivery attempt of an event",
    tag="forwarders",
    access=ADMIN_ONLY,
    ok=Reply(200, "The attempts, oldest first", array(ATTEMPT), [ATTEMPT_EXAMPLE]),
)
async def event_attempts(request: Request) -> Response:
    attempts = await _service(request).list_attempts(request.path_params["event_id"])
    return XAPIResponse([a.as_dict() for a in attempts])


@operation(
    "POST",
    "Send an event again",
    tag="forwarders",
    access=ADMIN_ONLY,
    ok=Reply(200, "The event, pending again", EVENT, {**EVENT_EXAMPLE, "state": "pending"}),
)
async def replay_event(request: Request) -> Response:
    record = await _service(request).replay_event(request.path_params["event_id"])
    await record_admin_change(request, "event.replay", request.path_params["event_id"])
    return XAPIResponse(record.as_dict())


@operation(
    "POST",
    "Send again the events created in a time range",
    tag="forwarders",
    access=ADMIN_ONLY,
    body=Body(REPLAY_RANGE, {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z"}),
    ok=Reply(200, "How many events were replayed", REPLAYED, {"replayed": 12}),
)
async def replay_range(request: Request) -> Response:
    service = _service(request)
    body = await _json(request)
    count = await service.replay_range(
        _time(body.get("start"), "start"),
        _time(body.get("end"), "end"),
        forwarder_id=_optional_text(body.get("forwarder"), "forwarder"),
        states=body.get("states", ["dead"]),
    )
    details = {"start": body.get("start"), "end": body.get("end"), "replayed": count}
    await record_admin_change(request, "events.replay", body.get("forwarder"), details)
    return XAPIResponse({"replayed": count})


@operation(
    "GET",
    "Compare what should have been forwarded in a window with what was",
    tag="forwarders",
    access=ADMIN_ONLY,
    query=RECONCILE_QUERY,
    ok=Reply(200, "The report", RECONCILE_REPORT),
)
@operation(
    "POST",
    "Reconcile and act: requeue the missing events, replay dead ones if asked",
    tag="forwarders",
    access=ADMIN_ONLY,
    body=Body(RECONCILE_BODY, {"since": "2026-03-01T00:00:00Z", "replay_dead": True}),
    ok=Reply(200, "The report, with what was requeued and replayed", RECONCILE_REPORT),
)
async def reconcile(request: Request) -> Response:
    """GET reports; POST (body `{"since", "until"?, "requeue"?, "replay_dead"?}`) also acts:
    requeues the missing events (unless `requeue` is false) and replays dead ones if asked."""
    service = _service(request)
    services: Services = request.state.services
    forwarder = await service.find(request.path_params["forwarder_id"], by_name=False)
    acting = request.method == "POST"
    given: dict[str, Any] = await _json(request) if acting else dict(request.query_params)
    unknown = sorted(set(given) - (RECONCILE_FIELDS if acting else {"since", "until"}))
    if unknown:
        raise InvalidQuery(unknown[0], "unknown parameter")
    report = await Reconciler(services.identities.pipeline, clock=service.clock).reconcile(
        forwarder,
        parse_moment(given.get("since"), "since"),
        parse_moment(given["until"], "until") if given.get("until") else None,
        requeue=acting and _flag(given, "requeue", True),
        replay_dead=acting and _flag(given, "replay_dead", False),
        forwarders=await service.store.all(),
    )
    if acting:
        details = {"requeued": report.requeued, "replayed_dead": report.replayed_dead}
        await record_admin_change(request, "forwarder.reconcile", forwarder.id, details)
    return XAPIResponse(report.as_dict())


RECONCILE_FIELDS = frozenset({"since", "until", "requeue", "replay_dead"})


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false", {"field": name})
    return value


ROUTES = [
    Route("/forwarders", list_forwarders, methods=["GET"]),
    Route("/forwarders", create_forwarder, methods=["POST"]),
    Route("/forwarders/{forwarder_id}", forwarder, methods=["GET", "PATCH", "DELETE"]),
    Route("/forwarders/{forwarder_id}/reconcile", reconcile, methods=["GET", "POST"]),
    Route("/forwarders/{forwarder_id}/{action}", forwarder_action, methods=["POST"]),
    Route("/events", list_events, methods=["GET"]),
    Route("/events/replay", replay_range, methods=["POST"]),
    Route("/events/{event_id}", event, methods=["GET"]),
    Route("/events/{event_id}/attempts", event_attempts, methods=["GET"]),
    Route("/events/{event_id}/replay", replay_event, methods=["POST"]),
]
