"""Finding the statements to forward: a change stream, with a seq-watermark backfill.

The live path follows inserts into `statements` with a change stream, persisting its resume
token. It does not touch ingestion: the API writes statements exactly as before.

The backfill reads `seq > watermark - rescan` in `seq` order (`keys: "*"` with the
`(keys, seq)` index serves both the range and the order). It runs every time the stream is
(re)opened: at start, and after any stream failure, including a resume token the server
refuses or whose history has expired. The stream is opened *before* the backfill reads, so
a statement committed while the backfill runs is seen by one or the other (or both: enqueue
is idempotent).

Sequence numbers are taken before the insert commits, so a write can commit with a seq
lower than one already seen. The stream still delivers it (it is ordered by commit, not by
seq); for the backfill, the watermark is re-read from `rescan` seconds behind, a bound far
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

import orjson
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from forwarders.events import Event, statement_event
from forwarders.identity_store import IdentityStore
from forwarders.jobs import JobStore
from forwarders.pipeline import Candidate, Pipeline
from forwarders.rules import Forwarder, matches
from forwarders.store import STATE, ForwarderStore
from lrs.storage.sequence import MS_SHIFT, ms_of
from lrs.storage.statement_keys import ALL, FILTER_PREFIXES

log = logging.getLogger("forwarders.discovery")

PROJECTION = {"_id": 1, "seq": 1, "raw": 1, "ref": 1, "voiding": 1, "voided": 1, "keys": 1}
VERB = FILTER_PREFIXES["verbs"]
PIPELINE: list[dict[str, Any]] = [
    {"$match": {"operationType": "insert"}},
    {"$project": {f"fullDocument.{name}": 1 for name in PROJECTION}},
]
BATCH = 500
FIRST_SPAN = 5000 << MS_SHIFT  # five seconds of seq
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


def statement_events(forwarders: Sequence[Forwarder], doc: Mapping[str, Any]) -> list[Event]:
    """The events one stored statement produces (pure). A forwarder only sees statements
    stored after it was created; voided and voiding statements produce none here."""
    return [c.event for c in statement_candidates(forwarders, doc)]


def statement_candidates(
    forwarders: Sequence[Forwarder], doc: Mapping[str, Any]
) -> list[Candidate]:
    """`statement_events`, each with its forwarder and the parsed statement (pure)."""
    if doc.get("voided") or doc.get("voiding"):
        return []
    verbs = {key[len(VERB) :] for key in doc.get("keys", ()) if key.startswith(VERB)}
    interested = [
        f
        for f in forwarders
        if verbs.intersection(f.verbs) and ms_of(int(doc["seq"])) >= _created_ms(f)
    ]
    if not interested:
        return []
    statement = orjson.loads(doc["raw"])
    return [
        Candidate(f, statement, statement_event(f.id, statement))
        for f in interested
        if matches(f, statement)
    ]


class Discovery:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        jobs: JobStore,
        forwarders: ForwarderCache,
        *,
        clock: Clock,
        owner: str,
        rescan_seconds: float = 300.0,
        lease_seconds: float = 15.0,
        on_enqueued: Callable[[Sequence[Event]], None] = lambda events: None,
        pipeline: Pipeline | None = None,
    ) -> None:
        self.statements = db["statements"]
        self.state = db[STATE]
        self.jobs = jobs
        self.forwarders = forwarders
        self.clock = clock
        self.owner = owner
        self.rescan_seq = int(rescan_seconds * 1000) << MS_SHIFT
        self.lease = timedelta(seconds=lease_seconds)
        self.on_enqueued = on_enqueued
        self.pipeline = pipeline or Pipeline(db, IdentityStore(db), jobs)
        self.watermark = 0

    # -- turning statements into queued events ----------------------------------------------

    async def process(self, docs: Sequence[Mapping[str, Any]]) -> int:
        """Enqueue the events of these statement documents (resolved, rendered and given
        their state by the pipeline); returns how many were new."""
        forwarders = await self.forwarders.current()
        now = self.clock()
        candidates = [c for doc in docs for c in statement_candidates(forwarders, doc)]
        dispositions = await self.pipeline.prepare(candidates)
        new = await self.jobs.enqueue_dispositions(dispositions, now)
        voiding = {
            d["ref"]: orjson.loads(d["raw"]) for d in docs if d.get("voiding") and d.get("ref")
        }
        if voiding:  # after the enqueue above: a target in the same batch is found
            by_id = {f.id: f for f in forwarders}
            revocations = await self.pipeline.revocations(by_id, voiding, now)
            new |= await self.jobs.enqueue_dispositions(revocations, now)
            dispositions += revocations
        self.watermark = max([self.watermark, *(int(d["seq"]) for d in docs)])
        waiting = [d.event.id for d in dispositions if d.state == "unmatched" and d.event.id in new]
        if waiting:  # an import may have committed between the resolution and the insert
            await self.pipeline.redrive(forwarders, now, event_ids=waiting)
        deliverable = [d.event for d in dispositions if d.state == "pending" and d.event.id in new]
        if deliverable:
            self.on_enqueued(deliverable)
        return len(new)

    async def backfill(self) -> int:
        """Scan `seq > watermark - rescan` in seq order; returns how many events were new.

        The scan goes in seq slices, because the embedded database reads every match of a
        range before applying `limit`: a slice grows while it holds few statements and
        shrinks when it fills a page, so each read costs about one page. It starts no
        earlier than the oldest forwarder (no forwarder takes older statements).
        """
        await self._load()
        forwarders = await self.forwarders.current()
        if not forwarders:
            return 0
        oldest = min(_created_ms(f) for f in forwarders) << MS_SHIFT
        low = max(self.watermark - self.rescan_seq, oldest - 1, 0)
        horizon = (int(time.time() * 1000) + 1000) << MS_SHIFT
        span, new = FIRST_SPAN, 0
        while low < horizon:
            query = {"keys": ALL, "seq": {"$gt": low, "$lte": low + span}}
            cursor = self.statements.find(query, PROJECTION).sort("seq", 1).limit(BATCH)
            docs = await cursor.to_list()
            if docs:
                new += await self.process(docs)
                await self._save(None)
            if len(docs) == BATCH:  # a full page: go on inside the slice, narrower
                low, span = int(docs[-1]["seq"]), max(FIRST_SPAN, span // 2)
            else:
                low, span = low + span, span * 4 if len(docs) < BATCH // 4 else span
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
                stream = await self.statements.watch(
                    PIPELINE, resume_after=token, max_await_time_ms=200
                )
            except OperationFailure as error:
                log.warning("resume token refused (%s); backfilling from seq", error.code)
                await self.forget_token()
                continue
            try:
                async with stream:
                    await self.backfill()
                    await self._consume(stream, halt)
            except PyMongoError as error:
                log.warning("change stream failed (%s); reopening", error)
                await _wait(halt, 1.0)

    async def _consume(
        self, stream: AsyncChangeStream[dict[str, Any]], halt: asyncio.Event
    ) -> None:
        saved_at, unsaved = time.monotonic(), 0
        while not halt.is_set():
            changes = await _next_changes(stream)
            if changes:
                await self.process([change["fullDocument"] for change in changes])
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


def _buffered(stream: AsyncChangeStream[dict[str, Any]]) -> int:
    """Changes the driver already holds (no round trip to read them). PyMongo has no public
    accessor; without one this is 0 and changes are simply processed one at a time."""
    data = getattr(getattr(stream, "_cursor", None), "_data", None)
    return len(data) if data is not None else 0


async def _next_changes(stream: AsyncChangeStream[dict[str, Any]]) -> list[dict[str, Any]]:
    """The next change (waiting up to the stream's max await time) and those buffered behind
    it: a burst of inserts becomes one enqueue instead of one per statement."""
    first = await stream.try_next()
    if first is None:
        return []
    changes = [first]
    while len(changes) < BATCH and _buffered(stream):
        change = await stream.try_next()
        if change is None:
            break
        changes.append(change)
    return changes


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` pass; True if it was set."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True
