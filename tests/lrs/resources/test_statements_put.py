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


async def test_concurrent_puts_each_get_their_own_answer(client, make_statement):
    """Single statements sent together are written together (group commit), yet each
    request is answered as if alone: a conflicting body 409s, an identical one 204s."""
    import asyncio

    taken, fresh = str(uuid.uuid4()), str(uuid.uuid4())
    statement = make_statement()
    other = make_statement(verb={"id": "http://adlnet.gov/expapi/verbs/failed"})

    def put(statement_id, body):
        return client.put("/xapi/statements", params={"statementId": statement_id}, json=body)

    responses = await asyncio.gather(
        put(taken, statement), put(taken, statement), put(taken, other), put(fresh, statement)
    )

    got = await client.get("/xapi/statements", params={"statementId": taken})
    if got.json()["verb"]["id"] == statement["verb"]["id"]:  # the identical pair won
        assert [r.status_code for r in responses] == [204, 204, 409, 204]
    else:  # the other body was first: both copies of the first one conflict with it
        assert [r.status_code for r in responses] == [409, 409, 204, 204]
