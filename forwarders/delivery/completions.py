"""Group commit of successful deliveries: the results that arrive while one is being
recorded are recorded together, in one update, by whoever comes next.

A delivered event was one single-document update each, and on the embedded database a
written document costs about the same whatever it changes: that update was the largest
share of what forwarding cost ingest. `JobStore.complete_many` records a batch in one
multi-document update at about half the cost per event, each event keeping its own attempt
(time, status, latency, answer excerpt), and only under its own lease token. A delivery task
returns once its own result is durable, exactly as before: nothing is acknowledged early,
and a failed write fails each task of its batch (its lease then runs out, as before).

Except for a fresh event (`claim.Claim.keep`: delivered before it was ever written), whose
first document is written later, with those of the other fresh events delivered within
`GATHER_SECONDS` (`later`). Nothing in the database is held for it (no lease, no
document), and until it is written discovery's saved cursor stays below its statement
(`JobStore.unrecorded_floor`), so a crash before the write re-discovers and re-sends it,
as a crash between a delivery and its write always did. Its lane is free at once, and the
inserts are few and large: on the embedded database each command carries a fixed cost and
runs beside ingest's writes, and the events written within one poll's worth of deliveries
went from about 130 inserts per thousand events to about 15 (docs/forwarders.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pymongo.errors import PyMongoError

from forwarders.queue import Attempt, Job, JobStore

log = logging.getLogger("forwarders.delivery")

MAX_BATCH = 64
"""Results per write: the embedded database evaluates the per-event picks linearly."""
GATHER_SECONDS = 0.5
"""How long fresh deliveries gather before their documents are written."""
MAX_LATER = 1024
"""Fresh deliveries waiting for their write beyond which a delivery waits for its own (a
database that does not answer holds the lanes back instead of filling memory)."""
RETRY_SECONDS = 1.0


class Completions:
    def __init__(self, jobs: JobStore, gather_seconds: float = GATHER_SECONDS) -> None:
        self.jobs = jobs
        self.gather_seconds = gather_seconds
        self.waiting: list[tuple[Job, Attempt, asyncio.Future[bool]]] = []
        self.lock = asyncio.Lock()
        self.later: list[tuple[Job, Attempt]] = []
        """Fresh deliveries whose documents are not written yet."""
        self._writer: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()

    async def complete(self, job: Job, attempt: Attempt) -> bool:
        """Record this delivery (with whatever else is waiting); True if it was recorded,
        False if the job's lease had been lost (another worker holds the event now). A
        fresh delivery is recorded within `gather_seconds` (True: nobody else holds it)."""
        if job.fresh is not None and self.gather_seconds > 0 and len(self.later) < MAX_LATER:
            self.later.append((job, attempt))
            if self._writer is None or self._writer.done():
                self._writer = asyncio.create_task(self._write_later())
            return True
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

    async def _write_later(self) -> None:
        """Write the gathered fresh deliveries, a batch at a time, until none is left; a
        failed write is tried again (the events stay unwritten, the cursor below them)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._hurry.wait(), self.gather_seconds)
        while self.later:
            batch = self.later[:MAX_BATCH]
            try:
                async with self.lock:
                    await self.jobs.complete_many(batch)
            except PyMongoError as error:
                log.warning("recording %d deliveries failed (%s); retrying", len(batch), error)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            except Exception:
                log.exception("recording %d deliveries failed; retrying", len(batch))
                await asyncio.sleep(RETRY_SECONDS)
                continue
            del self.later[: len(batch)]

    async def flush(self, timeout: float | None = None) -> bool:
        """Write the gathered fresh deliveries now (a worker stopping, a one-shot run);
        True when none is left unwritten within `timeout`."""
        if not self.later:
            return True
        self._hurry.set()
        try:
            if self._writer is None or self._writer.done():
                self._writer = asyncio.create_task(self._write_later())
            await asyncio.wait({self._writer}, timeout=timeout)
        finally:
            self._hurry.clear()
        return not self.later
