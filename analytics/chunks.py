"""A range's writes in chunks, with the consumer's pacing between them (`analytics.pacing`).

One bulk write of a range's thousands of upserts held the database for seconds, and the
write path waits on the database. In chunks of `WRITE_CHUNK` operations the consumer pauses
after each one while writes are in flight, so it holds the database for a fraction of a
second at a time. Exactness does not depend on the chunks: every operation is guarded by
the range's `upto`, so a crash between two chunks leaves the range `pending`, and its redo
skips the documents the chunks before the crash had done.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from analytics import pacing

Document = dict[str, Any]


async def bulk_write(
    collection: AsyncCollection[Document], operations: Sequence[UpdateOne]
) -> None:
    """`bulk_write(operations, ordered=False)` a chunk at a time; a failure is raised once
    every chunk has been tried, as one `BulkWriteError` indexed into `operations`."""

    async def write(start: int, end: int) -> None:
        await collection.bulk_write(list(operations[start:end]), ordered=False)

    await _chunked(len(operations), write)


async def insert_many(collection: AsyncCollection[Document], documents: Sequence[Document]) -> None:
    """`insert_many(documents, ordered=False)` a chunk at a time, failures as `bulk_write`."""

    async def write(start: int, end: int) -> None:
        await collection.insert_many(documents[start:end], ordered=False)

    await _chunked(len(documents), write)


async def _chunked(count: int, write: Callable[[int, int], Awaitable[None]]) -> None:
    """`write` each chunk of `[0, count)`, sized to take about `CHUNK_SECONDS`, then breathe."""
    errors: list[Document] = []
    start = 0
    while start < count:
        end = min(count, start + pacing.chunk_size())
        began = time.monotonic()
        try:
            await write(start, end)
        except BulkWriteError as error:
            errors += _shifted(error, start)
        pacing.chunk_took(end - start, time.monotonic() - began)
        start = end
        await pacing.breathe()
    if errors:
        raise BulkWriteError({"writeErrors": errors, "writeConcernErrors": []})


def _shifted(error: BulkWriteError, start: int) -> list[Document]:
    return [{**e, "index": e["index"] + start} for e in error.details.get("writeErrors", [])]
