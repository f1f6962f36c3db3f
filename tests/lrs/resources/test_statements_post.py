"""POST /xapi/statements (xAPI 2.0 4.1.6.1, 1.0.3 Communication 2.1.2)."""

from __future__ import annotations

import uuid

import orjson


async def test_post_single_statement_returns_its_generated_id(client, make_statement):
    response = await client.post("/xapi/statements", json=make_statement())
    assert response.status_code == 200
    ids = response.json()
    assert len(ids) == 1 and uuid.UUID(ids[0])
    stored = await client.get("/xapi/statements", params={"statementId": ids[0]})
    assert stored.status_code == 200
    assert stored.json()["id"] == ids[0]


async def test_post_batch_returns_ids_in_order(client, make_statement):
    given = [str(uuid.uuid4()) for _ in range(3)]
    batch = [make_statement(id=i) for i in given]
    response = await client.post("/xapi/statements", json=batch)
    assert response.status_code == 200
    assert response.json() == given


async def test_lrs_sets_stored_timestamp_authority_and_version(client, make_statement):
    response = await client.post("/xapi/statements", json=make_statement())
    (statement_id,) = response.json()
    got = (await client.get("/xapi/statements", params={"statementId": statement_id})).json()
    assert got["stored"].endswith("Z")
    assert got["timestamp"] == got["stored"]
    assert got["version"].startswith("2.0")
    assert got["authority"]["account"]["homePage"] == "http://lrs.test"


async def test_client_authority_is_replaced_by_the_credentials(client, make_statement):
    forged = {"objectType": "Agent", "mbox": "mailto:boss@example.com"}
    (statement_id,) = (
        await client.post("/xapi/statements", json=make_statement(authority=forged))
    ).json()
    got = (await client.get("/xapi/statements", params={"statementId": statement_id})).json()
    assert got["authority"] != forged


async def test_invalid_statement_in_batch_stores_nothing(client, make_statement):
    good = make_statement(id=str(uuid.uuid4()))
    bad = make_statement(id=str(uuid.uuid4()), actor={"mbox": "ada@example.com"})
    response = await client.post("/xapi/statements", json=[good, bad])
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_statement"
    assert any("/1/actor" in d["path"] for d in body["details"])
    missing = await client.get("/xapi/statements", params={"statementId": good["id"]})
    assert missing.status_code == 404


async def test_duplicate_ids_within_a_batch_are_rejected(client, make_statement):
    same = str(uuid.uuid4())
    response = await client.post("/xapi/statements", json=[make_statement(id=same)] * 2)
    assert response.status_code == 400
    assert response.json()["error"] == "duplicate_statement_ids"
    assert (await client.get("/xapi/statements", params={"statementId": same})).status_code == 404


async def test_reposting_an_equivalent_statement_changes_nothing(client, make_statement):
    statement = make_statement(id=str(uuid.uuid4()))
    assert (await client.post("/xapi/statements", json=statement)).status_code == 200
    first = (await client.get("/xapi/statements", params={"statementId": statement["id"]})).json()
    again = await client.post("/xapi/statements", json=statement)
    assert again.status_code == 200
    second = (await client.get("/xapi/statements", params={"statementId": statement["id"]})).json()
    assert first == second


async def test_posting_a_different_statement_with_an_existing_id_is_409(client, make_statement):
    statement = make_statement(id=str(uuid.uuid4()))
    await client.post("/xapi/statements", json=statement)
    changed = {**statement, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    response = await client.post("/xapi/statements", json=changed)
    assert response.status_code == 409
    got = (await client.get("/xapi/statements", params={"statementId": statement["id"]})).json()
    assert got["verb"]["id"] == statement["verb"]["id"]


async def test_conflict_in_a_batch_stores_none_of_it(client, make_statement):
    existing = make_statement(id=str(uuid.uuid4()))
    await client.post("/xapi/statements", json=existing)
    fresh = make_statement(id=str(uuid.uuid4()))
    changed = {**existing, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    response = await client.post("/xapi/statements", json=[fresh, changed])
    assert response.status_code == 409
    assert (
        await client.get("/xapi/statements", params={"statementId": fresh["id"]})
    ).status_code == 404


async def test_malformed_json_is_400_with_json_body(client):
    response = await client.post(
        "/xapi/statements", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


async def test_operator_like_extension_keys_are_stored_literally(client, make_statement):
    extensions = {"http://example.com/ext/a.b.c": {"$where": "sleep(1000)", "$gt": ""}}
    statement = make_statement(
        id=str(uuid.uuid4()), result={"completion": True, "extensions": extensions}
    )
    assert (await client.post("/xapi/statements", json=statement)).status_code == 200
    got = await client.get("/xapi/statements", params={"statementId": statement["id"]})
    assert got.json()["result"]["extensions"] == extensions
    assert b'"http://example.com/ext/a.b.c":{"$where":"sleep(1000)","$gt":""}' in got.content


async def test_body_over_the_limit_is_413(client, services, make_statement):
    limit = services.settings.max_body_bytes
    big = make_statement(result={"response": "x" * (limit + 10)})
    response = await client.post(
        "/xapi/statements", content=orjson.dumps(big), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_batch_over_the_limit_is_413(client, services, make_statement):
    batch = [make_statement() for _ in range(services.settings.max_batch_statements + 1)]
    response = await client.post("/xapi/statements", json=batch)
    assert response.status_code == 413
