"""The `connector_events` collection (owned here): every accepted delivery, stored before the
provider is answered, then claimed and processed.

`_id` is a digest of the connector and the event's identity (MeetingEvent.identity, or the
raw body for ignored events), so a provider's retry or a second `meeting.ended` finds the
first copy and stores nothing. A claim takes a lease; a process that dies mid-way leaves the
event pending, and the next claim after the lease takes it again (statement ids are
deterministic, so the second run adds nothing the first one stored).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from connectors.attendance import Issued
from connectors.model import MeetingEvent, Participant

COLLECTION = "connector_events"
LEASE = timedelta(seconds=60)
PENDING, DONE, IGNORED, FAILED = "pending", "done", "ignored", "failed"


def event_key(connector_id: str, event: MeetingEvent, body: bytes) -> str:
    identity = event.identity() if event.kind != "ignored" else body.decode(errors="replace")
    return hashlib.sha256(f"{connector_id}\n{identity}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Claimed:
    inbox_id: str
    connector_id: str
    event: MeetingEvent


class Inbox:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[COLLECTION]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("state", ASCENDING), ("due_at", ASCENDING)])
        await self.collection.create_index("claim")
        await self.collection.create_index(
            [("connector_id", ASCENDING), ("event.instance", ASCENDING)]
        )

    async def add(
        self, connector_id: str, event: MeetingEvent, body: bytes, now: datetime, due: datetime
    ) -> bool:
        """Store durably; False when this event was already stored (a retry or a repeat)."""
        doc = {
            "_id": event_key(connector_id, event, body),
            "connector_id": connector_id,
            "state": IGNORED if event.kind == "ignored" else PENDING,
            "received_at": now,
            "due_at": due,
            "lease_until": None,
            "attempts": 0,
            "event": _event_doc(event),
            "raw": body.decode(errors="replace"),
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def claim(self, now: datetime, limit: int = 1) -> list[Claimed]:
        """Up to `limit` due events, oldest first, each leased to the caller.

        Three queries whatever the batch: the candidates' ids, one `update_many` that leases
        those still free (the lease condition is checked per document, atomically, so two
        processes never take the same event) and stamps them with this claim's token, and
        a find of what this token got. (A `find_one_and_update` per event cost one indexed
        search each, and a 500-person join storm's backlog made that the bottleneck.)
        """
        free = {"$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]}
        found = self.collection.find(
            {"state": PENDING, "due_at": {"$lte": now}, **free}, {"_id": 1}
        )
        ids = [doc["_id"] async for doc in found.sort("due_at", ASCENDING).limit(limit)]
        if not ids:
            return []
        token = uuid.uuid4().hex
        await self.collection.update_many(
            {"_id": {"$in": ids}, "state": PENDING, **free},
            {"$set": {"lease_until": now + LEASE, "claim": token}, "$inc": {"attempts": 1}},
        )
        taken = self.collection.find({"claim": token}).sort("due_at", ASCENDING)
        return [
            Claimed(doc["_id"], doc["connector_id"], _event(doc["event"])) async for doc in taken
        ]

    async def finish_all(self, inbox_ids: list[str], state: str) -> None:
        await self.collection.update_many(
            {"_id": {"$in": inbox_ids}}, {"$set": {"state": state, "lease_until": None}}
        )

    async def finish(
        self, inbox_id: str, state: str, error: str | None = None, **recorded: Any
    ) -> None:
        """Close an event; an `ended` also records what it issued (`issued`, `basis`)."""
        fields = {"state": state, "lease_until": None, "error": error, **recorded}
        await self.collection.update_one({"_id": inbox_id}, {"$set": fields})

    async def issued(self, connector_id: str, instance: str) -> tuple[list[Issued], int]:
        """What the latest processed end of this occurrence issued, per participant, and
        that end's generation (0 when none was processed; each later end counts one up)."""
        found = self.collection.find(
            {**_ends(connector_id, instance), "state": DONE, "issued": {"$exists": True}},
            {"issued": 1, "generation": 1},
        )
        docs = sorted([doc async for doc in found], key=lambda doc: doc.get("generation", 1))
        if not docs:
            return [], 0
        return [Issued(**item) for item in docs[-1]["issued"]], docs[-1].get("generation", 1)

    async def end_bases(self, connector_id: str, instance: str) -> tuple[bool, set[str | None]]:
        """(is an end still to be processed, the evidence digests processed ends covered)."""
        found = self.collection.find(_ends(connector_id, instance), {"state": 1, "basis": 1})
        docs = [doc async for doc in found]
        pending = any(doc["state"] == PENDING for doc in docs)
        return pending, {doc.get("basis") for doc in docs if doc["state"] != PENDING}

    async def instances(self, connector_id: str, meeting: str) -> list[str]:
        """The stored occurrences a meeting reference names: its own id, or its meeting's."""
        found = self.collection.find(
            {
                "connector_id": connector_id,
                "$or": [{"event.instance": meeting}, {"event.meeting_id": meeting}],
            },
            {"event.instance": 1},
        )
        return sorted({doc["event"]["instance"] async for doc in found})

    async def meeting(self, connector_id: str, instance: str) -> list[MeetingEvent]:
        """Every stored event of one meeting occurrence (for attendance at its end)."""
        found = self.collection.find(
            {"connector_id": connector_id, "event.instance": instance}, {"event": 1}
        )
        return [_event(doc["event"]) async for doc in found]

    async def states(self, connector_id: str | None = None) -> dict[str, dict[str, int]]:
        """Inbox events per connector and state (`pending` is the backlog, `failed` the events
        that could not become statements): what the console shows beside the counters."""
        match = {} if connector_id is None else {"connector_id": connector_id}
        pipeline: list[dict[str, Any]] = [
            {"$match": match},
            {"$group": {"_id": {"c": "$connector_id", "s": "$state"}, "n": {"$sum": 1}}},
        ]
        found: dict[str, dict[str, int]] = {}
        async for row in await self.collection.aggregate(pipeline):
            found.setdefault(row["_id"]["c"], {})[row["_id"]["s"]] = row["n"]
        return found

    async def forget(self, connector_id: str) -> None:
        await self.collection.delete_many({"connector_id": connector_id})


def _ends(connector_id: str, instance: str) -> dict[str, Any]:
    return {"connector_id": connector_id, "event.instance": instance, "event.kind": "ended"}


def _event_doc(event: MeetingEvent) -> dict[str, Any]:
    return asdict(event)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _event(doc: dict[str, Any]) -> MeetingEvent:
    """Back from BSON (which returns naive UTC datetimes)."""
    person = doc.get("participant")
    fields = {**doc, "participant": Participant(**person) if person else None}
    for name in ("at", "start", "end"):
        fields[name] = _utc(fields.get(name))
    return MeetingEvent(**fields)
