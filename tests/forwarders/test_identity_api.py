"""The identity admin API (/admin, scope `admin`) and the `lrs identities` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from forwarders.events import event_id
from tests.forwarders.test_delivery import post

LRS = str(Path(sys.executable).parent / "lrs")
CSV = "employee_id,email,status\nE1,ada@example.com,active\nE2,bob@example.com,terminated\n"


@pytest.fixture
async def ops(make_credentials):
    return await make_credentials(("admin",), name="ops")


async def upload(client, ops, body, content_type="text/csv"):
    headers = {**ops, "content-type": content_type}
    return await client.post("/admin/identities", content=body, headers=headers)


async def test_the_identity_api_needs_the_admin_scope(client, make_credentials):
    writer = await make_credentials(("all",))
    assert (await upload(client, writer, CSV)).status_code == 403
    assert (await client.get("/admin/identities/E1", headers=writer)).status_code == 403
    assert (await client.get("/admin/unmatched", headers={"Authorization": ""})).status_code == 401


async def test_a_csv_import_returns_the_report_and_the_people_can_be_read(client, ops):
    response = await upload(client, ops, CSV + "E3,ADA@example.com,\n,x@example.com,\n")
    assert response.status_code == 200
    assert response.json() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "conflicting": [
            {
                "line": 4,
                "employee_id": "E3",
                "identifier": "mbox:ada@example.com",
                "other_employee_id": "E1",
            }
        ],
        "conflicting_count": 1,
        "invalid": [{"line": 5, "field": "employee_id", "message": "is required"}],
        "invalid_count": 1,
        "redriven": {"resolved": 0, "still_unmatched": 0},
    }
    person = await client.get("/admin/identities/E2", headers=ops)
    assert person.json() == {
        "employee_id": "E2",
        "email": "bob@example.com",
        "emails": [],
        "accounts": [],
        "manager_id": None,
        "department": None,
        "job_code": None,
        "status": "terminated",
    }


async def test_a_json_lines_import(client, ops):
    lines = b'{"employee_id": "E1", "email": "ada@example.com"}\n{"employee_id": "E2"}\n'
    response = await upload(client, ops, lines, "application/x-ndjson")
    assert response.json()["created"] == 2


async def test_an_unknown_person_is_a_404_with_the_error_body(client, ops):
    response = await client.get("/admin/identities/E404", headers=ops)
    assert response.status_code == 404
    assert response.json()["details"] == {"employee_id": "E404"}


async def test_bad_imports_are_refused_and_change_nothing(client, ops, services, db):
    wrong_type = await upload(client, ops, CSV, "application/json")
    assert (wrong_type.status_code, wrong_type.json()["details"]["rule"]) == (400, "content_type")
    bad_header = await upload(client, ops, "id,email\nE1,ada@example.com\n")
    assert bad_header.status_code == 400
    assert bad_header.json()["error"] == "invalid_import"
    assert bad_header.json()["details"] == {"field": "header"}
    services.identities.max_import_bytes = 64
    too_large = await upload(client, ops, CSV)
    assert too_large.status_code == 413
    assert await db["identities"].count_documents({}) == 0


async def test_unmatched_events_are_listed_with_reasons_paged_and_re_driven_by_an_import(
    client, ops, make_statement, make_forwarder, worker
):
    market = await make_forwarder("market", kind="marketplace")
    await make_forwarder("crm", kind="crm")
    actors = [{"mbox": f"mailto:{name}@example.com"} for name in ("ada", "bob", "cy")]
    ids = await post(client, *(make_statement(actor=actor) for actor in actors))
    await worker.run_until_empty()

    seen, after = [], None
    while True:
        query = {"limit": "4", **({"after": after} if after else {})}
        page = (await client.get("/admin/unmatched", params=query, headers=ops)).json()
        seen += page["events"]
        after = page["more"]
        if after is None:
            break
    assert len(seen) == len({e["id"] for e in seen}) == 6  # a batch shares `created`: no gap
    first = next(e for e in seen if e["id"] == event_id(market["id"], ids[0]))
    assert first["state"] == "unmatched"
    assert first["reason"] == "no person has the identifier mbox:ada@example.com"
    assert first["learner_keys"] == ["mbox:ada@example.com"]

    only = await client.get("/admin/unmatched", params={"forwarder": market["id"]}, headers=ops)
    assert {e["forwarder_id"] for e in only.json()["events"]} == {market["id"]}
    assert len(only.json()["events"]) == 3

    report = (await upload(client, ops, "employee_id,email\nE1,ada@example.com\n")).json()
    assert report["redriven"] == {"resolved": 2, "still_unmatched": 0}  # market and crm
    left = (await client.get("/admin/unmatched", headers=ops)).json()["events"]
    assert len(left) == 4


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "x"}, {"after": "yesterday"}])
async def test_bad_unmatched_queries_are_400(client, ops, query):
    response = await client.get("/admin/unmatched", params=query, headers=ops)
    assert response.status_code == 400


# -- the command line -----------------------------------------------------------------------


def lrs(tmp_path, mongo_server, settings, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    env.update(
        LRS_DATA_DIR=str(tmp_path / "var"),
        LRS_MONGODB_URI=mongo_server.uri,
        LRS_DATABASE=settings.database,
        LRS_IDENTITY_ALIAS_DOMAINS="example.com",
    )
    return subprocess.run(
        [LRS, "identities", *args], env=env, capture_output=True, text=True, timeout=60
    )


async def test_the_cli_imports_a_file_prints_the_report_and_shows_a_person(
    tmp_path, mongo_server, settings, db
):
    people = tmp_path / "people.jsonl"
    people.write_text(
        '{"employee_id": "E1", "email": "Ada+hr@Example.com",'
        ' "accounts": [{"home_page": "https://lms.example.com", "name": "ada"}]}\n'
    )
    imported = lrs(tmp_path, mongo_server, settings, "import", str(people))
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["created"] == 1

    shown = lrs(tmp_path, mongo_server, settings, "show", "E1")
    assert json.loads(shown.stdout)["email"] == "ada@example.com"  # the alias domain setting
    assert json.loads(shown.stdout)["accounts"] == [
        {"home_page": "https://lms.example.com", "name": "ada"}
    ]


async def test_the_cli_exits_1_on_conflicting_rows_and_on_an_unreadable_file(
    tmp_path, mongo_server, settings, db
):
    people = tmp_path / "people.txt"
    people.write_text("employee_id,email\nE1,ada@example.com\nE2,ada@example.com\n")
    unknown_suffix = lrs(tmp_path, mongo_server, settings, "import", str(people))
    assert unknown_suffix.returncode == 1 and "--format" in unknown_suffix.stderr
    conflicting = lrs(tmp_path, mongo_server, settings, "import", str(people), "--format", "csv")
    assert conflicting.returncode == 1
    assert json.loads(conflicting.stdout)["conflicting_count"] == 1
    missing = lrs(tmp_path, mongo_server, settings, "show", "E404")
    assert missing.returncode == 1 and "no person E404" in missing.stderr


async def test_the_cli_dry_run_prints_the_preview_and_imports_nothing(
    tmp_path, mongo_server, settings, db
):
    people = tmp_path / "people.csv"
    people.write_text("employee_id,email\nE1,ada@example.com\nE2,ada@example.com\n")
    dry = lrs(tmp_path, mongo_server, settings, "import", str(people), "--dry-run")
    assert dry.returncode == 1, dry.stderr  # a conflicting row, as the import would report
    preview = json.loads(dry.stdout)
    assert (preview["dry_run"], preview["new_count"], preview["conflicting_count"]) == (True, 1, 1)
    assert await db["identities"].count_documents({}) == 0
