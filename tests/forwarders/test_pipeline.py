"""The pipeline end to end, on the real database and a real receiver: marketplace and CRM
events resolve their person and are sent as rendered and stored; unknown actors wait as
unmatched until an import re-drives them; terminated people are dropped or sent per
forwarder; a required field missing dead-letters; voiding revokes what was deliverable."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from forwarders.events import event_id
from forwarders.identity.service import IdentityService
from lrs.storage.statement_source import MongoStatementSource
from tests.forwarders.conftest import ADL
from tests.forwarders.test_delivery import post

CORP = frozenset({"corp.com"})
LMS = "https://lms.example.com"
ADA_CSV = f"employee_id,email,accounts,manager_id\nE1,ada@corp.com,{LMS}|ada-l,E9\n"
ADA = {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@corp.com"}


@pytest.fixture
async def identities(db, clock) -> IdentityService:
    service = IdentityService(
        db, statements=MongoStatementSource(db), alias_domains=CORP, clock=clock
    )
    await service.ensure_indexes()
    return service


@pytest.fixture
async def worker(make_worker, forwarding_settings):
    return make_worker(settings=replace(forwarding_settings, alias_domains=CORP))


def completed_by(make_statement, actor, **overrides):
    return make_statement(actor=actor, timestamp="2025-03-04T10:00:00Z", **overrides)


async def test_a_resolved_marketplace_event_is_rendered_once_stored_and_sent_as_stored(
    client, make_statement, make_forwarder, worker, receiver, admin, identities
):
    forwarder = await make_forwarder("market", kind="marketplace")
    await identities.import_people(ADA_CSV, "csv")
    [statement_id] = await post(client, completed_by(make_statement, ADA))

    assert await worker.run_until_empty() == 1

    record = await admin.get_event(event_id(forwarder["id"], statement_id))
    assert (record.state, record.employee_id, record.ready is not None) == ("delivered", "E1", True)
    [delivery] = receiver.on("market")
    assert delivery.verified
    assert delivery.payload == record.payload
    assert delivery.payload["id"] == delivery.id == record.id
    assert delivery.payload["template"] == {"name": "marketplace", "version": "1.0.0"}
    data = delivery.payload["data"]
    assert (data["member_id"], data["email"]) == ("E1", "ada@corp.com")
    assert data["learning_completed"]["completed_on"] == "2025-03-04"
    assert data["learning_completed"]["score"] == 90.0


async def test_an_unknown_actor_waits_unmatched_with_the_reason_until_an_import_resolves_it(
    client, make_statement, make_forwarder, worker, receiver, admin, identities
):
    forwarder = await make_forwarder("market", kind="marketplace")
    [statement_id] = await post(client, completed_by(make_statement, ADA))
    assert await worker.run_until_empty() == 0
    assert receiver.on("market") == []

    record = await admin.get_event(event_id(forwarder["id"], statement_id))
    assert (record.state, record.due, record.payload) == ("unmatched", None, None)
    assert record.reason == "no person has the identifier mbox:ada@corp.com"
    assert record.learner_keys == ("mbox:ada@corp.com",)

    report = await identities.import_people(ADA_CSV, "csv")
    assert report["redriven"] == {"resolved": 1, "still_unmatched": 0}
    record = await admin.get_event(record.id)
    assert (record.state, record.reason, record.learner_keys) == ("pending", None, ())
    assert record.payload["data"]["member_id"] == "E1"

    assert await worker.run_until_empty() == 1
    [delivery] = receiver.on("market")
    assert delivery.payload == record.payload


async def test_an_import_only_re_drives_the_events_of_the_people_it_changed(
    client, make_statement, make_forwarder, worker, admin, identities
):
    forwarder = await make_forwarder("market", kind="marketplace")
    bob = {"mbox": "mailto:bob@corp.com"}
    ids = await post(client, completed_by(make_statement, ADA), completed_by(make_statement, bob))
    await worker.run_until_empty()

    report = await identities.import_people(ADA_CSV, "csv")
    assert report["redriven"] == {"resolved": 1, "still_unmatched": 0}
    states = [(await admin.get_event(event_id(forwarder["id"], i))).state for i in ids]
    assert states == ["pending", "unmatched"]
    again = await identities.import_people(ADA_CSV, "csv")  # unchanged: nothing to re-drive
    assert (again["unchanged"], again["redriven"]["resolved"]) == (1, 0)


async def test_three_actor_forms_of_one_person_reach_the_marketplace_and_the_crm(
    client, make_statement, make_forwarder, worker, receiver, identities
):
    await make_forwarder("market", kind="marketplace")
    await make_forwarder("crm", kind="crm")
    await identities.import_people(ADA_CSV, "csv")
    digest = hashlib.sha1(b"mailto:ada@corp.com", usedforsecurity=False).hexdigest()
    actors = [
        {"mbox": "mailto:Ada+Course@CORP.com"},
        {"mbox_sha1sum": digest},
        {"account": {"homePage": LMS + "/", "name": "ada-l"}},
    ]
    await post(client, *(completed_by(make_statement, actor) for actor in actors))

    assert await worker.run_until_empty() == 6
    market = [d.payload["data"]["member_id"] for d in receiver.on("market")]
    crm = [d.payload["data"]["contact"]["external_id"] for d in receiver.on("crm")]
    assert market == crm == ["E1", "E1", "E1"]


async def test_terminated_people_are_dropped_or_sent_per_forwarder(
    client, make_statement, make_forwarder, worker, receiver, admin, identities
):
    dropping = await make_forwarder("drop", kind="marketplace")
    sending = await make_forwarder("send", kind="marketplace", terminated="send")
    await identities.import_people("employee_id,email,status\nE1,ada@corp.com,Terminated\n", "csv")
    [statement_id] = await post(client, completed_by(make_statement, ADA))

    assert await worker.run_until_empty() == 1
    assert receiver.on("drop") == []
    [sent] = receiver.on("send")
    assert sent.payload["data"]["member_id"] == "E1"
    dropped = await admin.get_event(event_id(dropping["id"], statement_id))
    assert (dropped.state, dropped.due, dropped.employee_id) == ("dropped", None, "E1")
    assert dropped.reason == "employee E1 is terminated (forwarder policy: drop)"
    assert (await admin.get_event(event_id(sending["id"], statement_id))).state == "delivered"


MANAGER_TEMPLATE = """# name: with-manager
# version: 2.1.0
source_field,target_field,data_type,transform,required,notes,cardinality,retention_policy
person.employee_id,member_id,string,,true,,one,
person.manager_id,manager_id,string,,true,,one,
"""


async def test_a_required_field_missing_dead_letters_with_the_reason_and_a_replay_re_renders(
    client, make_statement, make_forwarder, worker, receiver, admin, identities
):
    forwarder = await make_forwarder(
        "market", kind="marketplace", template={"csv": MANAGER_TEMPLATE}
    )
    await identities.import_people("employee_id,email\nE1,ada@corp.com\n", "csv")
    [statement_id] = await post(client, completed_by(make_statement, ADA))
    assert await worker.run_until_empty() == 0

    record = await admin.get_event(event_id(forwarder["id"], statement_id))
    assert (record.state, record.attempts, record.payload) == ("dead", 0, None)
    assert record.reason == "required field missing: person.manager_id -> manager_id"

    await identities.import_people("employee_id,email,manager_id\nE1,ada@corp.com,E9\n", "csv")
    await admin.replay_event(record.id)  # the worker renders it now, with today's data
    assert await worker.run_until_empty() == 1
    [delivery] = receiver.on("market")
    assert delivery.payload["data"] == {"member_id": "E1", "manager_id": "E9"}
    assert delivery.payload["template"] == {"name": "with-manager", "version": "2.1.0"}
    assert (await admin.get_event(record.id)).payload == delivery.payload


async def test_a_replayed_unmatched_event_still_unknown_goes_back_to_waiting(
    client, make_statement, make_forwarder, worker, receiver, admin
):
    forwarder = await make_forwarder("market", kind="marketplace")
    [statement_id] = await post(client, completed_by(make_statement, ADA))
    await worker.run_until_empty()
    await admin.replay_event(event_id(forwarder["id"], statement_id))

    assert await worker.run_until_empty() == 0
    record = await admin.get_event(event_id(forwarder["id"], statement_id))
    assert (record.state, record.due, record.attempts) == ("unmatched", None, 0)
    assert record.learner_keys == ("mbox:ada@corp.com",)
    assert receiver.on("market") == []


async def test_generic_forwarders_store_and_send_the_generic_payload(
    client, make_statement, make_forwarder, worker, receiver, admin
):
    forwarder = await make_forwarder("hook")
    [statement_id] = await post(client, make_statement())
    assert await worker.run_until_empty() == 1
    record = await admin.get_event(event_id(forwarder["id"], statement_id))
    [delivery] = receiver.on("hook")
    assert record.payload == delivery.payload
    assert record.payload["data"]["statement_id"] == statement_id
    assert record.ready is not None and record.employee_id is None


def voiding_of(make_statement, statement_id):
    return make_statement(
        verb={"id": ADL + "voided", "display": {"en-US": "voided"}},
        object={"objectType": "StatementRef", "id": statement_id},
        result=None,
    )


async def test_voiding_a_delivered_marketplace_event_sends_its_revocation(
    client, make_statement, make_forwarder, worker, receiver, identities
):
    await make_forwarder("market", kind="marketplace")
    await identities.import_people(ADA_CSV, "csv")
    [original] = await post(client, completed_by(make_statement, ADA))
    await worker.run_until_empty()
    [delivered] = receiver.on("market")

    [voiding_id] = await post(client, voiding_of(make_statement, original))
    assert await worker.run_until_empty() == 1

    [_, revoked] = receiver.on("market")
    assert revoked.verified and revoked.id != delivered.id
    assert revoked.payload["type"] == "learning.revoked"
    assert revoked.payload["id"] == revoked.id
    assert revoked.payload["template"] == delivered.payload["template"]
    assert revoked.payload["data"] == {
        "revokes_event_id": delivered.id,
        "voiding_statement_id": voiding_id,
        "statement_id": original,
        "employee_id": "E1",
        "revoked": delivered.payload["data"],
    }


async def test_voiding_an_unmatched_event_drops_it_and_no_import_revives_it(
    client, make_statement, make_forwarder, worker, receiver, admin, identities
):
    forwarder = await make_forwarder("market", kind="marketplace")
    [original] = await post(client, completed_by(make_statement, ADA))
    await worker.run_until_empty()
    await post(client, voiding_of(make_statement, original))
    assert await worker.run_until_empty() == 0

    record = await admin.get_event(event_id(forwarder["id"], original))
    assert (record.state, record.learner_keys) == ("dropped", ())
    assert record.reason == "the statement was voided before its person was known"
    report = await identities.import_people(ADA_CSV, "csv")
    assert report["redriven"]["resolved"] == 0
    assert await worker.run_until_empty() == 0
    assert receiver.on("market") == []


async def test_an_import_committed_between_resolution_and_insert_is_not_missed(
    client, make_statement, make_forwarder, worker, admin, identities, monkeypatch
):
    """Discovery resolves (nobody), an import commits and re-drives (nothing stored yet),
    then discovery stores the event unmatched: its own re-check resolves it."""
    forwarder = await make_forwarder("market", kind="marketplace")
    prepare = worker.pipeline.prepare

    async def prepare_then_import(candidates):
        dispositions = await prepare(candidates)
        if candidates:
            await identities.import_people(ADA_CSV, "csv")
        return dispositions

    monkeypatch.setattr(worker.pipeline, "prepare", prepare_then_import)
    [statement_id] = await post(client, completed_by(make_statement, ADA))
    await worker.discovery.backfill()

    record = await admin.get_event(event_id(forwarder["id"], statement_id))
    assert (record.state, record.employee_id) == ("pending", "E1")
