"""Delivery attempts per forwarder and hour: the health figures over 24 hours and 7 days.

Each worker counts its attempts in memory and adds them to `forwarder_hours` when it beats
its heartbeat (one `$inc` upsert per forwarder and hour touched), not once per attempt: a
health figure is not worth a write on the delivery path, which already costs forwarding its
share of the database. A worker killed between two heartbeats loses at most that
interval's counts; the events themselves keep their exact state, so this is a figure, not
a ledger. This module is the only one that reads or writes the collection.

    forwarder_hours  {_id: "{forwarder}|{hour}", forwarder, hour, delivered, failed, dead}

`failed` counts attempts that will be retried, `dead` attempts after which the event was
dead-lettered; the success rate is delivered attempts over all attempts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

HOURS = "forwarder_hours"
KINDS = ("delivered", "failed", "dead")
KEEP = timedelta(days=8)
"""Hours older than this are deleted at a flush: the figures look back 7 days at most."""
Document = dict[str, Any]


def kind_of(outcome: str) -> str:
    """The tally's kind for a `forwarders.delivery.outcome` class name."""
    if outcome == "Delivered":
        return "delivered"
    if outcome == "RetryLater":
        return "failed"
    return "dead"


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class Tally:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, datetime, str]] = Counter()

    def note(self, forwarder_id: str, at: datetime, outcome: str) -> None:
        self._counts[(forwarder_id, hour_of(at), kind_of(outcome))] += 1

    async def flush(self, db: AsyncDatabase[Document], now: datetime) -> None:
        """Add what was counted since the last flush; on a database error keep it for the
        next one."""
        counts, self._counts = self._counts, Counter()
        if not counts:
            return
        increments: dict[tuple[str, datetime], dict[str, int]] = {}
        for (forwarder_id, hour, kind), n in counts.items():
            increments.setdefault((forwarder_id, hour), {})[kind] = n
        operations = [
            UpdateOne(
                {"_id": f"{forwarder_id}|{hour.isoformat()}"},
                {"$inc": inc, "$setOnInsert": {"forwarder": forwarder_id, "hour": hour}},
                upsert=True,
            )
            for (forwarder_id, hour), inc in increments.items()
        ]
        try:
            await db[HOURS].bulk_write(operations, ordered=False)
            await db[HOURS].delete_many({"hour": {"$lt": hour_of(now) - KEEP}})
        except PyMongoError:
            self._counts.update(counts)
            raise


@dataclass(frozen=True, slots=True)
class Success:
    """Delivery attempts over a period and the share that succeeded (None: no attempt)."""

    delivered: int
    failed: int
    dead: int

    @property
    def attempts(self) -> int:
        return self.delivered + self.failed + self.dead

    @property
    def rate(self) -> float | None:
        return self.delivered / self.attempts if self.attempts else None


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    await db[HOURS].create_indexes([IndexModel([("hour", ASCENDING)], name="hour")])


async def success(
    db: AsyncDatabase[Document], now: datetime, periods: Iterable[timedelta]
) -> dict[timedelta, Success]:
    """Attempts of every forwarder over each period ending now (the current hour counts
    whole: hours are the tally's grain). Reads at most 8 days x forwarders documents."""
    periods = list(periods)
    oldest = hour_of(now) - max(periods) + timedelta(hours=1)
    documents = [doc async for doc in db[HOURS].find({"hour": {"$gte": oldest}})]
    answer = {}
    for period in periods:
        start = hour_of(now) - period + timedelta(hours=1)
        sums = Counter[str]()
        for doc in documents:
            if _naive(doc["hour"]) >= _naive(start):
                sums.update({kind: int(doc.get(kind, 0)) for kind in KINDS})
        answer[period] = Success(sums["delivered"], sums["failed"], sums["dead"])
    return answer


def _naive(at: datetime) -> datetime:
    """Stored datetimes come back naive (UTC) unless the client is tz-aware."""
    return at.replace(tzinfo=None)
