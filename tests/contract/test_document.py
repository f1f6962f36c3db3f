"""The OpenAPI document: complete, valid OpenAPI 3.1, served without a credential, and built
from the same tables the handlers parse with."""

from __future__ import annotations

from typing import Any

import httpx
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from connectors.spec import FIELDS as CONNECTOR_FIELDS
from exports.spec import FORMATS
from forwarders.spec import FIELDS as FORWARDER_FIELDS
from lrs import __version__
from lrs.app import create_app
from lrs.openapi.document import openapi_document, undescribed
from lrs.openapi.operations import ADMIN_ONLY, Reply, operation
from lrs.resources import admin_data, admin_exports, admin_forwarders_contract, connectors
from lrs.settings import Settings


def _app() -> Starlette:
    """Routes only: create_app touches no database before its lifespan runs."""
    return create_app(Settings(), "mongodb://127.0.0.1:1")


def _document() -> dict[str, Any]:
    return openapi_document(_app().routes, __version__)


def _operations(document: dict[str, Any]) -> set[str]:
    return {f"{m.upper()} {p}" for p, item in document["paths"].items() for m in item}


def test_every_non_xapi_route_is_described() -> None:
    assert undescribed(_app().routes) == []


def test_a_route_without_a_description_is_reported() -> None:
    async def described(request: Request) -> Response:
        return Response()

    async def forgotten(request: Request) -> Response:
        return Response()

    described = operation("GET", "x", tag="t", access=ADMIN_ONLY, ok=Reply(200, "ok"))(described)
    routes = [
        Mount(
            "/admin",
            routes=[
                Route("/known", described, methods=["GET", "POST"]),
                Route("/new", forgotten, methods=["GET"]),
            ],
        ),
        Mount("/xapi", routes=[Route("/statements", forgotten)]),
        Mount("/console", routes=[Route("/", forgotten)]),
    ]
    assert undescribed(routes) == ["POST /admin/known", "GET /admin/new"]


def test_the_document_is_valid_openapi_3_1() -> None:
    document = _document()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_the_document_covers_admin_feeds_analytics_exports_oauth_health_and_metrics() -> None:
    operations = _operations(_document())
    for expected in (
        "GET /admin/credentials",
        "POST /admin/exports",
        "GET /admin/exports/{job_id}/files/{name}",
        "GET /feeds/completions",
        "GET /analytics/activities/summary",
        "POST /oauth/token",
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /admin/connectors",
        "GET /openapi.json",
    ):
        assert expected in operations
    assert not any(" /xapi" in op or " /console" in op for op in operations)


def test_authenticated_operations_document_401_and_403_and_public_ones_no_security() -> None:
    paths = _document()["paths"]
    summary = paths["/analytics/activities/summary"]["get"]
    assert {"401", "403", "400", "429"} <= set(summary["responses"])
    assert summary["x-scopes"] == ["analytics/read", "admin"]
    assert paths["/healthz"]["get"]["security"] == []
    assert "401" not in paths["/healthz"]["get"]["responses"]


def test_query_parameters_come_from_the_handlers_tables() -> None:
    paths = _document()["paths"]
    audit = {p["name"]: p for p in paths["/admin/audit"]["get"]["parameters"]}
    assert audit["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1000,
        "default": 100,
    }
    events = {p["name"] for p in paths["/admin/events"]["get"]["parameters"]}
    assert events == {p.name for p in admin_forwarders_contract.EVENT_QUERY}


def test_request_bodies_come_from_the_parsers_field_tables() -> None:
    assert set(admin_forwarders_contract.FORWARDER_PROPERTIES) == FORWARDER_FIELDS
    assert set(connectors.DEFINITION_PROPERTIES) == CONNECTOR_FIELDS
    export = admin_exports.request_schema()
    assert set(export["properties"]) == set(admin_exports.FIELDS)
    assert export["properties"]["format"]["enum"] == list(FORMATS)
    assert export["properties"]["settle_seconds"]["type"] == "number"
    for kind, fields in admin_data.BODY_FIELDS.items():
        schema = admin_data.body_schema(kind)
        assert set(schema["properties"]) == fields
        assert schema["additionalProperties"] is False


async def test_openapi_json_is_served_without_a_credential(
    app_services: tuple[Any, Any],
) -> None:
    transport = httpx.ASGITransport(app=app_services[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://lrs.test") as http:
        response = await http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == _document()


def test_every_link_names_an_operation_of_the_document() -> None:
    document = _document()
    ids = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    links = [
        link
        for item in document["paths"].values()
        for op in item.values()
        for reply in op["responses"].values()
        for link in reply.get("links", {}).values()
    ]
    assert len(links) >= 12
    assert {link["operationId"] for link in links} <= ids


def _examples(document: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    found = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            bodies = [("request", op.get("requestBody", {}))]
            bodies += [(status, reply) for status, reply in op["responses"].items()]
            for where, part in bodies:
                for media, content in part.get("content", {}).items():
                    if "example" in content:
                        label = f"{method.upper()} {path} {where} {media}"
                        found.append((label, content.get("schema", {}), content["example"]))
            for parameter in op.get("parameters", []):
                if "example" in parameter:
                    label = f"{method.upper()} {path} {parameter['name']}"
                    found.append((label, parameter["schema"], parameter["example"]))
    return found


def test_every_example_conforms_to_its_schema() -> None:
    document = _document()
    examples = _examples(document)
    assert len(examples) >= 30
    for label, schema, example in examples:
        resolvable = {**schema, "components": document["components"]}
        errors = list(Draft202012Validator(resolvable).iter_errors(example))
        assert errors == [], (label, [e.message for e in errors])
