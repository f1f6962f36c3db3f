"""One forwarder's events newest first, read a bounded window of `created` at a time.

Why: the embedded database reads every match of an index range before it sorts and
applies `limit`, so `find({forwarder, state}).sort("created", -1).limit(n)` read the whole
history of that state, and without a state the server rode `forwarder_due` (whose second
field is not `created`) and read every event of the forwarder: a forwarder that had
delivered 20,000 events cost about 0.9 s of database CPU per page. A page is therefore read
as windows `[low, high)` of `created` on `forwarder_state_created`, one query per state,
moving down from `before` (open above without one) and widening while they hold few events,
until the page is full or the windows reach the forwarder's creation (no event is older:
that last window is open below, so an event stamped earlier by another process's clock is
still listed). Each query reads about one page whatever the history.

Order, as the single query gave it on the embedded database:
- one state: `created` descending, ties in the index's order (the order they were
  written), and a page that ends inside a tie keeps the first written;
- every state: `created` descending, ties by `due` (events without one first, as
  `forwarder_due` holds them), then by state in `STATES` order where the single query had
  them in the order they were written (events of two states sharing a millisecond and both
  without `due`). When the page ends inside a tie that a state's read cut (in the index's
  order), that state's tie is read again whole, so the page is cut in this order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from statements.formats import stored_utc

INITIAL_SPAN = timedelta(minutes=1)
MAX_GROWTH = 8.0
MIN_GROWTH = 1.5
MARGIN = 1.25
"""Windows are sized for a quarter more events than the page still needs."""

Events = AsyncCollection[dict[str, Any]]


@dataclass
class Windows:
    """The `created` ranges of one page, newest first, as `find` filters on `created`
    (`{}`: the whole history)."""

    before: datetime | None
    now: datetime
    floor: datetime | None
    """The forwarder's creation; None (unknown): the first window is the whole history."""
    want: int
    found: int = 0
    span: timedelta = INITIAL_SPAN
    _high: datetime | None = field(default=None, init=False)
    _last: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._high = None if self.before is None else stored_utc(self.before)

    def next(self) -> dict[str, datetime] | None:
        if self.found >= self.want or self._last:
            return None
        high = self._high
        created = {} if high is None else {"$lt": high}
        top = high or stored_utc(self.now)
        if self.floor is None or self.span >= top - stored_utc(self.floor):
            self._last = True  # down to the forwarder's creation: open below
            return created
        self._high = top - self.span
        return {**created, "$gte": self._high}

    def record(self, matches: int) -> None:
        """Count a window's events and size the next one from their density."""
        self.found += matches
        remaining = self.want - self.found
        if remaining <= 0:
            return
        growth = MAX_GROWTH
        if matches:
            growth = min(MAX_GROWTH, max(MIN_GROWTH, remaining / matches * MARGIN))
        self.span *= growth


@dataclass(frozen=True, slots=True)
class Listing:
    """One forwarder's listing: which states, how many, below which `created`."""

    forwarder: str
    states: Sequence[str]
    limit: int
    before: datetime | None
    floor: datetime | None
    fields: Mapping[str, Any]


async def newest(events: Events, listing: Listing, now: datetime) -> list[dict[str, Any]]:
    """Up to `limit` events of the listing, newest first (see the module's order)."""
    windows = Windows(listing.before, now, listing.floor, listing.limit)
    found: list[dict[str, Any]] = []
    while (created := windows.next()) is not None:
        docs = await _window(events, listing, created, listing.limit - len(found))
        windows.record(len(docs))
        found += docs
    return found[: listing.limit]


async def _window(
    events: Events, listing: Listing, created: dict[str, datetime], need: int
) -> list[dict[str, Any]]:
    states = listing.states
    reads = list(await asyncio.gather(*(_read(events, listing, s, created, need) for s in states)))
    if len(reads) == 1:
        return reads[0]
    docs = _merged(reads)
    if len(docs) < need:
        return docs
    edge = docs[need - 1]["created"]
    cut = [
        i for i, found in enumerate(reads) if len(found) == need and found[-1]["created"] == edge
    ]
    for i in cut:  # the page ends inside a tie this state's read cut: read the tie whole
        tie = await _read(events, listing, states[i], {"$gte": edge, "$lte": edge}, 0)
        reads[i] = [doc for doc in reads[i] if doc["created"] != edge] + tie
    return _merged(reads) if cut else docs


def _merged(reads: Sequence[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The reads of each state (in `STATES` order) as one list, in the order of the module
    docstring: stable sorts, so ties keep their state's place and their read's order."""
    docs = [doc for found in reads for doc in found]
    docs.sort(key=_due_order)
    docs.sort(key=lambda doc: doc["created"], reverse=True)
    return docs


async def _read(
    events: Events, listing: Listing, state: str, created: dict[str, datetime], limit: int
) -> list[dict[str, Any]]:
    match: dict[str, Any] = {"forwarder": listing.forwarder, "state": state}
    if created:
        match["created"] = created
    cursor = events.find(match, dict(listing.fields)).sort("created", -1)
    return await cursor.limit(limit).to_list()


def _due_order(doc: Mapping[str, Any]) -> tuple[bool, datetime | None]:
    """Events without `due` first, then by `due`: the order of `forwarder_due`."""
    due = doc.get("due")
    return due is not None, due
