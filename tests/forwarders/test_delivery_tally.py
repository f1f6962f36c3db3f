"""Delivery success over 24 hours and 7 days: attempts per forwarder and hour, counted by
the worker and added to the database in batches (forwarders.delivery.tally)."""

from __future__ import annotations

from datetime import timedelta

from forwarders.delivery import tally
from forwarders.delivery.tally import HOURS, Tally
from tests.forwarders.receiver import Answer
from tests.forwarders.test_delivery import post

DAY, WEEK = timedelta(hours=24), timedelta(days=7)


async def test_a_worker_counts_delivered_and_failed_attempts_per_hour(
    client, make_statement, make_forwarder, make_worker, receiver, db, clock
):
    ok = await make_forwarder("ok")
    failing = await make_forwarder("failing")
    receiver.default("failing", Answer(503))
    await post(client, make_statement(), make_statement(), make_statement())
    worker = make_worker()
    await worker.discovery.backfill()

    assert await worker.run_until_empty() == 3

    by_forwarder = {doc["forwarder"]: doc async for doc in db[HOURS].find({})}
    assert by_forwarder[ok["id"]]["delivered"] == 3
    assert "failed" not in by_forwarder[ok["id"]]
    assert by_forwarder[failing["id"]]["failed"] == 3
    figures = await tally.success(db, clock(), (DAY, WEEK))
    assert figures[DAY].attempts == 6
    assert figures[DAY].rate == 0.5


async def test_flushes_add_up_and_old_hours_fall_out_of_the_day_but_not_the_week(db, clock):
    now = clock()
    counts = Tally()
    counts.note("f1", now, "Delivered")
    counts.note("f1", now, "Delivered")
    counts.note("f1", now - timedelta(hours=30), "Delivered")
    counts.note("f1", now - timedelta(hours=30), "Dead")
    await counts.flush(db, now)
    counts.note("f1", now, "RetryLater")
    await counts.flush(db, now)
    await counts.flush(db, now)  # nothing counted since: nothing added

    figures = await tally.success(db, now, (DAY, WEEK))
    assert (figures[DAY].delivered, figures[DAY].failed, figures[DAY].dead) == (2, 1, 0)
    assert (figures[WEEK].delivered, figures[WEEK].failed, figures[WEEK].dead) == (3, 1, 1)
    assert figures[WEEK].rate == 3 / 5


async def test_hours_older_than_eight_days_are_deleted_and_no_attempts_is_no_rate(db, clock):
    now = clock()
    counts = Tally()
    counts.note("f1", now - timedelta(days=9), "Delivered")
    await counts.flush(db, now - timedelta(days=9))
    assert await db[HOURS].count_documents({}) == 1
    counts.note("f1", now, "Delivered")
    await counts.flush(db, now)
    assert await db[HOURS].count_documents({}) == 1
    figures = await tally.success(db, now + timedelta(days=3), (DAY,))
    assert figures[DAY].attempts == 0
    assert figures[DAY].rate is None
