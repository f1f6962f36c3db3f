"""The worker: per-forwarder lanes, leases, the live loop and graceful shutdown."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta

from forwarders.jobs import Attempt
from forwarders.store import WORKERS
from forwarders.worker import utc_now
from tests.forwarders.receiver import Answer
from tests.forwarders.test_delivery import post


async def test_a_slow_receiver_does_not_delay_another_forwarder(
    client, make_statement, make_forwarder, worker, receiver
):
    await make_forwarder("slow", max_in_flight=2)
    await make_forwarder("fast", max_in_flight=2)
    receiver.default("slow", Answer(200, delay=1.0))
    await post(client, *(make_statement() for _ in range(4)))

    started = time.monotonic()
    assert await worker.run_until_empty() == 8

    slow, fast = receiver.on("slow"), receiver.on("fast")
    assert len(slow) == len(fast) == 4
    assert max(d.received for d in fast) < min(d.received for d in slow)
    assert max(d.received for d in fast) - started < 0.9
    # two lanes for the slow forwarder: 4 slow requests take two rounds of 1 s
    assert max(d.received for d in slow) - started >= 1.9


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
        await asyncio.sleep(0.5)
        posted = time.monotonic()
        ids = await post(client, *(make_statement() for _ in range(5)))
        deliveries = await receiver.wait_for("live", 5, timeout=10)
        assert {d.payload["data"]["statement_id"] for d in deliveries} == set(ids)
        assert max(d.received for d in deliveries) - posted < 3.0
        assert await db[WORKERS].count_documents({}) == 1
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    assert await db[WORKERS].count_documents({}) == 0
    state = await db["forwarder_state"].find_one({"_id": "discovery"})
    assert state is not None and state.get("token") and state["watermark"] > 0


async def test_shutdown_releases_deliveries_that_outlast_the_grace_period(
    client, make_statement, make_forwarder, make_worker, forwarding_settings, receiver, admin
):
    await make_forwarder("stuck")
    receiver.default("stuck", Answer(200, delay=1.0))
    settings = replace(forwarding_settings, shutdown_grace_seconds=0.2)
    worker = make_worker(settings=settings, clock=utc_now)
    await post(client, make_statement())
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    for _ in range(100):
        if worker.tasks:
            break
        await asyncio.sleep(0.05)
    assert worker.tasks
    stop.set()
    await asyncio.wait_for(running, 5)
    [record] = await admin.list_events(state="pending")
    assert (record.in_flight, record.attempts) == (False, 0)
