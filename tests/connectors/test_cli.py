"""`lrs connectors create|list|show|delete|replay` against the real embedded database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx

from connectors.attendance import ATTENDED, COMPLETED
from lrs.cli.connectors import replay
from lrs.cli.main import main
from tests.connectors.conftest import DATA, SECRET, TEMPLATE


def run(capsys, *argv: str) -> tuple[int, str]:
    status = main(["connectors", *argv])
    return status, capsys.readouterr().out


CREATE = ("create", "--kind", "zoom", "--name", "zoom-cli", "--secret", SECRET)


def test_create_prints_the_url_then_list_show_and_delete(cli_env, capsys):
    status, printed = run(capsys, *CREATE, "--activity-template", TEMPLATE)
    assert status == 0
    created = json.loads(printed)
    assert created["url"] == "https://lrs.example.com/connectors/" + created["id"]
    assert SECRET not in printed
    assert [c["name"] for c in json.loads(run(capsys, "list")[1])] == ["zoom-cli"]
    assert json.loads(run(capsys, "show", "zoom-cli")[1])["stats"]["accepted"] == 0
    assert run(capsys, "delete", "zoom-cli")[0] == 0
    assert json.loads(run(capsys, "list")[1]) == []


def test_a_bad_definition_exits_2(cli_env, capsys):
    status, _ = run(capsys, *CREATE, "--activity-template", "https://m.example.com/no-id")
    assert status == 2


def test_show_of_an_unknown_connector_exits_2(cli_env, capsys):
    assert run(capsys, "show", "nope")[0] == 2


async def test_replay_signs_and_posts_the_recorded_meeting(app_services, client, capsys):
    app, services = app_services
    await services.connectors.create(
        {"kind": "zoom", "name": "demo", "secret": SECRET, "activity_template": TEMPLATE}
    )
    transport = httpx.ASGITransport(app=app)
    status = await replay(
        services.connectors, "demo", DATA / "zoom_meeting.jsonl", "http://lrs.test", transport
    )
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert [line.split("\t")[1] for line in lines] == ["200"] * 10
    await services.connectors.processor.drain(datetime.now(UTC) + timedelta(hours=1))
    for verb, expected in ((ATTENDED, 2), (COMPLETED, 1)):
        found = await client.get("/xapi/statements", params={"verb": verb})
        assert len(found.json()["statements"]) == expected


def test_import_report_stores_the_report_as_inbox_events(cli_env, capsys):
    create = ("create", "--kind", "teams", "--name", "teams-cli", "--secret", "state")
    assert run(capsys, *create, "--activity-template", TEMPLATE)[0] == 0
    report = str(DATA / "teams_attendance_report.json")
    args = ("import-report", "--connector", "teams-cli", "--meeting-id", "m1", "--file", report)
    status, printed = run(capsys, *args)
    assert status == 0
    assert json.loads(printed)["stored"] == 7
    assert json.loads(run(capsys, *args)[1])["stored"] == 0
