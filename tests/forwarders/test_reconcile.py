"""Reconciliation: qualifying statements against events and deliveries. Finds a deliberately
deleted delivery record, requeues it through the pipeline, and a worker delivers it again;
every outcome is counted; the admin API and the command line give the same report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from forwarders.errors import InvalidForwarder
from forwarders.events import event_id
from forwarders.identity.service import IdentityService
from forwarders.reconcile import Reconciler
from forwarders.store import EVENTS
from lrs.storage.statement_source import MongoStatementSource
from tests.forwarders.conftest import ADL
from tests.forwarders.test_delivery import post
from tests.forwarders.test_pipeline import voiding_of

LRS = str(Path(sys.executable).parent / "lrs")
PEOPLE = "employee_id,email,status\nE1,ada@corp.com,active\nE2,bob@corp.com,terminated\n"
ADA = {"mbox": "mailto:ada@corp.com"}


@pytest.fixture
async def identities(db, clock) -> IdentityService:
    service = IdentityService(db, statements=MongoStatementSource(db), clock=clock)
    await service.ensure_indexes()
    await service.import_people(PEOPLE, "csv")
    return service


@pytest.fixture
def reconciler(db, identities, clock) -> Reconciler:
    return Reconciler(identities.pipeline, clock=clock)


def by(make_statement, actor, **overrides):
    return make_statement(actor=actor, **overrides)


def window(clock):
    """From before the forwarder to a second from now (the default stops a minute ago)."""
    return clock() - timedelta(minutes=1), datetime.now(UTC) + timedelta(seconds=1)


async def test_a_deleted_delivery_record_is_found_missing_requeued_and_delivered_again(
    client, make_statement, make_forwarder, worker, receiver, admin, reconciler, db, clock
):
    forwarder = await make_forwarder("market", kind="marketplace")
    [kept, lost] = await post(client, by(make_statement, ADA), by(make_statement, ADA))
    assert await worker.run_until_empty() == 2
    first = {d.id: d.payload for d in receiver.on("market")}
    await db[EVENTS].delete_one({"_id": event_id(forwarder["id"], lost)})
    found = await admin.find(forwarder["name"])

    report = await reconciler.reconcile(found, *window(clock))

    assert report.as_dict()["counts"] == {
        "missing": 1,
        "undelivered": 0,
        "dead": 0,
        "unmatched": 0,
        "dropped": 0,
        "delivered": 1,
    }
    assert report.as_dict()["ids"]["missing"] == [lost]
    assert report.as_dict()["ids"]["delivered"] == [event_id(forwarder["id"], kept)]
    assert (report.qualifying, report.drift, report.requeued) == (2, True, None)

    requeued = await reconciler.reconcile(found, *window(clock), requeue=True)
    assert requeued.requeued == {"pending": 1, "unmatched": 0, "dropped": 0, "dead": 0}
    assert (await admin.get_event(event_id(forwarder["id"], lost))).state == "pending"
    receiver.reset()
    assert await worker.run_until_empty() == 1

    [again] = receiver.on("market")
    assert again.id == event_id(forwarder["id"], lost)
    assert again.payload == first[again.id]  # the same body, rendered by the same pipeline
    after = await reconciler.reconcile(found, *window(clock))
    assert (after.outcomes["delivered"].count, after.drift) == (2, False)


async def test_every_outcome_is_counted_and_voided_statements_apart(
    client, make_statement, make_forwarder, worker, receiver, reconciler, admin, clock
):
    forwarder = await make_forwarder("market", kind="marketplace")
    receiver.plan("market", 400)
    [dead] = await post(client, by(make_statement, ADA))
    await worker.run_until_empty()
    delivered, unmatched, dropped, voided, _other_verb = await post(
        client,
        by(make_statement, ADA),
        by(make_statement, {"mbox": "mailto:eve@corp.com"}),
        by(make_statement, {"mbox": "mailto:bob@corp.com"}),
        by(make_statement, ADA),
        by(make_statement, ADA, verb={"id": ADL + "experienced"}),
    )
    await worker.run_until_empty()
    receiver.plan("market", 500)
    [failed] = await post(client, by(make_statement, ADA))
    await worker.run_until_empty()  # its retry is due later
    await post(client, voiding_of(make_statement, voided))  # no worker ran since
    [missing] = await post(client, by(make_statement, ADA))  # no worker ran since
    statements = {
        "dead": dead,
        "delivered": delivered,
        "unmatched": unmatched,
        "dropped": dropped,
        "failed": failed,
    }
    ids = {name: event_id(forwarder["id"], i) for name, i in statements.items()}

    report = await reconciler.reconcile(await admin.find(forwarder["id"]), *window(clock))

    body = report.as_dict()
    assert body["counts"] == {
        "missing": 1,
        "undelivered": 1,
        "dead": 1,
        "unmatched": 1,
        "dropped": 1,
        "delivered": 1,
    }
    assert body["ids"] == {
        "missing": [missing],
        "undelivered": [ids["failed"]],
        "dead": [ids["dead"]],
        "unmatched": [ids["unmatched"]],
        "dropped": [ids["dropped"]],
        "delivered": [ids["delivered"]],
    }
    assert (body["qualifying"], body["voided"], body["drift"]) == (6, 1, True)


async def test_replay_dead_puts_dead_lettered_events_back_in_the_queue(
    client, make_statement, make_forwarder, worker, receiver, reconciler, admin, clock
):
    forwarder = await make_forwarder("market", kind="marketplace")
    receiver.plan("market", 400)
    [statement_id] = await post(client, by(make_statement, ADA))
    await worker.run_until_empty()
    found = await admin.find(forwarder["id"])

    report = await reconciler.reconcile(found, *window(clock), replay_dead=True)

    assert (report.outcomes["dead"].count, report.replayed_dead) == (1, 1)
    assert await worker.run_until_empty() == 1
    assert (await admin.get_event(event_id(forwarder["id"], statement_id))).state == "delivered"


async def test_a_requeued_statement_of_an_unknown_person_waits_unmatched(
    client, make_statement, make_forwarder, worker, reconciler, admin, db, clock
):
    forwarder = await make_forwarder("market", kind="marketplace")
    [statement_id] = await post(client, by(make_statement, {"mbox": "mailto:eve@corp.com"}))
    await worker.run_until_empty()
    await db[EVENTS].delete_many({})

    report = await reconciler.reconcile(
        await admin.find(forwarder["id"]), *window(clock), requeue=True
    )

    assert report.requeued == {"pending": 0, "unmatched": 1, "dropped": 0, "dead": 0}
    record = await admin.get_event(event_id(forwarder["id"], statement_id))
    assert record.reason == "no person has the identifier mbox:eve@corp.com"


async def test_statements_outside_the_window_or_the_rule_are_not_qualifying(
    client, make_statement, make_forwarder, reconciler, admin, clock
):
    forwarder = await make_forwarder(
        "market", kind="marketplace", activity_prefixes=["http://example.com/courses/"]
    )
    await post(
        client,
        by(make_statement, ADA),
        by(make_statement, ADA, object={"id": "http://elsewhere.example.com/x"}),
    )
    found = await admin.find(forwarder["id"])
    since, until = window(clock)

    assert (await reconciler.reconcile(found, since, until)).qualifying == 1
    assert (await reconciler.reconcile(found, until, until + timedelta(hours=1))).qualifying == 0


# -- the admin API --------------------------------------------------------------------------


@pytest.fixture
async def ops(make_credentials):
    return await make_credentials(("admin",), name="ops")


async def test_the_admin_api_reports_and_requeues(
    client, ops, make_statement, make_forwarder, worker, db, identities, clock
):
    forwarder = await make_forwarder("market", kind="marketplace")
    [statement_id] = await post(client, by(make_statement, ADA))
    since, until = (m.isoformat() for m in window(clock))
    path = f"/admin/forwarders/{forwarder['id']}/reconcile"

    report = await client.get(path, params={"since": since, "until": until}, headers=ops)

    assert report.status_code == 200, report.text
    assert report.json()["ids"]["missing"] == [statement_id]
    acted = await client.post(path, json={"since": since, "until": until}, headers=ops)
    assert acted.json()["requeued"]["pending"] == 1
    assert acted.json()["replayed_dead"] is None
    assert await db[EVENTS].count_documents({"statement": statement_id}) == 1


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2025-03-01", "until": "2025-02-01"}, "since"),
        ({"since": "2025-03-01", "until": "soon"}, "until"),
        ({"since": "2025-03-01", "requeue": "true"}, "requeue"),
    ],
)
async def test_the_admin_api_refuses_bad_parameters_naming_them(
    client, ops, make_forwarder, query, parameter
):
    forwarder = await make_forwarder("market", kind="marketplace")
    path = f"/admin/forwarders/{forwarder['id']}/reconcile"
    response = await client.get(path, params=query, headers=ops)
    assert response.status_code == 400
    assert response.json()["details"] == {"parameter": parameter}


async def test_the_admin_api_needs_admin_and_a_known_forwarder(client, ops, make_credentials):
    reader = await make_credentials(("feeds/read", "all"))
    path = "/admin/forwarders/nope/reconcile?since=2025-01-01"
    assert (await client.get(path, headers=reader)).status_code == 403
    assert (await client.get(path, headers=ops)).status_code == 404
    refused = await client.post(
        "/admin/forwarders/nope/reconcile", json={"since": "2025-01-01"}, headers=reader
    )
    assert refused.status_code == 403


# -- the command line -----------------------------------------------------------------------


def lrs(tmp_path, mongo_server, settings, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    env.update(
        LRS_DATA_DIR=str(tmp_path / "var"),
        LRS_MONGODB_URI=mongo_server.uri,
        LRS_DATABASE=settings.database,
    )
    return subprocess.run(
        [LRS, "forwarders", *args], env=env, capture_output=True, text=True, timeout=60
    )


async def test_the_cli_reconciles_by_name_exits_1_on_drift_and_requeues(
    tmp_path, mongo_server, settings, client, make_statement, make_forwarder, identities, clock
):
    await make_forwarder("market", kind="marketplace")
    [statement_id] = await post(client, by(make_statement, ADA))
    since, until = (m.isoformat() for m in window(clock))
    args = ("reconcile", "--forwarder", "market", "--since", since, "--until", until)

    found = lrs(tmp_path, mongo_server, settings, *args)
    assert found.returncode == 1, found.stderr
    assert json.loads(found.stdout)["ids"]["missing"] == [statement_id]
    requeued = lrs(tmp_path, mongo_server, settings, *args, "--requeue")
    assert json.loads(requeued.stdout)["requeued"]["pending"] == 1

    unknown = lrs(
        tmp_path, mongo_server, settings, "reconcile", "--forwarder", "x", "--since", since
    )
    assert unknown.returncode == 2 and "no forwarder x" in unknown.stderr
    bad = lrs(
        tmp_path, mongo_server, settings, "reconcile", "--forwarder", "market", "--since", "x"
    )
    assert bad.returncode == 2 and "since: must be an ISO 8601 date" in bad.stderr


async def test_a_name_held_by_two_forwarders_must_be_given_as_an_id(
    admin, make_forwarder, receiver
):
    await make_forwarder("twin")
    await admin.create_forwarder({"name": "twin", "url": receiver.url("other")})
    with pytest.raises(InvalidForwarder, match="2 forwarders are named 'twin': use an id"):
        await admin.find("twin")
