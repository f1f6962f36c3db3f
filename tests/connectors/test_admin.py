"""POST/GET/DELETE /admin/connectors: the admin scope, checked definitions, secrets hidden."""

from __future__ import annotations

import httpx
import pytest

from tests.connectors.conftest import SECRET, TEMPLATE, post_event, zoom_events

VALID = {
    "kind": "zoom",
    "name": "zoom-b",
    "secret": SECRET,
    "activity_template": TEMPLATE,
    "completion_threshold": 0.75,
}


async def test_list_and_get_show_the_url_but_never_the_secret(admin, zoom_connector):
    listed = (await admin.get("/admin/connectors")).json()
    assert [c["name"] for c in listed] == ["zoom-main"]
    one = (await admin.get("/admin/connectors/zoom-main")).json()
    assert one["id"] == zoom_connector["id"] and one["url"] == zoom_connector["url"]
    assert SECRET not in str(listed) + str(one)


async def test_the_secret_is_sealed_at_rest(services, zoom_connector):
    doc = await services.connectors.store.collection.find_one({"_id": zoom_connector["id"]})
    assert doc["secret"].startswith(("plain:", "fernet:"))
    assert await services.connectors.store.secret(zoom_connector["id"]) == SECRET


async def test_delete_removes_the_connector_and_its_door(admin, provider, zoom_connector):
    assert (await admin.delete("/admin/connectors/" + zoom_connector["id"])).status_code == 204
    assert (await admin.get("/admin/connectors/zoom-main")).status_code == 404
    response = await post_event(provider, "/connectors/" + zoom_connector["id"], zoom_events()[0])
    assert response.status_code == 404


async def test_the_admin_api_needs_the_admin_scope(app_services, make_credentials):
    auth = await make_credentials(("all",))
    transport = httpx.ASGITransport(app=app_services[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://lrs.test") as http:
        assert (await http.post("/admin/connectors", json=VALID)).status_code == 401
        response = await http.post("/admin/connectors", json=VALID, headers=auth)
        assert response.status_code == 403


async def test_a_second_connector_with_the_same_name_is_400(admin, zoom_connector):
    response = await admin.post("/admin/connectors", json={**VALID, "name": "zoom-main"})
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "name"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "skype"}, "kind"),
        ({"secret": ""}, "secret"),
        ({"name": {"$gt": ""}}, "name"),
        ({"activity_template": "meetings/{meeting_id}"}, "activity_template"),
        ({"activity_template": "https://m.example.com/zoom"}, "activity_template"),
        ({"completion_threshold": 0}, "completion_threshold"),
        ({"completion_threshold": 1.5}, "completion_threshold"),
        ({"completion_threshold": True}, "completion_threshold"),
        ({"mapping": {"85746065432": "not an iri"}}, "mapping.85746065432"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_a_bad_definition_is_400_naming_the_field(admin, change, field):
    response = await admin.post("/admin/connectors", json={**VALID, **change})
    assert response.status_code == 400
    assert response.json()["details"]["field"] == field


async def test_the_webhook_needs_no_lrs_credential_but_admin_routes_still_do(
    provider, zoom_connector
):
    assert (await provider.get("/admin/connectors")).status_code == 401
    response = await post_event(provider, "/connectors/" + zoom_connector["id"], zoom_events()[0])
    assert response.status_code == 200


async def test_health_shows_each_connectors_counters_last_event_errors_and_backlog(
    admin, provider, services, zoom_connector
):
    path = "/connectors/" + zoom_connector["id"]
    for event in zoom_events():
        await post_event(provider, path, event)
    await post_event(provider, path, zoom_events()[0], secret="wrong")
    await services.connectors.processor.drain()  # the moves; meeting.ended is still settling
    (health,) = await services.connectors.health()
    assert health["name"] == "zoom-main" and health["url"] == zoom_connector["url"]
    stats = health["stats"]
    assert (stats["accepted"], stats["rejected"]) == (10, 1)
    assert stats["last_event_type"] == "recording.completed"
    assert stats["last_error"] == "bad_signature" and stats["last_error_at"].endswith("+00:00")
    assert health["inbox"] == {"pending": 1, "done": 9, "failed": 0, "ignored": 0}
    one = (await admin.get("/admin/connectors/zoom-main")).json()
    assert one["inbox"] == health["inbox"] and one["stats"] == stats
