"""Statements for an export, read the way GET /xapi/statements reads them.

Through `MongoStatementStore.scan_statements`: the filter keys, bounds and voided rule of
`find_statements` (GET /xapi/statements), read through one cursor instead of a page of
windows at a time, so an export holds what that GET would return for the same filters. The
next pages are read while the current one is being written.

Where the export stops: several processes hand out stored-sequence numbers, each from its
own clock, a moment before the write commits. A cursor at "now" could pass a position below
which a slower write still lands, and the next export (which starts after the cursor) would
never see it. So the export reads only up to `cutoff`: `settle_seconds` behind now, and
never past this process's own writes in flight (`Services.consistent_through_ms`, the
X-Experience-API-Consistent-Through header). The manifest's cursor is that bound, whether or
not a statement sits there, so the next export starts exactly where this one ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from lrs.storage.sequence import MS_SHIFT, until_bound
from statements.types import StatementQuery, StoredStatement

PAGE_SIZE = 2000
PREFETCH_PAGES = 2
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class StatementReader(Protocol):
    def scan_statements(
        self, query: StatementQuery, *, include_voided: bool = False
    ) -> AsyncIterator[StoredStatement]: ...


class EmployeeIds(Protocol):
    """Resolves actors to HRIS employee ids (None: no one, or several people)."""

    async def employee_ids(self, actors: Sequence[Mapping[str, Any]]) -> list[str | None]: ...


@dataclass(frozen=True, slots=True)
class Bounds:
    query: StatementQuery
    """The export's query, its `until` capped at the cutoff."""
    cursor: int
    """The position the next export continues after (every statement at or below it is in
    this export or an earlier one); its stored instant is what the export is complete to."""


def settled_bounds(query: StatementQuery, cutoff_ms: int) -> Bounds:
    """Cap the query at `cutoff_ms` (inclusive) and name the cursor that continues it."""
    until_ms = cutoff_ms
    if query.until is not None:
        until_ms = min(until_ms, (until_bound(query.until) >> MS_SHIFT) - 1)
    through = EPOCH + timedelta(milliseconds=until_ms)
    cursor = until_bound(through) - 1
    if query.after is not None:
        cursor = max(cursor, query.after)
    return Bounds(replace(query, until=through), cursor)


def cutoff_ms(
    now: datetime, settle_seconds: float, consistent_through_ms: Callable[[], int] | None
) -> int:
    """The newest stored instant an export may include (see the module docstring)."""
    # at least one millisecond back: a write may still take a seq in the current one
    settle_ms = max(1, int(settle_seconds * 1000))
    settled = (now - EPOCH) // timedelta(milliseconds=1) - settle_ms
    if consistent_through_ms is not None:
        settled = min(settled, consistent_through_ms())
    return settled


async def pages(
    store: StatementReader,
    query: StatementQuery,
    *,
    include_voided: bool,
    page_size: int = PAGE_SIZE,
) -> AsyncIterator[list[StoredStatement]]:
    """Every statement the query matches, in stored order, a page at a time; a task keeps
    reading up to `PREFETCH_PAGES` ahead while the caller writes."""
    queue: asyncio.Queue[list[StoredStatement] | Exception | None] = asyncio.Queue(PREFETCH_PAGES)

    async def produce() -> None:
        try:
            page: list[StoredStatement] = []
            async for statement in store.scan_statements(query, include_voided=include_voided):
                page.append(statement)
                if len(page) >= page_size:
                    await queue.put(page)
                    page = []
            await queue.put(page)
            await queue.put(None)
        except Exception as error:  # noqa: BLE001 - handed to the reader, who raises it
            await queue.put(error)

    producer = asyncio.create_task(produce())
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, Exception):
                raise item
            if item:
                yield item
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer
