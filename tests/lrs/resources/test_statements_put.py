"""PUT /xapi/statements?statementId= (xAPI 2.0 4.1.6.1, 1.0.3 Communication 2.1.1)."""

from __future__ import annotations

import uuid


async def test_put_with_statement_id_returns_204_and_stores(client, make_statement):
    statement_id = str(uuid.uuid4())
    response = await client.put(
        "/xapi/statements", params={"statementId": statement_id}, json=make_statement()
    )
    assert response.status_code == 204
    got = await client.get("/xapi/statements", params={"statementId": statement_id})
    assert got.json()["id"] == statement_id


async def test_put_without_statement_id_is_400(client, make_statement):
    response = await client.put("/xapi/statements", json=make_statement())
    assert response.status_code == 400


async def test_put_with_id_differing_from_parameter_is_400(client, make_statement):
    response = await client.put(
        "/xapi/statements",
        params={"statementId": str(uuid.uuid4())},
        json=make_statement(id=str(uuid.uuid4())),
    )
    assert response.status_code == 400


async def test_put_with_different_body_for_existing_id_returns_409(client, make_statement):
    statement_id = str(uuid.uuid4())
    await client.put(
        "/xapi/statements", params={"statementId": statement_id}, json=make_statement()
    )
    other = make_statement(verb={"id": "http://adlnet.gov/expapi/verbs/failed"})
    response = await client.put(
        "/xapi/statements", params={"statementId": statement_id}, json=other
    )
    assert response.status_code == 409


async def test_put_same_statement_twice_is_204_both_times(client, make_statement):
    statement_id = str(uuid.uuid4())
    statement = make_statement()
    for _ in range(2):
        response = await client.put(
            "/xapi/statements", params={"statementId": statement_id}, json=statement
        )
        assert response.status_code == 204


async def test_put_needs_write_scope(client, make_credentials, make_statement):
    reader = await make_credentials(("statements/read",))
    response = await client.put(
        "/xapi/statements",
        params={"statementId": str(uuid.uuid4())},
        json=make_statement(),
        headers=reader,
    )
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
