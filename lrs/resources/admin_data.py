"""The data-protection admin API under /admin (scope `admin`): erasure and retention.

    POST /admin/erasure    {"agent": {...}, "dry_run": false}  -> the erasure report
    POST /admin/retention  {"dry_run": true}                   -> the retention report

Thin: parse, call `lrs.erasure` / `lrs.retention`, shape. Both are audit-logged there.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lrs.auth.backend import credential_of
from lrs.auth.scopes import require_admin
from lrs.erasure import parse_agent, run_erasure
from lrs.openapi.operations import ADMIN_ONLY, Body, Reply, operation
from lrs.openapi.schemas import ANY_OBJECT, BOOLEAN, INTEGER, STRING, array, closed, nullable, obj
from lrs.resources.bodies import parse_json, read_body
from lrs.responses import XAPIResponse
from lrs.retention import run_retention
from lrs.services import Services
from statements.errors import BadRequest

MAX_BODY = 64 * 1024
FIELD_SCHEMAS = {
    "agent": {**ANY_OBJECT, "description": "An xAPI Agent or identified Group"},
    "dry_run": {**BOOLEAN, "default": False},
}
BODY_FIELDS = {"erasure": {"agent", "dry_run"}, "retention": {"dry_run"}}
"""The fields each body may hold: `_body` refuses any other, and the document lists these."""
REQUIRED = {"erasure": ("agent",), "retention": ()}


def body_schema(kind: str) -> dict[str, Any]:
    fields = sorted(BODY_FIELDS[kind])
    return closed(obj(REQUIRED[kind], **{name: FIELD_SCHEMAS[name] for name in fields}))


ERASURE_REPORT = obj(
    ("agent", "keys", "dry_run", "pseudonym", "counts"),
    agent=STRING,
    keys=array(STRING),
    dry_run=BOOLEAN,
    pseudonym=nullable(ANY_OBJECT),
    counts={"type": "object", "additionalProperties": INTEGER},
)
RETENTION_REPORT = obj(
    ("dry_run", "statement_cutoff", "delivery_cutoff", "statements_deleted"),
    dry_run=BOOLEAN,
    statement_cutoff=nullable(STRING),
    delivery_cutoff=nullable(STRING),
    statements_deleted=INTEGER,
    voiding_kept=INTEGER,
    attachments_deleted=INTEGER,
    forwarder_events_deleted=INTEGER,
)


async def _body(request: Request, kind: str) -> dict[str, Any]:
    body = await read_body(request, MAX_BODY)
    value = parse_json(body) if body else {}
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = sorted(set(value) - BODY_FIELDS[kind])
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}", {"field": unknown[0]})
    if not isinstance(value.get("dry_run", False), bool):
        raise BadRequest("dry_run must be true or false", {"field": "dry_run"})
    return value


def _who(request: Request) -> tuple[str, str | None]:
    credential = credential_of(request.scope)
    require_admin(credential)
    return credential.key, request.client.host if request.client else None


@operation(
    "POST",
    "Erase an agent (GDPR): delete or pseudonymise every mention of it",
    tag="data",
    access=ADMIN_ONLY,
    body=Body(
        body_schema("erasure"),
        {"agent": {"mbox": "mailto:ada@example.com"}, "dry_run": True},
    ),
    ok=Reply(200, "What was (or, in a dry run, would be) erased", ERASURE_REPORT),
)
async def erasure(request: Request) -> Response:
    actor, source = _who(request)
    body = await _body(request, "erasure")
    if "agent" not in body:
        raise BadRequest("agent is required", {"field": "agent"})
    agent = parse_agent(body["agent"])
    services: Services = request.state.services
    report = await run_erasure(
        services.client[services.settings.database],
        services.settings,
        services.audit,
        agent,
        dry_run=body.get("dry_run", False),
        actor=actor,
        source=source,
    )
    return XAPIResponse(report.as_dict())


@operation(
    "POST",
    "Apply the retention policy now (LRS_RETENTION_*)",
    tag="data",
    access=ADMIN_ONLY,
    body=Body(body_schema("retention"), {"dry_run": True}, required=False),
    ok=Reply(
        200,
        "What was (or, in a dry run, would be) deleted",
        RETENTION_REPORT,
        {
            "dry_run": True,
            "statement_cutoff": "2023-03-01T00:00:00.000Z",
            "delivery_cutoff": None,
            "statements_deleted": 420,
            "voiding_kept": 2,
            "attachments_deleted": 3,
            "forwarder_events_deleted": 0,
        },
    ),
)
async def retention(request: Request) -> Response:
    actor, source = _who(request)
    body = await _body(request, "retention")
    services: Services = request.state.services
    report = await run_retention(
        services.client[services.settings.database],
        services.settings,
        services.audit,
        dry_run=body.get("dry_run", False),
        actor=actor,
        source=source,
    )
    return XAPIResponse(report.as_dict())


ROUTES = [
    Route("/erasure", erasure, methods=["POST"]),
    Route("/retention", retention, methods=["POST"]),
]
