"""Which events written from a statement read before an erasure changed it are the
erasure's to delete or scrub (`forwarders.erased`): decided from the statement as read back
after the write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson

from forwarders.erased import Written, checked, erased_meanwhile
from forwarders.events import learner_of, statement_event
from forwarders.pipeline import generic
from forwarders.queue import JobStore
from forwarders.source import StoredStatement
from forwarders.store import EVENTS
from lrs.erasure import erase_agent
from lrs.storage.statement_source import MongoStatementSource

ADA = {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@example.com"}
PSEUDONYM = {"objectType": "Agent", "account": {"homePage": "https://lrs.invalid", "name": "p1"}}
ADA_KEY = learner_of(ADA)["key"]


def stored(statement_id: str, actor: dict) -> StoredStatement:
    raw = orjson.dumps({"id": statement_id, "actor": actor})
    return StoredStatement(statement_id, 1, 1, frozenset(), raw)


def test_an_event_of_a_statement_that_is_gone_is_deleted():
    written = [Written("e1", "s1", ADA_KEY)]
    erased = erased_meanwhile(written, {})
    assert (erased.deleted, erased.scrubbed) == (["e1"], {})


def test_an_event_whose_learner_is_no_longer_the_actor_is_scrubbed_to_the_new_actor():
    written = [Written("e1", "s1", ADA_KEY), Written("e2", "s1", ADA_KEY)]
    erased = erased_meanwhile(written, {"s1": stored("s1", PSEUDONYM)})
    key = learner_of(PSEUDONYM)["key"]
    assert erased.deleted == [] and erased.scrubbed == {key: ["e1", "e2"]}
    assert erased.learners[key]["account"] == PSEUDONYM["account"]
    assert "mbox" not in erased.learners[key]


def test_an_event_whose_statement_is_unchanged_is_left_alone():
    same_agent_other_form = {**ADA, "mbox": "mailto:ada@EXAMPLE.com", "name": "A. Lovelace"}
    written = [Written("e1", "s1", ADA_KEY)]
    erased = erased_meanwhile(written, {"s1": stored("s1", same_agent_other_form)})
    assert (erased.deleted, erased.scrubbed) == ([], {})


def test_an_event_naming_nobody_is_not_read_back():
    written = [Written("sample", "s0", None), Written("e1", "s1", ADA_KEY)]
    assert checked(written) == ["s1"]
    assert erased_meanwhile(written, {}).deleted == ["e1"]


def test_a_written_document_names_its_statement_and_learner():
    document = {"_id": "e1", "statement": "s1", "event": {"learner": learner_of(ADA)}}
    assert Written.of(document) == Written("e1", "s1", ADA_KEY)


async def test_an_event_written_after_its_statement_was_erased_is_deleted_by_its_writer(
    client, make_statement, db, services
):
    """Discovery's path: the event is built from the statement as read, the learner is
    erased, then the event is inserted; the writer reads the statement back and removes it."""
    statement = make_statement(id=str(uuid.uuid4()))
    assert (await client.post("/xapi/statements", json=statement)).status_code == 200
    forwarder = await services.forwarders.create_forwarder(
        {"name": "late", "url": "https://hooks.example.com/late"}
    )
    [read] = (await MongoStatementSource(db).get([statement["id"]])).values()
    event = statement_event(forwarder.as_dict()["id"], read.statement)
    await erase_agent(db, services.settings, statement["actor"], dry_run=False)

    jobs = JobStore(db, MongoStatementSource(db))
    assert await jobs.enqueue_dispositions([generic(event)], datetime.now(UTC)) == {event.id}

    assert await db[EVENTS].find_one({"_id": event.id}) is None
