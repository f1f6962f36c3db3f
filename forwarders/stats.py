"""Counts over the delivery queue for monitoring: events by forwarder and state, due events.

One aggregation (a single pass over `forwarder_events`) answers all of it; callers cache the
result (`lrs.metrics` refreshes it at most every few seconds), so a scrape costs one pass
per cache period whatever the scrape rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from forwarders.store import EVENTS


@dataclass(frozen=True, slots=True)
class QueueCounts:
    by_state: dict[tuple[str, str], int] = field(default_factory=dict)
    """(forwarder id, state) -> number of events."""
    due: int = 0
    """Events whose `due` time has come: waiting for a worker (not leased, not finished)."""

    def in_state(self, state: str) -> int:
        return sum(n for (_, s), n in self.by_state.items() if s == state)


async def queue_counts(db: AsyncDatabase[dict[str, Any]], now: datetime) -> QueueCounts:
    # `due` is absent once an event is delivered or dead, and a leased event's `due` is the
    # end of its lease (in the future): `due <= now` is exactly "ready to be claimed"
    is_due = {"$and": [{"$gt": ["$due", None]}, {"$lte": ["$due", now]}]}
    pipeline: list[dict[str, Any]] = [
        {
            "$group": {
                "_id": {"forwarder": "$forwarder", "state": "$state"},
                "n": {"$sum": 1},
                "due": {"$sum": {"$cond": [is_due, 1, 0]}},
            }
        }
    ]
    by_state: dict[tuple[str, str], int] = {}
    due = 0
    async for row in await db[EVENTS].aggregate(pipeline):
        group = row["_id"]
        by_state[(str(group.get("forwarder")), str(group.get("state")))] = int(row["n"])
        due += int(row["due"])
    return QueueCounts(by_state, due)
