"""The forwarding admin API (/admin, scope `admin`)."""

from __future__ import annotations

import pytest

SPEC = {"name": "marketplace", "kind": "generic", "url": "https://hooks.example.com/lrs"}


@pytest.fixture
async def admin(make_credentials):
    return await make_credentials(("admin",), name="ops")


async def test_admin_api_needs_the_admin_scope(client, make_credentials):
    writer = await make_credentials(("all",))
    assert (await client.get("/admin/forwarders", headers=writer)).status_code == 403
    anonymous = {"Authorization": ""}
    assert (await client.get("/admin/forwarders", headers=anonymous)).status_code == 401


async def test_create_returns_the_secret_once_and_never_lists_it(client, admin):
    created = await client.post("/admin/forwarders", json=SPEC, headers=admin)
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    listed = await client.get("/admin/forwarders", headers=admin)
    assert [f["id"] for f in listed.json()] == [body["id"]]
    assert body["secret"] not in listed.text


async def test_pause_resume_update_and_delete(client, admin):
    forwarder_id = (await client.post("/admin/forwarders", json=SPEC, headers=admin)).json()["id"]
    paused = await client.post(f"/admin/forwarders/{forwarder_id}/pause", headers=admin)
    assert paused.json()["paused"] is True
    resumed = await client.post(f"/admin/forwarders/{forwarder_id}/resume", headers=admin)
    assert resumed.json()["paused"] is False
    renamed = await client.patch(
        f"/admin/forwarders/{forwarder_id}", json={"name": "crm"}, headers=admin
    )
    assert renamed.json()["name"] == "crm"
    assert (
        await client.delete(f"/admin/forwarders/{forwarder_id}", headers=admin)
    ).status_code == 204
    missing = await client.get(f"/admin/forwarders/{forwarder_id}", headers=admin)
    assert missing.status_code == 404


async def test_test_event_is_queued_and_listed(client, admin):
    forwarder_id = (await client.post("/admin/forwarders", json=SPEC, headers=admin)).json()["id"]
    queued = await client.post(f"/admin/forwarders/{forwarder_id}/test", headers=admin)
    assert queued.status_code == 202
    event_id = queued.json()["id"]
    events = await client.get("/admin/events", params={"forwarder": forwarder_id}, headers=admin)
    assert event_id in [e["id"] for e in events.json()]
    assert (await client.get(f"/admin/events/{event_id}", headers=admin)).status_code == 200
    attempts = await client.get(f"/admin/events/{event_id}/attempts", headers=admin)
    assert attempts.json() == []


async def test_rotation_returns_a_new_secret(client, admin):
    created = (await client.post("/admin/forwarders", json=SPEC, headers=admin)).json()
    rotated = await client.post(f"/admin/forwarders/{created['id']}/rotate-secret", headers=admin)
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != created["secret"]


async def test_bad_forwarder_spec_is_400_naming_the_field(client, admin):
    response = await client.post(
        "/admin/forwarders", json={**SPEC, "url": "ftp://example.com"}, headers=admin
    )
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "url"


async def test_replay_range_needs_timestamps(client, admin):
    response = await client.post("/admin/events/replay", json={"start": "x"}, headers=admin)
    assert response.status_code == 400


# found by tests/test_fuzz.py (500s before): ill-typed admin inputs are 400s naming the field


@pytest.mark.parametrize("overlap", ["x", [1], 1e308, -1, True, None])
async def test_a_rotation_overlap_that_is_not_a_sane_number_is_400(client, admin, overlap):
    created = (await client.post("/admin/forwarders", json=SPEC, headers=admin)).json()
    response = await client.post(
        f"/admin/forwarders/{created['id']}/rotate-secret",
        json={"overlap_hours": overlap},
        headers=admin,
    )
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "overlap_hours"


@pytest.mark.parametrize("limit", ["²", "x", "-1"])
async def test_an_event_listing_limit_that_is_not_ascii_digits_is_400(client, admin, limit):
    response = await client.get("/admin/events", params={"limit": limit}, headers=admin)
    assert response.status_code == 400
    assert response.json()["details"]["parameter"] == "limit"


@pytest.mark.parametrize(
    "fields",
    [{"states": 5}, {"states": "dead"}, {"forwarder": {"$ne": None}}, {"forwarder": 7}],
)
async def test_a_replay_range_with_ill_typed_states_or_forwarder_is_400(client, admin, fields):
    body = {"start": "2020-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z", **fields}
    response = await client.post("/admin/events/replay", json=body, headers=admin)
    assert response.status_code == 400
    assert response.json()["details"]["field"] in fields
