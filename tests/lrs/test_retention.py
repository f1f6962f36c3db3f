"""Retention: statements and finished deliveries older than the configured ages go, with
exact boundaries, voiding kept consistent and orphaned attachments removed."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from asgi_lifespan import LifespanManager

from forwarders.events import Event
from forwarders.pipeline import generic
from forwarders.queue import JobStore
from lrs.app import create_app
from lrs.retention import run_retention
from lrs.storage.sequence import SequenceClock
from tests.conditions import eventually
from tests.lrs.resources.test_statements_attachments import attachment_for, multipart

NOW = datetime(2025, 1, 31, tzinfo=UTC)
CUTOFF = datetime(2025, 1, 1, tzinfo=UTC)  # NOW - 30 days
CUTOFF_MS = int(CUTOFF.timestamp() * 1000)
VOIDED = {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}}


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, retention_statement_days=30, retention_delivery_days=30)


@pytest.fixture
def db(services):
    return services.client[services.settings.database]


class Clock:
    """Stores statements at chosen milliseconds (the stored time is the sequence)."""

    def __init__(self, services):
        self.ms = 0
        services.clock = SequenceClock(services.clock.node, now_ms=lambda: self.ms)


@pytest.fixture
def clock(services):
    return Clock(services)


async def post_at(client, clock, ms, statement, *contents):
    clock.ms = ms
    statement = {"id": str(uuid.uuid4()), **statement}
    if contents:
        body, headers = multipart(statement, *contents)
        response = await client.post("/xapi/statements", content=body, headers=headers)
    else:
        response = await client.post("/xapi/statements", json=statement)
    assert response.status_code == 200, response.text
    return statement["id"]


def voiding(make_statement, target):
    return make_statement(verb=VOIDED, object={"objectType": "StatementRef", "id": target})


@pytest.fixture
async def history(client, clock, make_statement):
    """Statements around the cutoff, stored in time order."""
    ids = {}
    late_target = str(uuid.uuid4())
    ids["old_voids_new"] = await post_at(
        client, clock, CUTOFF_MS - 50, voiding(make_statement, late_target)
    )
    ids["old_voided"] = await post_at(client, clock, CUTOFF_MS - 40, make_statement())
    ids["old_pair_target"] = await post_at(client, clock, CUTOFF_MS - 30, make_statement())
    ids["old_pair_voiding"] = await post_at(
        client, clock, CUTOFF_MS - 20, voiding(make_statement, ids["old_pair_target"])
    )
    only = make_statement(attachments=[attachment_for(b"old only")])
    ids["old_attached"] = await post_at(client, clock, CUTOFF_MS - 10, only, b"old only")
    shared = make_statement(attachments=[attachment_for(b"shared")])
    ids["old_shared"] = await post_at(client, clock, CUTOFF_MS - 5, shared, b"shared")
    ids["just_old"] = await post_at(client, clock, CUTOFF_MS - 1, make_statement())
    ids["at_cutoff"] = await post_at(client, clock, CUTOFF_MS, make_statement())
    ids["new_shared"] = await post_at(client, clock, CUTOFF_MS + 1, shared, b"shared")
    ids["new_voids_old"] = await post_at(
        client, clock, CUTOFF_MS + 2, voiding(make_statement, ids["old_voided"])
    )
    ids["late_target"] = await post_at(client, clock, CUTOFF_MS + 3, make_statement(id=late_target))
    return ids


DELETED = ("old_voided", "old_pair_target", "old_pair_voiding", "old_attached", "old_shared")
DELETED += ("just_old",)
KEPT = ("old_voids_new", "at_cutoff", "new_shared", "new_voids_old", "late_target")


async def exists(db, statement_id):
    return await db["statements"].count_documents({"_id": statement_id}) == 1


async def test_dry_run_counts_and_changes_nothing(services, db, history):
    before = [doc async for doc in db["statements"].find({}).sort("_id", 1)]
    report = await run_retention(
        db, services.settings, services.audit, dry_run=True, actor="t", source="t", now=NOW
    )
    assert [doc async for doc in db["statements"].find({}).sort("_id", 1)] == before
    assert await db["attachments"].count_documents({}) == 2
    assert report.statement_cutoff == "2025-01-01T00:00:00.000Z"
    assert (report.statements_deleted, report.voiding_kept) == (len(DELETED), 1)
    assert report.attachments_deleted == 1
    entries = await services.audit.list(action="retention.dry_run")
    assert entries[0].details["statements_deleted"] == len(DELETED)


async def test_statements_before_the_cutoff_go_and_the_boundary_is_exact(
    client, services, db, history
):
    report = await run_retention(
        db, services.settings, services.audit, dry_run=False, actor="t", source="t", now=NOW
    )
    assert report.statements_deleted == len(DELETED)
    for name in DELETED:
        assert not await exists(db, history[name]), name
    for name in KEPT:
        assert await exists(db, history[name]), name
    old_only = hashlib.sha256(b"old only").hexdigest()
    shared = hashlib.sha256(b"shared").hexdigest()
    assert await services.statements.get_attachments([old_only]) == []
    assert len(await services.statements.get_attachments([shared])) == 1
    entries = await services.audit.list(action="retention.run")
    assert entries[0].details["statements_deleted"] == len(DELETED)


async def test_a_kept_voided_statement_keeps_its_old_voiding_statement(
    client, services, db, history
):
    await run_retention(
        db, services.settings, services.audit, dry_run=False, actor="t", source="t", now=NOW
    )
    late = history["late_target"]
    assert (await client.get("/xapi/statements", params={"statementId": late})).status_code == 404
    voided = await client.get("/xapi/statements", params={"voidedStatementId": late})
    assert voided.status_code == 200
    listed = (await client.get("/xapi/statements", params={"limit": 100})).json()
    assert late not in [s["id"] for s in listed["statements"]]
    assert history["old_voids_new"] in [s["id"] for s in listed["statements"]]


async def test_zero_days_keeps_everything(services, db, history):
    keep = dataclasses.replace(services.settings, retention_statement_days=0)
    report = await run_retention(
        db, keep, services.audit, dry_run=False, actor="t", source="t", now=NOW
    )
    assert report.statement_cutoff is None and report.statements_deleted == 0
    assert await db["statements"].count_documents({}) == len(history)


async def _events(services, db):
    created = await services.forwarders.create_forwarder(
        {"name": "crm", "url": "https://hooks.example.com/lrs"}
    )
    forwarder_id = created.as_dict()["id"]
    jobs = JobStore(db)
    cases = {
        "delivered_just_old": (
            "delivered",
            CUTOFF - timedelta(days=2),
            CUTOFF - timedelta(milliseconds=1),
        ),
        "delivered_at_cutoff": ("delivered", CUTOFF - timedelta(days=2), CUTOFF),
        "dead_old": ("dead", CUTOFF - timedelta(days=9), CUTOFF - timedelta(days=1)),
        "failed_old": ("failed", CUTOFF - timedelta(days=9), CUTOFF - timedelta(days=1)),
        "pending_old": ("pending", CUTOFF - timedelta(days=9), CUTOFF - timedelta(days=9)),
        "delivered_late": ("delivered", CUTOFF - timedelta(days=9), CUTOFF + timedelta(days=1)),
    }
    for name, (state, created, updated) in cases.items():
        event = Event(name, "learning.completed", forwarder_id, str(uuid.uuid4()), "t")
        await jobs.enqueue_dispositions([generic(event)], created)
        await db["forwarder_events"].update_one(
            {"_id": name}, {"$set": {"state": state, "updated": updated}}
        )
    return cases


async def test_finished_deliveries_before_the_cutoff_go(services, db):
    await _events(services, db)
    dry = await run_retention(
        db, services.settings, services.audit, dry_run=True, actor="t", source="t", now=NOW
    )
    assert dry.forwarder_events_deleted == 2
    assert await db["forwarder_events"].count_documents({}) == 6
    await run_retention(
        db, services.settings, services.audit, dry_run=False, actor="t", source="t", now=NOW
    )
    left = sorted([doc["_id"] async for doc in db["forwarder_events"].find({})])
    assert left == ["delivered_at_cutoff", "delivered_late", "failed_old", "pending_old"]


async def test_admin_endpoint_runs_retention_with_a_dry_run(client, make_credentials, db, history):
    admin = await make_credentials(("admin",))
    dry = await client.post("/admin/retention", json={"dry_run": True}, headers=admin)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    assert await db["statements"].count_documents({}) == len(history)
    writer = await make_credentials(("all",))
    assert (await client.post("/admin/retention", json={}, headers=writer)).status_code == 403


async def test_serve_applies_the_policy_periodically_when_configured(mongo_server, settings):
    periodic = dataclasses.replace(settings, retention_interval_minutes=60)
    app = create_app(periodic, mongo_server.uri)
    async with LifespanManager(app) as manager:
        services = manager._state["services"]
        try:
            entries = await eventually(
                lambda: services.audit.list(action="retention.run"), "the periodic retention run"
            )
            assert entries and entries[0].actor == "retention"
        finally:
            await services.client.drop_database(settings.database)


async def test_more_old_statements_than_one_batch_all_go(services, db):
    from lrs.storage.cleanup import BATCH
    from lrs.storage.sequence import MS_SHIFT

    count = BATCH + 7
    docs = [
        {"_id": f"s{n}", "seq": (CUTOFF_MS - count + n) << MS_SHIFT, "raw": "{}", "keys": ["*"]}
        for n in range(count + 3)
    ]
    await db["statements"].insert_many(docs)
    report = await run_retention(
        db, services.settings, services.audit, dry_run=False, actor="t", source="t", now=NOW
    )
    assert report.statements_deleted == count
    assert await db["statements"].count_documents({}) == 3
