"""The shipped marketplace and CRM templates, and a forwarder's template: validated when it is
configured (service, admin API, CLI), stored with the forwarder and reloaded the same."""

from __future__ import annotations

import json
import tomllib
import uuid
from pathlib import Path

import pytest
from pymongo import MongoClient

from forwarders.events import statement_event
from forwarders.mapping.template import TEMPLATES, InvalidTemplate, default_template, render_payload
from forwarders.rules import Forwarder
from forwarders.store import template_document, template_of
from lrs.cli.main import main
from tests.forwarders.test_mapping import HEADER, Person

ADL = "http://adlnet.gov/expapi/verbs/"
EXT = "https://example.com/xapi/extensions/"
SAFETY = "https://lms.example.com/courses/forklift-safety"
CUSTOM = f"""# name: acme-marketplace
# version: 3.1.0
{HEADER}
person.employee_id,member,string,,true,,one,
activity.id,skills,string,lookup:skills,false,,many,
"""
SKILLS = f"key,value\n{SAFETY},forklift\n{SAFETY},warehouse safety\n"


def completed_statement() -> dict:
    """A realistic completion: an LMS course passed with a raw score and a certificate."""
    return {
        "id": "0b7b5e8a-3b5f-4f55-9d34-7d1c7f4a2a11",
        "actor": {
            "objectType": "Agent",
            "name": "Ann Lee",
            "account": {"homePage": "https://lms.example.com", "name": "alee"},
        },
        "verb": {"id": ADL + "passed", "display": {"en-US": "passed", "fr-FR": "a réussi"}},
        "object": {
            "objectType": "Activity",
            "id": SAFETY,
            "definition": {
                "name": {"en-US": "Forklift Safety", "fr-FR": "Sécurité chariot"},
                "type": "http://adlnet.gov/expapi/activities/course",
                "extensions": {EXT + "skills": ["forklift", "loading docks"]},
            },
        },
        "result": {
            "score": {"raw": 46, "min": 0, "max": 50},
            "success": True,
            "completion": True,
            "duration": "PT1H2M",
            "extensions": {EXT + "certificate": "CERT-2024-0042"},
        },
        "context": {"registration": "5e4b7a33-2b36-4b0e-9a4e-7e8f5c1a9f10"},
        "timestamp": "2024-05-01T23:40:00-04:00",
        "stored": "2024-05-02T03:40:01.123Z",
    }


PERSON = Person(employee_id="E-1001", email="ann.lee@example.com")


def test_the_default_templates_are_versioned_package_data():
    assert default_template("marketplace").version == "1.0.0"
    assert default_template("crm").version == "1.0.0"
    assert default_template("marketplace").summary() == {
        "name": "marketplace",
        "version": "1.0.0",
        "lookups": ["badges", "outcomes", "skills"],
    }
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert (
        "templates/*.csv" in pyproject["tool"]["setuptools"]["package-data"]["forwarders.mapping"]
    )
    assert (TEMPLATES / "marketplace.csv").is_file() and (TEMPLATES / "skills.csv").is_file()
    with pytest.raises(ValueError, match="generic"):
        default_template("generic")


def test_the_marketplace_default_renders_a_completion():
    statement = completed_statement()
    event = statement_event("f-1", statement)
    payload = render_payload(default_template("marketplace"), event, statement, PERSON)
    assert payload == {
        "type": "learning.passed",
        "id": event.id,
        "timestamp": "2024-05-01T23:40:00-04:00",
        "template": {"name": "marketplace", "version": "1.0.0"},
        "data": {
            "member_id": "E-1001",
            "email": "ann.lee@example.com",
            "learning_completed": {
                "kind": "course_completion",
                "activity_id": SAFETY,
                "activity_name": "Forklift Safety",
                "activity_type": "http://adlnet.gov/expapi/activities/course",
                "outcome": "passed",
                "completed_on": "2024-05-02",
                "completed_at": "2024-05-02T03:40:00Z",
                "score": 92.0,
                "success": True,
                "skills": ["forklift", "loading docks"],
                "badges": [],
                "certificate_id": "CERT-2024-0042",
                "statement_id": statement["id"],
            },
        },
    }


def test_the_crm_default_renders_a_certification_and_an_activity_log_entry():
    statement = completed_statement()
    event = statement_event("f-2", statement)
    payload = render_payload(default_template("crm"), event, statement, PERSON)
    assert payload["template"] == {"name": "crm", "version": "1.0.0"}
    assert payload["data"] == {
        "contact": {"external_id": "E-1001", "email": "ann.lee@example.com"},
        "certification": {
            "name": "Forklift Safety",
            "activity_id": SAFETY,
            "status": "certified",
            "date": "2024-05-02",
            "certificate_id": "CERT-2024-0042",
            "score": 92.0,
        },
        "activity_log": {
            "type": "learning",
            "external_id": event.id,
            "action": "passed",
            "subject": "Forklift Safety",
            "occurred_at": "2024-05-02T03:40:00Z",
        },
    }


def test_a_minimal_completion_renders_with_nulls_and_a_verb_without_status_is_refused():
    statement = {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": "mailto:ann.lee@example.com"},
        "verb": {"id": ADL + "completed"},
        "object": {"id": SAFETY},
        "timestamp": "2024-05-01T10:00:00Z",
    }
    event = statement_event("f-3", statement)
    data = render_payload(default_template("marketplace"), event, statement, PERSON)["data"]
    assert data["learning_completed"]["score"] is None
    assert data["learning_completed"]["skills"] == []
    statement["verb"] = {"id": "https://example.com/verbs/attended"}
    with pytest.raises(Exception, match="verb.id -> certification.status"):
        render_payload(default_template("crm"), event, statement, PERSON)


def test_a_forwarder_uses_its_template_else_the_default_of_its_kind():
    custom = template_of(template_document(default_template("crm")))
    assert Forwarder("i", "n", "https://e.com").mapping_template() is None
    assert Forwarder("i", "n", "https://e.com", kind="crm").mapping_template() is (
        default_template("crm")
    )
    assert Forwarder("i", "n", "https://e.com", kind="crm", template=custom).mapping_template() is (
        custom
    )


# -- configuration: service, store, admin API, CLI ------------------------------------------


async def test_a_template_is_stored_with_the_forwarder_and_reloaded_the_same(admin, db):
    created = await admin.create_forwarder(
        {
            "name": "acme",
            "url": "https://acme.example.com/hooks",
            "kind": "marketplace",
            "template": {"csv": CUSTOM, "lookups": {"skills": SKILLS}},
            "terminated": "send",
        }
    )
    view = created.as_dict()
    assert view["template"] == {
        "name": "acme-marketplace",
        "version": "3.1.0",
        "lookups": ["skills"],
        "default": False,
    }
    assert view["terminated"] == "send"
    raw = await db["forwarders"].find_one({"_id": view["id"]})
    assert raw["template"]["csv"] == CUSTOM
    assert raw["template"]["lookups"] == [{"name": "skills", "csv": SKILLS}]
    reloaded = await admin.store.get(view["id"])
    assert reloaded.terminated == "send"
    assert reloaded.template.text == CUSTOM
    assert reloaded.template.lookups["skills"][SAFETY] == ("forklift", "warehouse safety")
    statement = completed_statement()
    payload = render_payload(
        reloaded.mapping_template(), statement_event(view["id"], statement), statement, PERSON
    )
    assert payload["data"] == {"member": "E-1001", "skills": ["forklift", "warehouse safety"]}


async def test_without_a_template_a_forwarder_shows_the_default_and_can_go_back_to_it(admin):
    created = await admin.create_forwarder(
        {"name": "crm", "url": "https://crm.example.com/h", "kind": "crm"}
    )
    view = created.as_dict()
    assert view["template"]["name"] == "crm" and view["template"]["default"] is True
    assert view["terminated"] == "drop"
    changed = await admin.update_forwarder(
        view["id"], {"template": {"csv": CUSTOM, "lookups": {"skills": SKILLS}}}
    )
    assert changed.as_dict()["template"]["version"] == "3.1.0"
    back = await admin.update_forwarder(view["id"], {"template": None})
    assert back.as_dict()["template"]["default"] is True
    assert (await admin.store.get(view["id"])).template is None


async def test_a_bad_template_is_refused_on_update_and_changes_nothing(admin):
    created = await admin.create_forwarder(
        {
            "name": "acme",
            "url": "https://acme.example.com/h",
            "kind": "marketplace",
            "template": {"csv": CUSTOM, "lookups": {"skills": SKILLS}},
        }
    )
    forwarder_id = created.view.forwarder.id
    with pytest.raises(InvalidTemplate) as caught:
        await admin.update_forwarder(forwarder_id, {"template": {"csv": CUSTOM}, "name": "x"})
    assert (caught.value.row, caught.value.column) == (2, "transform")
    kept = await admin.store.get(forwarder_id)
    assert kept.name == "acme" and kept.template.lookups["skills"]


@pytest.fixture
async def admin_headers(make_credentials):
    return await make_credentials(("admin",), name="ops")


async def test_the_admin_api_takes_a_template_and_refuses_a_bad_one_naming_row_and_column(
    client, admin_headers
):
    spec = {"name": "acme", "url": "https://acme.example.com/h", "kind": "marketplace"}
    bad = CUSTOM.replace("lookup:skills", "lookup:skils")
    refused = await client.post(
        "/admin/forwarders",
        json={**spec, "template": {"csv": bad, "lookups": {"skills": SKILLS}}},
        headers=admin_headers,
    )
    assert refused.status_code == 400
    body = refused.json()
    assert body["error"] == "invalid_template"
    assert body["details"] == {"field": "template", "row": 2, "column": "transform", "table": None}
    assert "row 2, column transform: unknown lookup table 'skils'" in body["message"]
    assert (await client.get("/admin/forwarders", headers=admin_headers)).json() == []

    created = await client.post(
        "/admin/forwarders",
        json={**spec, "template": {"csv": CUSTOM, "lookups": {"skills": SKILLS}}},
        headers=admin_headers,
    )
    assert created.status_code == 201
    forwarder = created.json()
    assert forwarder["template"]["version"] == "3.1.0" and CUSTOM not in created.text
    path = f"/admin/forwarders/{forwarder['id']}"
    patched = await client.patch(path, json={"terminated": "send"}, headers=admin_headers)
    assert patched.json()["terminated"] == "send"
    assert patched.json()["template"]["name"] == "acme-marketplace"
    for wrong in ({"terminated": "keep"}, {"template": "marketplace"}, {"template": {"csv": 1}}):
        answer = await client.patch(path, json=wrong, headers=admin_headers)
        assert answer.status_code == 400, wrong
        assert answer.json()["details"]["field"].startswith(next(iter(wrong)))


def test_the_cli_reads_a_template_and_its_lookup_tables_from_files(
    tmp_path, mongo_server, capsys, monkeypatch
):
    (tmp_path / "acme.csv").write_text(CUSTOM.replace("# name: acme-marketplace\n", ""))
    (tmp_path / "skills.csv").write_text(SKILLS)
    database = f"t{uuid.uuid4().hex}"
    monkeypatch.setenv("LRS_MONGODB_URI", mongo_server.uri)
    monkeypatch.setenv("LRS_DATABASE", database)
    monkeypatch.setenv("LRS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LRS_FORWARDER_ALLOW_PRIVATE", "false")
    try:
        argv = ["forwarders", "create", "--name", "acme", "--kind", "marketplace"]
        argv += ["--url", "https://acme.example.com/h", "--template", str(tmp_path / "acme.csv")]
        assert main([*argv, "--terminated", "send"]) == 0
        created = json.loads(capsys.readouterr().out)
        assert created["template"] == {
            "name": "acme",  # the file's name, as the template names none
            "version": "3.1.0",
            "lookups": ["skills"],
            "default": False,
        }
        assert created["terminated"] == "send"
        (tmp_path / "skills.csv").unlink()
        assert (
            main(["forwarders", "update", created["id"], "--template", str(tmp_path / "acme.csv")])
            == 1
        )
        assert main(["forwarders", "update", created["id"], "--terminated", "drop"]) == 0
        updated = json.loads(capsys.readouterr().out)
        assert updated["terminated"] == "drop" and updated["template"]["lookups"] == ["skills"]
    finally:
        with MongoClient(mongo_server.uri) as mongo:
            mongo.drop_database(database)
