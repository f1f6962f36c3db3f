"""The identity admin API under /admin (scope `admin`): HRIS imports, people, unmatched events.

Thin: parse, call `forwarders.identity.service.IdentityService`, shape.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forwarders.identity.import_file import Format
from forwarders.identity.service import MAX_LIMIT, IdentityService
from lrs.auth.backend import credential_of
from lrs.auth.scopes import require_admin
from lrs.resources.bodies import media_type, read_body
from lrs.responses import XAPIResponse
from lrs.services import Services
from statements.errors import BadRequest
from statements.int_params import parse_int_param

MEDIA_TYPES: dict[str, Format] = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
}


def _service(request: Request) -> IdentityService:
    require_admin(credential_of(request.scope))
    services: Services = request.state.services
    return services.identities


async def import_people(request: Request) -> Response:
    """The body is the file: text/csv or application/x-ndjson (JSON Lines)."""
    service = _service(request)
    fmt = MEDIA_TYPES.get(media_type(request))
    if fmt is None:
        raise BadRequest(
            "Content-Type must be text/csv or application/x-ndjson",
            {"rule": "content_type", "accepted": sorted(MEDIA_TYPES)},
        )
    body = await read_body(request, service.max_import_bytes)
    return XAPIResponse(await service.import_people(body, fmt))


async def person(request: Request) -> Response:
    found = await _service(request).get_person(request.path_params["employee_id"])
    return XAPIResponse(found.as_dict())


async def unmatched(request: Request) -> Response:
    service = _service(request)
    params = request.query_params
    limit = parse_int_param("limit", params.get("limit"), default=100, minimum=1, maximum=MAX_LIMIT)
    page = await service.list_unmatched(
        forwarder_id=params.get("forwarder"), limit=limit, after=params.get("after")
    )
    return XAPIResponse(page.as_dict())


ROUTES = [
    Route("/identities", import_people, methods=["POST"]),
    Route("/identities/{employee_id}", person, methods=["GET"]),
    Route("/unmatched", unmatched, methods=["GET"]),
]
