"""`lrs analytics status|verify|rebuild` (in-process `main`, the real embedded database)."""

from __future__ import annotations

import json
import uuid

import pytest
from pymongo import MongoClient

from lrs.cli.main import main

COURSE = "http://example.com/courses/1"


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


def seed(db, count=3):
    for n in range(count):
        statement = {
            "id": f"s{n}",
            "actor": {"mbox": f"mailto:l{n}@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": COURSE},
            "timestamp": "2026-01-02T10:00:00Z",
        }
        db["statements"].insert_one(
            {
                "_id": f"s{n}",
                "seq": n + 1,
                "raw": json.dumps(statement),
                "keys": ["*", f"t:{COURSE}"],
                "canon": {"verb": "completed", "type": "Activity", "v": "test"},
            }
        )


def test_rebuild_then_verify_reports_exact_rollups(database, capsys):
    seed(database)
    assert main(["analytics", "rebuild"]) == 0
    captured = capsys.readouterr()
    assert "100.0%" in captured.err
    assert main(["analytics", "verify"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["exact"] is True and report["statements"] == 3
    days = database["analytics_periods"].find_one({"a": COURSE, "k": "dy"})
    assert days["d"] == "2025-12-29"  # the Monday of the week of 2026-01-02
    assert days["y"]["2026-01-02"]["c"] == {"completed": 3}


def test_verify_reports_a_tampered_rollup_and_rebuild_repairs_it(database, capsys):
    seed(database)
    assert main(["analytics", "rebuild"]) == 0
    database["analytics_periods"].update_one(
        {"a": COURSE, "k": "dy"}, {"$inc": {"y.2026-01-02.c.completed": 5}}
    )
    capsys.readouterr()

    assert main(["analytics", "verify"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [d["collection"] for d in report["differences"]] == ["analytics_periods"]
    assert report["differences"][0]["actual"]["y"]["2026-01-02"]["c"] == {"completed": 8}

    assert main(["analytics", "rebuild"]) == 0
    capsys.readouterr()
    assert main(["analytics", "verify"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["figures_compared"]  # the rebuild ends once the figures are made


def test_status_prints_how_far_the_rollups_have_got(database, capsys):
    assert main(["analytics", "status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert set(status) == {"through", "pending_refreshes", "figures_current"}
