"""Listing a forwarder's events newest first in bounded windows of `created`
(`forwarders.listing`): the same pages as the single query it replaced, read on the same
embedded database, and about one page read whatever the history."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from forwarders.listing import Windows
from forwarders.queue import STATES, EventRecord, JobStore
from forwarders.store import EVENTS, forwarder_ids
from tests.forwarders.test_event_indexes import Sent

HOUR = timedelta(hours=1)


async def single_query(db, forwarder_id, state, limit, before=None):
    """The listing as it was: one query per forwarder over its whole history."""
    found = []
    for forwarder in [forwarder_id] if forwarder_id else await forwarder_ids(db):
        match: dict[str, Any] = {"forwarder": forwarder}
        if state is not None:
            match["state"] = state
        if before is not None:
            match["created"] = {"$lt": before}
        cursor = db[EVENTS].find(match, {"log": 0}).sort("created", -1).limit(limit)
        found += [EventRecord.from_document(doc) async for doc in cursor]
    return sorted(found, key=lambda r: r.created, reverse=True)[:limit]


async def single_query_unmatched(db, forwarder_id, limit, after):
    found = []
    for forwarder in [forwarder_id] if forwarder_id else await forwarder_ids(db):
        match: dict[str, Any] = {"forwarder": forwarder, "state": "unmatched"}
        if after is not None:
            created, last = after
            tie = db[EVENTS].find({**match, "created": created})
            found += [doc async for doc in tie if doc["_id"] < last]
            match["created"] = {"$lt": created}
        cursor = db[EVENTS].find(match).sort("created", -1).limit(limit)
        found += [doc async for doc in cursor]
    found.sort(key=lambda doc: (doc["created"], doc["_id"]), reverse=True)
    return [EventRecord.from_document(doc) for doc in found[:limit]]


def event_document(forwarder, n, state, created, rng):
    doc = {
        "_id": f"{forwarder[:8]}-{rng.random():.6f}-{n:05d}",
        "forwarder": forwarder,
        "statement": f"s{n}",
        "type": "statement",
        "event": {"n": n},
        "state": state,
        "attempts": 1,
        "created": created,
        "updated": created,
        "reason": None,
        "payload": {"n": n},
        "log": [{"n": 1, "at": created, "outcome": state, "excerpt": "x" * 100}],
    }
    if state in ("pending", "failed"):  # a few share a `due`, some are leased
        doc["due"] = created + timedelta(seconds=rng.randrange(3))
        if rng.random() < 0.2:
            doc["lease"] = {"owner": "w", "token": "t", "until": doc["due"]}
    if state == "unmatched":
        doc["learner_keys"] = ["mbox:ada"]
    return doc


async def fill(db, forwarder, start, count, *, seed=1, span=48 * HOUR, instants=None):
    """`count` events of every state after `start`, many sharing a millisecond. Written in
    `STATES` order (shuffled within a state): where the single query listed events of two
    states tied on `created` and both without `due` in the order they were written, the
    windowed read lists them in `STATES` order (see `forwarders.listing`)."""
    rng = random.Random(seed)
    moments = [start + span * rng.random() for _ in range(instants or max(1, count // 3))]
    moments = [m.replace(microsecond=m.microsecond // 1000 * 1000) for m in moments]
    weights = [1, 1, 12, 2, 2, 1]
    docs = [
        event_document(forwarder, n, rng.choices(STATES, weights)[0], rng.choice(moments), rng)
        for n in range(count)
    ]
    rng.shuffle(docs)
    docs.sort(key=lambda d: STATES.index(d["state"]))
    if docs:
        await db[EVENTS].insert_many(docs)
    return sorted({d["created"] for d in docs}, reverse=True)


@pytest.fixture
async def history(db, admin, make_forwarder, clock):
    """A forwarder made three days ago, with 600 events over the two days after."""
    clock.now -= 72 * HOUR
    forwarder = (await make_forwarder("hook"))["id"]
    created = await fill(db, forwarder, clock.now + HOUR, 600)
    clock.sync()
    return forwarder, created


def ids(records):
    return [r.id for r in records]


@pytest.mark.parametrize("state", [None, *STATES])
async def test_every_page_is_the_single_querys_page(db, history, clock, state):
    forwarder, created = history
    jobs = JobStore(db)
    for limit in (1, 7, 40, 1000):
        for before in (None, created[0], created[5], created[len(created) // 2], created[-1]):
            mine = await jobs.list_events(
                forwarder_id=forwarder, state=state, limit=limit, before=before, now=clock()
            )
            theirs = await single_query(db, forwarder, state, limit, before)
            assert ids(mine) == ids(theirs), (limit, before)
            assert [r.as_dict() for r in mine] == [r.as_dict() for r in theirs]


@pytest.mark.parametrize("state", [None, "delivered", "pending"])
async def test_paging_with_before_crosses_windows_as_the_single_query_does(
    db, history, clock, state
):
    forwarder, _ = history
    jobs = JobStore(db)
    before, pages = None, 0
    while True:
        mine = await jobs.list_events(
            forwarder_id=forwarder, state=state, limit=10, before=before, now=clock()
        )
        assert ids(mine) == ids(await single_query(db, forwarder, state, 10, before))
        if not mine:
            break
        before, pages = mine[-1].created, pages + 1
    assert pages >= 3


async def test_a_page_ending_inside_a_tie_keeps_the_same_events(db, admin, make_forwarder, clock):
    """Forty events in two milliseconds, every state, pending ones with several `due`: a
    page of any size ends inside a tie, with and without a state."""
    forwarder = (await make_forwarder("hook"))["id"]
    await fill(db, forwarder, clock(), 40, seed=3, span=timedelta(milliseconds=2), instants=2)
    jobs = JobStore(db)
    for state in (None, "delivered", "pending"):
        for limit in range(1, 41):
            mine = await jobs.list_events(
                forwarder_id=forwarder, state=state, limit=limit, now=clock()
            )
            assert ids(mine) == ids(await single_query(db, forwarder, state, limit)), limit


async def test_the_states_of_a_tie_come_by_due_then_in_states_order(
    db, admin, make_forwarder, clock
):
    forwarder = (await make_forwarder("hook"))["id"]
    now = clock()
    rng = random.Random(5)
    docs = [event_document(forwarder, n, s, now, rng) for n, s in enumerate(reversed(STATES))]
    await db[EVENTS].insert_many(docs)  # written in the reverse of `STATES`
    listed = await JobStore(db).list_events(forwarder_id=forwarder, state=None, limit=10, now=now)
    waiting = sorted((r for r in listed if r.due is not None), key=lambda r: r.due)
    finished = [r.state for r in listed if r.due is None]
    assert finished == ["delivered", "dead", "unmatched", "dropped"]
    assert listed[4:] == waiting


async def test_no_history_and_a_limit_past_the_history(db, admin, make_forwarder, clock):
    forwarder = (await make_forwarder("hook"))["id"]
    jobs = JobStore(db)
    assert await jobs.list_events(forwarder_id=forwarder, state=None, limit=50) == []
    assert await jobs.list_events(forwarder_id="gone", state="dead", limit=50) == []
    assert await jobs.list_events(forwarder_id=None, state=None, limit=50) == []
    assert await jobs.list_unmatched(None, 50, None) == []
    await fill(db, forwarder, clock() - 2 * HOUR, 30, span=HOUR)
    everything = await jobs.list_events(forwarder_id=forwarder, state=None, limit=500)
    assert len(everything) == 30
    assert ids(everything) == ids(await single_query(db, forwarder, None, 500))


async def test_several_forwarders_merge_as_the_single_query_did(db, admin, make_forwarder, clock):
    clock.now -= 72 * HOUR
    made = [(await make_forwarder(f"hook{i}"))["id"] for i in range(3)]
    for i, forwarder in enumerate(made):
        await fill(db, forwarder, clock.now + HOUR, 150, seed=i, instants=20)
    clock.sync()
    jobs = JobStore(db)
    before = None
    for _ in range(6):
        for state in (None, "delivered", "dead"):
            mine = await jobs.list_events(
                forwarder_id=None, state=state, limit=30, before=before, now=clock()
            )
            assert ids(mine) == ids(await single_query(db, None, state, 30, before))
        before = mine[-1].created if mine else before


async def test_events_older_than_their_forwarder_or_newer_than_now_are_listed(
    db, admin, make_forwarder, clock
):
    """The windows stop at the forwarder's creation with one read open below it (another
    process's clock may stamp an event earlier), and start open above `now`."""
    forwarder = (await make_forwarder("hook"))["id"]
    now = clock()
    await fill(db, forwarder, now - 30 * 24 * HOUR, 10, seed=7, span=HOUR)
    await fill(db, forwarder, now + HOUR, 10, seed=8, span=HOUR)
    jobs = JobStore(db)
    for state in (None, "delivered"):
        mine = await jobs.list_events(forwarder_id=forwarder, state=state, limit=100, now=now)
        assert ids(mine) == ids(await single_query(db, forwarder, state, 100))
        assert len(mine) == await db[EVENTS].count_documents(
            {"forwarder": forwarder, **({"state": state} if state else {})}
        )


async def test_unmatched_pages_are_the_single_querys_pages(db, admin, make_forwarder, clock):
    clock.now -= 72 * HOUR
    made = [(await make_forwarder(f"hook{i}"))["id"] for i in range(2)]
    for i, forwarder in enumerate(made):
        await fill(db, forwarder, clock.now + HOUR, 400, seed=10 + i, instants=60)
    clock.sync()
    jobs = JobStore(db)
    for forwarder_id in (None, made[0]):
        after, pages = None, 0
        while True:
            mine = await jobs.list_unmatched(forwarder_id, 6, after, now=clock())
            assert ids(mine) == ids(await single_query_unmatched(db, forwarder_id, 6, after))
            if len(mine) < 6:
                break
            after, pages = (mine[-1].created, mine[-1].id), pages + 1
        assert pages > 3


async def matched(db, filters: list[dict[str, Any]]) -> int:
    return sum([await db[EVENTS].count_documents(f) for f in filters])


async def test_a_page_reads_about_a_page_whatever_the_history(
    wired_jobs, db, admin, make_forwarder, clock
):
    """The embedded database reads every match of each query before it limits: the
    single query matched all 3,000 events of the forwarder for any page."""
    jobs, sent = wired_jobs
    clock.now -= 30 * 24 * HOUR
    forwarder = (await make_forwarder("hook"))["id"]
    created = await fill(db, forwarder, clock.now, 3000, span=30 * 24 * HOUR - HOUR, instants=2000)
    clock.sync()
    sent.take()
    for state, before in ((None, None), ("delivered", None), (None, created[1500])):
        await jobs.list_events(
            forwarder_id=forwarder, state=state, limit=20, before=before, now=clock()
        )
        assert await matched(db, sent.take()) < 200, (state, before)


@pytest.fixture
async def wired_jobs(mongo_server, settings, services):
    """A JobStore on a client whose commands are captured (the same database)."""
    sent = Sent()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_server.uri, tz_aware=True, event_listeners=[sent]
    )
    yield JobStore(client[settings.database]), sent
    await client.close()


def test_windows_reach_the_oldest_date_without_overflowing():
    windows = Windows(None, datetime.max, datetime.min, 10)
    steps = 0
    while windows.next() is not None:
        windows.record(0)
        steps += 1
    assert 0 < steps < 40


async def test_a_tie_cut_by_a_states_read_is_read_whole(db, admin, make_forwarder, clock):
    """Eight pending events in one millisecond, written latest `due` first: the index
    gives them in the order written, the page wants the earliest `due` first."""
    forwarder = (await make_forwarder("hook"))["id"]
    now = clock()
    rng = random.Random(9)
    docs = [event_document(forwarder, n, "pending", now, rng) for n in range(8)]
    for n, doc in enumerate(docs):
        doc["due"] = now + timedelta(seconds=10 - n)
    delivered = event_document(forwarder, 9, "delivered", now - HOUR, rng)
    await db[EVENTS].insert_many([*docs, delivered])
    jobs = JobStore(db)
    for limit in range(1, 10):
        mine = await jobs.list_events(forwarder_id=forwarder, state=None, limit=limit, now=now)
        assert ids(mine) == ids(await single_query(db, forwarder, None, limit)), limit
    assert [r.id for r in mine[:3]] == [d["_id"] for d in docs[::-1][:3]]
