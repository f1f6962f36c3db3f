import httpx
import orjson

from tests.analytics.conftest import COURSE

FINISHED = "https://acme.example/verbs/finished"


async def admin_client(app_services, make_credentials):
    auth = await make_credentials(("admin",), name="admin")
    transport = httpx.ASGITransport(app=app_services[0])
    return httpx.AsyncClient(transport=transport, base_url="http://lrs.test", headers=auth)


async def test_statement_is_stored_as_received_with_canon_beside_it(
    client, services, learner_statement
):
    statement = learner_statement("ada", "http://activitystrea.ms/complete")
    (statement_id,) = (await client.post("/xapi/statements", json=statement)).json()
    doc = await services.client[services.settings.database]["statements"].find_one(
        {"_id": statement_id}
    )
    version = services.analytics.vocabulary.current().version
    assert doc["canon"] == {"verb": "completed", "type": "Activity", "v": version}
    assert orjson.loads(doc["raw"])["verb"] == {"id": "http://activitystrea.ms/complete"}


async def test_admin_extends_the_vocabulary_and_new_statements_use_it(
    app_services, make_credentials, client, analyst, services, learner_statement
):
    async with await admin_client(app_services, make_credentials) as admin:
        extension = {"version": "acme-1", "aliases": {"completed": [FINISHED]}}
        put = await admin.put("/admin/vocabulary", json=extension)
        assert put.status_code == 200
        assert put.json()["version"].endswith("+acme-1")
        assert FINISHED in [a["iri"] for a in put.json()["aliases"]["completed"]]
        await client.post("/xapi/statements", json=learner_statement("ada", FINISHED))
        await services.analytics.catch_up()
        summary = await analyst.get("/analytics/activities/summary", params={"activity": COURSE})
        assert summary.json()["counts"] == {"completed": 1}

        reset = await admin.delete("/admin/vocabulary")
        assert "+" not in reset.json()["version"]
        assert (await admin.get("/admin/vocabulary")).json() == reset.json()


async def test_a_bad_extension_is_a_400_naming_field_and_rule(app_services, make_credentials):
    async with await admin_client(app_services, make_credentials) as admin:
        response = await admin.put(
            "/admin/vocabulary", json={"version": "x", "aliases": {"done": ["nope"]}}
        )
    assert response.status_code == 400
    assert response.json()["details"] == {"field": "aliases.done", "rule": "iri"}


async def test_the_vocabulary_api_needs_admin(analyst):
    assert (await analyst.get("/admin/vocabulary")).status_code == 403
