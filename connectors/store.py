"""The `connectors` collection (owned here): definitions, sealed secrets, delivery counters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from connectors.model import Connector
from forwarders.secretbox import SecretBox
from statements.errors import BadRequest, NotFound

COLLECTION = "connectors"


class ConnectorStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], box: SecretBox) -> None:
        self.collection = db[COLLECTION]
        self.box = box

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("name", unique=True)

    async def create(self, definition: dict[str, Any], now: datetime) -> Connector:
        doc = {
            **definition,
            "_id": uuid.uuid4().hex,
            "secret": self.box.seal(definition["secret"]),
            "created": now,
            "stats": {"accepted": 0, "rejected": 0},
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            raise BadRequest(
                f"a connector named {definition['name']!r} exists", {"field": "name"}
            ) from None
        return _connector(doc)

    async def find(self, ref: str) -> Connector | None:
        doc = await self.collection.find_one({"$or": [{"_id": ref}, {"name": ref}]})
        return None if doc is None else _connector(doc)

    async def by_id(self, connector_id: str) -> Connector | None:
        """The webhook's lookup: by id only (a name is guessable, the id is not)."""
        doc = await self.collection.find_one({"_id": connector_id})
        return None if doc is None else _connector(doc)

    async def get(self, ref: str) -> Connector:
        found = await self.find(ref)
        if found is None:
            raise NotFound(f"no connector {ref!r}", {"connector": ref})
        return found

    async def secret(self, connector_id: str) -> str:
        doc = await self.collection.find_one({"_id": connector_id}, {"secret": 1})
        if doc is None:
            raise NotFound(f"no connector {connector_id!r}")
        return self.box.open(doc["secret"])

    async def all(self) -> list[Connector]:
        return [_connector(doc) async for doc in self.collection.find().sort("name", 1)]

    async def stats(self, connector_id: str) -> dict[str, Any]:
        doc = await self.collection.find_one({"_id": connector_id}, {"stats": 1})
        return dict(doc["stats"]) if doc else {}

    async def delete(self, ref: str) -> Connector:
        connector = await self.get(ref)
        await self.collection.delete_one({"_id": connector.id})
        return connector

    async def count(self, connector_id: str, outcome: str, event: str, now: datetime) -> None:
        """Counters the console shows: accepted deliveries, rejections and the last of each."""
        if outcome in ("accepted", "duplicate", "ignored"):
            update = {
                "$inc": {"stats.accepted": 1},
                "$set": {"stats.last_event_at": now, "stats.last_event_type": event},
            }
        else:
            update = {
                "$inc": {"stats.rejected": 1},
                "$set": {"stats.last_error_at": now, "stats.last_error": outcome},
            }
        await self.collection.update_one({"_id": connector_id}, update)

    async def note_failure(self, connector_id: str, reason: str, now: datetime) -> None:
        """A stored event that could not become statements (shown with the connector)."""
        await self.collection.update_one(
            {"_id": connector_id},
            {
                "$inc": {"stats.failed": 1},
                "$set": {"stats.last_error_at": now, "stats.last_error": reason[:500]},
            },
        )


def _connector(doc: dict[str, Any]) -> Connector:
    return Connector(
        id=doc["_id"],
        name=doc["name"],
        kind=doc["kind"],
        activity_template=doc["activity_template"],
        completion_threshold=doc["completion_threshold"],
        mapping=doc.get("mapping") or {},
    )
