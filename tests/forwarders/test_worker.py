"""The worker: per-forwarder lanes, leases, the live loop and graceful shutdown."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import timedelta

from forwarders.config import ForwardingSettings
from forwarders.events import event_id
from forwarders.queue import Attempt
from forwarders.store import EVENTS, WORKERS
from forwarders.worker import PAYLOADS_UPGRADE, utc_now
from tests.forwarders.receiver import Answer
from tests.forwarders.test_delivery import post


async def test_a_slow_receiver_does_not_delay_another_forwarder(
    client, make_statement, make_forwarder, worker, receiver
):
    await make_forwarder("slow", max_in_flight=2)
    await make_forwarder("fast", max_in_flight=2)
    gate = threading.Event()
    receiver.default("slow", Answer(200, gate=gate))
    await post(client, *(make_statement() for _ in range(4)))

    running = asyncio.create_task(worker.run_until_empty())
    try:
        await receiver.wait_for("fast", 4)  # while the slow receiver holds every request
        await receiver.wait_until(lambda: receiver.waiting["slow"] == 2)
    finally:
        gate.set()
    assert await running == 8

    slow, fast = receiver.on("slow"), receiver.on("fast")
    assert len(slow) == len(fast) == 4
    assert max(d.received for d in fast) < min(d.received for d in slow)
    # two lanes for the slow forwarder: its 4 requests went two at a time
    assert receiver.peak["slow"] == 2


async def test_a_lease_expires_when_its_worker_dies(
    client, make_statement, make_forwarder, make_worker, receiver, clock, admin
):
    forwarder = await make_forwarder("hook")
    await post(client, make_statement())
    dying, survivor = make_worker(), make_worker()
    await dying.discovery.backfill()
    job = await dying.jobs.claim_next(forwarder["id"], dying.id, clock(), timedelta(seconds=30))
    assert job is not None and job.attempts == 1  # counted before any delivery

    assert await survivor.run_until_empty() == 0  # held by the lease
    clock.advance(31)
    assert await survivor.run_until_empty() == 1
    record = await admin.get_event(job.id)
    assert (record.state, record.attempts) == ("delivered", 2)
    # the dead worker's late report is ignored: the lease it held is gone
    late = Attempt(job.id, forwarder["id"], 1, clock(), 500, 1.0, "RetryLater", None, "")
    assert await dying.jobs.reschedule(job, clock(), "late", late) is False
    assert (await admin.get_event(job.id)).state == "delivered"


async def test_run_delivers_live_statements_within_seconds_and_stops_cleanly(
    client, make_statement, make_forwarder, make_worker, receiver, db, admin
):
    await make_forwarder("live")
    worker = make_worker(clock=utc_now)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        ids = await post(client, *(make_statement() for _ in range(5)))
        deliveries = await receiver.wait_for("live", 5, timeout=10)
        assert {d.payload["data"]["statement_id"] for d in deliveries} == set(ids)
        assert await db[WORKERS].count_documents({}) == 1
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    assert await db[WORKERS].count_documents({}) == 0
    state = await db["forwarder_state"].find_one({"_id": "discovery"})
    assert state is not None and state["cursor"] > 0


async def test_shutdown_releases_deliveries_that_outlast_the_grace_period(
    client, make_statement, make_forwarder, make_worker, forwarding_settings, receiver, admin
):
    await make_forwarder("stuck")
    gate = threading.Event()  # the receiver never answers while the worker shuts down
    receiver.default("stuck", Answer(200, gate=gate))
    settings = replace(forwarding_settings, shutdown_grace_seconds=0.2)
    worker = make_worker(settings=settings, clock=utc_now)
    await post(client, make_statement())
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await receiver.wait_until(lambda: receiver.waiting["stuck"] == 1)
        assert worker.tasks
        stop.set()
        await asyncio.wait_for(running, 10)
    finally:
        gate.set()
    [record] = await admin.list_events(state="pending")
    assert (record.in_flight, record.attempts) == (False, 0)


async def test_a_restarted_worker_takes_back_at_once_the_deliveries_its_last_run_held(
    client, make_statement, make_forwarder, make_worker, forwarding_settings, receiver, admin
):
    forwarder = await make_forwarder("hook")
    await post(client, make_statement())
    settings = replace(forwarding_settings, lease_seconds=300, worker_id="worker-1")
    crashed = make_worker(settings=settings)
    await crashed.discovery.backfill()
    lease = timedelta(seconds=300)
    job = await crashed.jobs.claim_next(forwarder["id"], crashed.id, crashed.clock(), lease)
    assert job is not None  # then the process died mid-delivery: no result, no release

    assert await make_worker(settings=replace(settings, worker_id="other")).run_until_empty() == 0
    assert await make_worker(settings=settings).run_until_empty() == 1  # no 300 s wait
    record = await admin.get_event(job.id)
    assert (record.state, record.attempts) == ("delivered", 2)  # the cut-off try counts


async def test_a_worker_leaves_alone_the_leases_of_a_live_worker_of_the_same_name(
    client, db, make_statement, make_forwarder, make_worker, forwarding_settings, admin
):
    forwarder = await make_forwarder("hook")
    await post(client, make_statement())
    settings = replace(forwarding_settings, lease_seconds=300, worker_id="twin")
    live = make_worker(settings=settings)
    await live.discovery.backfill()
    lease = timedelta(seconds=300)
    job = await live.jobs.claim_next(forwarder["id"], live.id, live.clock(), lease)
    assert job is not None
    other_host = {"host": "elsewhere", "pid": 1, "beat": live.clock()}
    await db[WORKERS].insert_one({"_id": "twin", **other_host})

    assert await make_worker(settings=settings).run_until_empty() == 0
    assert (await admin.get_event(job.id)).in_flight


def test_the_worker_name_is_read_from_the_environment():
    assert ForwardingSettings.from_env({"LRS_FORWARDER_WORKER_ID": " w-1 "}).worker_id == "w-1"
    assert ForwardingSettings.from_env({}).worker_id is None


async def test_events_queued_before_payloads_were_stored_get_theirs_once_at_start_up(
    client, db, make_statement, make_forwarder, make_worker, receiver, admin
):
    forwarder = await make_forwarder("hook")
    [statement_id] = await post(client, make_statement())
    first = make_worker()
    await first.discovery.backfill()
    old = event_id(forwarder["id"], statement_id)
    await db[EVENTS].update_one({"_id": old}, {"$unset": {"payload": "", "ready": ""}})
    await db["forwarder_state"].delete_one({"_id": PAYLOADS_UPGRADE})  # an earlier version

    assert await make_worker().run_until_empty() == 1
    [delivery] = receiver.on("hook")
    stored = await admin.get_event(old)
    assert stored.payload == delivery.payload
    assert delivery.payload["data"]["statement_id"] == statement_id
    assert await db["forwarder_state"].find_one({"_id": PAYLOADS_UPGRADE}) is not None


async def test_delivery_never_renders_a_job_without_a_payload_is_dead_lettered(
    client, db, make_statement, make_forwarder, worker, receiver, admin
):
    forwarder = await make_forwarder("hook")
    [statement_id] = await post(client, make_statement())
    await worker.run_until_empty()  # start-up done: the upgrade has run
    old = event_id(forwarder["id"], statement_id)
    await db[EVENTS].update_one(
        {"_id": old},
        {"$set": {"state": "pending", "due": worker.clock()}, "$unset": {"payload": ""}},
    )
    receiver.reset()

    assert await worker.run_until_empty() == 0
    assert receiver.on("hook") == []
    record = await admin.get_event(old)
    assert (record.state, record.reason) == ("dead", "no stored payload (replay it to render it)")
    await admin.replay_event(old)  # a replay renders it
    assert await worker.run_until_empty() == 1
