"""The document resources: State (/activities/state), Activity Profile (/activities/profile)
and Agent Profile (/agents/profile). 1.0.3 Communication 2.2, 2.3, 2.6, 2.7 and 3.1; 2.0
4.1.4, 4.1.6.2, 4.1.6.5 and 4.1.6.6.

Handlers parse the parameters and headers, hand a pure plan (`statements.documents`) to the
store, which applies it atomically, and shape the response: documents come back byte for
byte with the Content-Type they were stored with, a quoted SHA-1 `ETag` and `Last-Modified`.
Scopes: `state` for the State Resource, `profile` for both profile resources; `all` for
everything and `all/read` for GET and HEAD.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from functools import partial
from typing import ClassVar

import orjson
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import Response

from lrs.auth.backend import credential_of
from lrs.auth.scopes import PROFILE, STATE, require
from lrs.http.security_headers import DOWNLOAD
from lrs.resources.bodies import read_body
from lrs.services import Services
from statements.document_params import DocumentParams, Method, parse_document_params
from statements.documents import (
    DEFAULT_CONTENT_TYPE,
    DocumentContent,
    DocumentKey,
    DocumentKind,
    Preconditions,
    check_preconditions,
    etag_of,
    parse_preconditions,
    plan_post,
    plan_put,
    quoted,
    read_posted,
)
from statements.errors import BadRequest, NotFound
from statements.formats import is_mime_type
from statements.types import SpecVersion

MAX_DOCUMENT_BYTES = 15 * 1024 * 1024
"""Largest document stored (413 beyond, or beyond LRS_MAX_BODY_BYTES when that is lower):
it must fit, with its key, in one 16 MiB BSON document."""


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


class _DocumentResource(HTTPEndpoint):
    kind: ClassVar[DocumentKind]
    scope_name: ClassVar[str]

    async def get(self, request: Request) -> Response:
        services, params, _ = self._parse(request, "GET")
        if params.document_id is None:
            return await _document_ids(services, params)
        key = DocumentKey(params.scope, params.document_id)
        document = await services.documents.get_document(key)
        if document is None:
            raise NotFound(f"no document with this id ({params.document_id!r}) here")
        headers = {
            "Content-Type": _served_type(document.content_type),
            "ETag": quoted(document.etag),
            "Last-Modified": http_date(document.updated),
            **DOWNLOAD,
        }
        return Response(document.content, headers=headers)

    async def put(self, request: Request) -> Response:
        services, params, version = self._parse(request, "PUT")
        body = await _read_document(services, request)
        content = DocumentContent(body, _content_type(request))
        plan = partial(plan_put, content, _preconditions(request), kind=self.kind, version=version)
        stored = await services.documents.write_document(_key(params), plan, needs_content=False)
        return Response(status_code=204, headers={"ETag": quoted(stored.etag)})

    async def post(self, request: Request) -> Response:
        services, params, _ = self._parse(request, "POST")
        posted = read_posted(await _read_document(services, request), _content_type(request))
        plan = partial(plan_post, posted, _preconditions(request))
        stored = await services.documents.write_document(_key(params), plan, needs_content=True)
        return Response(status_code=204, headers={"ETag": quoted(stored.etag)})

    async def delete(self, request: Request) -> Response:
        services, params, _ = self._parse(request, "DELETE")
        if params.document_id is None:
            await services.documents.delete_documents(params.scope)
            return Response(status_code=204)
        pre = _preconditions(request)
        check = partial(check_preconditions, pre) if pre.given else None
        await services.documents.delete_document(_key(params), check)
        return Response(status_code=204)

    def _parse(
        self, request: Request, method: Method
    ) -> tuple[Services, DocumentParams, SpecVersion]:
        services: Services = request.state.services
        version: SpecVersion = request.scope["state"]["xapi_version"]
        require(credential_of(request.scope), read=method == "GET", scopes=[self.scope_name])
        items = request.query_params.multi_items()
        return services, parse_document_params(self.kind, method, items, version), version


class StateResource(_DocumentResource):
    kind = "state"
    scope_name = STATE


class ActivityProfileResource(_DocumentResource):
    kind = "activity_profile"
    scope_name = PROFILE


class AgentProfileResource(_DocumentResource):
    kind = "agent_profile"
    scope_name = PROFILE


def _key(params: DocumentParams) -> DocumentKey:
    assert params.document_id is not None  # noqa: S101 - parse_document_params requires it
    return DocumentKey(params.scope, params.document_id)


def _content_type(request: Request) -> str:
    """The Content-Type to store: every GET of the document echoes it, so it must be a media
    type (a header value); anything else would break those answers, or inject headers."""
    value = request.headers.get("content-type") or DEFAULT_CONTENT_TYPE
    if not is_mime_type(value):
        raise BadRequest(
            f"Content-Type {value!r} is not a media type (type/subtype; parameter=value)",
            {"rule": "document.content_type"},
        )
    return value


def _served_type(stored: str) -> str:
    """A stored Content-Type, unless it could not be a header (stored before the check)."""
    return stored if is_mime_type(stored) else DEFAULT_CONTENT_TYPE


def _preconditions(request: Request) -> Preconditions:
    return parse_preconditions(
        request.headers.get("if-match"), request.headers.get("if-none-match")
    )


async def _read_document(services: Services, request: Request) -> bytes:
    return await read_body(request, min(MAX_DOCUMENT_BYTES, services.settings.max_body_bytes))


async def _document_ids(services: Services, params: DocumentParams) -> Response:
    """The ids of a scope as a JSON array, `Last-Modified` the newest of them."""
    ids, latest = await services.documents.list_document_ids(params.scope, params.since)
    headers = {} if latest is None else {"Last-Modified": http_date(latest)}
    return tagged_json(ids, headers)


def tagged_json(value: object, headers: dict[str, str] | None = None) -> Response:
    """A JSON body with its strong ETag (every GET of a resource with concurrency controls)."""
    body = orjson.dumps(value)
    tagged = {"ETag": quoted(etag_of(body)), **(headers or {})}
    return Response(body, headers=tagged, media_type="application/json")
