"""Erasure of a learner through the real HTTP API: the dry run reports and changes nothing,
the real run leaves nothing of the agent reachable through any resource."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import orjson
import pytest

from forwarders.events import statement_event
from forwarders.pipeline import generic
from forwarders.queue import JobStore
from lrs import erasure as erasure_module
from tests.lrs.resources.test_statements_attachments import attachment_for, multipart

ADA = {"objectType": "Agent", "name": "Ada Lovelace", "mbox": "mailto:ada@example.com"}
ADA_SHA1 = hashlib.sha1(b"mailto:ada@example.com", usedforsecurity=False).hexdigest()
BOB = {"objectType": "Agent", "name": "Bob", "mbox": "mailto:bob@example.com"}
VERBS = "http://adlnet.gov/expapi/verbs/"
COURSE = "http://example.com/courses/xapi-101"
WORKSHOP = "http://example.com/workshops/ethics"
TRACES = ("ada@example.com", "Ada Lovelace", ADA_SHA1)


def verb(name):
    return {"id": VERBS + name, "display": {"en-US": name}}


def ref(statement_id):
    return {"objectType": "StatementRef", "id": statement_id}


@pytest.fixture
async def admin(make_credentials):
    return await make_credentials(("admin",), name="dpo")


@pytest.fixture
def db(services):
    return services.client[services.settings.database]


async def post(client, statement, *contents):
    statement = {"id": str(uuid.uuid4()), **statement}
    if contents:
        body, headers = multipart(statement, *contents)
        response = await client.post("/xapi/statements", content=body, headers=headers)
    else:
        response = await client.post("/xapi/statements", json=statement)
    assert response.status_code == 200, response.text
    return statement


@pytest.fixture
async def world(client, services, make_statement, db):
    """Ada's own statements, mentions of her, voiding both ways, documents, events."""
    s = {}
    s["own"] = await post(
        client,
        make_statement(actor=ADA, attachments=[attachment_for(b"ada only")]),
        b"ada only",
    )
    s["own_shared"] = await post(
        client, make_statement(actor=ADA, attachments=[attachment_for(b"shared")]), b"shared"
    )
    s["bob_shared"] = await post(
        client, make_statement(actor=BOB, attachments=[attachment_for(b"shared")]), b"shared"
    )
    s["sha1"] = await post(client, make_statement(actor={"mbox_sha1sum": ADA_SHA1}))
    s["taught"] = await post(
        client,
        make_statement(
            actor=BOB,
            verb=verb("attended"),
            object={"objectType": "Activity", "id": WORKSHOP},
            context={"instructor": ADA},
        ),
    )
    team = {"objectType": "Group", "name": "Team", "member": [ADA, BOB]}
    s["team"] = await post(client, make_statement(actor=team, verb=verb("attended")))
    s["ref"] = await post(
        client, make_statement(actor=BOB, verb=verb("liked"), object=ref(s["own"]["id"]))
    )
    s["voided_by_bob"] = await post(client, make_statement(actor=ADA))
    s["bob_voids"] = await post(
        client, make_statement(actor=BOB, verb=verb("voided"), object=ref(s["voided_by_bob"]["id"]))
    )
    s["bob_voided"] = await post(client, make_statement(actor=BOB))
    s["ada_voids"] = await post(
        client, make_statement(actor=ADA, verb=verb("voided"), object=ref(s["bob_voided"]["id"]))
    )
    s["bob"] = await post(client, make_statement(actor=BOB))
    for agent in (ADA, BOB):
        params = {
            "activityId": COURSE,
            "agent": orjson.dumps(agent).decode(),
            "stateId": "bookmark",
        }
        assert (
            await client.put("/xapi/activities/state", params=params, json={"p": 3})
        ).status_code == 204
        params = {"agent": orjson.dumps(agent).decode(), "profileId": "prefs"}
        assert (
            await client.put("/xapi/agents/profile", params=params, json={"l": "en"})
        ).status_code == 204
    jobs = JobStore(db)
    stored = {k: await statement_of(client, v["id"]) for k, v in s.items()}
    # events exist only for an existing forwarder (deleted with it): erasure finds a
    # statement's events by id, one per forwarder
    created = await services.forwarders.create_forwarder(
        {"name": "f1", "url": "https://hooks.example.com/lrs"}
    )
    f1 = created.as_dict()["id"]
    await jobs.enqueue_dispositions(
        [generic(statement_event(f1, stored[k])) for k in ("own", "taught", "bob")]
        + [generic(statement_event(f1, {**s["ada_voids"], "stored": "2024-01-01T00:00:00Z"}))],
        datetime.now(UTC),
    )
    return s


async def statement_of(client, statement_id):
    response = await client.get("/xapi/statements", params={"statementId": statement_id})
    if response.status_code == 404:
        response = await client.get("/xapi/statements", params={"voidedStatementId": statement_id})
    return response.json()


async def snapshot(db):
    names = ["statements", "documents", "attachments", "forwarder_events", "meta"]
    found = {name: [doc async for doc in db[name].find({}).sort("_id", 1)] for name in names}
    for doc in found["meta"]:
        # the newest-seq hint is published up to a second after the fixture's last write,
        # by the store itself, whatever the erasure does
        doc.pop("last_seq", None)
    return found


async def erase(client, admin, agent=ADA, dry_run=False):
    response = await client.post(
        "/admin/erasure", json={"agent": agent, "dry_run": dry_run}, headers=admin
    )
    assert response.status_code == 200, response.text
    return response.json()


def ids(world, *names):
    return sorted(world[n]["id"] for n in names)


DELETED = ("own", "own_shared", "sha1", "voided_by_bob")
PSEUDONYMISED = ("taught", "team", "ada_voids")
REKEYED = ("ref", "bob_voids")


async def test_dry_run_reports_everything_and_changes_nothing(client, admin, world, db, services):
    before = await snapshot(db)
    report = await erase(client, admin, dry_run=True)
    assert await snapshot(db) == before
    assert report["dry_run"] is True
    assert sorted(report["statements_deleted"]) == ids(world, *DELETED)
    assert sorted(report["statements_pseudonymised"]) == ids(world, *PSEUDONYMISED)
    assert sorted(report["statements_rekeyed"]) == ids(world, *REKEYED)
    assert report["attachments_deleted"] == [hashlib.sha256(b"ada only").hexdigest()]
    assert sorted((d["kind"], d["id"]) for d in report["documents_deleted"]) == [
        ("agent_profile", "prefs"),
        ("state", "bookmark"),
    ]
    assert len(report["forwarder_events_deleted"]) == 1
    assert len(report["forwarder_events_scrubbed"]) == 1
    assert report["counts"]["statements_deleted"] == 4
    entries = await services.audit.list(action="erasure.dry_run")
    assert entries[0].target == "mbox::mailto:ada@example.com"
    assert entries[0].details["statements_deleted"] == 4


async def test_real_run_reports_what_the_dry_run_announced(client, admin, world):
    dry = await erase(client, admin, dry_run=True)
    real = await erase(client, admin)
    for field in ("statements_deleted", "statements_pseudonymised", "attachments_deleted"):
        assert sorted(real[field]) == sorted(dry[field])
    assert real["counts"] == dry["counts"]
    again = await erase(client, admin)
    assert again["counts"]["statements_deleted"] == 0
    assert again["counts"]["statements_pseudonymised"] == 0


async def query(client, **params):
    response = await client.get("/xapi/statements", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return [st["id"] for st in response.json()["statements"]]


def agent_param(agent):
    return orjson.dumps(agent).decode()


async def test_nothing_of_the_agent_is_reachable_after_erasure(client, admin, world, db, services):
    report = await erase(client, admin)
    pseudonym = report["pseudonym"]

    for agent in (ADA, {"mbox": "mailto:ada@EXAMPLE.com"}, {"mbox_sha1sum": ADA_SHA1}):
        for related in ("false", "true"):
            found = await query(client, agent=agent_param(agent), related_agents=related)
            assert found == [], (agent, related)
    everything = await client.get("/xapi/statements", params={"limit": 500})
    assert not any(trace in everything.text for trace in TRACES)
    for name in DELETED:
        for param in ("statementId", "voidedStatementId"):
            response = await client.get("/xapi/statements", params={param: world[name]["id"]})
            assert response.status_code == 404, (name, param)
    for name in PSEUDONYMISED + REKEYED:
        text = await statement_of(client, world[name]["id"])
        assert not any(trace in orjson.dumps(text).decode() for trace in TRACES), name

    state = {"activityId": COURSE, "agent": agent_param(ADA), "stateId": "bookmark"}
    assert (await client.get("/xapi/activities/state", params=state)).status_code == 404
    profile = {"agent": agent_param(ADA), "profileId": "prefs"}
    assert (await client.get("/xapi/agents/profile", params=profile)).status_code == 404
    listed = await client.get("/xapi/agents/profile", params={"agent": agent_param(ADA)})
    assert listed.json() == []
    by_mbox = agent_param({"mbox": ADA["mbox"]})  # the Person echoes the query's own name
    person = (await client.get("/xapi/agents", params={"agent": by_mbox})).json()
    assert "Ada Lovelace" not in person.get("name", [])

    ada_only = hashlib.sha256(b"ada only").hexdigest()
    assert await services.statements.get_attachments([ada_only]) == []
    events = [doc async for doc in db["forwarder_events"].find({})]
    assert world["own"]["id"] not in {e["statement"] for e in events}
    assert not any(trace in str(events) for trace in TRACES)
    scrubbed = [e for e in events if e["statement"] == world["ada_voids"]["id"]]
    assert scrubbed[0]["event"]["learner"]["account"] == pseudonym["account"]

    raw = [doc async for doc in db["statements"].find({})]
    assert not any(trace in str(raw) for trace in TRACES)
    entries = await services.audit.list(action="erasure.run")
    assert entries[0].details["statements_deleted"] == len(DELETED)


async def test_others_data_survives_and_stays_queryable(client, admin, world, services):
    report = await erase(client, admin)
    pseudonym = {"objectType": "Agent", "account": report["pseudonym"]["account"]}

    attended = await query(client, verb=VERBS + "attended")
    assert sorted(attended) == ids(world, "team", "taught")
    assert await query(client, activity=WORKSHOP) == [world["taught"]["id"]]
    linked = await query(client, agent=agent_param(pseudonym), related_agents="true")
    assert sorted(linked) == ids(world, "taught", "team", "ada_voids")
    bob = await query(client, agent=agent_param(BOB))
    assert set(ids(world, "bob", "bob_shared", "ref", "bob_voids")) <= set(bob)
    state = {"activityId": COURSE, "agent": agent_param(BOB), "stateId": "bookmark"}
    assert (await client.get("/xapi/activities/state", params=state)).json() == {"p": 3}
    shared = await client.get(
        "/xapi/statements", params={"statementId": world["bob_shared"]["id"], "attachments": "true"}
    )
    assert shared.headers["content-type"].startswith("multipart/mixed")
    assert b"shared" in shared.content


async def test_voided_statements_stay_hidden(client, admin, world):
    await erase(client, admin)
    # Ada voided Bob's statement: her voiding statement stays (pseudonymised), so it stays voided
    bob_voided = world["bob_voided"]["id"]
    hidden = await client.get("/xapi/statements", params={"statementId": bob_voided})
    assert hidden.status_code == 404
    voided = await client.get("/xapi/statements", params={"voidedStatementId": bob_voided})
    assert voided.status_code == 200
    assert bob_voided not in await query(client)
    assert bob_voided not in await query(client, agent=agent_param(BOB))
    voiding = await statement_of(client, world["ada_voids"]["id"])
    assert voiding["object"]["id"] == bob_voided and voiding["verb"]["id"] == VERBS + "voided"
    # Bob voided Ada's statement: hers is gone, his voiding statement no longer matches her
    assert world["bob_voids"]["id"] in await query(client, agent=agent_param(BOB))
    assert world["bob_voids"]["id"] not in await query(client, activity=COURSE)


async def test_a_statement_reposted_after_its_voiding_statement_was_kept_is_voided(
    client, admin, world, make_statement
):
    """The pseudonymised voiding statement still voids a target that arrives later."""
    late = str(uuid.uuid4())
    await post(client, make_statement(actor=ADA, verb=verb("voided"), object=ref(late)))
    await erase(client, admin)
    await post(client, make_statement(id=late, actor=BOB))
    assert (await client.get("/xapi/statements", params={"statementId": late})).status_code == 404


async def test_erasure_needs_the_admin_scope_and_a_valid_agent(client, admin, make_credentials):
    writer = await make_credentials(("all",))
    body = {"agent": ADA}
    assert (await client.post("/admin/erasure", json=body, headers=writer)).status_code == 403
    for bad, field in [
        ({}, "agent"),
        ({"agent": {"name": "no ifi"}}, "agent"),
        ({"agent": {"objectType": "Group", "member": [ADA]}}, "agent"),
        ({"agent": "mailto:ada@example.com"}, "agent"),
        ({"agent": ADA, "dry_run": "yes"}, "dry_run"),
        ({"agent": ADA, "$where": 1}, "$where"),
    ]:
        response = await client.post("/admin/erasure", json=bad, headers=admin)
        assert response.status_code == 400, bad
        assert response.json()["details"]["field"] == field


async def test_a_pseudonymised_signed_statement_loses_its_signature(client, admin, services):
    from cryptography.hazmat.primitives.asymmetric import rsa

    from statements.multipart import build_multipart_mixed
    from statements.types import Attachment
    from tests.statements.test_signatures import sign, with_signature

    statement = {
        "id": str(uuid.uuid4()),
        "actor": BOB,
        "verb": verb("attended"),
        "object": {"objectType": "Activity", "id": WORKSHOP},
        "context": {"instructor": ADA},
    }
    jws = sign(statement, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    sha2 = hashlib.sha256(jws).hexdigest()
    part = Attachment(sha2, "application/octet-stream", jws)
    body = build_multipart_mixed(orjson.dumps(with_signature(statement, jws)), [part], "b0UNDARY")
    headers = {"Content-Type": 'multipart/mixed; boundary="b0UNDARY"'}
    posted = await client.post("/xapi/statements", content=body, headers=headers)
    assert posted.status_code == 200, posted.text

    report = await erase(client, admin)

    assert report["statements_pseudonymised"] == [statement["id"]]
    assert report["attachments_deleted"] == [sha2]
    assert await services.statements.get_attachments([sha2]) == []
    got = await client.get(
        "/xapi/statements", params={"statementId": statement["id"], "attachments": "true"}
    )
    assert got.status_code == 200
    assert not any(trace.encode() in got.content for trace in TRACES)
    assert "attachments" not in await statement_of(client, statement["id"])


async def test_the_hris_person_and_rendered_payloads_of_the_agent_are_erased(
    client, admin, world, db, services
):
    people = (
        "employee_id,email,other_emails\n"
        "E-ADA,ADA@example.com,ada.lovelace@example.com\n"
        "E-BOB,bob@example.com,\n"
    )
    await services.identities.import_people(people, "csv")
    taught = await db["forwarder_events"].find_one({"statement": world["ada_voids"]["id"]})
    await db["forwarder_events"].update_one(
        {"_id": taught["_id"]},
        {"$set": {"payload": {"data": {"email": "ada@example.com"}}, "employee_id": "E-ADA"}},
    )

    dry = await erase(client, admin, dry_run=True)
    assert dry["identities_deleted"] == ["E-ADA"]
    assert await db["identities"].count_documents({}) == 2
    await erase(client, admin)

    assert [doc["_id"] async for doc in db["identities"].find({})] == ["E-BOB"]
    scrubbed = await db["forwarder_events"].find_one({"_id": taught["_id"]})
    assert "payload" not in scrubbed and "employee_id" not in scrubbed


async def test_a_pseudonymised_statement_does_not_gain_bytes_it_did_not_come_with(
    client, admin, make_statement
):
    """Rewriting a statement keeps what it carried, never links a bodiless attachment."""
    await post(client, make_statement(actor=BOB, attachments=[attachment_for(b"bob's")]), b"bob's")
    bodiless = attachment_for(b"bob's", fileUrl="http://example.com/bobs")
    taught = await post(
        client, make_statement(actor=BOB, context={"instructor": ADA}, attachments=[bodiless])
    )
    report = await erase(client, admin)
    assert report["statements_pseudonymised"] == [taught["id"]]
    got = await client.get(
        "/xapi/statements", params={"statementId": taught["id"], "attachments": "true"}
    )
    assert b"bob's" not in got.content


async def test_events_written_while_the_erasure_runs_are_found_by_its_second_look(
    client, admin, world, db, services, monkeypatch
):
    """A writer that read the statements before erasure changed them, and wrote their events
    after erasure's first look, is caught by erasure's look after the change."""
    created = await services.forwarders.create_forwarder(
        {"name": "f2", "url": "https://hooks.example.com/late"}
    )
    f2 = created.as_dict()["id"]
    own = await statement_of(client, world["own_shared"]["id"])
    ada_voids = {**world["ada_voids"], "stored": "2024-01-01T00:00:00Z"}
    late = [generic(statement_event(f2, own)), generic(statement_event(f2, ada_voids))]
    rewrite = erasure_module._rewrite

    async def written_meanwhile(*args, **kwargs):
        await JobStore(db).enqueue_dispositions(late, datetime.now(UTC))  # reads nothing back
        await rewrite(*args, **kwargs)

    monkeypatch.setattr(erasure_module, "_rewrite", written_meanwhile)
    report = await erase(client, admin)

    deleted, scrubbed = (d.event.id for d in late)
    assert deleted in report["forwarder_events_deleted"]
    assert scrubbed in report["forwarder_events_scrubbed"]
    assert await db["forwarder_events"].find_one({"_id": deleted}) is None
    learner = (await db["forwarder_events"].find_one({"_id": scrubbed}))["event"]["learner"]
    assert "mbox" not in learner and learner["name"] != ADA["name"]
