"""Group commit of successful deliveries: the results that arrive while one is being
recorded are recorded together, in one write, by whoever comes next.

A delivered event was one single-document update each, and on the embedded database a
written document costs about the same whatever it changes: that update was the largest
share of what forwarding cost ingest. `JobStore.complete_many` records a batch in one
multi-document update (or, for events not written yet, one insert) at about half the cost
per event, each event keeping its own attempt (time, status, latency, answer excerpt), and
only under its own lease token. By default a delivery task returns once its own result is
durable: nothing is acknowledged early, and a failed write fails each task of its batch
(its lease then runs out, as before).

A running worker lingers instead (`complete(..., linger=True)`): the result waits up to
`LINGER_SECONDS` for others and the task returns at once, freeing its lane. Each write then
carries a second's worth of deliveries instead of the few that finished during the previous
write, and each write of new events is followed by one read-back of their statements
(`forwarders.erased`): fewer commands on the database that ingest shares, for the same
documents. What a lingering result risks is what a crash between a delivery and its write
always risked, and is covered the same way: an event not yet written keeps discovery's saved
cursor below its statement (`JobStore.unrecorded_floor`), so it is re-discovered and sent
again with the same `webhook-id`; an event under a lease is claimed again when the lease
runs out. Nothing waits in memory longer than the linger, a failed write of events not yet
written is retried until the database answers, and `flush` writes what is left at shutdown.
"""

from __future__ import annotations

import asyncio
import logging

from pymongo.errors import PyMongoError

from forwarders.queue import Attempt, Job, JobStore

log = logging.getLogger("forwarders.completions")

MAX_BATCH = 64
"""Results per write: the embedded database evaluates the per-event picks linearly."""
LINGER_SECONDS = 0.5
"""How long a lingering result waits for others before it is written."""
RETRY_SECONDS = 1.0
Entry = tuple[Job, Attempt, "asyncio.Future[bool] | None"]


class Completions:
    def __init__(
        self, jobs: JobStore, *, linger: float = LINGER_SECONDS, retry: float = RETRY_SECONDS
    ) -> None:
        self.jobs = jobs
        self.linger = linger
        self.retry = retry
        self.waiting: list[Entry] = []
        self.lock = asyncio.Lock()
        self.timer: asyncio.Task[None] | None = None

    async def complete(self, job: Job, attempt: Attempt, *, linger: bool = False) -> bool:
        """Record this delivery (with whatever else is waiting); True if it was recorded,
        False if the job's lease had been lost (another worker holds the event now). With
        `linger`, hand it over and return True at once: it is written within the linger."""
        if linger:
            self.waiting.append((job, attempt, None))
            if self.timer is None or self.timer.done():
                self.timer = asyncio.create_task(self._after_linger())
            return True
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.waiting.append((job, attempt, future))
        async with self.lock:  # each waiter takes it in turn: none is left unrecorded
            while not future.done():
                await self._flush()
        return future.result()

    async def flush(self) -> None:
        """Write every result waiting (the linger's end, shutdown, burst mode)."""
        async with self.lock:
            while self.waiting:
                await self._flush()

    async def _after_linger(self) -> None:
        await asyncio.sleep(self.linger)
        while True:
            try:
                await self.flush()
                return
            except PyMongoError as error:  # those not written yet are kept: retried
                log.warning("recording deliveries failed (%s); retrying", error)
                await asyncio.sleep(self.retry)

    async def _flush(self) -> None:
        batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
        try:
            recorded = await self.jobs.complete_many([(job, attempt) for job, attempt, _ in batch])
        except asyncio.CancelledError:  # our task is going: the others record themselves
            self.waiting[:0] = [entry for entry in batch if not _settled(entry)]
            raise
        except Exception as error:  # handed to every waiting task of the batch
            for _, _, future in batch:
                if future is not None:
                    future.set_exception(error)
            lingering = [entry for entry in batch if entry[2] is None]
            unwritten = [entry for entry in lingering if entry[0].fresh is not None]
            self.waiting[:0] = unwritten  # the event exists nowhere else: kept, retried
            _lost([job for job, _, _ in lingering if job.fresh is None], error)
            if unwritten:
                raise
            return
        for job, _, future in batch:
            if future is not None:
                future.set_result(job.id in recorded)


def _settled(entry: Entry) -> bool:
    future = entry[2]
    return future is not None and future.done()


def _lost(jobs: list[Job], error: Exception) -> None:
    """Lingering results of leased events that could not be written: their leases run out
    and they are claimed and sent again (as after a worker's crash)."""
    for job in jobs:
        log.warning("event %s: delivery not recorded (%s); sent again later", job.id, error)
