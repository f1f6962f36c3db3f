"""Teams: Graph's validationToken echo, clientState, and attendance report imports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.attendance import ATTENDED, COMPLETED
from tests.connectors.conftest import DATA, TEMPLATE

SECRET = "graph-client-state"


def report() -> dict:
    return json.loads((DATA / "teams_attendance_report.json").read_text())


@pytest.fixture
async def teams_connector(admin):
    body = {
        "kind": "teams",
        "name": "teams-main",
        "secret": SECRET,
        "activity_template": TEMPLATE.replace("zoom", "teams"),
    }
    response = await admin.post("/admin/connectors", json=body)
    assert response.status_code == 201
    return response.json()


async def test_graph_validation_echoes_the_token_as_text_plain(teams_connector, provider):
    response = await provider.post(
        "/connectors/" + teams_connector["id"], params={"validationToken": "Validation: abc 123"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Validation: abc 123"


async def test_a_validation_token_for_a_zoom_connector_is_400(zoom_connector, provider):
    response = await provider.post(
        "/connectors/" + zoom_connector["id"], params={"validationToken": "abc"}
    )
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "validationToken"


async def test_notifications_need_the_client_state(teams_connector, provider, services):
    path = "/connectors/" + teams_connector["id"]
    good = {"value": [{"subscriptionId": "s1", "clientState": SECRET, "changeType": "created"}]}
    bad = {"value": [*good["value"], {"subscriptionId": "s1", "clientState": "guess"}]}
    assert (await provider.post(path, json=bad)).status_code == 401
    assert await services.connectors.inbox.collection.count_documents({}) == 0
    response = await provider.post(path, json=good)
    assert response.status_code == 202  # recorded; attendance comes from the report
    assert (await provider.post(path, json={"value": []})).status_code == 400


async def test_an_attendance_report_import_becomes_statements_once(
    teams_connector, admin, client, services
):
    path = f"/admin/connectors/{teams_connector['id']}/attendance-report"
    body = {"meeting_id": "19:meeting_NjE4", "topic": "Onboarding", "report": report()}
    first = await admin.post(path, json=body)
    assert first.status_code == 202
    assert first.json()["events"] == 7 and first.json()["stored"] == 7
    again = await admin.post(path, json=body)
    assert again.json()["stored"] == 0
    await services.connectors.processor.drain(datetime.now(UTC) + timedelta(hours=1))
    attended = (await client.get("/xapi/statements", params={"verb": ATTENDED})).json()
    durations = sorted(s["result"]["duration"] for s in attended["statements"])
    assert durations == ["PT10M", "PT50M"]
    completed = (await client.get("/xapi/statements", params={"verb": COMPLETED})).json()
    assert [s["actor"]["mbox"] for s in completed["statements"]] == [
        "mailto:grace.hopper@example.com"
    ]


async def test_a_report_not_in_graph_shape_is_400_naming_the_field(teams_connector, admin):
    broken = report()
    del broken["attendanceRecords"][0]["attendanceIntervals"][0]["leaveDateTime"]
    response = await admin.post(
        f"/admin/connectors/{teams_connector['id']}/attendance-report",
        json={"meeting_id": "m1", "report": broken},
    )
    assert response.status_code == 400
    assert "attendanceIntervals[0].leaveDateTime is required" in response.json()["message"]


async def test_a_teams_401_names_the_client_state_scheme_not_basic(teams_connector, provider):
    body = {"value": [{"subscriptionId": "s1", "clientState": "guess"}]}
    response = await provider.post("/connectors/" + teams_connector["id"], json=body)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Graph-ClientState")
