"""The completion feed: what each forwarder meant to deliver, for a receiver that prefers to
poll, or that reconciles against the webhooks it got (`GET /feeds/completions`, docs/feeds.md).

Entries are the events themselves: the same id (= `webhook-id`) and the same `payload` (the
exact body that is, was or will be sent). An event is in the feed once it has a payload:
pending, failed, delivered, and dead after its attempts, revocations included, since all of
them were meant to reach the receiver. Events that never had a body (unmatched, dropped, dead
because the template could not render), test events and events whose payload an erasure
removed are not.

Order and cursor: `(ready, id)` ascending, `ready` being the instant the event became
deliverable (set once). The cursor is that pair for the last event served, opaque to
clients. A writer reads its clock for `ready` a moment before its write commits, so a poller
reading `ready <= now` could pass an instant for which an event is still in flight and never
see it. The feed therefore only serves events with `ready <= now - settle`
(`consistent_through`); `settle` bounds the write delay plus the clock skew between writers
and API nodes. When a page is not full, every event up to `consistent_through` was served and
the next cursor moves there, so a quiet poll reads nothing twice.

Reading: the embedded database reads every match of a range before applying `limit`, and
scans the collection for `$or` or for an `_id` range beside the index, so a page is read as
bounded windows of `ready` on the `(forwarder, ready)` index (growing while they are sparse),
plus, when the cursor sits inside a group of events sharing one `ready`, that group read
whole and skipped up to the cursor here.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
from pymongo.asynchronous.database import AsyncDatabase

from forwarders.errors import ForwarderNotFound
from forwarders.events import TEST
from forwarders.rules import Forwarder
from forwarders.store import EVENTS, ForwarderStore
from statements.errors import InvalidQuery
from statements.int_params import parse_int_param

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_PARAMETER = 200
PARAMETERS = frozenset({"after", "limit", "forwarder"})
INITIAL_SPAN_MS = 250
MAX_GROWTH = 4
CURSOR_VERSION = "f1."
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LAST_MS = (datetime.max.replace(tzinfo=UTC) - EPOCH) // timedelta(milliseconds=1)
"""A cursor past the last instant `datetime` holds is not one this feed returned."""
PROJECTION = {
    "forwarder": 1,
    "type": 1,
    "statement": 1,
    "state": 1,
    "ready": 1,
    "payload": 1,
    "employee_id": 1,
}
NEVER_SENT = frozenset({"unmatched", "dropped"})
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Position:
    """After the event `(ms, event_id)`; `event_id` None: after every event ready at `ms`."""

    ms: int
    event_id: str | None = None


def encode_cursor(position: Position) -> str:
    raw = orjson.dumps([position.ms, position.event_id])
    return CURSOR_VERSION + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> Position:
    bad = InvalidQuery("after", "not a cursor this feed returned")
    if not value.startswith(CURSOR_VERSION) or len(value) > MAX_PARAMETER:
        raise bad
    text = value[len(CURSOR_VERSION) :]
    try:
        ms, event_id = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, TypeError):
        raise bad from None
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= LAST_MS:
        raise bad
    if not (event_id is None or (isinstance(event_id, str) and event_id)):
        raise bad
    return Position(ms, event_id)


def parse_limit(raw: str | None) -> int:
    return parse_int_param("limit", raw, default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)


def ms_of(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def at_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def stamp(ms: int) -> str:
    """ISO 8601 UTC with millisecond precision, the form of a statement's `stored`."""
    return at_ms(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _order(doc: Mapping[str, Any]) -> tuple[int, str]:
    return ms_of(doc["ready"]), str(doc["_id"])


def servable(doc: Mapping[str, Any]) -> bool:
    """Has a body meant for the receiver (see the module docstring)."""
    return (
        isinstance(doc.get("payload"), dict)
        and doc.get("type") != TEST
        and doc.get("state") not in NEVER_SENT
    )


def entry(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "forwarder": doc["forwarder"],
        "type": doc["type"],
        "statement_id": doc["statement"],
        "employee_id": doc.get("employee_id"),
        "state": doc["state"],
        "ready": stamp(ms_of(doc["ready"])),
        "payload": doc["payload"],
    }


@dataclass(frozen=True, slots=True)
class FeedPage:
    events: list[dict[str, Any]]
    next: str
    """The cursor to continue from: now for the next page, later for what becomes ready."""
    full: bool
    """The page was full: more events may be ready right now."""
    consistent_through: datetime
    limit: int
    forwarder_id: str | None

    def as_dict(self, path: str = "/feeds/completions") -> dict[str, Any]:
        query = {"after": self.next, "limit": str(self.limit)}
        if self.forwarder_id is not None:
            query["forwarder"] = self.forwarder_id
        return {
            "events": self.events,
            "next": self.next,
            "more": f"{path}?{urlencode(query)}" if self.full else None,
            "consistent_through": stamp(ms_of(self.consistent_through)),
        }


class CompletionFeed:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        forwarders: ForwarderStore,
        *,
        settle_seconds: float,
        clock: Clock,
    ) -> None:
        self.events = db[EVENTS]
        self.forwarders = forwarders
        self.settle_ms = int(settle_seconds * 1000)
        self.clock = clock

    async def page_of(self, params: Mapping[str, str]) -> FeedPage:
        """A page from the query parameters of `GET /feeds/completions` (400 naming the bad
        parameter, 404 for an unknown forwarder)."""
        for name, value in params.items():
            if name not in PARAMETERS:
                raise InvalidQuery(name, "unknown parameter (after, limit, forwarder)")
            if len(value) > MAX_PARAMETER:
                raise InvalidQuery(name, f"at most {MAX_PARAMETER} characters")
        after = params.get("after")
        return await self.page(
            forwarder_id=params.get("forwarder"),
            after=decode_cursor(after) if after else None,
            limit=parse_limit(params.get("limit")),
        )

    async def page(
        self, *, forwarder_id: str | None, after: Position | None, limit: int
    ) -> FeedPage:
        through_ms = ms_of(self.clock()) - self.settle_ms
        found: list[dict[str, Any]] = []
        for forwarder in await self._forwarders(forwarder_id):
            found += await self._read(forwarder, after, through_ms, limit + 1)
        found.sort(key=_order)
        page, full = found[:limit], len(found) > limit
        if full:
            last = _order(page[-1])
            position = Position(last[0], last[1])
        elif after is None or after.ms <= through_ms:
            position = Position(through_ms)
        else:  # a cursor ahead of this node's clock: keep it
            position = after
        return FeedPage(
            [entry(doc) for doc in page],
            encode_cursor(position),
            full,
            at_ms(through_ms),
            limit,
            forwarder_id,
        )

    async def _forwarders(self, forwarder_id: str | None) -> Sequence[Forwarder]:
        if forwarder_id is None:
            return await self.forwarders.all()
        forwarder = await self.forwarders.get(forwarder_id)
        if forwarder is None:
            raise ForwarderNotFound(forwarder_id)
        return [forwarder]

    async def _read(
        self, forwarder: Forwarder, after: Position | None, through_ms: int, want: int
    ) -> list[dict[str, Any]]:
        """Up to `want` servable events of one forwarder after `after`, ready by
        `through_ms`, in feed order."""
        found: list[dict[str, Any]] = []
        position = after or Position(-1)
        first_high = ms_of(forwarder.created) + INITIAL_SPAN_MS if after is None else None
        span = INITIAL_SPAN_MS
        while len(found) < want:
            need = want - len(found)
            if position.event_id is not None:
                if position.ms > through_ms:
                    break
                rest = await self._tie(forwarder.id, position)
                found += [d for d in rest[:need] if servable(d)]
                next_id = rest[need - 1]["_id"] if len(rest) > need else None
                position = Position(position.ms, next_id)
                continue
            if position.ms >= through_ms:
                break
            high = min(through_ms, first_high or position.ms + span)
            first_high = None
            docs = await self._window(forwarder.id, position.ms, high, need)
            found += [d for d in docs if servable(d)]
            if len(docs) == need:  # the window may hold more: go on from its last event
                position = Position(*_order(docs[-1]))
            else:
                position = Position(high)  # not full: the window is exhausted, widen
                span *= MAX_GROWTH if len(docs) * MAX_GROWTH <= need else 2
        return found

    async def _window(
        self, forwarder_id: str, low_ms: int, high_ms: int, limit: int
    ) -> list[dict[str, Any]]:
        """Events ready in (low, high], in feed order; only indexed fields in the filter."""
        match = {"forwarder": forwarder_id, "ready": {"$gt": at_ms(low_ms), "$lte": at_ms(high_ms)}}
        cursor = self.events.find(match, PROJECTION).sort([("ready", 1), ("_id", 1)])
        return [doc async for doc in cursor.limit(limit)]

    async def _tie(self, forwarder_id: str, position: Position) -> list[dict[str, Any]]:
        """The events ready at exactly `position.ms` after its id: the whole group is read
        (an `_id` range beside the index would make the embedded database scan)."""
        match = {"forwarder": forwarder_id, "ready": at_ms(position.ms)}
        group = [doc async for doc in self.events.find(match, PROJECTION)]
        after = position.event_id or ""
        return sorted((d for d in group if str(d["_id"]) > after), key=lambda d: str(d["_id"]))
