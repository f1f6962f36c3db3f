"""Authentication and version headers on every xAPI request."""

from __future__ import annotations

import httpx

from tests.conftest import basic


async def test_missing_credentials_get_401_with_challenge(client):
    response = await client.get("/xapi/statements", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json()["error"] == "unauthenticated"
    assert response.headers["X-Experience-API-Version"] == "2.0.0"


async def test_wrong_secret_gets_401(client, services):
    key, _ = await services.credentials.create("x", ["all"])
    response = await client.get("/xapi/statements", headers={"Authorization": basic(key, "wrong")})
    assert response.status_code == 401


async def test_revoked_credential_gets_401(client, services):
    key, secret = await services.credentials.create("x", ["all"])
    headers = {"Authorization": basic(key, secret)}
    assert (await client.get("/xapi/statements", headers=headers)).status_code == 200
    await services.credentials.revoke(key)
    assert (await client.get("/xapi/statements", headers=headers)).status_code == 401


async def test_secret_is_stored_hashed(services):
    key, secret = await services.credentials.create("x", ["all"])
    doc = await services.credentials.collection.find_one({"_id": key})
    assert secret not in str(doc)
    assert doc["secret_hash"].startswith("scrypt$")


async def test_about_needs_no_credentials_and_no_version(app_services):
    transport = httpx.ASGITransport(app=app_services[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://lrs.test") as anon:
        response = await anon.get("/xapi/about")
    assert response.status_code == 200
    assert "2.0.0" in response.json()["version"]
    assert response.headers["X-Experience-API-Version"] == "2.0.0"


async def test_missing_version_header_is_400(client):
    response = await client.get("/xapi/statements", headers={"X-Experience-API-Version": ""})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_version"


async def test_unsupported_version_header_is_400(client):
    response = await client.get("/xapi/statements", headers={"X-Experience-API-Version": "0.95"})
    assert response.status_code == 400


async def test_1_0_x_request_gets_1_0_3_header(client):
    response = await client.get("/xapi/statements", headers={"X-Experience-API-Version": "1.0.1"})
    assert response.status_code == 200
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


async def test_read_only_credential_cannot_post(client, make_credentials, make_statement):
    reader = await make_credentials(("statements/read",))
    response = await client.post("/xapi/statements", json=make_statement(), headers=reader)
    assert response.status_code == 403


async def test_read_mine_sees_only_its_own_statements(client, make_credentials, make_statement):
    writer = await make_credentials(("statements/write", "statements/read/mine"), name="w")
    other = await make_credentials(("statements/write",), name="o")
    (mine,) = (await client.post("/xapi/statements", json=make_statement(), headers=writer)).json()
    (theirs,) = (await client.post("/xapi/statements", json=make_statement(), headers=other)).json()
    listed = (await client.get("/xapi/statements", headers=writer)).json()["statements"]
    assert [s["id"] for s in listed] == [mine]
    single = await client.get("/xapi/statements", params={"statementId": theirs}, headers=writer)
    assert single.status_code == 404


async def test_health_and_readiness(app_services):
    transport = httpx.ASGITransport(app=app_services[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://lrs.test") as anon:
        assert (await anon.get("/healthz")).json() == {"status": "ok"}
        assert (await anon.get("/readyz")).status_code == 200
