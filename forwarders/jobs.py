"""The delivery queue: one document per event in `forwarder_events`.

    {_id: <event id>, forwarder, statement, type, event: {...}, state, attempts,
     due: <when it may next be claimed; absent once delivered or dead>,
     lease: {owner, token, until} while a worker holds it, reason, last_status,
     log: [the last LOG_SIZE attempts: {n, at, status, latency_ms, outcome, error, excerpt}],
     created, updated, delivered_at}

`state` is pending (never tried), failed (tried, will retry), delivered or dead.

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
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from forwarders.events import Event
from forwarders.store import EVENTS

STATES = ("pending", "failed", "delivered", "dead")
DUPLICATE_KEY = 11000
EXCERPT_BYTES = 1024
LOG_SIZE = 30


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    forwarder_id: str
    event: Event
    attempts: int
    lease_token: str


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


def _document(event: Event, now: datetime) -> dict[str, Any]:
    return {
        "_id": event.id,
        "forwarder": event.forwarder_id,
        "statement": event.statement_id,
        "type": event.type,
        "event": event.as_dict(),
        "state": "pending",
        "attempts": 0,
        "due": now,
        "created": now,
        "updated": now,
    }


class JobStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.events = db[EVENTS]

    # -- commands ---------------------------------------------------------------------------

    async def enqueue(self, events: Sequence[Event], now: datetime) -> int:
        """Store new events; returns how many were new. A known id is success (idempotent)."""
        if not events:
            return 0
        try:
            result = await self.events.insert_many(
                [_document(e, now) for e in events], ordered=False
            )
            return len(result.inserted_ids)
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            return int(error.details.get("nInserted", 0))

    async def due_ids(self, forwarder_id: str, now: datetime, limit: int) -> list[str]:
        """Ids of up to `limit` jobs of one forwarder due by `now`, earliest first."""
        cursor = self.events.find({"forwarder": forwarder_id, "due": {"$lte": now}}, {"_id": 1})
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
        if doc is None:
            return None
        event = Event.from_dict(doc["event"])
        return Job(doc["_id"], doc["forwarder"], event, int(doc["attempts"]), token)

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
        return [
            Job(doc["_id"], doc["forwarder"], Event.from_dict(doc["event"]), doc["attempts"], token)
            async for doc in cursor
        ]

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
        fields = {
            "state": "delivered",
            "delivered_at": attempt.at,
            "updated": attempt.at,
            "reason": None,
        }
        return await self._settle(job, fields, ("due", "lease"), attempt)

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
        result = await self.events.update_one(
            {"_id": job.id, "lease.token": job.lease_token},
            {
                "$set": {"due": now, "updated": now},
                "$inc": {"attempts": -1},
                "$unset": {"lease": ""},
            },
        )
        return result.modified_count == 1

    async def replay(self, match: dict[str, Any], now: datetime) -> int:
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
    ) -> list[EventRecord]:
        match: dict[str, Any] = {}
        if forwarder_id is not None:
            match["forwarder"] = forwarder_id
        if state is not None:
            match["state"] = state
        if before is not None:
            match["created"] = {"$lt": before}
        cursor = self.events.find(match, {"log": 0}).sort("created", -1).limit(limit)
        return [EventRecord.from_document(doc) async for doc in cursor]

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

    async def statement_events(self, statement_ids: Sequence[str]) -> list[Event]:
        """The (non-revocation) events produced by these statements, for voiding."""
        cursor = self.events.find(
            {"statement": {"$in": list(statement_ids)}, "type": {"$ne": "learning.revoked"}},
            {"event": 1},
        )
        return [Event.from_dict(doc["event"]) async for doc in cursor]


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
