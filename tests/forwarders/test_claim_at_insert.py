"""Events inserted already leased to the discovering worker (`claim.Claim`): delivered
without a claim, and never lost or held for good when that worker dies or pauses."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from typing import Any

from pymongo.monitoring import CommandListener

from forwarders import worker as worker_module
from forwarders.store import EVENTS
from forwarders.worker import Worker
from lrs.storage.client import mongo_client
from lrs.storage.statement_source import MongoStatementSource
from tests.forwarders.test_delivery import post


class Writes(CommandListener):
    """Counts the write commands on the events collection, by name."""

    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()

    def started(self, event: Any) -> None:
        if event.command.get(event.command_name) == EVENTS:
            self.commands[event.command_name] += 1

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


async def test_a_discovered_event_is_inserted_leased_and_delivered_without_a_claim(
    client,
    make_statement,
    make_forwarder,
    forwarding_settings,
    clock,
    mongo_server,
    services,
    receiver,
    admin,
):
    await make_forwarder("hook", max_in_flight=8)
    await post(client, *(make_statement() for _ in range(8)))
    writes = Writes()
    counted = mongo_client(mongo_server.uri, [writes])
    try:
        db = counted[services.settings.database]
        async with Worker(
            db, forwarding_settings, statements=MongoStatementSource(db), clock=clock
        ) as worker:
            await worker._start_up()
            writes.commands.clear()
            assert await worker.run_until_empty() == 8
    finally:
        await counted.close()

    assert len(receiver.on("hook")) == 8
    events = await admin.list_events(forwarder_id=None, state="delivered", limit=10)
    assert [e.attempts for e in events] == [1] * 8
    # one insert for the page; no claim (a findAndModify, or an update before each
    # delivery); the eight results recorded in fewer updates than events
    assert writes.commands["insert"] == 1
    assert writes.commands["findAndModify"] == 0
    assert writes.commands["update"] < 8


async def test_a_worker_that_dies_after_a_leased_insert_loses_nothing(
    client, make_statement, make_forwarder, make_worker, receiver, clock, admin
):
    forwarder = await make_forwarder("hook")
    [statement_id] = await post(client, make_statement())
    dying, survivor = make_worker(), make_worker()
    dying.delivering = True  # as while it runs: discovery inserts the event leased to it
    await dying.discovery.backfill()
    [(job, _)] = dying.held[forwarder["id"]]
    record = await admin.get_event(job.id)
    assert (record.state, record.in_flight, record.attempts) == ("pending", True, 1)
    # ... and the process dies before delivering it

    assert await survivor.run_until_empty() == 0  # held by the lease
    clock.advance(31)
    assert await survivor.run_until_empty() == 1
    [delivery] = receiver.on("hook")
    assert delivery.payload["data"]["statement_id"] == statement_id
    record = await admin.get_event(job.id)
    assert (record.state, record.attempts) == ("delivered", 2)  # the cut-off one counts


async def test_a_restarted_worker_takes_back_at_once_what_it_held_unsent(
    client, make_statement, make_forwarder, make_worker, forwarding_settings, receiver, admin
):
    forwarder = await make_forwarder("hook")
    await post(client, make_statement())
    settings = replace(forwarding_settings, lease_seconds=300, worker_id="worker-1")
    crashed = make_worker(settings=settings)
    crashed.delivering = True
    await crashed.discovery.backfill()
    [(job, _)] = crashed.held[forwarder["id"]]

    assert await make_worker(settings=replace(settings, worker_id="other")).run_until_empty() == 0
    assert await make_worker(settings=settings).run_until_empty() == 1  # no 300 s wait
    assert len(receiver.on("hook")) == 1
    assert (await admin.get_event(job.id)).state == "delivered"


async def test_a_job_held_past_half_its_lease_is_given_back_and_claimed_afresh(
    client, make_statement, make_forwarder, worker, receiver, admin
):
    forwarder = await make_forwarder("hook")
    await post(client, make_statement())
    worker.delivering = True
    await worker.discovery.backfill()
    [(job, taken)] = worker.held[forwarder["id"]]
    worker.held[forwarder["id"]][0] = (job, taken - worker.settings.lease_seconds)

    assert await worker.fill(await worker.cache.refresh()) == 1
    await asyncio.gather(*worker.tasks)
    assert len(receiver.on("hook")) == 1
    record = await admin.get_event(job.id)
    # released untried, then claimed with a fresh lease: still one attempt
    assert (record.state, record.attempts) == ("delivered", 1)


async def test_a_paused_forwarders_held_jobs_go_back_to_the_queue_untried(
    client, make_statement, make_forwarder, worker, receiver, admin
):
    forwarder = await make_forwarder("hook")
    await post(client, make_statement())
    worker.delivering = True
    await worker.discovery.backfill()
    [(job, _)] = worker.held[forwarder["id"]]
    await admin.update_forwarder(forwarder["id"], {"paused": True})

    await worker.fill(await worker.cache.refresh())

    assert not worker.held[forwarder["id"]]
    record = await admin.get_event(job.id)
    assert (record.state, record.in_flight, record.attempts) == ("pending", False, 0)
    assert receiver.on("hook") == []


async def test_a_worker_that_is_not_delivering_inserts_events_due(
    client, make_statement, make_forwarder, worker, admin
):
    await make_forwarder("hook")
    await post(client, make_statement())
    await worker.discovery.backfill()  # discovery alone (a tool, a test): no lease taken
    [record] = await admin.list_events(forwarder_id=None, state="pending", limit=5)
    assert (record.in_flight, record.attempts) == (False, 0)


async def test_events_beyond_what_the_worker_can_hold_are_inserted_due_for_any_worker(
    client, make_statement, make_forwarder, worker, admin, monkeypatch
):
    monkeypatch.setattr(worker_module, "CANDIDATE_PAGE", 2)  # hold at most 2 per forwarder
    forwarder = await make_forwarder("hook", max_in_flight=1)
    await post(client, *(make_statement() for _ in range(5)))
    worker.delivering = True
    await worker.discovery.backfill()

    assert len(worker.held[forwarder["id"]]) == 2
    records = await admin.list_events(forwarder_id=forwarder["id"], state="pending", limit=10)
    assert sorted(r.in_flight for r in records) == [False, False, False, True, True]
    assert sorted(worker.candidates[forwarder["id"]]) == sorted(
        r.id for r in records if not r.in_flight
    )
