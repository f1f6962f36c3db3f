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

from forwarders.reconcile import Reconciler, parse_moment
from forwarders.service import ForwarderService
from lrs.auth.backend import credential_of
from lrs.auth.scopes import require_admin
from lrs.openapi.operations import ADMIN_ONLY, Body, Reply, operation
from lrs.openapi.schemas import ANY_OBJECT, array
from lrs.resources.admin_credentials import record_admin_change
from lrs.resources.admin_forwarders_contract import (
    ACTION_BODY,
    ACTIONS,
    ATTEMPT,
    ATTEMPT_EXAMPLE,
    CREATED,
    EVENT,
    EVENT_EXAMPLE,
    EVENT_LINKS,
    EVENT_QUERY,
    FORWARDER,
    FORWARDER_CHANGE,
    FORWARDER_EXAMPLE,
    FORWARDER_LINKS,
    MAX_OVERLAP_HOURS,
    NEW_FORWARDER,
    RECONCILE_BODY,
    RECONCILE_QUERY,
    RECONCILE_REPORT,
    REPLAY_RANGE,
    REPLAYED,
)
from lrs.resources.bodies import parse_json, read_body
from lrs.responses import XAPIResponse
from lrs.services import Services
from statements.errors import BadRequest, InvalidQuery
from statements.formats import parse_timestamp, utc_instant

MAX_ADMIN_BODY = 64 * 1024
MAX_FORWARDER_BODY = 6 * 1024 * 1024
"""A forwarder's body may carry its mapping template and lookup tables (forwarders.mapping)."""
LIMIT, BEFORE, *_ = EVENT_QUERY


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


def overlap_hours(value: Any) -> float:
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


def parse_time(value: Any, name: str) -> datetime:
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
        overlap = timedelta(hours=overlap_hours(body.get("overlap_hours", 24)))
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
    before = parse_time(raw_before, "before") if raw_before is not None else None
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
        parse_time(body.get("start"), "start"),
        parse_time(body.get("end"), "end"),
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
