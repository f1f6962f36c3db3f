"""The credential and audit admin API (/admin/credentials, /admin/audit; scope `admin`)."""

from __future__ import annotations

import pytest

from tests.conftest import basic

FORWARDER = {"name": "crm", "kind": "generic", "url": "https://hooks.example.com/lrs"}


@pytest.fixture
async def admin(make_credentials):
    return await make_credentials(("admin",), name="ops")


def _key(headers) -> str:
    import base64

    return base64.b64decode(headers["Authorization"].split()[1]).decode().split(":")[0]


async def test_credentials_api_needs_the_admin_scope(client, make_credentials):
    everything_xapi = await make_credentials(("all",))
    assert (await client.get("/admin/credentials", headers=everything_xapi)).status_code == 403
    assert (await client.get("/admin/audit", headers=everything_xapi)).status_code == 403
    assert (
        await client.get("/admin/credentials", headers={"Authorization": ""})
    ).status_code == 401


async def test_created_credential_shows_its_secret_once_and_works(client, admin, services):
    created = await client.post(
        "/admin/credentials", json={"name": "lms", "scopes": ["statements/read"]}, headers=admin
    )
    assert created.status_code == 201
    body = created.json()
    assert body["scopes"] == ["statements/read"] and body["name"] == "lms"
    listed = await client.get("/admin/credentials", headers=admin)
    assert body["key"] in [c["key"] for c in listed.json()]
    assert body["secret"] not in listed.text and "secret_hash" not in listed.text
    works = await client.get(
        "/xapi/statements", headers={"Authorization": basic(body["key"], body["secret"])}
    )
    assert works.status_code == 200

    (entry,) = await services.audit.list(action="credential.created")
    assert (entry.actor, entry.target, entry.source) == (_key(admin), body["key"], "127.0.0.1")
    assert entry.details == {"name": "lms", "scopes": ["statements/read"]}
    assert body["secret"] not in str(await services.audit.collection.find_one({}))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scopes": ["superuser"]}, "scopes"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": "all"}, "scopes"),
        ({"name": "", "scopes": ["all"]}, "name"),
        ({"name": "x" * 101, "scopes": ["all"]}, "name"),
    ],
)
async def test_bad_credential_request_is_400_naming_the_field(client, admin, services, body, field):
    response = await client.post("/admin/credentials", json=body, headers=admin)
    assert response.status_code == 400
    assert response.json()["details"]["field"] == field
    assert await services.audit.list(action="credential.created") == []


async def test_revocation_stops_the_credential_and_is_audited(client, admin, services):
    key, secret = await services.credentials.create("lms", ["all"])
    assert (await client.delete(f"/admin/credentials/{key}", headers=admin)).status_code == 204
    refused = await client.get("/xapi/statements", headers={"Authorization": basic(key, secret)})
    assert refused.status_code == 401
    listed = {c["key"]: c for c in (await client.get("/admin/credentials", headers=admin)).json()}
    assert listed[key]["revoked"] is True
    (entry,) = await services.audit.list(action="credential.revoked")
    assert (entry.actor, entry.target, entry.outcome) == (_key(admin), key, "ok")


async def test_revoking_an_unknown_key_is_404(client, admin):
    response = await client.delete("/admin/credentials/nope", headers=admin)
    assert response.status_code == 404


async def test_audit_lists_newest_first_filters_by_action_and_pages(client, admin):
    for name in ("a", "b", "c"):
        await client.post(
            "/admin/credentials", json={"name": name, "scopes": ["all"]}, headers=admin
        )
    await client.get("/xapi/statements", headers={"Authorization": basic("nobody", "x")})

    created = await client.get(
        "/admin/audit", params={"action": "credential.created", "limit": "2"}, headers=admin
    )
    names = [e["details"]["name"] for e in created.json()]
    assert names == ["c", "b"]
    rest = await client.get(
        "/admin/audit",
        params={"action": "credential.created", "before": created.json()[-1]["id"]},
        headers=admin,
    )
    assert [e["details"]["name"] for e in rest.json()] == ["a"]
    everything = (await client.get("/admin/audit", headers=admin)).json()
    assert everything[0]["action"] == "auth.failed" and everything[0]["target"] == "nobody"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"limit": "0"}, "limit"), ({"limit": "x"}, "limit"), ({"before": "zzz"}, "before")],
)
async def test_bad_audit_query_is_400(client, admin, params, parameter):
    response = await client.get("/admin/audit", params=params, headers=admin)
    assert response.status_code == 400
    assert response.json()["details"]["parameter"] == parameter


async def test_every_forwarder_change_is_audited(client, admin, services):
    created = (await client.post("/admin/forwarders", json=FORWARDER, headers=admin)).json()
    forwarder = f"/admin/forwarders/{created['id']}"
    await client.patch(forwarder, json={"name": "crm-2"}, headers=admin)
    for action in ("pause", "resume", "rotate-secret", "replay"):
        assert (await client.post(f"{forwarder}/{action}", headers=admin)).status_code == 200
    await client.delete(forwarder, headers=admin)

    entries = await services.audit.list()
    assert [e.action for e in reversed(entries)] == [
        "forwarder.created",
        "forwarder.updated",
        "forwarder.pause",
        "forwarder.resume",
        "forwarder.rotate-secret",
        "forwarder.replay",
        "forwarder.deleted",
    ]
    assert {e.target for e in entries} == {created["id"]}
    assert {e.actor for e in entries} == {_key(admin)}
    assert created["secret"] not in str([e.as_dict() for e in entries])
