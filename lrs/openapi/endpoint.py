"""`GET /openapi.json`: the contract, public.

It is served without a credential, like /xapi/about: it holds no data, only what the routes
accept and answer (the same for every LRS of this version), and an integrator's contract
test or code generator needs it before it has been given a credential.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lrs import __version__
from lrs.openapi.document import openapi_document
from lrs.openapi.operations import PUBLIC, Reply, operation
from lrs.openapi.schemas import obj
from lrs.responses import XAPIResponse

DOCUMENT = obj(("openapi", "info", "paths"), openapi={"const": "3.1.0"})


@operation(
    "GET",
    "This OpenAPI 3.1 document",
    tag="meta",
    access=PUBLIC,
    ok=Reply(200, "The document", DOCUMENT),
)
async def openapi_json(request: Request) -> Response:
    return XAPIResponse(openapi_document(request.app.routes, __version__))
