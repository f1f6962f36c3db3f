"""POST /admin/connectors/{ref}/reconcile and `lrs connectors reconcile`, end to end: a missed
`left` and a guest's email from Zoom's report change the attendance, through voiding and
re-issuing (stored statements are immutable), and a second run changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from connectors.attendance import ATTENDED, COMPLETED
from lrs.cli.main import main
from tests.connectors.conftest import DATA, post_event, zoom_events
from tests.connectors.test_cli import CREATE, TEMPLATE

BOB_LEFT = 6
MEETING = "85746065432"
INSTANCE = "4444AAAiAAAAAiAiAiiAii=="
BOB = "account:G-7C1E9A22-0002"


def report() -> dict:
    return json.loads((DATA / "zoom_past_meeting_participants.json").read_text())


async def drain(services) -> int:
    return await services.connectors.processor.drain(datetime.now(UTC) + timedelta(hours=1))


async def statements(client, **params) -> list[dict]:
    """Statements of the verb asked for (a verb query also returns the statements that refer
    to matching ones, such as the voiding statements: xAPI's StatementRef rule)."""
    response = await client.get("/xapi/statements", params={"limit": 100, **params})
    assert response.status_code == 200
    found = response.json()["statements"]
    return [s for s in found if "verb" not in params or s["verb"]["id"] == params["verb"]]


def who(statement: dict) -> str:
    actor = statement["actor"]
    return actor.get("mbox") or actor["account"]["name"]


async def meeting_without_bobs_left(zoom_connector, provider, services) -> None:
    path = "/connectors/" + zoom_connector["id"]
    for i, event in enumerate(zoom_events()):
        if i != BOB_LEFT:
            assert (await post_event(provider, path, event)).status_code == 200
    await drain(services)


async def reconcile(admin, connector, **body):
    path = f"/admin/connectors/{connector['id']}/reconcile"
    return await admin.post(path, json={"meeting": MEETING, "report": report(), **body})


async def test_without_bobs_left_the_webhooks_alone_overcount_him(
    zoom_connector, provider, client, services
):
    await meeting_without_bobs_left(zoom_connector, provider, services)
    attended = {who(s): s["result"]["duration"] for s in await statements(client, verb=ATTENDED)}
    assert attended == {"mailto:ada@example.com": "PT55M", "G-7C1E9A22-0002": "PT50M"}
    assert len(await statements(client, verb=COMPLETED)) == 2


async def test_a_dry_run_reports_the_changes_and_stores_nothing(
    zoom_connector, provider, admin, services
):
    await meeting_without_bobs_left(zoom_connector, provider, services)
    before = await services.connectors.inbox.collection.count_documents({})
    response = await reconcile(admin, zoom_connector, dry_run=True)
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["dry_run"] is True and done["instance"] == INSTANCE
    assert [c["change"] for c in done["changes"]] == ["email", "left", "reissue"]
    assert done["changes"][1] == {
        "change": "left",
        "participant": BOB,
        "at": "2026-12-01T10:40:00Z",
    }
    assert await services.connectors.inbox.collection.count_documents({}) == before


async def test_reconcile_closes_the_missed_left_attaches_the_email_and_voids_what_changed(
    zoom_connector, provider, admin, client, services
):
    await meeting_without_bobs_left(zoom_connector, provider, services)
    old = {who(s): s["id"] for s in await statements(client, verb=ATTENDED)}
    old_completed = {who(s): s["id"] for s in await statements(client, verb=COMPLETED)}

    response = await reconcile(admin, zoom_connector)
    assert [c["change"] for c in response.json()["changes"]] == ["email", "left", "reissue"]
    await drain(services)

    attended = {who(s): s for s in await statements(client, verb=ATTENDED)}
    assert {k: s["result"]["duration"] for k, s in attended.items()} == {
        "mailto:ada@example.com": "PT55M",
        "mailto:bob@example.com": "PT30M",
    }
    assert attended["mailto:ada@example.com"]["id"] == old["mailto:ada@example.com"]
    completed = await statements(client, verb=COMPLETED)
    assert [who(s) for s in completed] == ["mailto:ada@example.com"]
    for voided in (old["G-7C1E9A22-0002"], old_completed["G-7C1E9A22-0002"]):
        found = await client.get("/xapi/statements", params={"voidedStatementId": voided})
        assert found.status_code == 200
    left = await statements(client, verb="http://activitystrea.ms/schema/1.0/leave")
    assert sum(s["actor"].get("account", {}).get("name") == "G-7C1E9A22-0002" for s in left) == 1


async def test_reconciling_twice_changes_nothing_the_second_time(
    zoom_connector, provider, admin, client, services
):
    await meeting_without_bobs_left(zoom_connector, provider, services)
    await reconcile(admin, zoom_connector)
    await drain(services)
    everything = await statements(client)
    inbox = await services.connectors.inbox.collection.count_documents({})
    again = await reconcile(admin, zoom_connector)
    assert again.json()["changes"] == []
    assert await drain(services) == 0
    assert await services.connectors.inbox.collection.count_documents({}) == inbox
    assert len(await statements(client)) == len(everything)


async def test_a_report_in_line_with_a_pending_end_asks_for_no_reissue(
    zoom_connector, provider, admin, services
):
    path = "/connectors/" + zoom_connector["id"]
    for event in zoom_events():
        await post_event(provider, path, event)
    response = await reconcile(admin, zoom_connector)
    # meeting.ended is still settling: it will read the identification when it runs
    assert [c["change"] for c in response.json()["changes"]] == ["email"]


async def test_bad_reconcile_requests_are_4xx_naming_the_field(zoom_connector, admin):
    path = f"/admin/connectors/{zoom_connector['id']}/reconcile"
    no_meeting = await admin.post(path, json={"report": report()})
    assert no_meeting.status_code == 400 and no_meeting.json()["details"]["field"] == "meeting"
    broken = report()
    del broken["participants"][0]["join_time"]
    shape = await admin.post(path, json={"meeting": MEETING, "report": broken})
    assert shape.status_code == 400
    assert "participants[0].join_time is required" in shape.json()["message"]
    dry = await admin.post(path, json={"meeting": MEETING, "report": report(), "dry_run": "yes"})
    assert dry.status_code == 400 and dry.json()["details"]["field"] == "dry_run"
    unknown = await admin.post(
        "/admin/connectors/nope/reconcile", json={"meeting": MEETING, "report": report()}
    )
    assert unknown.status_code == 404


async def test_a_meeting_id_with_several_occurrences_must_be_narrowed(
    zoom_connector, provider, admin
):
    path = "/connectors/" + zoom_connector["id"]
    for uuid in ("first==", "second=="):
        event = zoom_events()[0]
        event["payload"]["object"]["uuid"] = uuid
        await post_event(provider, path, event)
    response = await reconcile(admin, zoom_connector)
    assert response.status_code == 400
    assert response.json()["details"]["instances"] == ["first==", "second=="]
    narrowed = await admin.post(
        f"/admin/connectors/{zoom_connector['id']}/reconcile",
        json={"meeting": "second==", "report": report(), "dry_run": True},
    )
    assert narrowed.json()["instance"] == "second=="


def run(capsys, *argv: str) -> tuple[int, str]:
    status = main(["connectors", *argv])
    return status, capsys.readouterr().out


def test_the_cli_prints_what_it_changed_and_then_that_nothing_is_left(cli_env, capsys):
    assert run(capsys, *CREATE, "--activity-template", TEMPLATE)[0] == 0
    args = ("reconcile", MEETING, "--connector", "zoom-cli", "--file")
    args += (str(DATA / "zoom_past_meeting_participants.json"),)
    status, dry = run(capsys, *args, "--dry-run", "--json")
    assert status == 0
    assert json.loads(dry)["dry_run"] is True
    status, printed = run(capsys, *args)
    lines = printed.splitlines()
    assert lines[0] == "joined\tmbox:ada@example.com\t2026-12-01T10:00:00Z"
    assert lines[-2] == "ended\t2026-12-01T11:00:00Z"
    assert lines[-1] == f"zoom-cli meeting {MEETING}: changed 9 thing(s)"
    status, again = run(capsys, *args)
    assert again == f"zoom-cli meeting {MEETING}: changed 0 thing(s) (in line with the report)\n"


def test_the_cli_exits_2_on_a_file_that_is_not_json(cli_env, capsys, tmp_path):
    assert run(capsys, *CREATE, "--activity-template", TEMPLATE)[0] == 0
    bad = tmp_path / "report.json"
    bad.write_text("{not json")
    assert run(capsys, "reconcile", MEETING, "--connector", "zoom-cli", "--file", str(bad))[0] == 2
