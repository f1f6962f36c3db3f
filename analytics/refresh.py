"""Refresh requests: recounts of activities whose counted statements were rewritten or
deleted outside the stored sequence (erasure, retention).

The writer files a request naming the activities *before* it writes (not ready), adds to
it as it goes, and marks it ready once its writes are done; the consumer then recounts
those activities below its cursor. A request never marked ready (the writer crashed) is
carried out after `STALE` anyway: by then nothing more will change under it. Filing first
means a crash between the writes and the request cannot leave a rollup stale unnoticed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

REFRESH = "analytics_refresh"
STALE = timedelta(minutes=10)
Document = dict[str, Any]


def object_activities(statements: Iterable[Mapping[str, Any]]) -> list[str]:
    """The activities statements count towards (their object, when an Activity)."""
    found = set()
    for statement in statements:
        obj = statement.get("object")
        if isinstance(obj, dict) and obj.get("objectType", "Activity") == "Activity":
            if isinstance(obj.get("id"), str):
                found.add(obj["id"])
    return sorted(found)


class Refreshes:
    def __init__(
        self, db: AsyncDatabase[Document], clock: Callable[[], datetime] | None = None
    ) -> None:
        self.collection = db[REFRESH]
        self.clock = clock or (lambda: datetime.now(UTC))

    async def open(self, activities: Iterable[str] = ()) -> str:
        request = uuid.uuid4().hex
        doc = {"_id": request, "activities": sorted(set(activities)), "ready": False}
        await self.collection.insert_one({**doc, "created": self.clock()})
        return request

    async def add(self, request: str, activities: Iterable[str]) -> None:
        wanted = sorted(set(activities))
        if wanted:
            update = {"$addToSet": {"activities": {"$each": wanted}}}
            await self.collection.update_one({"_id": request}, update)

    async def close(self, request: str) -> None:
        await self.collection.update_one({"_id": request}, {"$set": {"ready": True}})

    async def next_due(self) -> Document | None:
        stale = self.clock() - STALE
        return await self.collection.find_one(
            {"$or": [{"ready": True}, {"created": {"$lt": stale}}]}
        )

    async def done(self, request: str) -> None:
        await self.collection.delete_one({"_id": request})

    async def waiting(self) -> int:
        return await self.collection.count_documents({})

    async def clear(self) -> None:
        await self.collection.delete_many({})
