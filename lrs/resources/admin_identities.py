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
from lrs.openapi.operations import ADMIN_ONLY, Body, Reply, operation
from lrs.openapi.params import IntParam, TextParam
from lrs.openapi.schemas import ANY_OBJECT, STRING, array, nullable, obj
from lrs.resources.bodies import media_type, read_body
from lrs.responses import XAPIResponse
from lrs.services import Services
from statements.errors import BadRequest

MEDIA_TYPES: dict[str, Format] = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
}
UNMATCHED_QUERY = (
    IntParam("limit", "Events per page", default=100, minimum=1, maximum=MAX_LIMIT),
    TextParam("forwarder", "Only this forwarder's events (its id)"),
    TextParam("after", "The `more` cursor of the previous page"),
)
LIMIT, FORWARDER, AFTER = UNMATCHED_QUERY
PERSON = obj(
    ("employee_id", "emails", "accounts"),
    employee_id=STRING,
    email=nullable(STRING),
    emails=array(STRING),
    accounts=array(obj(("home_page", "name"), home_page=STRING, name=STRING)),
    manager_id=nullable(STRING),
    department=nullable(STRING),
    job_code=nullable(STRING),
    status=nullable(STRING),
)
IMPORT_EXAMPLE = "employee_id,email,department\nE100,ada@example.com,Engineering\n"


def _service(request: Request) -> IdentityService:
    require_admin(credential_of(request.scope))
    services: Services = request.state.services
    return services.identities


@operation(
    "POST",
    "Import HRIS people: the body is the file, CSV or JSON Lines (docs/identity.md)",
    tag="identities",
    access=ADMIN_ONLY,
    body=Body({"description": "The file's text"}, IMPORT_EXAMPLE, media_types=sorted(MEDIA_TYPES)),
    ok=Reply(200, "The import report (rows, errors by line, events re-driven)", ANY_OBJECT),
)
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


@operation(
    "GET",
    "One person from the HRIS import",
    tag="identities",
    access=ADMIN_ONLY,
    ok=Reply(
        200,
        "The person",
        PERSON,
        {
            "employee_id": "E100",
            "email": "ada@example.com",
            "emails": ["ada@example.com"],
            "accounts": [{"home_page": "https://sso.example.com", "name": "ada"}],
            "manager_id": "E001",
            "department": "Engineering",
            "job_code": "ENG2",
            "status": "active",
        },
    ),
)
async def person(request: Request) -> Response:
    found = await _service(request).get_person(request.path_params["employee_id"])
    return XAPIResponse(found.as_dict())


@operation(
    "GET",
    "Events held back because their learner matched no HRIS person",
    tag="identities",
    access=ADMIN_ONLY,
    query=UNMATCHED_QUERY,
    ok=Reply(
        200,
        "A page of events; `more` is the next page's cursor",
        obj(("events", "more"), events=array(ANY_OBJECT), more=nullable(STRING)),
    ),
)
async def unmatched(request: Request) -> Response:
    service = _service(request)
    params = request.query_params
    page = await service.list_unmatched(
        forwarder_id=FORWARDER.read(params), limit=LIMIT.read(params), after=AFTER.read(params)
    )
    return XAPIResponse(page.as_dict())


ROUTES = [
    Route("/identities", import_people, methods=["POST"]),
    Route("/identities/{employee_id}", person, methods=["GET"]),
    Route("/unmatched", unmatched, methods=["GET"]),
]
