"""The indexes of `forwarder_events`, and every query on it reading through one of them.

Each written event pays for every index on the embedded database, so there are four
(`_id`, `forwarder_due`, `forwarder_state_created`, `forwarder_ready`; docs/forwarders.md,
"Queries and their indexes"). Every read, update, delete and count any part of the LRS
sends to the collection is captured here from the wire and routed as SecantusDB routes it:
none may scan the collection.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel, monitoring
from pymongo.asynchronous.collection import AsyncCollection

from forwarders.claim import Claim
from forwarders.events import revoked_event, statement_event
from forwarders.feed import CompletionFeed, Position
from forwarders.pipeline import generic
from forwarders.queue import Attempt, Disposition, JobStore
from forwarders.service import ForwarderService
from forwarders.stats import queue_counts
from forwarders.store import EVENTS, ensure_indexes
from lrs.storage.statement_source import MongoStatementSource

COLLSCAN = "COLLSCAN"
INDEXES = {"_id_", "forwarder_due", "forwarder_state_created", "forwarder_ready"}
LEASE = timedelta(seconds=30)
T = TypeVar("T")


async def plan_of(events: AsyncCollection[dict[str, Any]], query: dict[str, Any]) -> str:
    """The index `explain` reports for `query`, or COLLSCAN."""
    stage = (await events.find(query).explain())["queryPlanner"]["winningPlan"]
    while stage.get("stage") != "IXSCAN" and "inputStage" in stage:
        stage = stage["inputStage"]
    return str(stage["indexName"]) if stage.get("stage") == "IXSCAN" else COLLSCAN


async def route(events: AsyncCollection[dict[str, Any]], query: dict[str, Any]) -> str:
    """The index SecantusDB reads `query` through, or COLLSCAN. Its `explain` reports the
    pickers that serve the whole filter; when none does, the server still rides the first
    clause an index serves alone and checks the rest on the documents it fetched
    (`_try_index_id_keys` in secantus/storage.py), which `explain` of that clause reports.
    A top-level operator (`$or`, `$and`) gets no index at all."""
    whole = await plan_of(events, query)
    if whole != COLLSCAN or any(name.startswith("$") for name in query):
        return whole
    for name, clause in query.items():
        one = await plan_of(events, {name: clause})
        if one != COLLSCAN:
            return one
    return COLLSCAN


def filters_of(command: dict[str, Any]) -> list[dict[str, Any]]:
    """The document filters a command on the events carries."""
    name = next(iter(command))
    if name == "find":
        return [command.get("filter", {})]
    if name == "findAndModify":
        return [command.get("query", {})]
    if name == "update":
        return [u["q"] for u in command["updates"]]
    if name == "delete":
        return [d["q"] for d in command["deletes"]]
    if name in ("aggregate", "count"):
        stages = command.get("pipeline", [{"$match": command.get("query", {})}])
        return [stages[0].get("$match", {}) if stages else {}]
    return []  # insert, createIndexes, dropIndexes, listIndexes: no filter


class Sent(monitoring.CommandListener):
    """The filters of the commands sent to `forwarder_events`, taken step by step."""

    def __init__(self) -> None:
        self.filters: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command.get(event.command_name) == EVENTS:
            self.filters += filters_of(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def take(self) -> list[dict[str, Any]]:
        taken, self.filters = self.filters, []
        return taken


@pytest.fixture
async def wired(mongo_server, settings, services):
    """A JobStore on a client whose commands are captured (the same database)."""
    sent = Sent()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_server.uri, tz_aware=True, event_listeners=[sent]
    )
    yield client[settings.database], sent
    await client.close()


async def test_the_events_have_four_indexes(db, admin):
    await ensure_indexes(db)
    assert set(await db[EVENTS].index_information()) == INDEXES


OLD_LAYOUT = [
    IndexModel([("forwarder", ASCENDING), ("due", ASCENDING)], name="forwarder_due", sparse=True),
    IndexModel(
        [("forwarder", ASCENDING), ("state", ASCENDING), ("created", DESCENDING)],
        name="forwarder_state_created",
    ),
    IndexModel([("statement", ASCENDING)], name="statement"),
    IndexModel([("learner_keys", ASCENDING)], name="learner_keys", sparse=True),
    IndexModel(
        [("forwarder", ASCENDING), ("ready", ASCENDING)], name="forwarder_ready", sparse=True
    ),
]


async def test_an_old_layout_is_upgraded_at_start_up_keeping_every_event(db, jobs_of):
    """A deployment made by an earlier version has six indexes: start-up drops the two
    superseded ones by name, even when several workers start at once."""
    await db[EVENTS].create_indexes(OLD_LAYOUT)
    jobs, forwarder = await jobs_of(db)
    event = await enqueue(jobs, forwarder, datetime.now(UTC))
    assert len(await db[EVENTS].index_information()) == 6

    await asyncio.gather(ensure_indexes(db), jobs.ensure_indexes(), ensure_indexes(db))

    assert set(await db[EVENTS].index_information()) == INDEXES
    assert (await jobs.get(event.id)) is not None
    await ensure_indexes(db)  # and again: nothing left to drop
    assert set(await db[EVENTS].index_information()) == INDEXES


@pytest.fixture
def jobs_of(make_forwarder):
    async def make(database):
        forwarder = await make_forwarder("hook")
        return JobStore(database), forwarder["id"]

    return make


def new_event(forwarder_id, statement_id=None):
    statement = {
        "id": statement_id or str(uuid.uuid4()),
        "actor": {"mbox": "mailto:ada@example.com", "name": "Ada"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "https://example.com/a"},
        "stored": "2026-01-01T00:00:00Z",
    }
    return statement_event(forwarder_id, statement)


async def enqueue(jobs, forwarder_id, now, state="pending", claim=None):
    event = new_event(forwarder_id)
    if state == "unmatched":
        disposition = Disposition(event, state, reason="why", learner_keys=("mbox:ada",))
    else:
        disposition = Disposition(event, "pending", {"id": event.id})
    await jobs.enqueue_dispositions([disposition], now, claim)
    return event


def attempt(job, at):
    return Attempt(job.id, job.forwarder_id, job.attempts, at, 200, 1.0, "delivered", None, "")


async def test_no_query_on_the_events_scans_the_collection(wired, jobs_of, admin, clock, db):
    database, sent = wired
    jobs, forwarder = await jobs_of(database)
    await ensure_indexes(database)
    now = clock()
    routes: dict[str, list[str]] = {}

    async def step(label: str, call: Awaitable[T]) -> T:
        result = await call
        routes[label] = [await route(db[EVENTS], f) for f in sent.take()]
        return result

    claim = Claim("w1", now + LEASE, {forwarder: 1})
    held = await step("enqueue leased", enqueue(jobs, forwarder, now, claim=claim))
    events = [await enqueue(jobs, forwarder, now) for _ in range(4)]
    waiting = await enqueue(jobs, forwarder, now, state="unmatched")
    await step("reclaim", jobs.reclaim("w1", now))
    ids = await step("due ids (the claim)", jobs.due_ids(forwarder, now, 10))
    assert held.id in ids
    one = await step("claim", jobs.claim(ids[0], "w2", now, LEASE))
    many = await step("claim many", jobs.claim_many(ids[1:4], "w2", now, LEASE))
    assert one is not None and len(many) == 3
    await step("complete", jobs.complete(one, attempt(one, now)))
    await step("complete many", jobs.complete_many([(j, attempt(j, now)) for j in many[:2]]))
    await step("reschedule", jobs.reschedule(many[2], now, "500", attempt(many[2], now)))
    nxt = await step("claim next", jobs.claim_next(forwarder, "w3", now + LEASE, LEASE))
    assert nxt is not None
    await step("dead letter", jobs.dead_letter(nxt, "gone", now))
    await step("get", jobs.get(events[0].id))
    await step("attempts", jobs.attempts_of(events[0].id))
    await step("states", jobs.states([e.id for e in events]))
    for state in (None, "delivered"):
        for who in (forwarder, None):
            await step("list events", jobs.list_events(forwarder_id=who, state=state, limit=5))
            await step(
                "list events before",
                jobs.list_events(forwarder_id=who, state=state, limit=5, before=now),
            )
        await step("list unmatched", jobs.list_unmatched(None, 5, None))
        await step("list unmatched after", jobs.list_unmatched(forwarder, 5, (now, "~")))
    found = await step("re-drive", jobs.unmatched(forwarder, frozenset({"mbox:ada"})))
    assert found == [waiting.id]
    await step("re-drive events", jobs.events_of(found))
    await step("settle unmatched", jobs.settle_unmatched(generic(waiting), now))
    statements = [e.statement_id for e in events]
    await step("revocation originals", jobs.originals(statements))
    await step("voided unmatched", jobs.drop_unmatched(statements, "voided", now))
    await step("erasure", jobs.of_statements(statements, ["k"], voiding=statements[:1]))
    await step("erasure scrub", jobs.scrub_learner([events[0].id], {"name": "x"}))
    for match in (
        {"_id": events[0].id},
        {"_id": {"$in": [e.id for e in events]}, "state": "dead"},
        {"forwarder": forwarder, "state": {"$in": ["dead", "failed"]}},
        {"forwarder": forwarder, "created": {"$gte": now, "$lt": now}, "state": {"$in": ["dead"]}},
    ):
        await step("replay", jobs.replay({**match, "payload": {"$ne": None}}, now))
        await step("unrendered", jobs.unrendered(match, 2))
        await step("unrendered after", jobs.unrendered(match, 2, after=events[0].id))
        await step("settle rendered", jobs.settle_rendered(generic(events[1]), now, fresh=True))
    service = ForwarderService(
        database, statements=MongoStatementSource(database), allow_private=True, clock=clock
    )
    await step("replay a range", service.replay_range(now, now + LEASE))
    await step("replay a forwarder", service.replay_forwarder(forwarder, ["dead", "failed"]))
    await step("replay an event", service.replay_event(events[2].id))
    await step("retention", jobs.finished_before([forwarder], now + LEASE))
    await step("counts", queue_counts(database, now))
    feed = CompletionFeed(database, admin.store, settle_seconds=0, clock=clock)
    await step("feed", feed.page(forwarder_id=forwarder, after=None, limit=2))
    await step("feed tie", feed.page(forwarder_id=forwarder, after=Position(0, "x"), limit=2))
    await step("release", jobs.release(one, now))
    await step("delete", jobs.delete([events[0].id]))
    await step("delete forwarder", jobs.delete_forwarder(forwarder))

    assert [label for label, r in routes.items() if not r] == ["enqueue leased"]  # insert
    scans = {label: r for label, r in routes.items() if COLLSCAN in r}
    assert scans == {}
    assert set(routes["due ids (the claim)"]) == {"forwarder_due"}
    assert set(routes["reclaim"]) <= {"forwarder_due", "_id_"}
    assert set(routes["re-drive"]) == {"forwarder_state_created"}
    assert set(routes["retention"]) == {"forwarder_state_created"}
    assert set(routes["revocation originals"]) == {"_id_"}
    assert set(routes["erasure"]) == {"_id_"}
    assert set(routes["feed"]) == {"forwarder_ready"}
    assert set(routes["list unmatched after"]) == {"forwarder_state_created"}


async def test_the_due_page_bounds_due_below_so_finished_events_are_not_read(wired, jobs_of, clock):
    """A finished event (delivered, dead: no `due`) keeps an entry in the sparse
    `forwarder_due` index (it has `forwarder`), below every due one; the embedded database
    reads a whole range before applying the limit, so a claim page open below read the
    forwarder's entire history every poll (5,000 delivered events: 510 ms a page)."""
    database, sent = wired
    jobs, forwarder = await jobs_of(database)
    now = clock()
    finished = await enqueue(jobs, forwarder, now)
    [job] = await jobs.claim_many([finished.id], "w1", now, LEASE)
    await jobs.complete(job, attempt(job, now))
    waiting = await enqueue(jobs, forwarder, now)
    sent.take()

    assert await jobs.due_ids(forwarder, now, 10) == [waiting.id]

    [query] = sent.take()
    assert query["forwarder"] == forwarder
    assert {"$gte", "$lte"} <= set(query["due"])
    assert await route(database[EVENTS], query) == "forwarder_due"


async def test_the_routing_check_sees_a_scan(db, admin):
    """The check above is not vacuous: the shapes that made this database scan do."""
    events = db[EVENTS]
    now = datetime.now(UTC)
    assert await route(events, {"lease.owner": "w1"}) == COLLSCAN
    assert await route(events, {"state": "unmatched", "created": {"$lt": now}}) == COLLSCAN
    either = [{"created": {"$lt": now}}, {"created": now, "_id": {"$lt": "x"}}]
    assert await route(events, {"forwarder": "f", "state": "unmatched", "$or": either}) == COLLSCAN
    assert await route(events, {"statement": {"$in": ["s"]}}) == COLLSCAN
    assert await route(events, {"learner_keys": {"$in": ["k"]}}) == COLLSCAN
    assert await route(events, {"forwarder": "f", "due": {"$lte": now}}) == "forwarder_due"


async def test_a_statements_events_and_revocations_are_found_by_id(db, jobs_of, make_forwarder):
    """Without a `statement` index: a statement's events are named by it, one per
    forwarder; its revocations by the statement that voided it, which erasure names."""
    jobs, first = await jobs_of(db)
    second = (await make_forwarder("other"))["id"]
    now = datetime.now(UTC)
    statement, voiding = str(uuid.uuid4()), {"id": str(uuid.uuid4()), "stored": "2026-01-02"}
    made = [new_event(f, statement) for f in (first, second)]
    await jobs.enqueue_dispositions([generic(e) for e in made], now)
    revoked = revoked_event(made[0], voiding)
    await jobs.enqueue_dispositions([generic(revoked)], now)

    originals = await jobs.originals([statement])
    assert sorted(o.event.id for o in originals) == sorted(e.id for e in made)
    own = sorted(e.id for e in made)
    assert sorted(await jobs.of_statements([statement])) == own
    everything = await jobs.of_statements([statement], voiding=[voiding["id"]])
    assert sorted(everything) == sorted([*own, revoked.id])
    assert await jobs.of_statements([voiding["id"]], voiding=[voiding["id"]]) == []
    learner = "mbox::mailto:ada@example.com"
    assert sorted(await jobs.of_statements([statement], [learner], voiding=[voiding["id"]])) == (
        sorted(everything)
    )
    assert await jobs.of_statements([statement], ["mbox::mailto:bob@example.com"]) == []
