"""Credential and audit admin API under /admin (scope `admin`).

    GET    /admin/credentials         every credential (never a secret or its hash)
    POST   /admin/credentials         {"name", "scopes"} -> 201 with the secret, shown once
    DELETE /admin/credentials/{key}   revoke: Basic and tokens of that key stop working
    GET    /admin/audit               ?limit=&before=&action=, newest first

Every change is audited with the admin's key and address (`record_admin_change`, which the
forwarder admin API uses too).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bson import ObjectId
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lrs.audit import MAX_LIST
from lrs.auth.backend import client_address, credential_of
from lrs.auth.credential_admin import CredentialAdmin
from lrs.auth.scopes import KNOWN_SCOPES, Credential, require_admin, unknown_scopes
from lrs.openapi.operations import ADMIN_ONLY, Body, Link, Reply, operation
from lrs.openapi.params import IntParam, TextParam
from lrs.openapi.schemas import (
    ANY_OBJECT,
    BOOLEAN,
    STRING,
    array,
    nullable,
    obj,
)
from lrs.resources.bodies import parse_json, read_body
from lrs.responses import XAPIResponse
from lrs.services import Services
from statements.errors import BadRequest, NotFound

MAX_BODY = 16 * 1024
MAX_NAME = 100
MAX_SCOPES = 16
MAX_ACTION = 64

SCOPE = {"enum": sorted(KNOWN_SCOPES)}
NEW_CREDENTIAL = obj(
    ("scopes",),
    name={"type": "string", "minLength": 1, "maxLength": MAX_NAME, "default": "client"},
    scopes=array(SCOPE, minItems=1, maxItems=MAX_SCOPES),
)
"""What `_new_credential` accepts (other fields are ignored)."""
CREDENTIAL = obj(
    ("key", "name", "scopes", "created", "revoked"),
    key=STRING,
    name=STRING,
    scopes=array(STRING),
    created=STRING,
    revoked=BOOLEAN,
)
CREATED = obj(
    ("key", "secret", "name", "scopes"),
    key=STRING,
    secret=STRING,
    name=STRING,
    scopes=array(STRING),
)
AUDIT_QUERY = (
    IntParam("limit", "Entries per page", default=100, minimum=1, maximum=MAX_LIST),
    TextParam(
        "before",
        "Entries older than this one (its `id`)",
        pattern="^[0-9a-fA-F]{24}$",
        example="6650c0ffee0000000000abcd",
    ),
    TextParam(
        "action",
        "Only this action (`credential.created`, `token.issued`, ...)",
        min_length=1,
        max_length=MAX_ACTION,
    ),
)
LIMIT, BEFORE, ACTION = AUDIT_QUERY
AUDIT_ENTRY = obj(
    ("id", "at", "actor", "action", "target", "source", "outcome", "details"),
    id=STRING,
    at=STRING,
    actor=nullable(STRING),
    action=STRING,
    target=nullable(STRING),
    source=nullable(STRING),
    outcome=nullable(STRING),
    details=nullable(ANY_OBJECT),
)


def _admin(request: Request) -> tuple[Services, Credential]:
    credential = credential_of(request.scope)
    require_admin(credential)
    services: Services = request.state.services
    return services, credential


async def record_admin_change(
    request: Request, action: str, target: str | None, details: dict[str, Any] | None = None
) -> None:
    """Audit an admin API change: who (the admin's key), what, which, from where."""
    services: Services = request.state.services
    await services.audit.record(
        actor=credential_of(request.scope).key,
        action=action,
        target=target,
        source=client_address(request.scope),
        details=details,
    )


@operation(
    "GET",
    "Every credential (never a secret or its hash)",
    tag="credentials",
    access=ADMIN_ONLY,
    ok=Reply(
        200,
        "The credentials",
        array(CREDENTIAL),
        [
            {
                "key": "8f14e45fceea167a5a36",
                "name": "reporting",
                "scopes": ["statements/read"],
                "created": "2026-03-01T09:00:00+00:00",
                "revoked": False,
            }
        ],
    ),
)
async def list_credentials(request: Request) -> Response:
    services, _ = _admin(request)
    records = await services.credentials.list()
    return XAPIResponse([dataclasses.asdict(record) for record in records])


def _new_credential(body: Any) -> tuple[str, list[str]]:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    name, scopes = body.get("name", "client"), body.get("scopes")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
        raise BadRequest(f"name must be a string of 1 to {MAX_NAME} characters", {"field": "name"})
    if (
        not isinstance(scopes, list)
        or not 0 < len(scopes) <= MAX_SCOPES
        or not all(isinstance(s, str) for s in scopes)
    ):
        raise BadRequest(
            f"scopes must be a list of 1 to {MAX_SCOPES} scope names", {"field": "scopes"}
        )
    unknown = unknown_scopes(scopes)
    if unknown:
        raise BadRequest(f"unknown scope(s): {unknown}", {"field": "scopes", "unknown": unknown})
    return name, scopes


@operation(
    "POST",
    "Create a credential; its secret is shown once, in this answer",
    tag="credentials",
    access=ADMIN_ONLY,
    body=Body(NEW_CREDENTIAL, {"name": "reporting", "scopes": ["statements/read"]}),
    ok=Reply(
        201,
        "The new credential with its secret",
        CREATED,
        {
            "key": "8f14e45fceea167a5a36",
            "secret": "Xq2v9LrT0bWm4KcZ8yNd3PfH",
            "name": "reporting",
            "scopes": ["statements/read"],
        },
        links={"revoke": Link("DELETE /admin/credentials/{key}", {"key": "$response.body#/key"})},
    ),
)
async def create_credential(request: Request) -> Response:
    services, admin = _admin(request)
    name, scopes = _new_credential(parse_json(await read_body(request, MAX_BODY)))
    key, secret = await CredentialAdmin(services.credentials, services.audit).create(
        name, scopes, actor=admin.key, source=client_address(request.scope)
    )
    body = {"key": key, "secret": secret, "name": name, "scopes": list(dict.fromkeys(scopes))}
    return XAPIResponse(body, status_code=201, headers={"Cache-Control": "no-store"})


@operation(
    "DELETE",
    "Revoke a credential: Basic and tokens of that key stop working",
    tag="credentials",
    access=ADMIN_ONLY,
    ok=Reply(204, "Revoked"),
)
async def revoke_credential(request: Request) -> Response:
    services, admin = _admin(request)
    key = request.path_params["key"]
    revoked = await CredentialAdmin(services.credentials, services.audit).revoke(
        key, actor=admin.key, source=client_address(request.scope)
    )
    if not revoked:
        raise NotFound(f"no credential {key!r}", {"key": key})
    return Response(status_code=204)


def _audit_query(request: Request) -> tuple[int, str | None, str | None]:
    params = request.query_params
    limit = LIMIT.read(params)
    before = BEFORE.read(params)
    if before is not None and not ObjectId.is_valid(before):
        raise BadRequest("before must be the id of an audit entry", {"parameter": "before"})
    action = ACTION.read(params)
    if action is not None and not 0 < len(action) <= MAX_ACTION:
        raise BadRequest(f"action must be 1 to {MAX_ACTION} characters", {"parameter": "action"})
    return limit, before, action


@operation(
    "GET",
    "The audit log, newest first",
    tag="audit",
    access=ADMIN_ONLY,
    query=AUDIT_QUERY,
    ok=Reply(
        200,
        "Audit entries",
        array(AUDIT_ENTRY),
        [
            {
                "id": "6650c0ffee0000000000abcd",
                "at": "2026-03-01T09:00:00.512000+00:00",
                "actor": "admin",
                "action": "credential.created",
                "target": "8f14e45fceea167a5a36",
                "source": "192.0.2.10",
                "outcome": "ok",
                "details": {"scopes": ["statements/read"]},
            }
        ],
    ),
)
async def list_audit(request: Request) -> Response:
    services, _ = _admin(request)
    limit, before, action = _audit_query(request)
    entries = await services.audit.list(limit=limit, before=before, action=action)
    return XAPIResponse([entry.as_dict() for entry in entries])


ROUTES = [
    Route("/credentials", list_credentials, methods=["GET"]),
    Route("/credentials", create_credential, methods=["POST"]),
    Route("/credentials/{key}", revoke_credential, methods=["DELETE"]),
    Route("/audit", list_audit, methods=["GET"]),
]
