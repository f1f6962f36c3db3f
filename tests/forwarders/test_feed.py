"""The completion feed: the events with their bodies, in (ready, id) order, paged by an opaque
cursor that never loses an event (not even one whose `ready` is written behind a concurrent
writer's), scope-protected, with clear errors for bad parameters."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient, monitoring

from forwarders.config import ForwardingSettings, SettingsError
from forwarders.events import event_id, sample_event, statement_event
from forwarders.feed import CompletionFeed, Position, at_ms, decode_cursor, encode_cursor
from forwarders.pipeline import generic
from forwarders.queue import Disposition, JobStore
from forwarders.store import EVENTS
from tests.forwarders.test_delivery import post

SETTLE = 5.0


@pytest.fixture
def jobs(db) -> JobStore:
    return JobStore(db)


@pytest.fixture
def feed(db, admin, clock) -> CompletionFeed:
    return CompletionFeed(db, admin.store, settle_seconds=SETTLE, clock=clock)


def new_event(forwarder_id, make_statement):
    statement = {**make_statement(), "id": str(uuid.uuid4()), "timestamp": "2025-01-01T00:00:00Z"}
    return statement_event(forwarder_id, statement)


async def put(jobs, forwarder_id, make_statement, ready, state="pending"):
    """An event of `forwarder_id` that became deliverable at `ready`, then moved to `state`
    (an unmatched or dropped one never became deliverable: no payload, no `ready`)."""
    event = new_event(forwarder_id, make_statement)
    if state in ("unmatched", "dropped"):
        await jobs.enqueue_dispositions([Disposition(event, state, reason="why")], ready)
        return event.id
    await jobs.enqueue_dispositions([Disposition(event, "pending", {"id": event.id})], ready)
    if state != "pending":
        await jobs.events.update_one({"_id": event.id}, {"$set": {"state": state}})
    return event.id


async def read_all(feed, forwarder_id, after=None, limit=2):
    """Follow `more` until the feed is caught up; returns (ids, the last cursor)."""
    ids = []
    while True:
        page = await feed.page(forwarder_id=forwarder_id, after=after, limit=limit)
        ids += [e["id"] for e in page.events]
        after = decode_cursor(page.next)
        if not page.full:
            return ids, after


async def test_events_come_in_ready_then_id_order_with_their_payloads(
    feed, jobs, make_forwarder, make_statement, clock
):
    forwarder = await make_forwarder("hook")
    start = clock()
    written = [
        (await put(jobs, forwarder["id"], make_statement, start + timedelta(seconds=s)), s)
        for s in (3, 1, 2, 2, 2)
    ]
    clock.advance(10)

    ids, _ = await read_all(feed, forwarder["id"])

    expected = [i for i, _ in sorted(written, key=lambda pair: (pair[1], pair[0]))]
    assert ids == expected
    page = await feed.page(forwarder_id=forwarder["id"], after=None, limit=1)
    [first] = page.events
    assert first == {
        "id": expected[0],
        "forwarder": forwarder["id"],
        "type": "learning.completed",
        "statement_id": first["statement_id"],
        "employee_id": None,
        "state": "pending",
        "ready": first["ready"],
        "payload": {"id": expected[0]},
    }
    assert page.full and page.as_dict()["more"].startswith("/feeds/completions?after=")


async def test_only_events_ready_before_the_settle_delay_are_served(
    feed, jobs, make_forwarder, make_statement, clock
):
    forwarder = await make_forwarder("hook")
    old = await put(jobs, forwarder["id"], make_statement, clock() + timedelta(seconds=1))
    await put(jobs, forwarder["id"], make_statement, clock() + timedelta(seconds=4))
    clock.advance(7)  # consistent through now - 5 s: the first only

    page = await feed.page(forwarder_id=forwarder["id"], after=None, limit=10)

    assert [e["id"] for e in page.events] == [old]
    assert (page.full, page.as_dict()["more"]) == (False, None)
    assert decode_cursor(page.next).ms == int((clock() - timedelta(seconds=5)).timestamp() * 1000)


async def test_a_poller_never_misses_an_event_written_late_behind_the_cursor(
    feed, jobs, make_forwarder, make_statement, clock
):
    """Writers read their clock for `ready` before their write commits: an event may land
    with a `ready` below the newest one already visible. The settle delay keeps the cursor
    behind every write still in flight."""
    forwarder = await make_forwarder("hook")
    start, rng, written, seen = clock(), random.Random(3), [], []
    after = None
    for step in range(40):
        now = start + timedelta(milliseconds=250 * step)
        clock.now = now
        for _ in range(rng.randint(0, 3)):  # in flight: ready up to 4 s behind the writer's now
            lag = timedelta(milliseconds=rng.randint(0, 4000))
            written.append(await put(jobs, forwarder["id"], make_statement, now - lag))
        ids, after = await read_all(feed, forwarder["id"], after, limit=rng.randint(1, 3))
        seen += ids
    clock.advance(SETTLE)
    seen += (await read_all(feed, forwarder["id"], after))[0]

    assert len(seen) == len(set(seen))
    assert sorted(seen) == sorted(written)


async def test_a_large_group_sharing_one_ready_instant_is_paged_without_loss(
    feed, jobs, make_forwarder, make_statement, clock
):
    forwarder = await make_forwarder("hook")
    events = [new_event(forwarder["id"], make_statement) for _ in range(7)]
    dispositions = [Disposition(e, "pending", {"n": i}) for i, e in enumerate(events)]
    await jobs.enqueue_dispositions(dispositions, clock())
    later = await put(jobs, forwarder["id"], make_statement, clock() + timedelta(seconds=1))
    clock.advance(10)

    ids, _ = await read_all(feed, forwarder["id"], limit=3)

    assert ids == [*sorted(e.id for e in events), later]


async def test_only_events_with_a_body_for_the_receiver_are_in_the_feed(
    feed, jobs, make_forwarder, make_statement, clock
):
    forwarder = await make_forwarder("hook")
    ready = clock()
    kept = [
        await put(jobs, forwarder["id"], make_statement, ready, state)
        for state in ("pending", "dead")
    ]
    for state in ("unmatched", "dropped"):
        await put(jobs, forwarder["id"], make_statement, ready, state)
    await jobs.enqueue_dispositions(
        [generic(sample_event(forwarder["id"], "2025-01-01T00:00:00Z"))], ready
    )
    erased = await put(jobs, forwarder["id"], make_statement, ready)
    await jobs.events.update_one({"_id": erased}, {"$unset": {"payload": ""}})
    clock.advance(10)

    ids, _ = await read_all(feed, forwarder["id"], limit=10)

    assert sorted(ids) == sorted(kept)


async def test_without_a_forwarder_the_feed_merges_every_forwarder_in_order(
    feed, jobs, make_forwarder, make_statement, clock
):
    one, two = await make_forwarder("one"), await make_forwarder("two")
    start = clock()
    written = []
    for second, forwarder in enumerate([one, two, one, two, two]):
        ready = start + timedelta(seconds=second)
        written.append(await put(jobs, forwarder["id"], make_statement, ready))
    clock.advance(10)

    ids, _ = await read_all(feed, None, limit=2)

    assert ids == written


def test_the_cursor_is_opaque_and_round_trips():
    position = Position(1_700_000_000_123, "1b0d4f0e-5a37-5c43-9d35-6a1f3c2b7e10")
    assert decode_cursor(encode_cursor(position)) == position
    assert decode_cursor(encode_cursor(Position(5))) == Position(5)


# -- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
async def reader(make_credentials):
    return await make_credentials(("feeds/read",), name="marketplace")


async def test_the_feed_over_http_serves_delivered_events_with_the_sent_bodies(
    client, make_statement, make_forwarder, worker, receiver, reader, services
):
    forwarder = await make_forwarder("hook")
    [statement_id] = await post(client, make_statement())
    await worker.run_until_empty()
    [delivery] = receiver.on("hook")
    services.forwarding = replace(services.forwarding, feed_settle_seconds=0)

    response = await client.get(
        "/feeds/completions", params={"forwarder": forwarder["id"]}, headers=reader
    )

    assert response.status_code == 200, response.text
    body = response.json()
    [event] = body["events"]
    assert event["id"] == delivery.id == event_id(forwarder["id"], statement_id)
    assert event["payload"] == delivery.payload
    assert event["state"] == "delivered"
    assert body["more"] is None and body["next"].startswith("f1.")
    again = await client.get("/feeds/completions", params={"after": body["next"]}, headers=reader)
    assert again.json()["events"] == []


async def test_the_feed_needs_feeds_read_or_admin_and_xapi_all_is_not_enough(
    client, make_credentials, reader
):
    admin = await make_credentials(("admin",))
    everything = await make_credentials(("all",))
    assert (await client.get("/feeds/completions", headers=reader)).status_code == 200
    assert (await client.get("/feeds/completions", headers=admin)).status_code == 200
    denied = await client.get("/feeds/completions", headers=everything)
    assert denied.status_code == 403
    assert denied.json()["details"] == {"required_any": ["admin", "feeds/read"]}
    anonymous = await client.get("/feeds/completions", headers={"Authorization": ""})
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"after": "garbage"}, "after"),
        ({"after": "f1.bm90IGpzb24"}, "after"),
        ({"after": encode_cursor(Position(5))[:-2] + "$$"}, "after"),
        ({"after": encode_cursor(Position(10**18))}, "after"),
        ({"since": "2025-01-01"}, "since"),
        ({"forwarder": "x" * 201}, "forwarder"),
    ],
)
async def test_bad_parameters_get_400_naming_the_parameter(client, reader, params, parameter):
    response = await client.get("/feeds/completions", params=params, headers=reader)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_query"
    details = response.json()["details"]
    assert details.pop("rule", None) == ("integer.range" if parameter == "limit" else None)
    assert details == {"parameter": parameter}


async def test_an_unknown_forwarder_is_404(client, reader):
    response = await client.get("/feeds/completions?forwarder=nope", headers=reader)
    assert response.status_code == 404
    assert response.json()["details"] == {"forwarder": "nope"}


async def test_the_feed_reads_through_the_forwarder_ready_index(db, feed, make_forwarder):
    forwarder = await make_forwarder("hook")
    window = {"$gt": at_ms(0), "$lte": at_ms(10**12)}
    plan = await db[EVENTS].find({"forwarder": forwarder["id"], "ready": window}).explain()
    assert "forwarder_ready" in str(plan["queryPlanner"]["winningPlan"])


class Finds(monitoring.CommandListener):
    def __init__(self) -> None:
        self.count = 0

    def started(self, event):
        self.count += event.command_name == "find"

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


async def test_a_cursor_far_behind_crosses_a_quiet_stretch_in_a_few_reads(
    mongo_server, settings, admin, jobs, make_forwarder, make_statement, clock
):
    """Windows widen while they come back sparse: a day of silence costs a few dozen reads,
    not one per quarter second."""
    forwarder = await make_forwarder("hook")
    early = await put(jobs, forwarder["id"], make_statement, clock())
    clock.advance(86_400)
    late = await put(jobs, forwarder["id"], make_statement, clock())
    clock.advance(10)
    finds = Finds()
    counted = AsyncMongoClient(mongo_server.uri, tz_aware=True, event_listeners=[finds])
    try:
        feed = CompletionFeed(
            counted[settings.database], admin.store, settle_seconds=SETTLE, clock=clock
        )
        page = await feed.page(forwarder_id=forwarder["id"], after=None, limit=1)
        rest = await feed.page(
            forwarder_id=forwarder["id"], after=decode_cursor(page.next), limit=5
        )
    finally:
        await counted.close()

    assert [e["id"] for e in [*page.events, *rest.events]] == [early, late]
    assert finds.count <= 40


def test_the_settle_delay_is_read_from_the_environment():
    assert ForwardingSettings.from_env({}).feed_settle_seconds == 5.0
    assert (
        ForwardingSettings.from_env({"LRS_FEED_SETTLE_SECONDS": "2.5"}).feed_settle_seconds == 2.5
    )
    with pytest.raises(SettingsError, match="LRS_FEED_SETTLE_SECONDS"):
        ForwardingSettings.from_env({"LRS_FEED_SETTLE_SECONDS": "-1"})
