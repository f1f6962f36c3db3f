"""Deliveries recorded in batches (`JobStore.complete_many`, `delivery.completions`): each
event keeps its own attempt, and a result whose lease was lost is never recorded."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from forwarders.delivery.completions import Completions
from forwarders.queue import Attempt, JobStore
from tests.forwarders.test_delivery import post

LEASE = timedelta(seconds=30)


async def claimed(client, make_statement, make_forwarder, worker, clock, n):
    forwarder = await make_forwarder("hook")
    await post(client, *(make_statement() for _ in range(n)))
    await worker.discovery.backfill()
    ids = await worker.jobs.due_ids(forwarder["id"], clock(), n)
    return forwarder, await worker.jobs.claim_many(ids, "me", clock(), LEASE)


def attempt(job, clock, number, status=200, latency=1.0, excerpt=""):
    at = clock() + timedelta(milliseconds=number)
    return Attempt(job.id, job.forwarder_id, 1, at, status, latency, "Delivered", None, excerpt)


async def test_a_batch_records_each_event_with_its_own_attempt(
    client, make_statement, make_forwarder, worker, clock, admin
):
    _, jobs = await claimed(client, make_statement, make_forwarder, worker, clock, 3)
    results = [
        (job, attempt(job, clock, i, status=200 + i, latency=10.0 * i, excerpt=f"ok {i}"))
        for i, job in enumerate(jobs)
    ]

    assert await worker.jobs.complete_many(results) == {job.id for job in jobs}

    for job, made in results:
        record = await admin.get_event(job.id)
        assert (record.state, record.in_flight, record.due) == ("delivered", False, None)
        assert (record.delivered_at, record.last_status) == (made.at, made.status)
        [logged] = await worker.jobs.attempts_of(job.id)
        assert (logged.at, logged.status, logged.latency_ms, logged.excerpt) == (
            made.at,
            made.status,
            made.latency_ms,
            made.excerpt,
        )


async def test_a_result_whose_lease_was_lost_is_not_recorded_and_the_others_are(
    client, make_statement, make_forwarder, worker, clock, admin
):
    forwarder, jobs = await claimed(client, make_statement, make_forwarder, worker, clock, 3)
    lost = jobs[1]
    clock.advance(31)  # its lease ran out and another worker took it
    [taken] = await worker.jobs.claim_many([lost.id], "other", clock(), LEASE)

    recorded = await worker.jobs.complete_many([(job, attempt(job, clock, 1)) for job in jobs])

    assert recorded == {jobs[0].id, jobs[2].id}
    record = await admin.get_event(lost.id)
    assert (record.state, record.in_flight, record.attempts) == ("pending", True, 2)
    assert await worker.jobs.complete(taken, attempt(taken, clock, 2)) is True


async def test_results_arriving_while_one_is_recorded_are_recorded_together(
    client, make_statement, make_forwarder, worker, clock, admin, db
):
    _, jobs = await claimed(client, make_statement, make_forwarder, worker, clock, 6)
    store = CountingJobStore(db)
    completions = Completions(store)

    outcomes = await asyncio.gather(
        *(completions.complete(job, attempt(job, clock, i)) for i, job in enumerate(jobs))
    )

    assert outcomes == [True] * 6
    assert len(store.batches) < 6 and sum(store.batches) == 6
    for job in jobs:
        assert (await admin.get_event(job.id)).state == "delivered"


async def test_a_failed_batch_fails_every_result_in_it(
    client, make_statement, make_forwarder, worker, clock, db
):
    _, jobs = await claimed(client, make_statement, make_forwarder, worker, clock, 2)
    completions = Completions(FailingJobStore(db))

    outcomes = await asyncio.gather(
        *(completions.complete(job, attempt(job, clock, i)) for i, job in enumerate(jobs)),
        return_exceptions=True,
    )

    assert [type(o) for o in outcomes] == [RuntimeError, RuntimeError]
    assert completions.waiting == []


class CountingJobStore(JobStore):
    def __init__(self, db):
        super().__init__(db)
        self.batches: list[int] = []

    async def complete_many(self, results):
        self.batches.append(len(results))
        return await super().complete_many(results)


class FailingJobStore(JobStore):
    async def complete_many(self, results):
        await asyncio.sleep(0)
        raise RuntimeError("the database went away")


async def test_an_event_held_under_another_token_of_the_same_batch_is_left_alone(
    client, make_statement, make_forwarder, worker, clock, admin
):
    _, [first, second] = await claimed(client, make_statement, make_forwarder, worker, clock, 2)
    clock.advance(31)  # the first's lease ran out: both re-claimed together, one new token
    again = await worker.jobs.claim_many([first.id, second.id], "me", clock(), LEASE)
    retaken = next(job for job in again if job.id == second.id)

    recorded = await worker.jobs.complete_many(
        [(first, attempt(first, clock, 1)), (retaken, attempt(retaken, clock, 2))]
    )

    assert recorded == {second.id}
    record = await admin.get_event(first.id)
    assert (record.state, record.in_flight) == ("pending", True)
    assert await worker.jobs.attempts_of(first.id) == []
