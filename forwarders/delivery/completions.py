"""Group commit of successful deliveries: the results that arrive while one is being
recorded are recorded together, in one update, by whoever comes next.

A delivered event was one single-document update each, and on the embedded database a
written document costs about the same whatever it changes: that update was the largest
share of what forwarding cost ingest. `JobStore.complete_many` records a batch in one
multi-document update at about half the cost per event, each event keeping its own attempt
(time, status, latency, answer excerpt), and only under its own lease token. A delivery task
returns once its own result is durable, exactly as before: nothing is acknowledged early,
and a failed write fails each task of its batch (its lease then runs out, as before).
"""

from __future__ import annotations

import asyncio

from forwarders.queue import Attempt, Job, JobStore

MAX_BATCH = 64
"""Results per update: the embedded database evaluates the per-event picks linearly."""


class Completions:
    def __init__(self, jobs: JobStore) -> None:
        self.jobs = jobs
        self.waiting: list[tuple[Job, Attempt, asyncio.Future[bool]]] = []
        self.lock = asyncio.Lock()

    async def complete(self, job: Job, attempt: Attempt) -> bool:
        """Record this delivery (with whatever else is waiting); True if it was recorded,
        False if the job's lease had been lost (another worker holds the event now)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.waiting.append((job, attempt, future))
        async with self.lock:  # each waiter takes it in turn: none is left unrecorded
            while not future.done():
                await self._flush()
        return future.result()

    async def _flush(self) -> None:
        batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
        try:
            recorded = await self.jobs.complete_many([(job, attempt) for job, attempt, _ in batch])
        except asyncio.CancelledError:  # our task is going: the others record themselves
            self.waiting[:0] = [entry for entry in batch if not entry[2].done()]
            raise
        except Exception as error:  # noqa: BLE001 - handed to every task of the batch
            for _, _, future in batch:
                future.set_exception(error)
            return
        for job, _, future in batch:
            future.set_result(job.id in recorded)
