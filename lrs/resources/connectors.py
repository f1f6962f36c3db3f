"""Conferencing connectors over HTTP: the admin API and the providers' door.

    POST   /admin/connectors            create (201: id, url, ...; the secret is never shown)
    GET    /admin/connectors            list
    GET    /admin/connectors/{ref}      one, with its delivery counters (by id or name)
    DELETE /admin/connectors/{ref}      remove it and its inbox
    POST   /admin/connectors/{ref}/attendance-report   import a Teams attendance report
    POST   /admin/connectors/{ref}/reconcile   fill webhook gaps from a provider's report
    POST   /connectors/{connector_id}   the provider's webhook

The webhook route carries no LRS credential (`lrs.http.admission` does not guard /connectors/):
the provider's signature authenticates it, and nothing beyond a bounded read of the body
happens before `ConnectorService.receive` has checked that signature.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from connectors.model import KINDS
from connectors.service import MAX_DELIVERY_BYTES, ConnectorService
from connectors.spec import MAX_MAPPING, MAX_NAME, MAX_SECRET
from lrs.auth.backend import credential_of
from lrs.auth.scopes import require_admin
from lrs.errors import error_response
from lrs.openapi.operations import ADMIN_ONLY, PUBLIC, Body, Link, Reply, operation
from lrs.openapi.params import TextParam
from lrs.openapi.schemas import ANY_OBJECT, STRING, array, closed, nullable, obj
from lrs.resources.admin_credentials import record_admin_change
from lrs.resources.bodies import parse_json, read_body
from lrs.responses import XAPIResponse
from lrs.services import Services
from statements.errors import BadRequest, PayloadTooLarge, Unauthenticated

MAX_ADMIN_BODY = 2 * 1024 * 1024
"""A definition may carry a mapping table of meetings to course activities."""
MAX_MEETING_REF = 1024
PROVIDER_CHALLENGES = {
    "zoom": 'Zoom-Signature realm="connectors", headers="x-zm-signature x-zm-request-timestamp"',
    "webex": 'Webex-Signature realm="connectors", headers="x-spark-signature"',
    "teams": 'Graph-ClientState realm="connectors"',
}
CONNECTOR = obj(
    ("id", "name", "kind"),
    id=STRING,
    name=STRING,
    kind=STRING,
    activity_template=nullable(STRING),
    mapping=nullable(ANY_OBJECT),
    url=STRING,
)
_REF = {"ref": "$response.body#/id"}
CONNECTOR_LINKS = {
    "get": Link("GET /admin/connectors/{ref}", _REF),
    "report": Link("POST /admin/connectors/{ref}/attendance-report", _REF),
    "webhook": Link("POST /connectors/{connector_id}", {"connector_id": "$response.body#/id"}),
    "delete": Link("DELETE /admin/connectors/{ref}", _REF),
}
_IRI = {"type": "string", "format": "uri", "pattern": "^https?://"}
DEFINITION_PROPERTIES: dict[str, dict[str, Any]] = {
    "kind": {"enum": list(KINDS)},
    "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME},
    "secret": {"type": "string", "minLength": 1, "maxLength": MAX_SECRET},
    "activity_template": {**_IRI, "description": "An activity IRI with `{meeting_id}` in it"},
    "completion_threshold": {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 1,
        "default": 0.75,
    },
    "mapping": nullable(
        {"type": "object", "additionalProperties": _IRI, "maxProperties": MAX_MAPPING}
    ),
}
"""Each field `connectors.spec.parse_definition` accepts (a test holds the key sets equal)."""
DEFINITION = closed(obj(("kind", "name", "secret", "activity_template"), **DEFINITION_PROPERTIES))
CONNECTOR_EXAMPLE = {
    "id": "c0nn3c70r1d",
    "name": "zoom-sales",
    "kind": "zoom",
    "activity_template": "https://meetings.example.com/zoom/{meeting_id}",
    "completion_threshold": 0.75,
    "mapping": {},
    "url": "https://lrs.example.com/connectors/c0nn3c70r1d",
}
DEFINITION_EXAMPLE = {
    "name": "zoom-sales",
    "kind": "zoom",
    "secret": "the app's secret token",
    "activity_template": "https://meetings.example.com/zoom/{meeting_id}",
}


def _connectors(request: Request) -> ConnectorService:
    services: Services = request.state.services
    assert services.connectors is not None  # noqa: S101 - the lifespan sets it
    return services.connectors


def _admin(request: Request) -> ConnectorService:
    require_admin(credential_of(request.scope))
    return _connectors(request)


async def _object(request: Request) -> dict[str, Any]:
    value = parse_json(await read_body(request, MAX_ADMIN_BODY))
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return value


@operation(
    "GET",
    "Every conferencing connector",
    tag="connectors",
    access=ADMIN_ONLY,
    ok=Reply(200, "The connectors", array(CONNECTOR), [CONNECTOR_EXAMPLE]),
)
async def list_connectors(request: Request) -> Response:
    return XAPIResponse(await _admin(request).list())


@operation(
    "POST",
    "Create a connector (Zoom, Teams, ...; docs/connectors.md); its secret is never shown",
    tag="connectors",
    access=ADMIN_ONLY,
    body=Body(DEFINITION, DEFINITION_EXAMPLE),
    ok=Reply(
        201,
        "The connector, with the webhook `url` to give the provider",
        CONNECTOR,
        CONNECTOR_EXAMPLE,
        links=CONNECTOR_LINKS,
    ),
)
async def create_connector(request: Request) -> Response:
    service = _admin(request)
    created = await service.create(await _object(request))
    await record_admin_change(request, "connector.created", created["id"])
    return XAPIResponse(created, status_code=201)


@operation(
    "GET",
    "One connector (by id or name), with its delivery counters",
    tag="connectors",
    access=ADMIN_ONLY,
    ok=Reply(200, "The connector", CONNECTOR, CONNECTOR_EXAMPLE),
)
@operation(
    "DELETE",
    "Remove a connector and its inbox",
    tag="connectors",
    access=ADMIN_ONLY,
    ok=Reply(204, "Removed"),
)
async def connector(request: Request) -> Response:
    service = _admin(request)
    ref = request.path_params["ref"]
    if request.method == "DELETE":
        await service.delete(ref)
        await record_admin_change(request, "connector.deleted", ref)
        return Response(status_code=204)
    return XAPIResponse(await service.view(ref))


@operation(
    "POST",
    "Import a Teams attendance report (or any provider's, in the same shape)",
    tag="connectors",
    access=ADMIN_ONLY,
    body=Body(ANY_OBJECT),
    ok=Reply(202, "What was queued for processing", ANY_OBJECT),
)
async def import_report(request: Request) -> Response:
    service = _admin(request)
    ref = request.path_params["ref"]
    imported = await service.import_report(ref, await _object(request))
    await record_admin_change(request, "connector.report_imported", ref, imported)
    return XAPIResponse(imported, status_code=202)


@operation(
    "POST",
    "Reconcile a meeting with the provider's attendance report (docs/connectors.md)",
    tag="connectors",
    access=ADMIN_ONLY,
    body=Body(
        obj(
            ("meeting", "report"),
            meeting={"type": "string", "minLength": 1, "maxLength": MAX_MEETING_REF},
            report=ANY_OBJECT,
            dry_run={"type": "boolean", "default": False},
        ),
        {"meeting": "85746065432", "report": {"participants": []}, "dry_run": True},
    ),
    ok=Reply(
        200,
        "What changed (or, in a dry run, would change)",
        obj(
            ("connector", "meeting", "instance", "dry_run", "changes"),
            connector=STRING,
            meeting=STRING,
            instance=STRING,
            dry_run={"type": "boolean"},
            changes=array(ANY_OBJECT),
        ),
    ),
)
async def reconcile(request: Request) -> Response:
    """`{"meeting": ID, "report": {...}, "dry_run": false}` → what changed (or would)."""
    service = _admin(request)
    ref = request.path_params["ref"]
    body = await _object(request)
    meeting, dry_run = body.get("meeting"), body.get("dry_run", False)
    if not isinstance(meeting, str) or not 0 < len(meeting) <= MAX_MEETING_REF:
        raise BadRequest(
            f"meeting must be a string of 1 to {MAX_MEETING_REF} characters", {"field": "meeting"}
        )
    if not isinstance(dry_run, bool):
        raise BadRequest("dry_run must be true or false", {"field": "dry_run"})
    done = await service.reconcile(ref, meeting, body.get("report"), dry_run=dry_run)
    if not dry_run:
        summary = {"instance": done["instance"], "changes": len(done["changes"])}
        await record_admin_change(request, "connector.reconciled", ref, summary)
    return XAPIResponse(done)


@operation(
    "POST",
    "The provider's webhook (authenticated by the provider's signature, not a credential)",
    tag="connectors",
    access=PUBLIC,
    query=(TextParam("validationToken", "Microsoft Graph's subscription validation"),),
    body=Body(ANY_OBJECT, required=False),
    ok=(
        Reply(
            200,
            "Stored (JSON), or a URL validation answered (Graph: the token as text/plain)",
            {},
            media_types=("application/json", "text/plain"),
        ),
        Reply(202, "Ignored: an event kind the connector does not use", ANY_OBJECT),
    ),
    errors=(401,),
)
async def receive(request: Request) -> Response:
    service = _connectors(request)
    found = await service.connector(request.path_params["connector_id"])
    try:
        body = await read_body(request, MAX_DELIVERY_BYTES)
    except PayloadTooLarge:
        service.rejected(found.kind, "too_large")
        raise
    if "validationToken" in request.query_params:
        token = service.graph_validation(found, request.query_params["validationToken"])
        return PlainTextResponse(token)
    try:
        reply = await service.receive(found, request.headers, body)
    except Unauthenticated as error:
        return _unsigned(found.kind, error)
    return XAPIResponse(reply.body, status_code=reply.status)


def _unsigned(kind: str, error: Unauthenticated) -> Response:
    """A provider's delivery without a valid signature: 401 (RFC 9110 asks for a challenge)
    naming the provider's signature scheme, never the LRS's Basic realm, which would invite
    a browser's password prompt and suggest credentials this door does not take."""
    response = error_response(error)
    response.headers["WWW-Authenticate"] = PROVIDER_CHALLENGES[kind]
    return response


ADMIN_ROUTES = [
    Route("/connectors", list_connectors, methods=["GET"]),
    Route("/connectors", create_connector, methods=["POST"]),
    Route("/connectors/{ref}", connector, methods=["GET", "DELETE"]),
    Route("/connectors/{ref}/attendance-report", import_report, methods=["POST"]),
    Route("/connectors/{ref}/reconcile", reconcile, methods=["POST"]),
]
ROUTES = [Route("/connectors/{connector_id}", receive, methods=["POST"])]
