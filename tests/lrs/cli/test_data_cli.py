"""`lrs erase` and `lrs retention` from the command line (in-process `main`)."""

from __future__ import annotations

import json
import uuid

import pytest
from pymongo import MongoClient

from lrs.cli.main import main


@pytest.fixture
def database(mongo_server, monkeypatch, tmp_path):
    name = f"t{uuid.uuid4().hex}"
    monkeypatch.setenv("LRS_MONGODB_URI", mongo_server.uri)
    monkeypatch.setenv("LRS_DATABASE", name)
    monkeypatch.setenv("LRS_DATA_DIR", str(tmp_path))
    client: MongoClient = MongoClient(mongo_server.uri)
    yield client[name]
    client.drop_database(name)
    client.close()


def seed(db):
    ada = '{"mbox": "mailto:ada@example.com"}'
    db["statements"].insert_one(
        {
            "_id": "s1",
            "seq": 1,
            "raw": json.dumps({"id": "s1", "actor": json.loads(ada), "verb": {"id": "v"}}),
            "keys": ["*", "a:mbox::mailto:ada@example.com", "A:mbox::mailto:ada@example.com"],
            "att": [],
        }
    )
    return ada


def test_erase_dry_run_prints_the_report_and_changes_nothing(database, capsys):
    agent = seed(database)
    assert main(["erase", "--agent", agent, "--dry-run"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] is True and report["statements_deleted"] == ["s1"]
    assert database["statements"].count_documents({}) == 1
    entry = database["audit_log"].find_one({"action": "erasure.dry_run"})
    assert entry["actor"] == "cli" and entry["target"] == "mbox::mailto:ada@example.com"


def test_erase_deletes_and_is_audited(database, capsys):
    agent = seed(database)
    assert main(["erase", "--agent", agent]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["statements_deleted"] == 1
    assert database["statements"].count_documents({}) == 0
    assert database["audit_log"].count_documents({"action": "erasure.run"}) == 1


def test_erase_with_a_bad_agent_fails_with_a_message(database, caplog):
    assert main(["erase", "--agent", "not json"]) == 2
    assert main(["erase", "--agent", '{"name": "no ifi"}']) == 2
    assert "agent" in caplog.text
    assert database["audit_log"].count_documents({}) == 0


def test_retention_dry_run_reports_the_cutoffs(database, capsys, monkeypatch):
    monkeypatch.setenv("LRS_RETENTION_STATEMENT_DAYS", "30")
    seed(database)  # stored in 1970: older than any cutoff
    assert main(["retention", "--dry-run"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["statements_deleted"] == 1 and report["delivery_cutoff"] is None
    assert database["statements"].count_documents({}) == 1
    assert main(["retention"]) == 0
    assert database["statements"].count_documents({}) == 0
