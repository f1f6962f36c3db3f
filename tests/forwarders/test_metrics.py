"""Forwarding metrics: events by state, queue depth, unmatched count, delivery latency."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.conftest import basic
from tests.forwarders.receiver import Answer
from tests.forwarders.test_delivery import post
from tests.lrs.test_metrics import samples, scrape, total, value


class Ticks:
    """A monotonic clock for the scrape cache, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_events_by_state_queue_depth_and_delivery_latency_move(
    client, services, make_statement, make_forwarder, make_worker, receiver, db
):
    ticks = Ticks()
    services.metrics.monotonic = ticks
    key, secret = await services.credentials.create("prometheus", ["metrics"])
    scraper = {"Authorization": basic(key, secret)}
    ok = await make_forwarder("ok")
    failing = await make_forwarder("failing")
    receiver.default("failing", Answer(503))
    await post(client, make_statement(), make_statement())
    worker = make_worker(on_attempt=services.metrics.observe_delivery)
    await worker.discovery.backfill()

    queued = await scrape(client, scraper)
    assert value(queued, "lrs_forwarding_events", forwarder=ok["id"], state="pending") == 2
    assert value(queued, "lrs_forwarding_events", forwarder=failing["id"], state="pending") == 2
    assert value(queued, "lrs_forwarding_queue_depth") == 4

    assert await worker.run_until_empty() == 2
    cached = await scrape(client, scraper)
    assert value(cached, "lrs_forwarding_queue_depth") == 4  # younger than the cache
    ticks.now += services.metrics.cache_seconds
    after = await scrape(client, scraper)
    assert value(after, "lrs_forwarding_events", forwarder=ok["id"], state="pending") == 0
    assert value(after, "lrs_forwarding_events", forwarder=ok["id"], state="dead") == 0
    # delivered is history, not queue: counted by the worker, never recounted at scrape
    assert ("lrs_forwarding_events", (("forwarder", ok["id"]), ("state", "delivered"))) not in (
        samples(after)
    )
    # the failing ones wait for their retry time: failed, but not due yet
    assert value(after, "lrs_forwarding_events", forwarder=failing["id"], state="failed") == 2
    assert value(after, "lrs_forwarding_queue_depth") == 0
    delivery = "lrs_forwarding_delivery_duration_seconds_count"
    assert value(after, delivery, outcome="delivered") == 2
    assert value(after, delivery, outcome="retrylater") == 2


async def test_unmatched_events_are_counted(client, services, make_forwarder, db):
    """Whatever states the queue holds are reported, `unmatched` with its own gauge."""
    key, secret = await services.credentials.create("prometheus", ["metrics"])
    scraper = {"Authorization": basic(key, secret)}
    hook = await make_forwarder("hook")
    now = datetime.now(UTC)
    await db["forwarder_events"].insert_many(
        [
            {
                "_id": uuid.uuid4().hex,
                "forwarder": hook["id"],
                "state": "unmatched",
                "created": now,
                "updated": now,
            }
            for _ in range(3)
        ]
    )
    text = await scrape(client, scraper)
    assert value(text, "lrs_forwarding_unmatched_events") == 3
    assert value(text, "lrs_forwarding_events", forwarder=hook["id"], state="unmatched") == 3
    assert value(text, "lrs_forwarding_queue_depth") == 0
    assert total(text, "lrs_forwarding_events") == 3
