"""Finding the statements to forward: the source's stream of new statements, with a
watermark backfill. Both read through `forwarders.source.StatementSource`.

The live path follows new statements as they commit, persisting the stream's resume token.
It does not touch ingestion.

The backfill reads the statements stored after `watermark - rescan`, in stored order (the
source's scan, a bounded slice at a time). It runs every time the stream is
(re)opened: at start, and after any stream failure, including a resume token the server
refuses or whose history has expired. The stream is opened *before* the backfill reads, so
a statement committed while the backfill runs is seen by one or the other (or both: enqueue
is idempotent).

A statement's position is taken before its insert commits, so a write can commit with a
position lower than one already seen. The stream still delivers it (it is ordered by
commit); for the backfill, the watermark is re-read from `rescan` seconds behind, a bound far
above the time any write stays in flight.

Only one worker discovers at a time (a lease in `forwarder_state`); every worker delivers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from forwarders.events import Event, statement_event
from forwarders.pipeline import Match, Pipeline
from forwarders.queue import JobStore
from forwarders.rules import Forwarder, matches, verb_iris, wanted_verbs
from forwarders.source import StatementSource, StatementStream, StoredStatement
from forwarders.store import STATE, ForwarderStore
from statements.vocabulary import Vocabulary, canonical_verb

log = logging.getLogger("forwarders.discovery")

BATCH = 500
SAVE_EVERY_SECONDS = 1.0
SAVE_EVERY_CHANGES = 200
STREAM_STATE = "discovery"
LEASE_STATE = "discovery-lease"
Clock = Callable[[], datetime]


class ForwarderCache:
    """The forwarders, re-read at most every `max_age` seconds (or on `refresh`)."""

    def __init__(self, store: ForwarderStore, max_age: float = 1.0) -> None:
        self.store = store
        self.max_age = max_age
        self._loaded_at = float("-inf")
        self._forwarders: list[Forwarder] = []

    async def refresh(self) -> list[Forwarder]:
        self._forwarders = await self.store.all()
        self._loaded_at = time.monotonic()
        return self._forwarders

    async def current(self) -> list[Forwarder]:
        if time.monotonic() - self._loaded_at > self.max_age:
            return await self.refresh()
        return self._forwarders


def _created_ms(forwarder: Forwarder) -> int:
    return int(forwarder.created.timestamp() * 1000)


def statement_matches(
    forwarders: Sequence[Forwarder], stored: StoredStatement, vocabulary: Vocabulary
) -> list[Match]:
    """The events one stored statement produces, each with its forwarder and the parsed
    statement (pure). A forwarder only sees statements stored after it was created; voided
    and voiding statements produce none here. The canonical verb is the one stored beside
    the statement (derived now for statements stored before there was one)."""
    if stored.voided or stored.voids is not None:
        return []
    listening = [f for f in forwarders if stored.stored_ms >= _created_ms(f)]
    iris = verb_iris(set().union(*(wanted_verbs(f, vocabulary) for f in listening)), vocabulary)
    if not stored.verbs.intersection(iris):  # cheap: most statements are never parsed
        return []
    statement = stored.statement
    canonical = stored.canonical or canonical_verb(statement, vocabulary)
    return [
        Match(f, statement, statement_event(f.id, statement, canonical))
        for f in listening
        if matches(f, statement, vocabulary, canonical=canonical)
    ]


class Discovery:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        source: StatementSource,
        pipeline: Pipeline,
        forwarders: ForwarderCache,
        *,
        clock: Clock,
        owner: str,
        rescan_seconds: float = 300.0,
        lease_seconds: float = 15.0,
        on_enqueued: Callable[[Sequence[Event]], None] = lambda events: None,
    ) -> None:
        self.vocabulary = pipeline.vocabulary
        self.source = source
        self.state = db[STATE]
        self.pipeline = pipeline
        self.jobs: JobStore = pipeline.jobs
        self.forwarders = forwarders
        self.clock = clock
        self.owner = owner
        self.rescan_ms = int(rescan_seconds * 1000)
        self.lease = timedelta(seconds=lease_seconds)
        self.on_enqueued = on_enqueued
        self.watermark = 0

    # -- turning statements into queued events ----------------------------------------------

    async def process(self, docs: Sequence[StoredStatement]) -> int:
        """Enqueue the events of these stored statements (resolved, rendered and given
        their state by the pipeline); returns how many were new."""
        forwarders = await self.forwarders.current()
        vocabulary = await self.vocabulary.refresh()
        now = self.clock()
        candidates = [c for doc in docs for c in statement_matches(forwarders, doc, vocabulary)]
        dispositions, new = await self.pipeline.enqueue(candidates, now)
        voiding = {d.voids: d.statement for d in docs if d.voids}
        if voiding:  # after the enqueue above: a target in the same batch is found
            by_id = {f.id: f for f in forwarders}
            revocations = await self.pipeline.revocations(by_id, voiding, now)
            new |= await self.jobs.enqueue_dispositions(revocations, now)
            dispositions += revocations
        self.watermark = max([self.watermark, *(d.position for d in docs)])
        deliverable = [d.event for d in dispositions if d.state == "pending" and d.event.id in new]
        if deliverable:
            self.on_enqueued(deliverable)
        return len(new)

    async def backfill(self) -> int:
        """Read the statements stored after `watermark - rescan`, in stored order (the
        source's slice-by-slice scan); returns how many events were new. It starts no
        earlier than the oldest forwarder (no forwarder takes older statements)."""
        await self._load()
        forwarders = await self.forwarders.current()
        if not forwarders:
            return 0
        source = self.source
        oldest = source.position_of(min(_created_ms(f) for f in forwarders))
        rescan = source.position_of(max(source.ms_of(self.watermark) - self.rescan_ms, 0))
        low = max(rescan if self.watermark else 0, oldest - 1, 0)
        horizon = source.position_of(int(time.time() * 1000) + 1000)
        new = 0
        async for docs in source.scan(low, horizon, page=BATCH):
            new += await self.process(docs)
            await self._save(None)
        return new

    # -- persisted position -----------------------------------------------------------------

    async def _load(self) -> Mapping[str, Any] | None:
        doc = await self.state.find_one({"_id": STREAM_STATE})
        if doc is None:
            return None
        self.watermark = max(self.watermark, int(doc.get("watermark", 0)))
        token = doc.get("token")
        return token if isinstance(token, dict) else None

    async def _save(self, token: Mapping[str, Any] | None) -> None:
        update: dict[str, Any] = {"$max": {"watermark": self.watermark}}
        if token is not None:
            update["$set"] = {"token": dict(token)}
        await self.state.update_one({"_id": STREAM_STATE}, update, upsert=True)

    async def forget_token(self) -> None:
        await self.state.update_one({"_id": STREAM_STATE}, {"$unset": {"token": ""}})

    # -- the live path ----------------------------------------------------------------------

    async def follow(self, halt: asyncio.Event) -> None:
        """Follow the change stream until `halt`; reopen (and backfill) after any failure."""
        while not halt.is_set():
            token = await self._load()
            try:
                stream = await self.source.watch(token)
            except OperationFailure as error:
                log.warning("resume token refused (%s); backfilling from seq", error.code)
                await self.forget_token()
                continue
            try:
                try:
                    await self.backfill()
                    await self._consume(stream, halt)
                finally:
                    await stream.close()
            except PyMongoError as error:
                log.warning("change stream failed (%s); reopening", error)
                await _wait(halt, 1.0)

    async def _consume(self, stream: StatementStream, halt: asyncio.Event) -> None:
        saved_at, unsaved = time.monotonic(), 0
        while not halt.is_set():
            changes = await stream.next_batch(BATCH)
            if changes:
                await self.process(changes)
                unsaved += len(changes)
            if unsaved >= SAVE_EVERY_CHANGES or time.monotonic() - saved_at > SAVE_EVERY_SECONDS:
                await self._save(stream.resume_token)
                saved_at, unsaved = time.monotonic(), 0
        await self._save(stream.resume_token)

    # -- one discoverer at a time -----------------------------------------------------------

    async def acquire(self) -> bool:
        now = self.clock()
        try:
            await self.state.find_one_and_update(
                {"_id": LEASE_STATE, "$or": [{"owner": self.owner}, {"until": {"$lte": now}}]},
                {"$set": {"owner": self.owner, "until": now + self.lease}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def resign(self) -> None:
        await self.state.update_one(
            {"_id": LEASE_STATE, "owner": self.owner}, {"$set": {"until": self.clock()}}
        )

    async def lead(self, stop: asyncio.Event) -> None:
        """While not stopped: take the discovery lease when free and follow while holding it."""
        renew_every = self.lease.total_seconds() / 3
        while not stop.is_set():
            try:
                if await self.acquire():
                    await self._lead_once(stop, renew_every)
                    continue
            except PyMongoError as error:
                log.warning("discovery interrupted (%s); retrying", error)
            await _wait(stop, renew_every)

    async def _lead_once(self, stop: asyncio.Event, renew_every: float) -> None:
        halt = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(stop, halt, renew_every))
        try:
            await self.follow(halt)
        finally:
            keeper.cancel()
            await self.resign()

    async def _keep_lease(self, stop: asyncio.Event, halt: asyncio.Event, every: float) -> None:
        try:
            while not await _wait(stop, every):
                if not await self.acquire():
                    log.warning("discovery lease lost to another worker")
                    break
        except PyMongoError as error:
            log.warning("discovery lease not renewed (%s)", error)
        finally:
            halt.set()


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` pass; True if it was set."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True
