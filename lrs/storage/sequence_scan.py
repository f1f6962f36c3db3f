"""Reading the statements of one key in ascending `seq` order, a bounded slice at a time.

Every reader that walks stored statements from a position onwards (forwarding discovery and
reconciliation through `lrs.storage.statement_source`, the key upgrade in `rekey`, and the
analytics rollups to come) goes through `scan`. Why slices: the `(keys, seq)` index gives
cheap bounds, but the embedded database reads every match of a range before it applies
`limit`, so an open-ended range would read the whole tail of the collection per page. A
slice of `seq` grows while it holds few statements; when it fills a page, the next one is
as wide as the part of it that held the page, so each read costs about one page whatever
the collection size and however densely the statements were stored (a backlog written at
thousands of statements a second, which a rebuild or a catching-up forwarder reads, would
otherwise be read several times over: every slice cut short read to its end first).

Each `Slice` says how far the scan has read (`through`): every statement of the key with
`after < seq <= through` was in this slice or an earlier one. A consumer that checkpoints
(the key upgrade, a rollup) records `through` and resumes from it.

Statement queries (`windows`) keep their own density-driven planner: they read newest first,
size the first window from the density earlier queries measured, and stop at a page; a
forward scan to a horizon gains nothing from that memory and needs the checkpoint instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from lrs.storage.sequence import MS_SHIFT

PAGE = 500
FIRST_SPAN = 5000 << MS_SHIFT
"""Five seconds of `seq`: the first slice."""
NARROWEST = 1 << MS_SHIFT
"""One millisecond of `seq`: the narrowest slice (its statements are read even when more
than a page of them share it; a cut always moves the scan on)."""
GROWTH = 4


@dataclass(frozen=True, slots=True)
class Slice:
    docs: list[dict[str, Any]]
    """At most `page` documents per key, in ascending `seq`."""
    through: int
    """Every statement with `after < seq <= through` has been read (here or before)."""


async def scan(
    statements: AsyncCollection[dict[str, Any]],
    key: str | Sequence[str],
    after: int,
    through: int,
    projection: Mapping[str, Any] | None = None,
    *,
    page: int = PAGE,
    first_span: int = FIRST_SPAN,
) -> AsyncIterator[Slice]:
    """The statements carrying `key` (or any of several keys) with `after < seq <= through`,
    slice by slice (empty slices included, so a checkpointing consumer can record its
    progress). A statement carrying two of the keys comes once.

    Without a `projection` the documents come whole: on SecantusDB a projection that keeps
    most of a document costs more than the fields it leaves out (docs/operations.md), so
    only a reader that wants a small part of each statement should pass one."""
    keys = [key] if isinstance(key, str) else list(dict.fromkeys(key))
    low, span = after, first_span
    while low < through:
        top = min(low + span, through)
        docs, cut = await _read_slice(statements, keys, low, top, projection, page)
        if cut is not None:  # a full page: go on from the cut, as wide as the page was
            low, span = cut, max(NARROWEST, cut - low)
        else:
            low, span = top, span * GROWTH if len(docs) * GROWTH < page else span
        yield Slice(docs, low)


async def _read_slice(
    statements: AsyncCollection[dict[str, Any]],
    keys: Sequence[str],
    low: int,
    top: int,
    projection: Mapping[str, Any] | None,
    page: int,
) -> tuple[list[dict[str, Any]], int | None]:
    """The documents of `(low, top]` under the keys, in `seq` order, and where the slice is
    cut when a key filled its page (its later documents wait for the next slice).

    One query per key: the embedded database answers `keys: {$in: [...]}` with a
    collection scan (measured: 44 ms against 6 ms for one key over 5,000 statements)."""

    async def one(key: str) -> list[dict[str, Any]]:
        query = {"keys": key, "seq": {"$gt": low, "$lte": top}}
        shape = None if projection is None else {**projection, "seq": 1}
        cursor = statements.find(query, shape).sort("seq", 1).limit(page)
        return await cursor.to_list()

    found = await asyncio.gather(*(one(key) for key in keys))
    full = [int(docs[-1]["seq"]) for docs in found if len(docs) == page]
    cut = min(full) if full else None
    merged = {doc["_id"]: doc for docs in found for doc in docs}
    ordered = sorted(merged.values(), key=lambda doc: int(doc["seq"]))
    if cut is not None:
        ordered = [doc for doc in ordered if int(doc["seq"]) <= cut]
    return ordered, cut
