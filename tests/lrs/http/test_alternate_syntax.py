"""The 1.0.3 Alternate Request Syntax (Communication 1.3), absent from 2.0."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import orjson

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
