"""The Statement Resource: /xapi/statements (1.0.3 Communication 2.1, 2.0 4.1.6.1).

Handlers parse the request, call the domain and the store, and shape the response.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import Response

from lrs.auth.backend import credential_of
from lrs.auth.scopes import STATEMENTS_WRITE, Credential, require, statement_read_mode
from lrs.http.middleware import CONSISTENT_THROUGH
from lrs.ingest import store_statements
from lrs.resources.bodies import read_statements_body
from lrs.resources.statement_output import (
    iso_ms,
    json_or_multipart,
    last_modified,
    render_statement,
    result_body,
)
from lrs.services import Services
from statements.canonical import parse_accept_language
from statements.errors import BadRequest, NotFound
from statements.formats import is_uuid
from statements.index import agent_key
from statements.query import SingleStatementRequest, more_params, parse_statement_params
from statements.types import SpecVersion, StatementQuery, StoredStatement


def _context(request: Request) -> tuple[Services, Credential, SpecVersion]:
    services: Services = request.state.services
    return services, credential_of(request.scope), request.scope["state"]["xapi_version"]


class StatementsResource(HTTPEndpoint):
    async def put(self, request: Request) -> Response:
        services, credential, version = _context(request)
        require(credential, read=False, scopes=[STATEMENTS_WRITE])
        statement_id = request.query_params.get("statementId")
        if statement_id is None or not is_uuid(statement_id):
            raise BadRequest("PUT /statements needs a statementId parameter holding a UUID")
        body, parts, multipart = await self._body(services, request)
        if not isinstance(body, dict):
            raise BadRequest("PUT /statements takes a single statement object")
        if "id" not in body:
            body = {**body, "id": statement_id}
        elif str(body["id"]).lower() != statement_id.lower():
            raise BadRequest("the statement's id does not match the statementId parameter")
        await store_statements(services, credential, version, [body], parts, multipart=multipart)
        return Response(status_code=204)

    async def post(self, request: Request) -> Response:
        services, credential, version = _context(request)
        require(credential, read=False, scopes=[STATEMENTS_WRITE])
        if request.query_params:
            raise BadRequest("POST /statements takes no query parameters")
        body, parts, multipart = await self._body(services, request)
        batch = body if isinstance(body, list) else [body]
        ids = await store_statements(
            services, credential, version, batch, parts, multipart=multipart
        )
        return Response(orjson.dumps(ids), media_type="application/json")

    async def get(self, request: Request) -> Response:
        services, credential, version = _context(request)
        mine = statement_read_mode(credential) == "mine"
        parsed = parse_statement_params(
            request.query_params.multi_items(),
            version,
            default_limit=services.settings.default_query_limit,
            max_limit=services.settings.max_query_limit,
        )
        languages = parse_accept_language(request.headers.get("accept-language"))
        own = agent_key(credential.authority) if mine else None
        if isinstance(parsed, SingleStatementRequest):
            return await self._single(services, parsed, languages, own)
        return await self._query(services, request, parsed, languages, own)

    @staticmethod
    async def _body(services: Services, request: Request) -> tuple[Any, list[Any], bool]:
        settings = services.settings
        return await read_statements_body(
            request, settings.max_body_bytes, settings.max_attachment_parts
        )

    @staticmethod
    async def _single(
        services: Services,
        wanted: SingleStatementRequest,
        languages: list[str],
        own: str | None,
    ) -> Response:
        found = await services.statements.get_statement(wanted.statement_id, voided=wanted.voided)
        if found is None or (own is not None and not _authored_by(found, own)):
            raise NotFound(f"no statement {wanted.statement_id}")
        body = render_statement(found.raw, wanted.format, languages)
        headers = {"Last-Modified": last_modified([found], 0)}
        attachments = await _attachments(services, [found]) if wanted.attachments else None
        return json_or_multipart(body, attachments, headers)

    @staticmethod
    async def _query(
        services: Services,
        request: Request,
        query: StatementQuery,
        languages: list[str],
        own: str | None,
    ) -> Response:
        consistent = services.consistent_through_ms()
        page = await services.statements.find_statements(query, authority_key=own)
        more = ""
        if page.more_after is not None:
            params = more_params(request.query_params.multi_items(), page.more_after)
            more = f"{request.scope.get('root_path', '')}/statements?{urlencode(params)}"
        body = result_body(page.statements, query.format, languages, more)
        headers = {
            CONSISTENT_THROUGH: iso_ms(consistent),
            "Last-Modified": last_modified(page.statements, consistent),
        }
        attachments = await _attachments(services, page.statements) if query.attachments else None
        return json_or_multipart(body, attachments, headers)


def _authored_by(found: StoredStatement, own: str) -> bool:
    authority = orjson.loads(found.raw).get("authority", {})
    return agent_key(authority) == own


async def _attachments(services: Services, found: list[StoredStatement]) -> list[Any]:
    hashes = list(dict.fromkeys(h for s in found for h in s.attachments))
    return await services.statements.get_attachments(hashes) if hashes else []
