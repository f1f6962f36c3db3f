"""The delivery queue: one document per event in `forwarder_events`.

    {_id: <event id>, forwarder, statement, type, event: {...}, state, attempts,
     due: <when it may next be claimed; absent once delivered, dead, unmatched or dropped>,
     lease: {owner, token, until} while a worker holds it, reason, last_status,
     payload: <the body to send, rendered once>, ready: <when it became deliverable>,
     employee_id: <the resolved person (marketplace/crm)>,
     learner_keys: [<the actor's identifier keys>, only while unmatched],
     log: [the last LOG_SIZE attempts: {n, at, status, latency_ms, outcome, error, excerpt}],
     created, updated, delivered_at}

`state` is pending (never tried), failed (tried, will retry), delivered or dead, and for
marketplace/CRM forwarders also unmatched (waiting for an identity import: `reason`,
`learner_keys`) or dropped (a terminated person under policy `drop`, or a statement voided
before its person was known). The pipeline (`forwarders.pipeline`) decides which, as a
`Disposition`; the worker sends exactly the stored `payload`.

Claiming is in two steps because the embedded database reads every match of a range query
before applying `limit`: `due_ids` lists a page of due ids of one forwarder (index
`forwarder_due`, one scan per page), and `claim` takes one of them with a single
`find_one_and_update` on `{_id, due <= now}`: a point update, atomic, so two workers never
both win. The worker that discovers an event claims it straight by id (no scan at all).
A claim moves `due` to the end of the lease, so a job whose worker died becomes claimable
again by itself; results are recorded only under the claim's lease token, so a late worker
cannot overwrite a newer claim. `attempts` is incremented by the claim, before delivery
(arq): a worker that dies mid-request still used up an attempt. Each result is recorded
with its attempt in one update (the log is bounded, and each excerpt too).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from forwarders.erased import Written, checked, erased_meanwhile
from forwarders.erasure_marks import ErasureMarks, Marks
from forwarders.events import REVOKED, Event, event_id as id_of_event
from forwarders.listing import Listing, newest
from forwarders.source import StatementSource
from forwarders.store import EVENTS, ensure_indexes, forwarder_floors, forwarder_ids

if TYPE_CHECKING:  # the claim builds on the jobs defined here
    from forwarders.claim import Claim

STATES = ("pending", "failed", "delivered", "dead", "unmatched", "dropped")
DUPLICATE_KEY = 11000
LOOKUP_BATCH = 50
DELETE_BATCH = 100
"""Values per `$in`: the embedded database's cost per value grows with the list."""
EARLIEST = datetime(1, 1, 1)
"""Below every `due`: a range on it that keeps a read on the `forwarder_due` index."""
LISTED_FIELDS = dict.fromkeys(
    "forwarder statement type state attempts created updated due lease.token reason"
    " last_status delivered_at event payload ready employee_id learner_keys".split(),
    1,
)
"""What `EventRecord` reads (not `log`, the last attempts: `attempts_of`)."""
UNMATCHED_FIELDS = {name: 1 for name in LISTED_FIELDS if name != "payload"}
EXCERPT_BYTES = 1024
LOG_SIZE = 30


@dataclass(frozen=True, slots=True)
class Fresh:
    """An event taken at discovery without being written (`claim.Claim.keep`): its document is
    written once, after its first attempt, already in the state that attempt led to."""

    disposition: Disposition
    found: datetime
    """When discovery decided it: the document's `created`."""
    position: int
    """Its statement's place in stored order: discovery's saved cursor stays below it
    until the document is written (`JobStore.unrecorded_floor`)."""
    before: Marks | None = None
    """The erasures as read before its statement was (`forwarders.erasure_marks`)."""


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    forwarder_id: str
    event: Event
    attempts: int
    lease_token: str
    payload: dict[str, Any] | None = None
    """The stored body, rendered once when the event became deliverable (discovery,
    re-drive or replay). None only for an event stored before payloads were (upgraded at
    start-up by `Worker`)."""
    fresh: Fresh | None = None
    """Set while the job has no document yet (see `Fresh`): its result is inserted."""

    @classmethod
    def from_document(cls, doc: dict[str, Any], token: str) -> Job:
        event = Event.from_dict(doc["event"])
        payload = doc.get("payload")
        return cls(doc["_id"], doc["forwarder"], event, int(doc["attempts"]), token, payload)


@dataclass(frozen=True, slots=True)
class Disposition:
    """What the pipeline decided for one event: the state it enters (or moves to) and why."""

    event: Event
    state: str
    """pending (with `payload`), unmatched, dropped or dead (with `reason`)."""
    payload: dict[str, Any] | None = None
    reason: str | None = None
    learner_keys: tuple[str, ...] = ()
    employee_id: str | None = None

    def fields(self, now: datetime) -> tuple[dict[str, Any], tuple[str, ...]]:
        """($set, $unset names) that put an event document in this disposition."""
        values: dict[str, Any] = {"state": self.state, "reason": self.reason, "updated": now}
        if self.employee_id is not None:
            values["employee_id"] = self.employee_id
        if self.state == "pending":
            values.update(payload=self.payload, ready=now, due=now)
            return values, ("learner_keys",)
        if self.state == "unmatched":
            values["learner_keys"] = list(self.learner_keys)
        return values, ("due",) if self.state == "unmatched" else ("due", "learner_keys")


@dataclass(frozen=True, slots=True)
class Original:
    """An event a voided statement produced, as revocation needs it."""

    event: Event
    state: str
    payload: dict[str, Any] | None
    employee_id: str | None


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: str
    forwarder_id: str
    statement_id: str
    type: str
    state: str
    attempts: int
    created: datetime
    updated: datetime
    due: datetime | None
    in_flight: bool
    reason: str | None
    last_status: int | None
    delivered_at: datetime | None
    event: dict[str, Any]
    payload: dict[str, Any] | None = None
    ready: datetime | None = None
    employee_id: str | None = None
    learner_keys: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> EventRecord:
        return cls(
            id=doc["_id"],
            forwarder_id=doc["forwarder"],
            statement_id=doc["statement"],
            type=doc["type"],
            state=doc["state"],
            attempts=int(doc.get("attempts", 0)),
            created=doc["created"],
            updated=doc["updated"],
            due=doc.get("due"),
            in_flight="lease" in doc,
            reason=doc.get("reason"),
            last_status=doc.get("last_status"),
            delivered_at=doc.get("delivered_at"),
            event=doc["event"],
            payload=doc.get("payload"),
            ready=doc.get("ready"),
            employee_id=doc.get("employee_id"),
            learner_keys=tuple(doc.get("learner_keys", ())),
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    event_id: str
    forwarder_id: str
    number: int
    at: datetime
    status: int | None
    latency_ms: float
    outcome: str
    error: str | None
    excerpt: str

    def as_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def _document(disposition: Disposition, now: datetime, claim: Claim | None) -> dict[str, Any]:
    event = disposition.event
    values, _ = disposition.fields(now)
    leased = claim.take(disposition) if claim is not None else None
    return {
        "_id": event.id,
        "forwarder": event.forwarder_id,
        "statement": event.statement_id,
        "type": event.type,
        "event": event.as_dict(),
        "attempts": 0,
        "created": now,
        **values,
        **(leased or {}),
    }


class JobStore:
    def __init__(
        self, db: AsyncDatabase[dict[str, Any]], statements: StatementSource | None = None
    ) -> None:
        """`statements`: given to the stores that write new events (discovery, re-drive,
        reconciliation), which read them back for an erasure that ran meanwhile
        (`forwarders.erased`); the others (erasure, retention, reports) never insert."""
        self.db = db
        self.events = db[EVENTS]
        self.statements = statements
        self.unrecorded: dict[str, Fresh] = {}
        """Events taken at discovery by this process and not written yet (`claim.Claim.keep`)."""
        self.marks = ErasureMarks(db)

    # -- commands ---------------------------------------------------------------------------

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db)

    async def enqueue_dispositions(
        self, dispositions: Sequence[Disposition], now: datetime, claim: Claim | None = None
    ) -> set[str]:
        """Store new events as the pipeline decided; returns the ids that were new. A known
        id is success (idempotent): what was decided for it first stands. With `claim`,
        deliverable events are inserted already leased (see `Claim`), and the erasures it
        read before its statements (`Claim.before`) spare the read-back of most writes."""
        written = [d for d in dispositions if claim is None or not claim.keep(d, now)]
        before = None if claim is None else claim.before
        if claim is not None:
            self.unrecorded.update(claim.kept)
        kept = {d.event.id for d in dispositions} - {d.event.id for d in written}
        documents = [_document(d, now, claim) for d in written]
        return kept | await self._insert(documents, [before] * len(documents))

    async def _insert(
        self, documents: Sequence[dict[str, Any]], befores: Sequence[Marks | None]
    ) -> set[str]:
        """Insert these documents; returns the ids that were new (a known id is left as
        it is: a duplicate is success). `befores`: for each document, the erasures as read
        before its statement was (None: unknown)."""
        if not documents:
            return set()
        ids = [str(doc["_id"]) for doc in documents]
        try:
            await self.events.insert_many(documents, ordered=False)
            new = set(ids)
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            new = set(ids) - {ids[int(e["index"])] for e in errors}
        await self._erased_meanwhile(
            [(Written.of(d), b) for d, b in zip(documents, befores, strict=True) if d["_id"] in new]
        )
        return new

    async def _erased_meanwhile(self, written: Sequence[tuple[Written, Marks | None]]) -> None:
        """Delete or scrub the events just written that an erasure running meanwhile could
        not see (`forwarders.erased`), from their statements read back; except those whose
        statements were read while no erasure ran, from before that read to after the
        write (`forwarders.erasure_marks`). A duplicate is left out: whoever wrote it first
        checked it."""
        named = [(w, b) for w, b in written if w.learner_key is not None]  # see `checked`
        if self.statements is None or not named:
            return
        after = await self.marks.after_write() if any(b is not None for _, b in named) else None
        doubtful = [w for w, b in named if after is None or b is None or not b.unchanged_at(after)]
        wanted = checked(doubtful)
        if not wanted:
            return
        stored: dict[str, Any] = {}
        for chunk in _chunks(wanted, LOOKUP_BATCH):
            stored.update(await self.statements.stored(chunk))
        erased = erased_meanwhile(doubtful, stored)
        await self.delete(erased.deleted)
        for key, event_ids in erased.scrubbed.items():
            await self.scrub_learner(event_ids, erased.learners[key])

    async def _record_fresh(self, documents: Sequence[tuple[Job, dict[str, Any]]]) -> set[str]:
        """Write the first documents of fresh jobs (`Fresh`), each in the state its first
        result decided; returns their ids (all of them: a duplicate means the event was
        already written, by a re-discovery). Only then does each leave `unrecorded`."""
        befores = [job.fresh.before if job.fresh else None for job, _ in documents]
        await self._insert([doc for _, doc in documents], befores)
        for job, _ in documents:
            self.unrecorded.pop(job.id, None)
        return {job.id for job, _ in documents}

    def forget(self, event_ids: Sequence[str]) -> None:
        """Never write these events kept unwritten (their forwarder was deleted)."""
        for event_id in event_ids:
            self.unrecorded.pop(event_id, None)

    def unrecorded_floor(self) -> int | None:
        """The lowest statement position of an event kept unwritten (None: there is none):
        discovery's saved cursor stays below it."""
        return min((f.position for f in self.unrecorded.values()), default=None)

    async def settle_unmatched(self, disposition: Disposition, now: datetime) -> bool:
        """Move an unmatched event (re-drive) to its new disposition; False if it is no
        longer unmatched (another re-drive, a replay or a voiding got there first)."""
        values, unset = disposition.fields(now)
        result = await self.events.update_one(
            {"_id": disposition.event.id, "state": "unmatched", "lease": {"$exists": False}},
            {"$set": values, "$unset": {name: "" for name in unset}},
        )
        return result.modified_count == 1

    async def settle_rendered(
        self, disposition: Disposition, now: datetime, *, fresh: bool
    ) -> bool:
        """Record what rendering decided for an event that had no payload (replay, upgrade),
        unless a worker holds it; `fresh` starts its attempts over."""
        values, unset = disposition.fields(now)
        if fresh:
            values["attempts"] = 0
        result = await self.events.update_one(
            {"_id": disposition.event.id, "lease": {"$exists": False}},
            {"$set": values, "$unset": {name: "" for name in unset}},
        )
        return result.modified_count == 1

    async def drop_unmatched(self, statement_ids: Sequence[str], reason: str, now: datetime) -> int:
        """Unmatched events of voided statements are never sent: dropped, with `reason`.
        Point updates by id (a revocation is never unmatched, so a statement's own events
        are all there is to drop)."""
        dropped = 0
        for chunk in _chunks(await self._event_ids(statement_ids), LOOKUP_BATCH):
            result = await self.events.update_many(
                {"_id": {"$in": chunk}, "state": "unmatched"},
                {
                    "$set": {"state": "dropped", "reason": reason, "updated": now},
                    "$unset": {"learner_keys": ""},
                },
            )
            dropped += result.modified_count
        return dropped

    async def _event_ids(self, statement_ids: Sequence[str]) -> list[str]:
        """The ids the events of these statements have, one per forwarder (uuid5 of both,
        `forwarders.events.event_id`); most name no event."""
        forwarders = await forwarder_ids(self.db)
        return [id_of_event(f, s) for s in statement_ids for f in forwarders]

    async def due_ids(self, forwarder_id: str, now: datetime, limit: int) -> list[str]:
        """Ids of up to `limit` jobs of one forwarder due by `now`, earliest first. The range
        is bounded below (`EARLIEST`): an event without a `due` (delivered, dead) still has
        an entry in the sparse `forwarder_due` index (it has `forwarder`), and the embedded
        database reads a range open below from the start of the forwarder's entries, every
        finished event included (5,000 delivered events: 510 ms a page, against 4 ms)."""
        match = {"forwarder": forwarder_id, "due": {"$gte": EARLIEST, "$lte": now}}
        cursor = self.events.find(match, {"_id": 1})
        return [doc["_id"] async for doc in cursor.sort("due", 1).limit(limit)]

    async def claim(self, event_id: str, owner: str, now: datetime, lease: timedelta) -> Job | None:
        """Take one job for `lease` if it is (still) due, in one atomic update."""
        token = uuid.uuid4().hex
        until = now + lease
        doc = await self.events.find_one_and_update(
            {"_id": event_id, "due": {"$lte": now}},
            {
                "$set": {"due": until, "lease": {"owner": owner, "token": token, "until": until}},
                "$inc": {"attempts": 1},
            },
            projection={"log": 0},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else Job.from_document(doc, token)

    async def claim_many(
        self, event_ids: Sequence[str], owner: str, now: datetime, lease: timedelta
    ) -> list[Job]:
        """Claim several ids in two operations (one update, one read of what we won): the
        embedded database does a few hundred single-document writes a second, so a backlog
        is claimed a page at a time. Ownership is the token: whoever's update set it won."""
        if len(event_ids) == 1:
            job = await self.claim(event_ids[0], owner, now, lease)
            return [] if job is None else [job]
        token = uuid.uuid4().hex
        until = now + lease
        await self.events.update_many(
            {"_id": {"$in": list(event_ids)}, "due": {"$lte": now}},
            {
                "$set": {"due": until, "lease": {"owner": owner, "token": token, "until": until}},
                "$inc": {"attempts": 1},
            },
        )
        cursor = self.events.find(
            {"_id": {"$in": list(event_ids)}, "lease.token": token}, {"log": 0}
        )
        return [Job.from_document(doc, token) async for doc in cursor]

    async def claim_next(
        self, forwarder_id: str, owner: str, now: datetime, lease: timedelta
    ) -> Job | None:
        """The earliest due job of a forwarder (tests and tools; the worker pages ids)."""
        for event_id in await self.due_ids(forwarder_id, now, 10):
            job = await self.claim(event_id, owner, now, lease)
            if job is not None:
                return job
        return None

    async def _settle(
        self, job: Job, fields: dict[str, Any], unset: tuple[str, ...], attempt: Attempt | None
    ) -> bool:
        if job.fresh is not None:
            document = _first_document(job.fresh, fields, unset, attempt)
            return bool(await self._record_fresh([(job, document)]))
        if attempt is not None:
            fields = {**fields, "last_status": attempt.status}
        update: dict[str, Any] = {"$set": fields, "$unset": {name: "" for name in unset}}
        if attempt is not None:
            update["$push"] = {"log": {"$each": [_logged(attempt)], "$slice": -LOG_SIZE}}
        result = await self.events.update_one(
            {"_id": job.id, "lease.token": job.lease_token}, update
        )
        return result.modified_count == 1

    async def complete(self, job: Job, attempt: Attempt) -> bool:
        return await self._settle(job, *_delivered(attempt), attempt)

    async def complete_many(self, results: Sequence[tuple[Job, Attempt]]) -> set[str]:
        """Record several deliveries in one update (returns the ids recorded): each event
        gets its own attempt, time and status, picked from literal arrays by its position
        in them, and only if it is still held under its own job's lease token. On the
        embedded database one multi-document update costs about half what an update per
        event does. The match is `_id` (indexed) and the batch's tokens; the exact pair is
        checked inside the update (an `$expr` or `$or` match would scan the collection)."""
        fresh = [(job, attempt) for job, attempt in results if job.fresh is not None]
        if fresh:
            documents = [
                (job, _first_document(job.fresh, *_delivered(attempt), attempt))
                for job, attempt in fresh
                if job.fresh is not None
            ]
            held = [(job, attempt) for job, attempt in results if job.fresh is None]
            return await self._record_fresh(documents) | await self.complete_many(held)
        if not results:
            return set()
        if len(results) == 1:
            job, attempt = results[0]
            return {job.id} if await self.complete(job, attempt) else set()
        ids = [job.id for job, _ in results]
        tokens = [job.lease_token for job, _ in results]
        result = await self.events.update_many(
            {"_id": {"$in": ids}, "lease.token": {"$in": sorted(set(tokens))}},
            _completion(ids, tokens, results),
        )
        if result.modified_count == len(results):
            return set(ids)
        return await self._delivered_now(results)

    async def _delivered_now(self, results: Sequence[tuple[Job, Attempt]]) -> set[str]:
        """Which of these results a batch recorded (some leases were lost): those whose
        event now shows this attempt as its last delivery."""
        wanted = {job.id: attempt.at for job, attempt in results}
        cursor = self.events.find({"_id": {"$in": list(wanted)}}, {"delivered_at": 1, "lease": 1})
        return {
            doc["_id"]
            async for doc in cursor
            if "lease" not in doc and _same_ms(doc.get("delivered_at"), wanted[doc["_id"]])
        }

    async def reschedule(self, job: Job, at: datetime, reason: str, attempt: Attempt) -> bool:
        fields = {"state": "failed", "due": at, "reason": reason, "updated": attempt.at}
        return await self._settle(job, fields, ("lease",), attempt)

    async def dead_letter(
        self, job: Job, reason: str, now: datetime, attempt: Attempt | None = None
    ) -> bool:
        fields = {"state": "dead", "reason": reason, "updated": now}
        return await self._settle(job, fields, ("due", "lease"), attempt)

    async def release(self, job: Job, now: datetime) -> bool:
        """Give a claimed job back untried (shutdown): due now, the attempt not counted."""
        if job.fresh is not None:
            document = _document(job.fresh.disposition, job.fresh.found, None)
            document.update(due=now, updated=now, ready=now)  # ready: see `_first_document`
            return bool(await self._record_fresh([(job, document)]))
        result = await self.events.update_one(
            {"_id": job.id, "lease.token": job.lease_token},
            {
                "$set": {"due": now, "updated": now},
                "$inc": {"attempts": -1},
                "$unset": {"lease": ""},
            },
        )
        return result.modified_count == 1

    async def reclaim(self, owner: str, now: datetime) -> int:
        """Make due now the jobs `owner` holds (a restarted worker's previous run, cut off):
        their deliveries are re-sent at once instead of when the lease runs out. The cut-off
        attempt stays counted: it may have reached the receiver. A leased job has a `due`
        (its lease's end), so each forwarder's queue is read on `forwarder_due`, never the
        history."""
        held: list[str] = []
        for forwarder_id in await forwarder_ids(self.db):
            match = {"forwarder": forwarder_id, "due": {"$gte": EARLIEST}}
            async for doc in self.events.find(match, {"lease.owner": 1}):
                if doc.get("lease", {}).get("owner") == owner:
                    held.append(doc["_id"])
        reclaimed = 0
        for chunk in _chunks(held, LOOKUP_BATCH):
            result = await self.events.update_many(
                {"_id": {"$in": chunk}, "lease.owner": owner},
                {"$set": {"due": now, "updated": now}, "$unset": {"lease": ""}},
            )
            reclaimed += result.modified_count
        return reclaimed

    async def replay(self, match: Mapping[str, Any], now: datetime) -> int:
        """Put matching events (not in flight) back in the queue with a fresh schedule."""
        result = await self.events.update_many(
            {**match, "lease": {"$exists": False}},
            {
                "$set": {
                    "state": "pending",
                    "due": now,
                    "attempts": 0,
                    "updated": now,
                    "reason": None,
                }
            },
        )
        return int(result.modified_count)

    async def delete_forwarder(self, forwarder_id: str) -> None:
        await self.events.delete_many({"forwarder": forwarder_id})

    # -- queries ----------------------------------------------------------------------------

    async def get(self, event_id: str) -> EventRecord | None:
        doc = await self.events.find_one({"_id": event_id}, {"log": 0})
        return None if doc is None else EventRecord.from_document(doc)

    async def list_events(
        self,
        *,
        forwarder_id: str | None,
        state: str | None,
        limit: int,
        before: datetime | None = None,
        now: datetime | None = None,
    ) -> list[EventRecord]:
        """Newest first. Read per forwarder (all of them when none is named), in bounded
        windows of `created` (`forwarders.listing`); `now` is where the first window starts
        when there is no `before` (the wall clock by default; it is open above)."""
        states = STATES if state is None else (state,)
        found: list[EventRecord] = []
        for forwarder, floor in await forwarder_floors(self.db, forwarder_id):
            listing = Listing(forwarder, states, limit, before, floor, LISTED_FIELDS)
            docs = await newest(self.events, listing, now or datetime.now(UTC))
            found += [EventRecord.from_document(doc) for doc in docs]
        return sorted(found, key=lambda r: r.created, reverse=True)[:limit]

    async def list_unmatched(
        self,
        forwarder_id: str | None,
        limit: int,
        after: tuple[datetime, str] | None,
        now: datetime | None = None,
    ) -> list[EventRecord]:
        """Unmatched events, newest first, from after (`created`, id) exclusive: a batch
        of events shares one `created`, so the id breaks the tie. Read per forwarder on
        `forwarder_state_created`: the group at exactly `created` whole, skipped up to the
        id here (an `$or` or an `_id` range beside the index would make the embedded
        database scan the collection), and the events before `created` in bounded windows
        (`forwarders.listing`)."""
        found: list[dict[str, Any]] = []
        for forwarder, floor in await forwarder_floors(self.db, forwarder_id):
            before = None
            if after is not None:
                before, last = after
                match = {"forwarder": forwarder, "state": "unmatched", "created": before}
                tie = self.events.find(match, UNMATCHED_FIELDS)
                found += [doc async for doc in tie if doc["_id"] < last]
            listing = Listing(forwarder, ("unmatched",), limit, before, floor, UNMATCHED_FIELDS)
            found += await newest(self.events, listing, now or datetime.now(UTC))
        found.sort(key=lambda doc: (doc["created"], doc["_id"]), reverse=True)
        return [EventRecord.from_document(doc) for doc in found[:limit]]

    async def states(self, event_ids: Sequence[str]) -> dict[str, str]:
        """The state of each of these events that exists (point reads by `_id`)."""
        cursor = self.events.find({"_id": {"$in": list(event_ids)}}, {"state": 1})
        return {doc["_id"]: doc["state"] async for doc in cursor}

    async def attempts_of(self, event_id: str) -> list[Attempt]:
        doc = await self.events.find_one({"_id": event_id}, {"log": 1, "forwarder": 1})
        if doc is None:
            return []
        return [
            Attempt(
                event_id=event_id,
                forwarder_id=doc["forwarder"],
                number=int(entry["n"]),
                at=entry["at"],
                status=entry.get("status"),
                latency_ms=float(entry.get("latency_ms", 0.0)),
                outcome=entry["outcome"],
                error=entry.get("error"),
                excerpt=entry.get("excerpt", ""),
            )
            for entry in doc.get("log", ())
        ]

    async def originals(self, statement_ids: Sequence[str]) -> list[Original]:
        """The (non-revocation) events of these statements, with what revocation needs:
        point reads by id (a revocation's id is its voiding statement's, so none is read)."""
        wanted = set(statement_ids)
        fields = {"statement": 1, "type": 1, "event": 1, "state": 1, "payload": 1}
        # those kept unwritten first: one written meanwhile is found below
        found = [
            Original(
                f.disposition.event, "pending", f.disposition.payload, f.disposition.employee_id
            )
            for f in list(self.unrecorded.values())
            if f.disposition.event.statement_id in wanted
        ]
        known = {original.event.id for original in found}
        for chunk in _chunks(await self._event_ids(statement_ids), LOOKUP_BATCH):
            async for doc in self.events.find(
                {"_id": {"$in": chunk}}, {**fields, "employee_id": 1}
            ):
                if (
                    doc["type"] != REVOKED
                    and doc["statement"] in wanted
                    and doc["_id"] not in known
                ):
                    event = Event.from_dict(doc["event"])
                    found.append(
                        Original(event, doc["state"], doc.get("payload"), doc.get("employee_id"))
                    )
        return found

    async def unrendered(
        self, match: Mapping[str, Any], limit: int, after: str | None = None
    ) -> list[Event]:
        """Matching events without a payload and not in flight, in id order from `after`.
        A match on `_id` (a few ids) is paged here: an `$and` beside it would make the
        embedded database scan the collection."""
        query: dict[str, Any] = {**match, "payload": None, "lease": {"$exists": False}}
        if after is not None and "_id" in match:
            cursor = self.events.find(query, {"event": 1})
            found = sorted([doc async for doc in cursor if doc["_id"] > after], key=_id_of)
            return [Event.from_dict(doc["event"]) for doc in found[:limit]]
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self.events.find(query, {"event": 1}).sort("_id", 1).limit(limit)
        return [Event.from_dict(doc["event"]) async for doc in cursor]

    async def unmatched(self, forwarder_id: str, keys: frozenset[str]) -> list[str]:
        """Ids of one forwarder's unmatched events holding one of `keys` (re-drive), in id
        order: its unmatched events are read on `forwarder_state_created` (a backlog that
        waits for an import, read once per re-drive) and their keys compared here."""
        match = {"forwarder": forwarder_id, "state": "unmatched"}
        cursor = self.events.find(match, {"learner_keys": 1})
        return sorted(
            [doc["_id"] async for doc in cursor if not keys.isdisjoint(doc.get("learner_keys", ()))]
        )

    async def events_of(self, event_ids: Sequence[str]) -> list[Event]:
        """These events (those that exist), in id order: point reads."""
        found: list[dict[str, Any]] = []
        for chunk in _chunks(list(event_ids), LOOKUP_BATCH):
            found += [doc async for doc in self.events.find({"_id": {"$in": chunk}}, {"event": 1})]
        return [Event.from_dict(doc["event"]) for doc in sorted(found, key=_id_of)]

    # -- data protection (erasure and retention in `lrs` call these) ------------------------

    async def of_statements(
        self,
        statement_ids: Sequence[str],
        learner_keys: Sequence[str] | None = None,
        *,
        voiding: Sequence[str] = (),
    ) -> list[str]:
        """Ids of the events of these statements, revocations included; with
        `learner_keys`, only those whose learner is one of them. Point reads by id: a
        statement's own events are named by it, its revocations by the statement that
        voided it, so `voiding` lists the voiding statements that may have (more is
        harmless: only events naming one of `statement_ids` are kept)."""
        wanted = set(statement_ids)
        fields = {"statement": 1, "event.learner.key": 1}
        found: list[str] = []
        ids = await self._event_ids([*statement_ids, *voiding])
        for chunk in _chunks(ids, LOOKUP_BATCH):
            async for doc in self.events.find({"_id": {"$in": chunk}}, fields):
                key = doc.get("event", {}).get("learner", {}).get("key")
                if doc["statement"] in wanted and (learner_keys is None or key in learner_keys):
                    found.append(doc["_id"])
        return found

    async def scrub_learner(self, event_ids: Sequence[str], learner: dict[str, Any]) -> None:
        """Replace the learner of these events (erasure): the rendered body, the resolved
        person and the receivers' answers carry their data too, so they go."""
        for event_id in event_ids:
            doc = await self.events.find_one({"_id": event_id}, {"log": 1})
            if doc is None:
                continue
            log = [{**entry, "excerpt": ""} for entry in doc.get("log", ())]
            await self.events.update_one(
                {"_id": event_id},
                {
                    "$set": {"event.learner": learner, "log": log},
                    "$unset": {"payload": "", "employee_id": "", "learner_keys": ""},
                },
            )

    async def finished_before(self, forwarder_ids: Sequence[str], cutoff: datetime) -> list[str]:
        """Delivered and dead events last updated before `cutoff` (retention), read per
        forwarder and state through the `forwarder_state_created` index (`created <=
        updated`, so `created` bounds the read)."""
        found: list[str] = []
        for forwarder_id in forwarder_ids:
            for state in ("delivered", "dead"):
                match = {"forwarder": forwarder_id, "state": state, "created": {"$lt": cutoff}}
                async for doc in self.events.find(match, {"updated": 1}):
                    if doc["updated"] < cutoff:
                        found.append(doc["_id"])
        return found

    async def delete(self, event_ids: Sequence[str]) -> int:
        """Delete these events (and their attempt logs, which live inside them)."""
        deleted = 0
        for start in range(0, len(event_ids), DELETE_BATCH):
            chunk = list(event_ids[start : start + DELETE_BATCH])
            deleted += (await self.events.delete_many({"_id": {"$in": chunk}})).deleted_count
        return deleted


def _completion(
    ids: list[str], tokens: list[str], results: Sequence[tuple[Job, Attempt]]
) -> list[dict[str, Any]]:
    """The update pipeline of `complete_many`: `_i` is the event's place in the batch;
    an event held under another token than its job's is left as it is."""
    at = [attempt.at for _, attempt in results]

    def pick(values: list[Any]) -> dict[str, Any]:
        return {"$arrayElemAt": [{"$literal": values}, "$_i"]}

    def ours(value: Any, field: str) -> dict[str, Any]:
        return {"$cond": ["$_ours", value, f"${field}"]}

    entry = pick([_logged(attempt) for _, attempt in results])
    log = {"$concatArrays": [{"$ifNull": ["$log", []]}, [entry]]}
    values = {
        "state": "delivered",
        "reason": None,
        "delivered_at": pick(at),
        "updated": pick(at),
        "last_status": pick([attempt.status for _, attempt in results]),
        "log": {"$slice": [log, -LOG_SIZE]},
    }
    return [
        {"$set": {"_i": {"$indexOfArray": [{"$literal": ids}, "$_id"]}}},
        {"$set": {"_ours": {"$eq": ["$lease.token", pick(tokens)]}}},
        {
            "$set": {
                **{name: ours(value, name) for name, value in values.items()},
                "due": ours("$$REMOVE", "due"),
                "lease": ours("$$REMOVE", "lease"),
            }
        },
        {"$unset": ["_i", "_ours"]},
    ]


def _chunks(values: Sequence[str], size: int) -> list[list[str]]:
    return [list(values[start : start + size]) for start in range(0, len(values), size)]


def _id_of(doc: Mapping[str, Any]) -> str:
    return str(doc["_id"])


def _same_ms(stored: datetime | None, at: datetime) -> bool:
    """Whether a stored time is `at` (the database keeps milliseconds)."""
    return stored is not None and abs(stored - at) < timedelta(milliseconds=1)


def _delivered(attempt: Attempt) -> tuple[dict[str, Any], tuple[str, ...]]:
    """($set, $unset names) of a delivered event."""
    fields = {"state": "delivered", "delivered_at": attempt.at, "updated": attempt.at}
    return {**fields, "reason": None}, ("due", "lease")


def _first_document(
    fresh: Fresh, fields: dict[str, Any], unset: tuple[str, ...], attempt: Attempt | None
) -> dict[str, Any]:
    """The document of a fresh event as its first result leaves it: what an insert and
    then that result's update would have made of it. Except `ready`: it is the time of
    this write, not of the discovery, because the completion feed serves what became ready
    a settle delay ago (`forwarders.feed`), and a delivery can outlast that delay."""
    document = {**_document(fresh.disposition, fresh.found, None), **fields}
    document["ready"] = fields["updated"]
    for name in unset:
        document.pop(name, None)
    document["attempts"] = 1
    if attempt is not None:
        document.update(last_status=attempt.status, log=[_logged(attempt)])
    return document


def _logged(attempt: Attempt) -> dict[str, Any]:
    return {
        "n": attempt.number,
        "at": attempt.at,
        "status": attempt.status,
        "latency_ms": round(attempt.latency_ms, 2),
        "outcome": attempt.outcome,
        "error": attempt.error,
        "excerpt": attempt.excerpt[:EXCERPT_BYTES],
    }
