"""The 1.0.3 Alternate Request Syntax (Communication 1.3), absent from 2.0."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import orjson
import pytest

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def test_put_through_a_form_post_with_headers_in_the_form(client, make_statement):
    statement_id = str(uuid.uuid4())
    form = {
        "statementId": statement_id,
        "content": orjson.dumps(make_statement()).decode(),
        "Authorization": client.headers["Authorization"],
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
    }
    bare = {"Authorization": "", "X-Experience-API-Version": "", **FORM}
    response = await client.post(
        "/xapi/statements?method=PUT", content=urlencode(form), headers=bare
    )
    assert response.status_code == 204, response.text
    got = await client.get(
        "/xapi/statements",
        params={"statementId": statement_id},
        headers={"X-Experience-API-Version": "1.0.3"},
    )
    assert got.status_code == 200


async def test_get_through_a_form_post(client, make_statement):
    await client.post("/xapi/statements", json=make_statement())
    response = await client.post(
        "/xapi/statements?method=GET",
        content=urlencode({"limit": "1", "X-Experience-API-Version": "1.0.3"}),
        headers=FORM,
    )
    assert response.status_code == 200
    assert len(response.json()["statements"]) == 1


async def test_alternate_syntax_is_rejected_in_2_0(client):
    response = await client.post(
        "/xapi/statements?method=GET", content=urlencode({"limit": "1"}), headers=FORM
    )
    assert response.status_code == 400


async def test_other_query_parameters_beside_method_are_400(client):
    response = await client.post(
        "/xapi/statements?method=GET&limit=1",
        content=urlencode({"X-Experience-API-Version": "1.0.3"}),
        headers=FORM,
    )
    assert response.status_code == 400


async def test_method_parameter_on_a_put_is_400(client):
    response = await client.put("/xapi/statements?method=GET", content=b"", headers=FORM)
    assert response.status_code == 400


async def test_non_form_body_is_400(client):
    response = await client.post(
        "/xapi/statements?method=GET",
        content=b"{}",
        headers={"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"},
    )
    assert response.status_code == 400


async def test_unknown_method_is_400(client):
    response = await client.post(
        "/xapi/statements?method=TRACE",
        content=urlencode({"X-Experience-API-Version": "1.0.3"}),
        headers=FORM,
    )
    assert response.status_code == 400


STATE = "/xapi/activities/state"
STATE_PARAMS = {
    "activityId": "http://example.com/activities/form",
    "agent": '{"mbox": "mailto:ada@example.com"}',
    "stateId": "s1",
}


def state_form(client, content: str | None = None, **fields: str) -> dict[str, str]:
    """A State document PUT through the form, authenticated in the form (1.0.3)."""
    form = {
        **STATE_PARAMS,
        "Authorization": client.headers["Authorization"],
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "text/plain",
        **fields,
    }
    return form if content is None else {**form, "content": content}


BARE = {"Authorization": "", "X-Experience-API-Version": "", **FORM}


async def test_a_form_of_two_million_fields_is_refused_before_it_is_split(client):
    response = await client.post(
        "/xapi/statements?method=GET", content=b"a&" * 2_000_000, headers=BARE
    )
    assert response.status_code == 400
    assert response.json()["details"] == {"rule": "form.fields", "limit": 64}


async def test_fields_beside_content_are_bounded_like_a_request_line_and_headers(client):
    form = urlencode({"X-Experience-API-Version": "1.0.3", "activityId": "x" * 20_000})
    response = await client.post(f"{STATE}?method=GET", content=form, headers=BARE)
    assert response.status_code == 400
    assert response.json()["details"]["rule"] == "form.size"


async def test_content_is_decoded_only_after_authentication(client):
    """Bytes that cannot be decoded, from a stranger: 401, the content never looked at."""
    form = urlencode({**STATE_PARAMS, "X-Experience-API-Version": "1.0.3"}).encode()
    response = await client.post(
        f"{STATE}?method=PUT", content=form + b"&content=\xff%zz", headers=BARE
    )
    assert response.status_code == 401


async def test_content_that_is_not_utf8_is_400_naming_the_field(client):
    form = urlencode(state_form(client)) + "&content=%FF%FE"
    response = await client.post(f"{STATE}?method=PUT", content=form, headers=BARE)
    assert response.status_code == 400
    assert response.json()["details"] == {"rule": "form.utf8", "field": "content"}


async def test_raw_bytes_that_are_not_utf8_are_400(client):
    form = urlencode(state_form(client)).encode() + b"&content=caf\xe9"
    response = await client.post(f"{STATE}?method=PUT", content=form, headers=BARE)
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "content"


async def test_a_malformed_percent_escape_is_400(client):
    form = urlencode(state_form(client)) + "&content=100%"
    response = await client.post(f"{STATE}?method=PUT", content=form, headers=BARE)
    assert response.status_code == 400
    assert response.json()["details"]["rule"] == "form.percent_escape"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Authorization", "Basic \u20ac"),
        ("If-Match", '"\u20ac"'),
        ("Content-Type", "text/plain\r\nX-Injected: yes"),
        ("If-None-Match", "*\n"),
    ],
)
async def test_a_header_field_a_header_could_not_carry_is_400(client, field, value):
    form = urlencode(state_form(client, "hello", **{field: value}))
    response = await client.post(f"{STATE}?method=PUT", content=form, headers=BARE)
    assert response.status_code == 400, response.text
    assert response.json()["details"] == {"rule": "form.header_value", "field": field}


async def test_a_header_given_twice_in_the_form_is_400(client):
    form = urlencode(state_form(client, "hello")) + "&authorization=Basic+eDp5"
    response = await client.post(f"{STATE}?method=PUT", content=form, headers=BARE)
    assert response.status_code == 400
    assert response.json()["details"] == {"field": "authorization"}


async def test_large_content_round_trips_exactly(client):
    text = "café ☕ & = + % " * 20_000  # over the size decoded in a worker thread
    form = urlencode(state_form(client, text))
    stored = await client.post(f"{STATE}?method=PUT", content=form, headers=BARE)
    assert stored.status_code == 204, stored.text
    got = await client.get(
        STATE, params=STATE_PARAMS, headers={"X-Experience-API-Version": "1.0.3"}
    )
    assert got.status_code == 200
    assert got.content == text.encode()
