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
from lrs.auth.scopes import Credential, require_admin, unknown_scopes
from lrs.resources.bodies import parse_json, read_body
from lrs.responses import XAPIResponse
from lrs.services import Services
from statements.errors import BadRequest, NotFound
from statements.int_params import parse_int_param

MAX_BODY = 16 * 1024
MAX_NAME = 100
MAX_SCOPES = 16
MAX_ACTION = 64


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


async def create_credential(request: Request) -> Response:
    services, admin = _admin(request)
    name, scopes = _new_credential(parse_json(await read_body(request, MAX_BODY)))
    key, secret = await CredentialAdmin(services.credentials, services.audit).create(
        name, scopes, actor=admin.key, source=client_address(request.scope)
    )
    body = {"key": key, "secret": secret, "name": name, "scopes": list(dict.fromkeys(scopes))}
    return XAPIResponse(body, status_code=201, headers={"Cache-Control": "no-store"})


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
    limit = parse_int_param("limit", params.get("limit"), default=100, minimum=1, maximum=MAX_LIST)
    before = params.get("before")
    if before is not None and not ObjectId.is_valid(before):
        raise BadRequest("before must be the id of an audit entry", {"parameter": "before"})
    action = params.get("action")
    if action is not None and not 0 < len(action) <= MAX_ACTION:
        raise BadRequest(f"action must be 1 to {MAX_ACTION} characters", {"parameter": "action"})
    return limit, before, action


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
