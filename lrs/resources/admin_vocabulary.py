"""`/admin/vocabulary` (scope `admin`): the canonical vocabulary in force, and the operator's
extension on top of the packaged default (PUT replaces it, DELETE removes it).

A change applies to statements stored from then on (every process reads it within a few
seconds); each statement keeps the version it was classified under."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lrs.auth.backend import credential_of
from lrs.auth.scopes import require_admin
from lrs.openapi.operations import ADMIN_ONLY, Body, Reply, operation
from lrs.openapi.schemas import ANY_OBJECT, STRING, array, obj
from lrs.resources.admin_credentials import record_admin_change
from lrs.resources.bodies import parse_json, read_body
from lrs.responses import XAPIResponse
from lrs.services import Services

MAX_VOCABULARY_BODY = 2 * 1024 * 1024
VOCABULARY = obj(
    ("version", "canonical", "aliases", "rules", "strict_categories"),
    version=STRING,
    canonical=array(STRING),
    aliases=ANY_OBJECT,
    rules=ANY_OBJECT,
    strict_categories=array(STRING),
)
"""The file format of `statements.vocabulary` (`as_document`, read back by `parse_vocabulary`)."""
IN_FORCE = Reply(200, "The vocabulary in force (default and extension merged)", VOCABULARY)
EXTENSION_EXAMPLE = {
    "version": "acme-1",
    "aliases": {"completed": [{"iri": "https://acme.example/verbs/finished"}]},
}


@operation("GET", "The vocabulary in force", tag="vocabulary", access=ADMIN_ONLY, ok=IN_FORCE)
@operation(
    "PUT",
    "Replace the operator's extension (docs/analytics.md: the file format)",
    tag="vocabulary",
    access=ADMIN_ONLY,
    body=Body(ANY_OBJECT, EXTENSION_EXAMPLE),
    ok=IN_FORCE,
)
@operation(
    "DELETE",
    "Remove the operator's extension: the packaged default alone is in force",
    tag="vocabulary",
    access=ADMIN_ONLY,
    ok=IN_FORCE,
)
async def vocabulary(request: Request) -> Response:
    require_admin(credential_of(request.scope))
    services: Services = request.state.services
    registry = services.analytics.vocabulary
    if request.method == "PUT":
        document = parse_json(await read_body(request, MAX_VOCABULARY_BODY))
        current = await registry.put_extension(document)
        await record_admin_change(request, "vocabulary.updated", current.version)
    elif request.method == "DELETE":
        current = await registry.delete_extension()
        await record_admin_change(request, "vocabulary.reset", current.version)
    else:
        current = await registry.refresh(force=True)
    return XAPIResponse(current.as_document())


ROUTES = [Route("/vocabulary", vocabulary, methods=["GET", "PUT", "DELETE"])]
