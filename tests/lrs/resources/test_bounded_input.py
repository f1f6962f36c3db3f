"""Input the LRS cannot serve is refused at the door with a 400 naming the rule, never a 500:
JSON nested deeper than the one nesting limit, integer parameters that do not fit, and
`since`/`until` beyond the stored sequence."""

from __future__ import annotations

import json
import uuid

import pytest
from starlette.requests import Request

from lrs.resources.bodies import read_body
from statements.errors import PayloadTooLarge
from statements.json_input import MAX_DEPTH

STATE = "/xapi/activities/state"
STATE_PARAMS = {
    "activityId": "http://example.com/activities/deep",
    "agent": json.dumps({"objectType": "Agent", "mbox": "mailto:ada@example.com"}),
    "stateId": "s1",
}
EXTENSION = "http://example.com/ext/deep"


def nested(levels: int) -> object:
    """A value of `levels` nested arrays around a number."""
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


def with_extension(make_statement, value: object) -> dict:
    return make_statement(id=str(uuid.uuid4()), context={"extensions": {EXTENSION: value}})


async def test_a_statement_nested_beyond_the_limit_is_400_naming_the_rule(client, make_statement):
    statement = with_extension(make_statement, nested(300))
    response = await client.post("/xapi/statements", json=statement)
    assert response.status_code == 400
    assert response.json()["details"]["rule"] == "json.depth"
    assert str(MAX_DEPTH) in response.json()["message"]


async def test_a_statement_nested_deeper_than_the_parser_allows_is_400_too(client, make_statement):
    body = with_extension(make_statement, 0)
    raw = json.dumps(body).replace("0}}", "[" * 2000 + "0" + "]" * 2000 + "}}")
    response = await client.post(
        "/xapi/statements", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["details"]["rule"] == "json.depth"


async def test_a_statement_at_the_nesting_limit_is_stored_and_read_back(client, make_statement):
    # statement (1) > context (2) > extensions (3) > the value's arrays
    statement = with_extension(make_statement, nested(MAX_DEPTH - 3))
    assert (await client.post("/xapi/statements", json=statement)).status_code == 200
    for fmt in ("exact", "canonical"):
        got = await client.get(
            "/xapi/statements", params={"statementId": statement["id"], "format": fmt}
        )
        assert got.status_code == 200
        assert got.json()["context"]["extensions"][EXTENSION] == nested(MAX_DEPTH - 3)
    listed = await client.get("/xapi/statements")
    assert listed.status_code == 200


async def test_a_state_document_nested_beyond_the_limit_cannot_be_posted(client):
    deep = json.dumps({"a": nested(300)}).encode()
    response = await client.post(
        STATE, params=STATE_PARAMS, content=deep, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["details"]["rule"] == "json.depth"


async def test_merging_into_a_stored_document_nested_too_deep_is_400_and_keeps_it(client):
    deep = json.dumps({"a": nested(300)}).encode()
    json_type = {"Content-Type": "application/json"}
    # a PUT stores any bytes as they are, JSON or not
    assert (
        await client.put(STATE, params=STATE_PARAMS, content=deep, headers=json_type)
    ).status_code == 204
    response = await client.post(STATE, params=STATE_PARAMS, content=b'{"b":1}', headers=json_type)
    assert response.status_code == 400
    assert response.json()["details"]["rule"] == "json.depth"
    assert (await client.get(STATE, params=STATE_PARAMS)).content == deep


async def test_two_documents_within_the_limit_merge(client):
    json_type = {"Content-Type": "application/json"}
    first = json.dumps({"a": nested(MAX_DEPTH - 1)}).encode()
    second = json.dumps({"b": nested(MAX_DEPTH - 1)}).encode()
    for body in (first, second):
        response = await client.post(STATE, params=STATE_PARAMS, content=body, headers=json_type)
        assert response.status_code == 204
    merged = (await client.get(STATE, params=STATE_PARAMS)).json()
    assert merged == {"a": nested(MAX_DEPTH - 1), "b": nested(MAX_DEPTH - 1)}


async def test_an_agent_parameter_nested_beyond_the_limit_is_400(client):
    agent = {"objectType": "Agent", "account": {"homePage": "http://x.test", "name": nested(300)}}
    response = await client.get("/xapi/statements", params={"agent": json.dumps(agent)})
    assert response.status_code == 400
    assert response.json()["details"]["parameter"] == "agent"


@pytest.fixture
async def admin(make_credentials):
    return await make_credentials(("admin",), name="ops")


async def test_an_admin_body_nested_beyond_the_limit_is_400(client, admin):
    body = json.dumps({"name": "x", "scopes": nested(300)})
    response = await client.post(
        "/admin/credentials",
        content=body,
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["details"]["rule"] == "json.depth"


TOO_LONG = "9" * 5000
SUPERSCRIPT = "²"


@pytest.mark.parametrize("limit", [TOO_LONG, SUPERSCRIPT, "-1", "1.5", ""])
@pytest.mark.parametrize(
    "path", ["/feeds/completions", "/admin/audit", "/admin/unmatched", "/admin/events"]
)
async def test_an_integer_parameter_that_does_not_parse_is_400_naming_it(
    client, admin, path, limit
):
    response = await client.get(path, params={"limit": limit}, headers=admin)
    assert response.status_code == 400
    assert response.json()["details"]["parameter"] == "limit"
    if not (path == "/feeds/completions" and limit == TOO_LONG):  # the feed's length rule
        assert response.json()["details"]["rule"] == "integer.range"


async def test_a_huge_statements_limit_means_as_many_as_the_server_serves(client, make_statement):
    await client.post("/xapi/statements", json=make_statement())
    response = await client.get("/xapi/statements", params={"limit": TOO_LONG})
    assert response.status_code == 200
    assert len(response.json()["statements"]) == 1


@pytest.mark.parametrize("limit", [SUPERSCRIPT, "-1", "0x10"])
async def test_a_statements_limit_that_is_not_an_integer_is_400(client, limit):
    response = await client.get("/xapi/statements", params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["details"] == {"parameter": "limit", "rule": "integer.range"}


async def test_until_far_in_the_future_means_everything(client, make_statement):
    (statement_id,) = (await client.post("/xapi/statements", json=make_statement())).json()
    response = await client.get("/xapi/statements", params={"until": "9999-12-31T23:59:59Z"})
    assert response.status_code == 200
    assert [s["id"] for s in response.json()["statements"]] == [statement_id]


async def test_since_far_in_the_future_means_nothing(client, make_statement):
    await client.post("/xapi/statements", json=make_statement())
    response = await client.get("/xapi/statements", params={"since": "9999-12-31T23:59:59Z"})
    assert response.status_code == 200
    assert response.json()["statements"] == []


async def test_since_and_until_before_the_epoch_are_served(client, make_statement):
    await client.post("/xapi/statements", json=make_statement())
    since = await client.get("/xapi/statements", params={"since": "0001-01-01T00:00:00Z"})
    until = await client.get("/xapi/statements", params={"until": "0001-01-01T00:00:00Z"})
    assert (since.status_code, until.status_code) == (200, 200)
    assert len(since.json()["statements"]) == 1
    assert until.json()["statements"] == []


async def test_a_cursor_beyond_the_stored_sequence_is_400(client):
    response = await client.get("/xapi/statements", params={"cursor": "s" + "f" * 40})
    assert response.status_code == 400
    assert response.json()["details"]["parameter"] == "cursor"


async def test_document_since_far_in_either_direction_is_served(client):
    json_type = {"Content-Type": "application/json"}
    await client.put(STATE, params=STATE_PARAMS, content=b"{}", headers=json_type)
    listing = {k: v for k, v in STATE_PARAMS.items() if k != "stateId"}
    for since in ("9999-12-31T23:59:59-23:00", "0001-01-01T00:00:00+23:00"):
        response = await client.get(STATE, params={**listing, "since": since})
        assert response.status_code == 200, since


@pytest.mark.parametrize("declared", ["\u00b2".encode("latin-1"), b"9" * 5000])
async def test_a_content_length_that_is_not_a_plain_number_never_raises(declared):
    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    scope = {"type": "http", "method": "POST", "headers": [(b"content-length", declared)]}
    request = Request(scope, receive)
    if declared.isdigit():
        with pytest.raises(PayloadTooLarge):
            await read_body(request, 1024)
    else:
        assert await read_body(request, 1024) == b"{}"
