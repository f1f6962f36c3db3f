"""The headers every answer carries, whoever answers: a resource, the version check, the gate,
the alternate syntax, the router; each exactly once, and a resource's own kept where it may.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from lrs.http.edge import edge_headers

ONCE = ("x-request-id", "x-content-type-options", "content-security-policy")


def assert_edge_headers(response) -> None:
    for name in ONCE:
        assert len(response.headers.get_list(name)) == 1, name


def version_headers(response) -> list[str]:
    return response.headers.get_list("X-Experience-API-Version")


async def test_a_stored_statement_answer_carries_every_header_once(client, make_statement):
    response = await client.post("/xapi/statements", json=make_statement())
    assert response.status_code == 200
    assert_edge_headers(response)
    assert version_headers(response) == ["2.0.0"]
    assert len(response.headers.get_list("X-Experience-API-Consistent-Through")) == 1


async def test_a_1_0_x_request_is_answered_as_1_0_3(client):
    response = await client.get("/xapi/statements", headers={"X-Experience-API-Version": "1.0.1"})
    assert response.status_code == 200
    assert version_headers(response) == ["1.0.3"]


async def test_the_statements_resource_keeps_its_own_consistent_through(client):
    response = await client.get("/xapi/statements")
    assert len(response.headers.get_list("X-Experience-API-Consistent-Through")) == 1


async def test_a_refused_credential_on_statements_carries_version_and_consistent_through(client):
    response = await client.get("/xapi/statements", headers={"Authorization": "Basic eDp5"})
    assert response.status_code == 401
    assert_edge_headers(response)
    assert version_headers(response) == ["2.0.0"]
    assert response.headers["X-Experience-API-Consistent-Through"].endswith("Z")


async def test_an_unsupported_version_is_answered_with_the_fallback_version(client):
    response = await client.get("/xapi/statements", headers={"X-Experience-API-Version": "3.0"})
    assert response.status_code == 400
    assert_edge_headers(response)
    assert version_headers(response) == ["2.0.0"]
    assert "X-Experience-API-Consistent-Through" not in response.headers


async def test_a_malformed_alternate_syntax_request_still_carries_the_edge_headers(client):
    response = await client.post(
        "/xapi/statements?method=PUT",
        content=urlencode({"content": "{}"}),
        headers={"Content-Type": "text/plain", "X-Experience-API-Version": "1.0.3"},
    )
    assert response.status_code == 400
    assert_edge_headers(response)


async def test_a_percent_encoded_method_parameter_is_the_alternate_syntax(client):
    response = await client.post(
        "/xapi/statements?%6Dethod=GET",
        content=urlencode({"X-Experience-API-Version": "2.0.0"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["message"] == "xAPI 2.0 has no alternate request syntax"


@pytest.mark.parametrize("path", ["/nowhere", "/healthz", "/xapi/about"])
async def test_answers_outside_the_xapi_resources_carry_the_fallback_version(client, path):
    response = await client.get(path)
    assert_edge_headers(response)
    assert version_headers(response) == ["2.0.0"]


def test_the_edge_replaces_an_answers_request_id_and_keeps_its_own_policy():
    own = [
        (b"content-type", b"text/html"),
        (b"X-Request-ID", b"theirs"),
        (b"content-security-policy", b"default-src 'self'"),
    ]
    headers = edge_headers(own, (b"x-request-id", b"ours"))
    assert [v for k, v in headers if k.lower() == b"x-request-id"] == [b"ours"]
    assert [v for k, v in headers if k == b"content-security-policy"] == [b"default-src 'self'"]
    assert (b"x-content-type-options", b"nosniff") in headers
