"""Which events written from a statement read before an erasure changed it are the
erasure's to delete or scrub (`forwarders.erased`): decided from the statement as read back
after the write."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import orjson

from forwarders.claim import Claim
from forwarders.erased import Written, checked, erased_meanwhile
from forwarders.erasure_marks import STALE_AFTER, ErasureMarks
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


class CountedSource(MongoStatementSource):
    """The real statement source, counting the read-backs (`stored`)."""

    def __init__(self, db) -> None:
        super().__init__(db)
        self.reads = 0

    async def stored(self, ids):
        self.reads += 1
        return await super().stored(ids)


class CountedMarks(ErasureMarks):
    def __init__(self, db) -> None:
        super().__init__(db)
        self.reads = 0

    async def read(self):
        self.reads += 1
        return await super().read()


async def ada_event(client, make_statement, services, db):
    """A stored statement of Ada's, read, and the event a forwarder makes of it."""
    statement = make_statement(id=str(uuid.uuid4()), actor=ADA)
    assert (await client.post("/xapi/statements", json=statement)).status_code == 200
    forwarder = await services.forwarders.create_forwarder(
        {"name": "late", "url": "https://hooks.example.com/late"}
    )
    [read] = (await MongoStatementSource(db).get([statement["id"]])).values()
    return statement, statement_event(forwarder.as_dict()["id"], read.statement)


def claim_after(before) -> Claim:
    """A claim taking nothing (events are written due) carrying the erasures as read."""
    return Claim("worker", datetime.now(UTC), {}, before=before)


async def test_with_no_erasure_between_the_read_and_the_write_nothing_is_read_back(
    client, make_statement, db, services
):
    _, event = await ada_event(client, make_statement, services, db)
    source = CountedSource(db)
    jobs = JobStore(db, source)
    before = await jobs.marks.read()

    new = await jobs.enqueue_dispositions([generic(event)], datetime.now(UTC), claim_after(before))

    assert new == {event.id} and source.reads == 0
    assert await db[EVENTS].find_one({"_id": event.id}) is not None


async def test_an_erasure_after_the_reading_still_removes_the_event_written_after_it(
    client, make_statement, db, services
):
    statement, event = await ada_event(client, make_statement, services, db)
    source = CountedSource(db)
    jobs = JobStore(db, source)
    before = await jobs.marks.read()  # quiet: taken before the statement was read
    await erase_agent(db, services.settings, statement["actor"], dry_run=False)

    await jobs.enqueue_dispositions([generic(event)], datetime.now(UTC), claim_after(before))

    assert source.reads == 1
    assert await db[EVENTS].find_one({"_id": event.id}) is None


async def test_an_erasure_running_at_the_reading_means_reading_back(
    client, make_statement, db, services
):
    _, event = await ada_event(client, make_statement, services, db)
    source = CountedSource(db)
    jobs = JobStore(db, source)
    async with ErasureMarks(db).erasing():
        before = await jobs.marks.read()
    assert not before.quiet

    await jobs.enqueue_dispositions([generic(event)], datetime.now(UTC), claim_after(before))

    assert source.reads == 1
    assert await db[EVENTS].find_one({"_id": event.id}) is not None  # nothing was erased


async def test_a_write_without_a_reading_is_read_back(client, make_statement, db, services):
    _, event = await ada_event(client, make_statement, services, db)
    source = CountedSource(db)

    await JobStore(db, source).enqueue_dispositions([generic(event)], datetime.now(UTC))

    assert source.reads == 1


async def test_an_erasure_is_marked_while_it_runs_and_moves_the_epoch(db):
    marks = ErasureMarks(db)
    first = await marks.read()
    async with marks.erasing():
        during = await marks.read()
    after = await marks.read()

    assert first.quiet and not during.quiet and after.quiet
    assert first.epoch < during.epoch < after.epoch
    assert not first.unchanged_at(after) and after.unchanged_at(await marks.read())


async def test_the_mark_of_an_erasure_that_died_stops_counting_after_a_day(db):
    long_ago = datetime.now(UTC) - STALE_AFTER - timedelta(minutes=1)
    dead = ErasureMarks(db, clock=lambda: long_ago).erasing()
    await dead.__aenter__()  # never left: the erasure died
    recent = ErasureMarks(db, clock=lambda: datetime.now(UTC) - timedelta(hours=23)).erasing()
    await recent.__aenter__()
    assert not (await ErasureMarks(db).read()).quiet  # the recent one still counts

    await recent.__aexit__(None, None, None)

    assert (await ErasureMarks(db).read()).quiet


async def test_writes_that_finish_while_a_reading_is_taken_wait_for_the_next_and_share_it(db):
    marks = CountedMarks(db)

    readings = await asyncio.gather(*(marks.after_write() for _ in range(5)))

    # the first call's reading began before the others were made: they share a second one
    assert marks.reads == 2
    assert len(set(readings)) == 1
