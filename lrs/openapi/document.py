"""The OpenAPI 3.1 document, built from the app's route table and the `@operation`s on it.

Every route outside /xapi (the xAPI specification is its contract) and /console (HTML for
a browser, not an API) must be described; `undescribed` lists those that are not, and a test
fails on any. The error statuses an operation can answer follow from its kind: a credential
check brings 401 and 403, a path parameter 404, a body 400 and 413, query parameters 400, and
every request can meet the rate limiter's 429.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from starlette.routing import BaseRoute, Mount, Route

from lrs.openapi.operations import Link, Operation, Reply, operations_of
from lrs.openapi.schemas import ERROR, ERROR_REF, Schema

UNDOCUMENTED = ("/xapi", "/console")
SECURITY: list[dict[str, list[str]]] = [{"basic": []}, {"bearer": []}]
ERROR_MEANING = {
    400: "Bad request: the body names the field or parameter and the rule",
    401: "No valid credential (the WWW-Authenticate header says how to authenticate)",
    403: "The credential lacks the scope (details.required_any)",
    404: "Not found",
    409: "Conflict",
    413: "The body is over the limit (details.limit)",
    429: "Too many requests or failed authentications (Retry-After says when to retry)",
    503: "Unavailable",
}
_CONVERTOR = re.compile(r"{([^}:]+)(:[^}]+)?}")


def routes_to_document(
    routes: Iterable[BaseRoute], prefix: str = ""
) -> Iterator[tuple[str, Route]]:
    """(full path, route) for every route of the non-xAPI APIs, through mounts."""
    for route in routes:
        if isinstance(route, Mount):
            path = prefix + route.path
            if not path.startswith(UNDOCUMENTED):
                yield from routes_to_document(route.routes, path)
        elif isinstance(route, Route) and not (prefix + route.path).startswith(UNDOCUMENTED):
            yield prefix + route.path, route


def _methods(route: Route) -> list[str]:
    """The route's methods, less the HEAD Starlette adds to every GET."""
    return sorted(m for m in route.methods or () if m != "HEAD")


def undescribed(routes: Iterable[BaseRoute]) -> list[str]:
    """'METHOD /path' of every documented-side route method that has no `@operation`."""
    return [
        f"{method} {path}"
        for path, route in routes_to_document(routes)
        for method in _methods(route)
        if method not in operations_of(route.endpoint)
    ]


def openapi_document(routes: Sequence[BaseRoute], version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for path, route in routes_to_document(routes):
        template = _CONVERTOR.sub(r"{\1}", path)
        names = [m.group(1) for m in _CONVERTOR.finditer(path)]
        described = operations_of(route.endpoint)
        for method in _methods(route):
            if method in described:
                item = paths.setdefault(template, {})
                item[method.lower()] = _operation(described[method], template, names)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "LRS admin, analytics, feeds, exports and OAuth APIs",
            "version": version,
            "description": (
                "The LRS's own HTTP APIs. The xAPI resources under /xapi follow the xAPI "
                "specification (IEEE 9274.1.1) and are not repeated here. See docs/openapi.md."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }


def _operation(op: Operation, path: str, names: list[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "operationId": _operation_id(op.method, path),
        "summary": op.summary,
        "tags": [op.tag],
        "responses": _responses(op, bool(names)),
    }
    description = op.description
    if op.access.scopes is None:
        spec["security"] = []
    else:
        spec["security"] = SECURITY
        spec["x-scopes"] = list(op.access.scopes)
        scopes = " or ".join(f"`{s}`" for s in op.access.scopes)
        description = f"Scope: {scopes}. {op.access.note} {description}".strip()
    if description:
        spec["description"] = description
    parameters = [_path_parameter(name, op.path.get(name)) for name in names]
    parameters += [p.spec() for p in op.query]
    if parameters:
        spec["parameters"] = parameters
    if op.body is not None:
        spec["requestBody"] = {
            "required": op.body.required,
            "content": {
                media: _media(op.body.schema, op.body.example) for media in op.body.media_types
            },
        }
    return spec


def _operation_id(method: str, path: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", path.replace("{", "by_").replace("}", ""))
    return "_".join([method.lower(), *words])


def _path_parameter(name: str, schema: Schema | None) -> dict[str, Any]:
    schema = schema or {"type": "string", "minLength": 1}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _media(schema: Schema | None, example: Any) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema if schema is not None else {}}
    if example is not None:
        media["example"] = example
    return media


def _responses(op: Operation, has_path_params: bool) -> dict[str, Any]:
    responses = {str(reply.status): _reply(reply) for reply in op.replies}
    for status in _error_statuses(op, has_path_params):
        responses.setdefault(str(status), _error(status))
    return dict(sorted(responses.items()))


def _error_statuses(op: Operation, has_path_params: bool) -> set[int]:
    statuses = {429, *op.errors}
    if op.access.scopes is not None:
        statuses |= {401, 403}
    if has_path_params:
        statuses.add(404)
    if op.body is not None:
        statuses |= {400, 413}
    if op.query:
        statuses.add(400)
    return statuses


def _reply(reply: Reply) -> dict[str, Any]:
    spec: dict[str, Any] = {"description": reply.description}
    if reply.links:
        spec["links"] = {name: _link(link) for name, link in reply.links.items()}
    if reply.schema is not None or reply.example is not None:
        spec["content"] = {m: _media(reply.schema, reply.example) for m in reply.media_types}
    if reply.headers:
        spec["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in reply.headers.items()
        }
    return spec


def _link(link: Link) -> dict[str, Any]:
    method, path = link.operation.split(" ", 1)
    return {"operationId": _operation_id(method, path), "parameters": dict(link.parameters)}


def _error(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_MEANING.get(status, "Error"),
        "content": {"application/json": {"schema": ERROR_REF}},
    }
