"""Describing a route for the OpenAPI document: one decorator next to the handler.

    @operation("GET", "List the audit log", tag="audit", access=ADMIN_ONLY, query=AUDIT_QUERY,
               ok=Reply(200, "newest first", array(AUDIT_ENTRY)))
    async def list_audit(request): ...

The decorator only records an `Operation` on the endpoint function; `lrs.openapi.document`
reads it back from the app's route table. Describing a route is therefore a local act where
the route is written, and a route nobody described is found by walking the table (the
completeness test fails on it). The query table and the body schema named here are the ones
the handler parses with, so the document cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lrs.openapi.params import QueryParam

Schema = dict[str, Any]
JSON = "application/json"
ATTRIBUTE = "openapi_operations"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Access:
    """Who may call: `scopes` None is public; otherwise any one of the scopes is enough."""

    scopes: tuple[str, ...] | None
    note: str = ""


PUBLIC = Access(None)
ADMIN_ONLY = Access(("admin",))


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    description: str
    schema: Schema | None = None
    example: Any = None
    media_types: Sequence[str] = (JSON,)
    headers: Mapping[str, str] = field(default_factory=dict)
    """Response header name -> description."""
    links: Mapping[str, Link] = field(default_factory=dict)
    """OpenAPI links: where a value of this answer (a new resource's id) can be used next."""


@dataclass(frozen=True, slots=True)
class Link:
    """`operation` as "METHOD /path"; `parameters` maps its parameters to runtime
    expressions such as `$response.body#/id`."""

    operation: str
    parameters: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Body:
    schema: Schema
    example: Any = None
    media_types: Sequence[str] = (JSON,)
    required: bool = True


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    summary: str
    tag: str
    access: Access
    replies: tuple[Reply, ...]
    query: tuple[QueryParam, ...] = ()
    body: Body | None = None
    errors: tuple[int, ...] = ()
    """Error statuses beyond those every operation of its kind can answer (see document.py)."""
    description: str = ""
    path: Mapping[str, Schema] = field(default_factory=dict)
    """Schemas of path parameters narrower than any string (an enum of actions)."""


def operation(
    method: str,
    summary: str,
    *,
    tag: str,
    access: Access,
    ok: Reply | Sequence[Reply],
    query: Sequence[QueryParam] = (),
    body: Body | None = None,
    errors: Sequence[int] = (),
    description: str = "",
    path: Mapping[str, Schema] | None = None,
) -> Callable[[Endpoint], Endpoint]:
    """Record how `method` on the decorated endpoint behaves; stack one per method."""
    replies = (ok,) if isinstance(ok, Reply) else tuple(ok)
    described = Operation(
        method.upper(),
        summary,
        tag,
        access,
        replies,
        tuple(query),
        body,
        tuple(errors),
        description,
        dict(path or {}),
    )

    def attach(endpoint: Endpoint) -> Endpoint:
        vars(endpoint).setdefault(ATTRIBUTE, {})[described.method] = described
        return endpoint

    return attach


def operations_of(endpoint: Any) -> Mapping[str, Operation]:
    """The operations recorded on an endpoint (a bound method reads its function's)."""
    found = getattr(endpoint, ATTRIBUTE, None)
    return found if isinstance(found, dict) else {}
