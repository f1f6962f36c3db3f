"""The forwarder worker: discover -> enqueue; claim -> deliver -> record.

`lrs forwarders run` (`lrs.cli.worker`) runs one as a process, `lrs serve` one inside the
API process, both through `Worker.run(stop)`. Any number of workers share the queue: jobs
are claimed with leases, one worker at a time discovers. Each forwarder gets at most
`max_in_flight` lanes per worker, and the dispatcher claims round-robin across forwarders,
so a slow or dead receiver holds only its own lanes. On SIGTERM the worker stops claiming,
lets in-flight deliveries finish for `shutdown_grace_seconds`, then releases what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from forwarders.claim import Claim
from forwarders.config import ForwardingSettings
from forwarders.delivery import tally
from forwarders.delivery.completions import Completions
from forwarders.delivery.outcome import Dead, Delivered, EndpointGone, Outcome, RetryLater, classify
from forwarders.delivery.schedule import next_delay
from forwarders.delivery.send import deliver, delivery_client
from forwarders.delivery.tally import Tally
from forwarders.discovery import Discovery, ForwarderCache
from forwarders.events import Event
from forwarders.identity.store import IdentityStore
from forwarders.pipeline import Pipeline
from forwarders.queue import Attempt, Job, JobStore
from forwarders.rules import Forwarder
from forwarders.secretbox import SecretBox
from forwarders.source import StatementSource, VocabularySource
from forwarders.store import STATE, WORKERS, ForwarderStore, ensure_indexes

log = logging.getLogger("forwarders.worker")
CANDIDATE_PAGE = 100
RECORD_RETRY_SECONDS = 1.0
PAYLOADS_UPGRADE = "payloads-upgrade"
"""`forwarder_state` marker: queued events all carry their payload."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Worker:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        settings: ForwardingSettings | None = None,
        *,
        statements: StatementSource,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
        worker_id: str | None = None,
        on_attempt: Callable[[Attempt], None] | None = None,
        vocabulary: VocabularySource | None = None,
        horizon: Callable[[], int] | None = None,
    ) -> None:
        """`horizon`: a position below which no statement write can still land (default:
        `discovery.HORIZON_LAG_MS` ago); the API passes its own, which knows its writes in
        flight."""
        self.db = db
        self.on_attempt = on_attempt
        """Told of every delivery attempt (the API process's metrics, when in-process)."""
        self.settings = settings or ForwardingSettings()
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.id = (
            worker_id
            or self.settings.worker_id
            or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )
        self.jobs = JobStore(db, statements)
        self.store = ForwarderStore(db, SecretBox(self.settings.secrets_key))
        self.cache = ForwarderCache(self.store)
        self.wake = asyncio.Event()
        self.identities = IdentityStore(db, self.settings.alias_domains)
        self.pipeline = Pipeline(statements, self.identities, self.jobs, vocabulary)
        self.discovery = Discovery(
            db,
            statements,
            self.pipeline,
            self.cache,
            clock=clock,
            owner=self.id,
            horizon=horizon,
            lease_seconds=self.settings.discovery_lease_seconds,
            on_enqueued=self.hint,
            claim=self.claim,
            on_claimed=self.take,
        )
        self.client = delivery_client(allow_private=self.settings.allow_private)
        self.in_flight: Counter[str] = Counter()
        self.candidates: defaultdict[str, deque[str]] = defaultdict(deque)
        self.held: defaultdict[str, deque[tuple[Job, float]]] = defaultdict(deque)
        """Jobs discovery inserted leased to us, waiting for a lane (with when, monotonic)."""
        self.delivering = False
        """Only a worker that is delivering takes events at insert (see `claim`)."""
        self.completions = Completions(self.jobs)
        self.scanned: dict[str, float] = {}
        self.tasks: dict[asyncio.Task[None], Job] = {}
        self.delivered = 0
        self.tally = Tally()
        """Attempts per forwarder and hour, added to the database at each heartbeat."""

    async def __aenter__(self) -> Worker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    # -- claim -> deliver -> record ---------------------------------------------------------

    def claim(self, now: datetime) -> Claim | None:
        """The lease discovery inserts deliverable events under, while this worker delivers:
        as many per forwarder as it has lanes for and a page more (see `claim.Claim`)."""
        if not self.delivering:
            return None
        room = {
            f.id: _hold_limit(f) - self.in_flight[f.id] - len(self.held[f.id])
            for f in self.cache.known
            if not f.paused
        }
        until = now + timedelta(seconds=self.settings.lease_seconds)
        return Claim(self.id, until, room)

    def take(self, jobs: Sequence[Job]) -> None:
        """Jobs discovery inserted leased to us: deliver them as lanes free up."""
        taken = time.monotonic()
        for job in jobs:
            self.held[job.forwarder_id].append((job, taken))
        self.wake.set()

    def hint(self, events: Sequence[Event]) -> None:
        """Events this process just queued: claim them by id, without a scan."""
        for event in events:
            self.candidates[event.forwarder_id].append(event.id)
        self.wake.set()

    async def _claim_for(self, forwarder: Forwarder, slots: int, scan: bool) -> list[Job]:
        """Up to `slots` jobs of `forwarder`: ids it already knows first (hints, the rest of
        the last page), else, when `scan`, a new page of due ids."""
        now = self.clock()
        held = await self._held(forwarder.id, slots, now)
        if held:
            return held
        queue = self.candidates[forwarder.id]
        if not queue and scan:
            page = max(CANDIDATE_PAGE, 2 * forwarder.max_in_flight)
            queue.extend(await self.jobs.due_ids(forwarder.id, now, page))
            self.scanned[forwarder.id] = time.monotonic()
        ids = list(dict.fromkeys(queue.popleft() for _ in range(min(slots, len(queue)))))
        if not ids:
            return []
        lease = timedelta(seconds=self.settings.lease_seconds)
        return await self.jobs.claim_many(ids, self.id, now, lease)

    async def _held(self, forwarder_id: str, slots: int, now: datetime) -> list[Job]:
        """Up to `slots` held jobs. One held past half its lease is given back and claimed
        afresh by id (its lease must outlast the delivery)."""
        held = self.held[forwarder_id]
        jobs: list[Job] = []
        stale: list[Job] = []
        oldest = time.monotonic() - self.settings.lease_seconds / 2
        while held and len(jobs) < slots:
            job, taken = held.popleft()
            (jobs if taken >= oldest else stale).append(job)
        for job in stale:
            if await self.jobs.release(job, now):
                self.candidates[forwarder_id].append(job.id)
        return jobs

    async def _release_held(self, forwarder_id: str | None = None) -> None:
        """Give back held jobs untried (a paused forwarder's, or all at shutdown)."""
        ids = [forwarder_id] if forwarder_id is not None else list(self.held)
        for key in ids:
            for job, _ in self.held.pop(key, ()):
                with contextlib.suppress(PyMongoError):
                    await self.jobs.release(job, self.clock())

    def _forget_deleted(self, forwarders: Sequence[Forwarder]) -> None:
        """Drop the held jobs of deleted forwarders: their events went with them, and
        one never written must not hold discovery's saved cursor back for good."""
        known = {f.id for f in forwarders}
        for forwarder_id in [f for f in self.held if f not in known]:
            self.candidates.pop(forwarder_id, None)
            self.jobs.forget([job.id for job, _ in self.held.pop(forwarder_id)])

    def _may_scan(self, forwarder_id: str, eager: bool) -> bool:
        """Scan for due jobs at most once a poll period per forwarder (hints arrive in
        between); `eager` (burst mode) scans whenever the known ids run out."""
        last = self.scanned.get(forwarder_id, float("-inf"))
        return eager or time.monotonic() - last >= self.settings.poll_seconds

    async def fill(self, forwarders: Sequence[Forwarder], *, eager: bool = False) -> int:
        """Claim due jobs round-robin across active forwarders, within both limits."""
        self._forget_deleted(forwarders)
        started, exhausted = 0, set()
        while True:
            open_lanes = [
                f
                for f in forwarders
                if not f.paused and f.id not in exhausted and self.in_flight[f.id] < f.max_in_flight
            ]
            for forwarder in forwarders:
                if forwarder.paused:  # its events wait in the database, not in our memory
                    self.candidates.pop(forwarder.id, None)
                    await self._release_held(forwarder.id)
            if not open_lanes:
                return started
            for forwarder in open_lanes:
                free = self.settings.concurrency - len(self.tasks)
                if free <= 0:
                    return started
                slots = min(free, forwarder.max_in_flight - self.in_flight[forwarder.id])
                jobs = await self._claim_for(forwarder, slots, self._may_scan(forwarder.id, eager))
                if not jobs and not self.candidates[forwarder.id] and not self.held[forwarder.id]:
                    exhausted.add(forwarder.id)
                for job in jobs:
                    self._start(forwarder, job)
                started += len(jobs)

    def _start(self, forwarder: Forwarder, job: Job) -> None:
        self.in_flight[forwarder.id] += 1
        task = asyncio.create_task(self._deliver(forwarder, job))
        self.tasks[task] = job
        task.add_done_callback(lambda t: self._finished(t, forwarder.id))

    def _finished(self, task: asyncio.Task[None], forwarder_id: str) -> None:
        self.tasks.pop(task, None)
        self.in_flight[forwarder_id] -= 1
        self.wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed: %r", task.exception())

    async def _deliver(self, forwarder: Forwarder, job: Job) -> None:
        secrets = forwarder.signing_secrets(self.clock())
        if not secrets:
            await self.jobs.dead_letter(job, "no active signing secret", self.clock())
            log.warning("event %s forwarder %s: dead (no signing secret)", job.id, forwarder.name)
            return
        body = await self._body(forwarder, job)
        if body is None:
            return
        stamp = int(datetime.now(UTC).timestamp())  # wall time: receivers check it against theirs
        response = await deliver(self.client, forwarder, job.event, secrets, stamp, body)
        now = self.clock()
        outcome = classify(
            response.status, retry_after=response.retry_after, error=response.error, now=now
        )
        attempt = Attempt(
            event_id=job.id,
            forwarder_id=forwarder.id,
            number=job.attempts,
            at=now,
            status=response.status,
            latency_ms=response.latency_ms,
            outcome=type(outcome).__name__,
            error=response.error,
            excerpt=response.excerpt,
        )
        if self.on_attempt is not None:
            self.on_attempt(attempt)
        self.tally.note(forwarder.id, now, attempt.outcome)
        while True:
            try:
                await self._record(forwarder, job, attempt, outcome)
                return
            except PyMongoError as error:
                if job.fresh is None:  # its lease runs out: claimed and sent again
                    raise
                # not written yet: recorded when the database answers again (the saved
                # discovery cursor stays below it meanwhile)
                log.warning("event %s: recording failed (%s); retrying", job.id, error)
                await asyncio.sleep(RECORD_RETRY_SECONDS)

    async def _body(self, forwarder: Forwarder, job: Job) -> bytes | None:
        """The stored payload, sent as stored: rendering happened once, when the event
        became deliverable. A job without one (which start-up upgrades away) is
        dead-lettered, visibly and replayably, rather than sent with a guessed body."""
        if job.payload is not None:
            return orjson.dumps(job.payload)
        await self.jobs.dead_letter(job, "no stored payload (replay it to render it)", self.clock())
        log.error("event %s forwarder %s: dead (no stored payload)", job.id, forwarder.name)
        return None

    async def _record(
        self, forwarder: Forwarder, job: Job, attempt: Attempt, outcome: Outcome
    ) -> None:
        where = f"event {job.id} forwarder {forwarder.name} attempt {job.attempts}"
        if isinstance(outcome, Delivered):
            await self.completions.complete(job, attempt)
            self.delivered += 1
            log.info("%s: delivered (%s, %.0f ms)", where, attempt.status, attempt.latency_ms)
        elif isinstance(outcome, RetryLater):
            await self._retry(job, outcome, attempt, where)
        elif isinstance(outcome, EndpointGone):
            await self.jobs.dead_letter(job, outcome.reason, attempt.at, attempt)
            reason = f"{outcome.reason} ({attempt.at:%Y-%m-%dT%H:%M:%SZ})"
            await self.store.set_paused(forwarder.id, True, reason)
            await self.cache.refresh()
            log.warning("%s: dead, forwarder paused (%s)", where, outcome.reason)
        else:
            assert isinstance(outcome, Dead)  # noqa: S101 - the union is exhausted
            await self.jobs.dead_letter(job, outcome.reason, attempt.at, attempt)
            log.warning("%s: dead (%s)", where, outcome.reason)

    async def _retry(self, job: Job, outcome: RetryLater, attempt: Attempt, where: str) -> None:
        delay = next_delay(job.attempts, outcome.after, self.rng, self.settings.policy)
        if delay is None:
            reason = f"gave up after {job.attempts} attempts: {outcome.reason}"
            await self.jobs.dead_letter(job, reason, attempt.at, attempt)
            log.warning("%s: dead (%s)", where, reason)
            return
        at = attempt.at + timedelta(seconds=delay)
        await self.jobs.reschedule(job, at, outcome.reason, attempt)
        log.info("%s: retry in %.1f s (%s)", where, delay, outcome.reason)

    # -- modes ------------------------------------------------------------------------------

    async def run_until_empty(self) -> int:
        """Discover by backfill, then deliver until no job is due (arq's burst mode, for tests
        and one-shot runs). Returns how many deliveries succeeded."""
        before = self.delivered
        await self._start_up()
        await self.cache.refresh()
        self.delivering = True
        try:
            await self.discovery.backfill()
            while True:
                await self.fill(await self.cache.current(), eager=True)
                if not self.tasks:
                    await self.completions.flush()
                    await self.tally.flush(self.db, self.clock())
                    return self.delivered - before
                await asyncio.wait(set(self.tasks), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.delivering = False
            await self._release_held()

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: discover (when holding the lease), deliver, heartbeat."""
        await self._start_up()
        await self.cache.refresh()
        self.delivering = True
        log.info("forwarder worker %s started", self.id)
        background = [
            asyncio.create_task(self.discovery.lead(stop)),
            asyncio.create_task(self._heartbeat(stop)),
        ]
        try:
            await self._dispatch(stop)
        finally:
            self.delivering = False
            await self._drain()
            stop.set()  # also when leaving on an error: discovery saves its position and ends
            await asyncio.wait(background, timeout=5)
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await self._release_held()  # taken by a discovery read that ended meanwhile
            with contextlib.suppress(PyMongoError):
                await self.tally.flush(self.db, self.clock())
            with contextlib.suppress(PyMongoError):
                await self.db[WORKERS].delete_one({"_id": self.id})
            log.info("forwarder worker %s stopped", self.id)

    async def _start_up(self) -> None:
        await ensure_indexes(self.db)
        await self.jobs.ensure_indexes()
        await self.identities.ensure_indexes()
        await tally.ensure_indexes(self.db)
        await self._upgrade_payloads()
        await self._reclaim()

    async def _upgrade_payloads(self) -> None:
        """Once per store: render the queued events stored before payloads were (a store
        written by an earlier version may hold some), so delivery never renders."""
        state = self.db[STATE]
        if await state.find_one({"_id": PAYLOADS_UPGRADE}) is not None:
            return
        waiting = {"state": {"$in": ["pending", "failed"]}}
        forwarders = await self.cache.refresh()
        rendered = await self.pipeline.render_unrendered(
            waiting, forwarders, self.clock(), fresh=False
        )
        await state.update_one({"_id": PAYLOADS_UPGRADE}, {"$set": {"done": True}}, upsert=True)
        if rendered:
            log.info("rendered the payloads of %d events queued by an earlier version", rendered)

    async def _reclaim(self) -> None:
        """Take back the jobs a previous run under this name held when it stopped short,
        unless another live worker uses the name: its leases are its own."""
        now = self.clock()
        registered = await self.db[WORKERS].find_one({"_id": self.id})
        if registered is not None and _alive(registered, now, self.settings.heartbeat_seconds):
            log.warning("worker name %s is in use by a live worker: nothing reclaimed", self.id)
            return
        reclaimed = await self.jobs.reclaim(self.id, now)
        if reclaimed:
            log.info("reclaimed %d deliveries cut off in this worker's previous run", reclaimed)

    async def _dispatch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            try:
                await self.fill(await self.cache.current())
            except PyMongoError as error:
                log.warning("claiming failed (%s); retrying", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken(stop), self.settings.poll_seconds)

    async def _woken(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.create_task(self.wake.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _drain(self) -> None:
        """Let in-flight deliveries finish within the grace period; release the rest."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=self.settings.shutdown_grace_seconds)
        left = dict(self.tasks)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        for job in left.values():
            with contextlib.suppress(PyMongoError):
                await self.jobs.release(job, self.clock())
                log.info("event %s: released at shutdown", job.id)
        await self._release_held()
        if not await self.completions.flush(self.settings.shutdown_grace_seconds):
            # re-discovered and sent again after a restart: the saved cursor is below them
            log.warning("%d deliveries left unrecorded at shutdown", len(self.completions.later))

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        started = self.clock()
        while not stop.is_set():
            with contextlib.suppress(PyMongoError):
                await self.db[WORKERS].update_one(
                    {"_id": self.id},
                    {
                        "$set": {
                            "pid": os.getpid(),
                            "host": socket.gethostname(),
                            "started": started,
                            "beat": self.clock(),
                            "in_flight": len(self.tasks),
                            "delivered": self.delivered,
                        }
                    },
                    upsert=True,
                )
            with contextlib.suppress(PyMongoError):
                await self.tally.flush(self.db, self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.heartbeat_seconds)


def _hold_limit(forwarder: Forwarder) -> int:
    """Jobs of one forwarder a worker holds at most (delivering or waiting for a lane)."""
    return max(CANDIDATE_PAGE, 2 * forwarder.max_in_flight)


def _alive(registered: dict[str, Any], now: datetime, heartbeat_seconds: float) -> bool:
    """Whether the worker that registered this heartbeat may still be running. On this host
    its process tells (gone, or our own pid after a container restart: dead); elsewhere a
    heartbeat younger than two periods does."""
    if registered.get("host") == socket.gethostname():
        pid = registered.get("pid")
        if not isinstance(pid, int) or pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    beat = registered.get("beat")
    fresh = timedelta(seconds=2 * heartbeat_seconds)
    return isinstance(beat, datetime) and beat > now - fresh
