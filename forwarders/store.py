"""Forwarders in MongoDB, and the indexes of every forwarding collection.

forwarders          {_id, name, kind, url, verbs, activity_*, paused, paused_reason,
                     max_in_flight, secrets: [{id, value (sealed), added, expires}], created,
                     template: null | {name, version, csv, lookups: [{name, csv}]}, terminated}
forwarder_events    the delivery queue, one document per event, its last attempts inside
                    (see `forwarders.queue`)
forwarder_state     discovery: resume token, watermark, leader lease
forwarder_workers   one heartbeat document per running worker
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from forwarders.mapping.template import Template, load_template
from forwarders.rules import Forwarder, SigningSecret
from forwarders.secretbox import SecretBox

FORWARDERS = "forwarders"
EVENTS = "forwarder_events"
STATE = "forwarder_state"
WORKERS = "forwarder_workers"

EVENT_INDEXES = [
    # the claim: per forwarder, the earliest due job (`due` exists only while claimable);
    # also a worker's reclaim of its own leases (a leased job's `due` is its lease's end)
    IndexModel([("forwarder", ASCENDING), ("due", ASCENDING)], name="forwarder_due", sparse=True),
    # one forwarder's events by state, newest first: the admin's listings, the unmatched
    # listing and re-drive, retention, replay and the monitoring counts
    IndexModel(
        [("forwarder", ASCENDING), ("state", ASCENDING), ("created", DESCENDING)],
        name="forwarder_state_created",
    ),
    # the completion feed: one forwarder's deliverable events in the order they became so
    IndexModel(
        [("forwarder", ASCENDING), ("ready", ASCENDING)], name="forwarder_ready", sparse=True
    ),
    # Deliberately no more: SecantusDB pays a fixed cost per index for every written event
    # (docs/forwarders.md, "What forwarding costs ingest"). A statement's events are point
    # reads by `_id` (uuid5 of forwarder and statement), not an index on `statement`.
]
SUPERSEDED_EVENT_INDEXES = ("statement", "learner_keys")
"""Indexes earlier versions made, dropped at start-up: `statement` (revocation, erasure:
now `_id` point reads) and `learner_keys` (re-drive: now `forwarder_state_created`)."""
INDEX_NOT_FOUND = 27


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Create the event indexes and drop the superseded ones (by name: an index another
    worker dropped first is not an error)."""
    events = db[EVENTS]
    present = await events.index_information()
    for name in SUPERSEDED_EVENT_INDEXES:
        if name in present:
            try:
                await events.drop_index(name)
            except OperationFailure as error:
                if error.code != INDEX_NOT_FOUND:
                    raise
    await events.create_indexes(EVENT_INDEXES)


async def forwarder_ids(db: AsyncDatabase[dict[str, Any]]) -> list[str]:
    """Every forwarder's id, read fresh: the events of a statement are found by id, one
    per forwarder (`forwarders.events.event_id`)."""
    return [str(doc["_id"]) async for doc in db[FORWARDERS].find({}, {"_id": 1})]


async def forwarder_floors(
    db: AsyncDatabase[dict[str, Any]], forwarder_id: str | None = None
) -> list[tuple[str, datetime | None]]:
    """Each forwarder's id (this one, or all in `forwarder_ids` order) with its creation,
    below which it has no event (`forwarders.listing`); None for an id not found."""
    match = {} if forwarder_id is None else {"_id": forwarder_id}
    cursor = db[FORWARDERS].find(match, {"created": 1})
    found = [(str(doc["_id"]), doc.get("created")) async for doc in cursor]
    return [(forwarder_id, None)] if forwarder_id is not None and not found else found


class ForwarderStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], box: SecretBox) -> None:
        self.forwarders = db[FORWARDERS]
        self.box = box

    def _document(self, forwarder: Forwarder) -> dict[str, Any]:
        return {
            "_id": forwarder.id,
            "name": forwarder.name,
            "kind": forwarder.kind,
            "url": forwarder.url,
            "verbs": list(forwarder.verbs),
            "activity_ids": list(forwarder.activity_ids),
            "activity_prefixes": list(forwarder.activity_prefixes),
            "activity_types": list(forwarder.activity_types),
            "paused": forwarder.paused,
            "paused_reason": forwarder.paused_reason,
            "max_in_flight": forwarder.max_in_flight,
            "secrets": self._sealed(forwarder.secrets),
            "created": forwarder.created,
            "template": template_document(forwarder.template),
            "terminated": forwarder.terminated,
        }

    def _sealed(self, secrets: tuple[SigningSecret, ...]) -> list[dict[str, Any]]:
        return [
            {"id": s.id, "value": self.box.seal(s.value), "added": s.added, "expires": s.expires}
            for s in secrets
        ]

    def _forwarder(self, doc: dict[str, Any]) -> Forwarder:
        secrets = tuple(
            SigningSecret(s["id"], self.box.open(s["value"]), s["added"], s.get("expires"))
            for s in doc.get("secrets", ())
        )
        return Forwarder(
            id=doc["_id"],
            name=doc["name"],
            url=doc["url"],
            kind=doc.get("kind", "generic"),
            verbs=tuple(doc.get("verbs", ())),
            activity_ids=tuple(doc.get("activity_ids", ())),
            activity_prefixes=tuple(doc.get("activity_prefixes", ())),
            activity_types=tuple(doc.get("activity_types", ())),
            paused=bool(doc.get("paused")),
            paused_reason=doc.get("paused_reason"),
            max_in_flight=int(doc.get("max_in_flight", 4)),
            secrets=secrets,
            created=doc["created"],
            template=template_of(doc.get("template")),
            terminated=doc.get("terminated", "drop"),
        )

    async def insert(self, forwarder: Forwarder) -> None:
        await self.forwarders.insert_one(self._document(forwarder))

    async def get(self, forwarder_id: str) -> Forwarder | None:
        doc = await self.forwarders.find_one({"_id": forwarder_id})
        return None if doc is None else self._forwarder(doc)

    async def ids(self) -> list[str]:
        """Every forwarder's id (no secret is opened)."""
        return [doc["_id"] async for doc in self.forwarders.find({}, {"_id": 1})]

    async def all(self) -> list[Forwarder]:
        return [self._forwarder(doc) async for doc in self.forwarders.find({}).sort("created", 1)]

    async def update(self, forwarder_id: str, fields: dict[str, Any]) -> Forwarder | None:
        """Set plain fields (never `secrets`: see `set_secrets`)."""
        values = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
        if "template" in fields:
            values["template"] = template_document(fields["template"])
        doc = await self.forwarders.find_one_and_update(
            {"_id": forwarder_id}, {"$set": values}, return_document=ReturnDocument.AFTER
        )
        return None if doc is None else self._forwarder(doc)

    async def set_paused(
        self, forwarder_id: str, paused: bool, reason: str | None
    ) -> Forwarder | None:
        return await self.update(forwarder_id, {"paused": paused, "paused_reason": reason})

    async def set_secrets(
        self, forwarder_id: str, secrets: tuple[SigningSecret, ...]
    ) -> Forwarder | None:
        doc = await self.forwarders.find_one_and_update(
            {"_id": forwarder_id},
            {"$set": {"secrets": self._sealed(secrets)}},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else self._forwarder(doc)

    async def delete(self, forwarder_id: str) -> bool:
        result = await self.forwarders.delete_one({"_id": forwarder_id})
        return result.deleted_count == 1


def prune_expired(secrets: tuple[SigningSecret, ...], now: datetime) -> tuple[SigningSecret, ...]:
    return tuple(s for s in secrets if s.active(now))


def template_document(template: Template | None) -> dict[str, Any] | None:
    """The template as stored: its CSV and lookup texts, so every worker renders the same."""
    if template is None:
        return None
    return {
        "name": template.name,
        "version": template.version,
        "csv": template.text,
        "lookups": [{"name": k, "csv": v} for k, v in sorted(template.lookup_texts.items())],
    }


def template_of(doc: dict[str, Any] | None) -> Template | None:
    if not doc:
        return None
    lookups = tuple((t["name"], t["csv"]) for t in doc.get("lookups", ()))
    return _load(doc["csv"], lookups, doc.get("name"))


@functools.lru_cache(maxsize=64)
def _load(text: str, lookups: tuple[tuple[str, str], ...], name: str | None) -> Template:
    """Parsed once per process: forwarders are read on every discovery refresh."""
    return load_template(text, lookups=dict(lookups), name=name)
