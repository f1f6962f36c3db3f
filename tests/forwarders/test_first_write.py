"""Events of statements stored while the worker discovers are delivered first and written
once, already in the state their first attempt led to (`claim.Claim.keep`); the saved
discovery cursor stays below every event not yet written, so a crash at any point
re-discovers and re-sends it, and loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from typing import Any

import pytest
from pymongo.errors import AutoReconnect
from pymongo.monitoring import CommandListener

from forwarders import discovery as discovery_module
from forwarders.delivery import completions as completions_module
from forwarders.discovery import CURSOR_STATE
from forwarders.feed import CompletionFeed, decode_cursor
from forwarders.queue import JobStore
from forwarders.store import EVENTS, STATE
from forwarders.worker import Worker, utc_now
from lrs.erasure import erase_agent
from lrs.storage.client import mongo_client
from lrs.storage.statement_source import MongoStatementSource
from tests.forwarders.receiver import Answer
from tests.forwarders.test_delivery import post

EVERYTHING = 2**63 - 1
"""A discovery horizon above every position: the cursor may move past all that is read."""
VOIDED = {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}}


class Writes(CommandListener):
    """The write commands on the events collection by name, and the documents inserted."""

    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()
        self.inserted: list[dict[str, Any]] = []

    def started(self, event: Any) -> None:
        if event.command.get(event.command_name) == EVENTS:
            self.commands[event.command_name] += 1
            self.inserted += event.command.get("documents", [])

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


@pytest.fixture
def no_forwarder_skew(monkeypatch):
    """The cursor may pass what was stored just after the forwarders were last read (the
    skew guards against other nodes' clocks; this test has one)."""
    monkeypatch.setattr(discovery_module, "FORWARDER_SKEW_MS", 0)


async def discovering(worker: Worker) -> None:
    """The worker delivering and its discovery begun: what is stored from now on is fresh."""
    await worker._start_up()
    await worker.cache.refresh()
    worker.delivering = True
    await worker.discovery.backfill()


@contextlib.asynccontextmanager
async def watched_worker(listener, mongo_server, services, settings, clock):
    """A worker whose database commands `listener` sees, discovering."""
    counted = mongo_client(mongo_server.uri, [listener])
    try:
        db = counted[services.settings.database]
        async with Worker(db, settings, statements=MongoStatementSource(db), clock=clock) as worker:
            await discovering(worker)
            yield worker
    finally:
        await counted.close()


async def found_unwritten(worker: Worker, client, statement) -> str:
    """One statement stored while the worker discovers, found and held, not yet written."""
    await discovering(worker)
    [statement_id] = await post(client, statement)
    await worker.discovery.poll(drain=True)
    return statement_id


async def deliver_held(worker: Worker) -> None:
    await worker.fill(await worker.cache.current(), eager=True)
    await asyncio.gather(*worker.tasks)
    await worker.completions.flush()  # the gathered first writes, now


async def saved_cursor(db) -> int:
    return int((await db[STATE].find_one({"_id": CURSOR_STATE}))["cursor"])


async def positions(db, statement_ids: list[str]) -> list[int]:
    found = await MongoStatementSource(db).get(statement_ids)
    return [found[i].position for i in statement_ids]


async def test_a_fresh_event_is_written_once_already_delivered(
    client, make_statement, make_forwarder, forwarding_settings, clock, mongo_server, services
):
    await make_forwarder("hook", max_in_flight=8)
    writes = Writes()
    async with watched_worker(writes, mongo_server, services, forwarding_settings, clock) as worker:
        ids = await post(client, *(make_statement() for _ in range(8)))
        writes.commands.clear()
        await worker.discovery.poll(drain=True)
        assert writes.commands["insert"] == 0  # kept unwritten until delivered
        await deliver_held(worker)
        assert worker.jobs.unrecorded == {}

    # each event inserted once, delivered, with its attempt; no update, no claim
    assert sorted(doc["statement"] for doc in writes.inserted) == sorted(ids)
    assert writes.commands["update"] == writes.commands["findAndModify"] == 0
    for doc in writes.inserted:
        assert (doc["state"], doc["attempts"], doc["last_status"]) == ("delivered", 1, 200)
        assert "due" not in doc and "lease" not in doc
        [entry] = doc["log"]
        assert (entry["n"], entry["outcome"]) == (1, "Delivered")


class StatementLookups(CommandListener):
    """The finds of statements by id (the read-back of written events' statements)."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: Any) -> None:
        command = event.command
        if event.command_name == "find" and command.get("find") == "statements":
            self.count += "_id" in command.get("filter", {})

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


async def test_with_no_erasure_since_their_statements_were_read_events_are_not_read_back(
    client, make_statement, make_forwarder, forwarding_settings, clock, mongo_server, services
):
    await make_forwarder("hook", max_in_flight=8)
    lookups = StatementLookups()
    async with watched_worker(
        lookups, mongo_server, services, forwarding_settings, clock
    ) as worker:
        ids = await post(client, *(make_statement() for _ in range(8)))
        await worker.discovery.poll(drain=True)
        lookups.count = 0
        await deliver_held(worker)
        assert worker.jobs.unrecorded == {}

    events = services.client[services.settings.database][EVENTS]
    assert await events.count_documents({"statement": {"$in": ids}}) == 8
    assert lookups.count == 0


async def test_the_saved_cursor_stays_below_an_event_not_yet_written(
    client, make_statement, make_forwarder, make_worker, receiver, db, no_forwarder_skew
):
    await make_forwarder("hook")
    crashed = make_worker(horizon=lambda: EVERYTHING)
    await discovering(crashed)
    [statement_id] = await post(client, make_statement())
    await crashed.cache.refresh()
    await crashed.discovery.poll(drain=True)  # kept unwritten, held for a lane
    await crashed.discovery.save()
    # ... and the process dies before delivering it

    [position] = await positions(db, [statement_id])
    assert crashed.discovery.cursor >= position  # read past it
    assert await saved_cursor(db) < position  # but not saved past it
    assert await make_worker().run_until_empty() == 1
    [delivery] = receiver.on("hook")
    assert delivery.payload["data"]["statement_id"] == statement_id


async def test_a_worker_that_dies_mid_delivery_of_an_unwritten_event_loses_nothing(
    client, make_statement, make_forwarder, make_worker, receiver, admin, db, no_forwarder_skew
):
    await make_forwarder("hook")
    gate = threading.Event()
    receiver.plan("hook", Answer(200, gate=gate))
    crashed = make_worker(horizon=lambda: EVERYTHING)
    await discovering(crashed)
    [statement_id] = await post(client, make_statement())
    await crashed.cache.refresh()
    await crashed.discovery.poll(drain=True)
    [position] = await positions(db, [statement_id])
    assert crashed.discovery.cursor >= position > await saved_cursor(db)
    await crashed.fill(await crashed.cache.current())
    await receiver.wait_until(lambda: receiver.waiting["hook"] == 1)
    for task in list(crashed.tasks):  # the process dies while the receiver answers
        task.cancel()
    await asyncio.gather(*crashed.tasks, return_exceptions=True)
    gate.set()
    await receiver.wait_for("hook", 1)

    assert await make_worker().run_until_empty() == 1  # re-discovered, sent again
    first, again = receiver.on("hook")
    assert first.id == again.id  # the same webhook-id: the receiver de-duplicates
    [record] = await admin.list_events(forwarder_id=None, state="delivered", limit=5)
    assert (record.statement_id, record.attempts) == (statement_id, 1)


async def test_an_unwritten_event_that_fails_is_written_due_for_its_retry(
    client, make_statement, make_forwarder, worker, receiver, admin, clock
):
    await make_forwarder("hook")
    receiver.plan("hook", Answer(500))
    await found_unwritten(worker, client, make_statement())
    await deliver_held(worker)

    [record] = await admin.list_events(forwarder_id=None, state="failed", limit=5)
    assert (record.attempts, record.last_status, record.in_flight) == (1, 500, False)
    assert record.due is not None and record.due > clock()
    assert [a.outcome for a in await admin.list_attempts(record.id)] == ["RetryLater"]
    clock.advance(60)
    assert await worker.run_until_empty() == 1
    assert (await admin.get_event(record.id)).attempts == 2


async def test_unwritten_events_are_written_due_when_the_worker_stops(
    client, make_statement, make_forwarder, worker, receiver, admin
):
    forwarder = await make_forwarder("hook")
    await found_unwritten(worker, client, make_statement())
    [(job, _)] = worker.held[forwarder["id"]]

    await worker._release_held()

    assert worker.jobs.unrecorded == {} and worker.jobs.unrecorded_floor() is None
    record = await admin.get_event(job.id)
    assert (record.state, record.in_flight, record.attempts) == ("pending", False, 0)
    assert receiver.on("hook") == []


async def test_voiding_an_event_not_yet_written_revokes_it(
    client, make_statement, make_forwarder, worker, receiver, admin
):
    forwarder = await make_forwarder("hook")
    statement_id = await found_unwritten(worker, client, make_statement())
    [(job, _)] = worker.held[forwarder["id"]]
    voiding = make_statement(verb=VOIDED, object={"objectType": "StatementRef", "id": statement_id})
    await post(client, voiding)
    await worker.discovery.poll(drain=True)  # the original is still held, unwritten

    await deliver_held(worker)
    await worker.run_until_empty()
    types = sorted(d.payload["type"] for d in receiver.on("hook"))
    assert types == ["learning.completed", "learning.revoked"]
    [revoked] = [d for d in receiver.on("hook") if d.payload["type"] == "learning.revoked"]
    assert revoked.payload["data"]["revokes_event_id"] == job.id


async def test_an_event_written_meanwhile_by_a_re_discovery_counts_as_recorded(
    client, make_statement, make_forwarder, make_worker, receiver, admin
):
    forwarder = await make_forwarder("hook")
    first = make_worker()
    await discovering(first)
    await post(client, make_statement())
    await first.discovery.poll(drain=True)
    [(job, _)] = first.held[forwarder["id"]]
    await make_worker().discovery.backfill()  # another discovery writes it due

    await deliver_held(first)

    assert first.jobs.unrecorded == {}  # the duplicate counts as written
    await first.run_until_empty()  # the written one is claimed and sent too: at least once
    assert [d.id for d in receiver.on("hook")] == [job.id, job.id]
    assert (await admin.get_event(job.id)).state == "delivered"


async def test_an_event_written_after_a_delivery_longer_than_the_feed_settle_is_in_the_feed(
    client, make_statement, make_forwarder, worker, receiver, admin, clock, db
):
    forwarder = await make_forwarder("hook")
    feed = CompletionFeed(db, admin.store, settle_seconds=5, clock=clock)
    statement_id = await found_unwritten(worker, client, make_statement())  # not written
    clock.advance(30)  # a slow receiver: the feed moves on meanwhile
    polled = await feed.page(forwarder_id=forwarder["id"], after=None, limit=10)
    assert polled.events == []

    await deliver_held(worker)
    clock.advance(6)
    page = await feed.page(forwarder_id=forwarder["id"], after=decode_cursor(polled.next), limit=10)

    assert [e["statement_id"] for e in page.events] == [statement_id]


async def test_unwritten_events_of_a_deleted_forwarder_stop_holding_the_cursor_back(
    client, make_statement, make_forwarder, worker, receiver, admin
):
    forwarder = await make_forwarder("hook")
    await found_unwritten(worker, client, make_statement())
    assert worker.jobs.unrecorded_floor() is not None
    await admin.delete_forwarder(forwarder["id"])

    await worker.fill(await worker.cache.refresh())

    assert worker.jobs.unrecorded_floor() is None
    assert not worker.held[forwarder["id"]]
    assert receiver.on("hook") == []


async def test_an_event_held_unwritten_while_its_learner_is_erased_is_not_kept(
    client, make_statement, make_forwarder, worker, receiver, db, services
):
    await make_forwarder("hook")
    learner = make_statement()["actor"]
    statement_id = await found_unwritten(worker, client, make_statement())
    # the erasure looks for the learner's events before the event is written, and after
    # it has deleted the learner's statements
    report = await erase_agent(db, services.settings, learner, dry_run=False)
    assert report.statements_deleted == [statement_id]
    assert report.forwarder_events_deleted == []

    await deliver_held(worker)  # written after the erasure, from the statement read before

    assert len(receiver.on("hook")) == 1  # already on its way: a sent request stays sent
    assert await db[EVENTS].count_documents({"statement": statement_id}) == 0
    assert worker.jobs.unrecorded == {}


async def deliver_without_writing(worker: Worker) -> None:
    """Deliver the held events and let their delivery tasks end: the writes are gathered."""
    await worker.fill(await worker.cache.current(), eager=True)
    await asyncio.gather(*worker.tasks)


async def test_fresh_deliveries_are_written_together_after_their_lanes_are_free(
    client, make_statement, make_forwarder, forwarding_settings, clock, mongo_server, services
):
    await make_forwarder("hook", max_in_flight=8)
    writes = Writes()
    async with watched_worker(writes, mongo_server, services, forwarding_settings, clock) as worker:
        ids = await post(client, *(make_statement() for _ in range(8)))
        await worker.discovery.poll(drain=True)
        await deliver_without_writing(worker)
        assert worker.in_flight["hook"] == 0 and not worker.tasks  # every lane free
        assert writes.commands["insert"] == 0 and len(worker.completions.later) == 8

        await asyncio.wait_for(worker.completions._writer, 5)  # within the gather window
        assert worker.jobs.unrecorded == {} and worker.completions.later == []

    assert writes.commands["insert"] == 1  # one write for the eight
    assert sorted(doc["statement"] for doc in writes.inserted) == sorted(ids)
    assert {doc["state"] for doc in writes.inserted} == {"delivered"}


async def test_the_saved_cursor_stays_below_a_delivery_whose_write_is_gathered(
    client, make_statement, make_forwarder, make_worker, db, no_forwarder_skew
):
    await make_forwarder("hook")
    worker = make_worker(horizon=lambda: EVERYTHING)
    await discovering(worker)
    [statement_id] = await post(client, make_statement())
    await worker.cache.refresh()
    await worker.discovery.poll(drain=True)
    await deliver_without_writing(worker)
    [position] = await positions(db, [statement_id])

    await worker.discovery.save()
    assert worker.discovery.cursor >= position  # read past it
    assert await saved_cursor(db) < position  # but not saved past it
    assert await db[EVENTS].count_documents({"statement": statement_id}) == 0

    assert await worker.completions.flush()
    await worker.discovery.save()
    assert await saved_cursor(db) >= position
    assert await db[EVENTS].count_documents({"statement": statement_id, "state": "delivered"}) == 1


class FailingOnce(JobStore):
    """The real store, whose first write of completions fails as a lost connection would."""

    def __init__(self, jobs: JobStore) -> None:
        super().__init__(jobs.db, jobs.statements)
        self.unrecorded = jobs.unrecorded
        self.failures = 1

    async def complete_many(self, results):
        if self.failures:
            self.failures -= 1
            raise AutoReconnect("connection lost")
        return await super().complete_many(results)


async def test_a_gathered_write_that_fails_is_tried_again_until_it_lands(
    client, make_statement, make_forwarder, worker, db, monkeypatch
):
    monkeypatch.setattr(completions_module, "RETRY_SECONDS", 0.01)
    await make_forwarder("hook")
    statement_id = await found_unwritten(worker, client, make_statement())
    worker.completions.jobs = failing = FailingOnce(worker.jobs)
    await deliver_without_writing(worker)

    assert await worker.completions.flush(timeout=5)

    assert failing.failures == 0 and worker.jobs.unrecorded == {}
    assert await db[EVENTS].count_documents({"statement": statement_id, "state": "delivered"}) == 1


async def test_beyond_the_bound_a_delivery_waits_for_its_own_write(
    client, make_statement, make_forwarder, worker, db, monkeypatch
):
    monkeypatch.setattr(completions_module, "MAX_LATER", 0)
    await make_forwarder("hook")
    statement_id = await found_unwritten(worker, client, make_statement())

    await deliver_without_writing(worker)  # no flush: written before its task ended

    assert worker.completions.later == [] and worker.jobs.unrecorded == {}
    assert await db[EVENTS].count_documents({"statement": statement_id, "state": "delivered"}) == 1


async def test_a_stopping_worker_writes_the_deliveries_it_gathered(
    client, make_statement, make_forwarder, make_worker, receiver, db
):
    await make_forwarder("hook")
    worker = make_worker(clock=utc_now)
    worker.completions.gather_seconds = 60.0  # not written before the stop
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.sleep(0.3)  # discovering: what is stored now is fresh
        [statement_id] = await post(client, make_statement())
        await receiver.wait_for("hook", 1)
        assert await db[EVENTS].count_documents({"statement": statement_id}) == 0
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)

    assert await db[EVENTS].count_documents({"statement": statement_id, "state": "delivered"}) == 1
