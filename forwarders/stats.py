"""Counts over the delivery queue for monitoring: events by forwarder and state, due events.

Every query is an equality on (forwarder, state), the prefix of the `forwarder_state_created`
index, so its cost follows the number of events counted, not the size of the history:

- `delivered` is not counted. It grows without bound, and recounting it at every scrape
  would cost a pass over the whole history (delivery counts come from the worker's
  `lrs_forwarding_delivery_duration_seconds_count{outcome="delivered"}` instead).
- due events are counted by reading the `due` of the waiting states' events (a backlog,
  normally small). Measured on SecantusDB: a range on `due` made it scan every event of a
  forwarder (about 0.5 s per forwarder with 12,500 events), equality counts took 1–5 ms.

Callers cache the result (`lrs.metrics` refreshes it at most every few seconds).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from forwarders.queue import STATES
from forwarders.store import EVENTS, FORWARDERS

UNCOUNTED = frozenset({"delivered"})
WAITING = ("pending", "failed")
"""States whose events carry a `due` time while no worker holds them."""
COUNTED = tuple(sorted((set(STATES) | {"unmatched"}) - UNCOUNTED))


@dataclass(frozen=True, slots=True)
class QueueCounts:
    by_state: dict[tuple[str, str], int] = field(default_factory=dict)
    """(forwarder id, state) -> number of events, for every state but `delivered`."""
    due: int = 0
    """Events whose `due` time has come: waiting for a worker (not leased, not finished)."""

    def in_state(self, state: str) -> int:
        return sum(n for (_, s), n in self.by_state.items() if s == state)


async def queue_counts(db: AsyncDatabase[dict[str, Any]], now: datetime) -> QueueCounts:
    forwarders = [str(doc["_id"]) async for doc in db[FORWARDERS].find({}, {"_id": 1})]
    pairs = [(f, s) for f in forwarders for s in COUNTED]
    counts, due = await asyncio.gather(
        asyncio.gather(*(_count(db, f, s) for f, s in pairs)),
        asyncio.gather(*(_due(db, f, s, now) for f in forwarders for s in WAITING)),
    )
    return QueueCounts(dict(zip(pairs, counts, strict=True)), sum(due))


async def _count(db: AsyncDatabase[dict[str, Any]], forwarder: str, state: str) -> int:
    return await db[EVENTS].count_documents({"forwarder": forwarder, "state": state})


async def _due(db: AsyncDatabase[dict[str, Any]], forwarder: str, state: str, now: datetime) -> int:
    # a leased event's `due` is the end of its lease (in the future): not counted
    cursor = db[EVENTS].find({"forwarder": forwarder, "state": state}, {"_id": 0, "due": 1})
    times = [doc.get("due") async for doc in cursor]
    return sum(1 for due in times if due is not None and due <= now)
