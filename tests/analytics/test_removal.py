"""Erasure and retention keep the rollups exact: what they delete stops counting."""

import dataclasses
from datetime import UTC, datetime

import pytest

from analytics.verify import verify
from lrs.retention import run_retention
from lrs.storage.analytics_source import MongoAnalyticsSource
from lrs.storage.sequence import SequenceClock
from tests.analytics.conftest import COURSE

NOW = datetime(2025, 1, 31, tzinfo=UTC)
OLD_MS = int(datetime(2024, 12, 1, tzinfo=UTC).timestamp() * 1000)
NEW_MS = int(datetime(2025, 1, 20, tzinfo=UTC).timestamp() * 1000)
SUMMARY = "/analytics/activities/summary"


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, retention_statement_days=30)


async def post_at(client, services, ms, statements):
    services.clock = SequenceClock(services.clock.node, now_ms=lambda: ms)
    response = await client.post("/xapi/statements", json=statements)
    assert response.status_code == 200, response.text


async def exact(services):
    progress = await services.analytics.catch_up()
    db = services.client[services.settings.database]
    report = await verify(MongoAnalyticsSource(db), services.analytics.rollups, progress.cursor)
    assert report.differences == []
    return report


async def test_retention_removes_old_statements_from_the_rollups(
    client, analyst, services, learner_statement
):
    await post_at(client, services, OLD_MS, [learner_statement("ada"), learner_statement("bob")])
    await post_at(client, services, NEW_MS, [learner_statement("cy", "passed")])
    await services.analytics.catch_up()
    before = (await analyst.get(SUMMARY, params={"activity": COURSE})).json()
    assert before["counts"] == {"completed": 2, "passed": 1}

    db = services.client[services.settings.database]
    report = await run_retention(
        db, services.settings, services.audit, dry_run=False, actor="t", source="t", now=NOW
    )
    assert report.statements_deleted == 2
    await exact(services)

    after = (await analyst.get(SUMMARY, params={"activity": COURSE})).json()
    assert after["counts"] == {"passed": 1}
    assert after["learners"] == {"passed": 1}


async def test_erasure_removes_the_learners_statements_from_the_rollups(
    client, analyst, services, make_credentials, learner_statement
):
    await client.post(
        "/xapi/statements",
        json=[
            learner_statement("ada"),
            learner_statement("ada", "passed"),
            learner_statement("bob"),
        ],
    )
    await services.analytics.catch_up()
    admin = await make_credentials(("admin",))
    agent = {"mbox": "mailto:ada@example.com"}

    erased = await client.post("/admin/erasure", json={"agent": agent}, headers=admin)

    assert erased.status_code == 200
    await exact(services)
    body = (await analyst.get(SUMMARY, params={"activity": COURSE})).json()
    assert body["counts"] == {"completed": 1}
    learner = await analyst.get(
        "/analytics/learners/activities", params={"agent": '{"mbox": "mailto:ada@example.com"}'}
    )
    assert learner.json()["activities"] == []


async def test_a_statement_after_an_erasure_emptied_its_documents_recreates_them_exactly(
    client, analyst, services, make_credentials, learner_statement
):
    """The consumer remembers which documents exist (to skip inserting them again); an
    erasure deletes them under it, and the next statement on the same day, week and month
    must create them anew, with every field."""
    day = "2026-03-04T10:00:00Z"
    await client.post("/xapi/statements", json=[learner_statement("ada", timestamp=day)])
    await services.analytics.catch_up()
    admin = await make_credentials(("admin",))
    agent = {"mbox": "mailto:ada@example.com"}
    assert (await client.post("/admin/erasure", json={"agent": agent}, headers=admin)).is_success
    await services.analytics.catch_up()

    await client.post("/xapi/statements", json=[learner_statement("bob", "passed", timestamp=day)])

    await exact(services)
    window = {"activity": COURSE, "since": "2026-03-04", "until": "2026-03-05"}
    body = (await analyst.get(SUMMARY, params=window)).json()
    assert body["counts"] == {"passed": 1}
    assert body["learners"] == {"passed": 1}
