"""Deleting in bounded batches, and finding attachment contents nobody references any more.

Shared by erasure (`lrs.erasure`) and retention (`lrs.retention`). Every lookup goes through
an index: statements by `_id` or by their `h:<sha2>` keys (`statement_keys.attachment`),
never a scan of `att` or of the raw text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from lrs.storage import statement_keys

BATCH = 1000
"""Documents a streamed pass (retention) handles at a time."""
LOOKUP_BATCH = 50
DELETE_BATCH = 100
"""Values per `$in`. Small on purpose: SecantusDB's cost per `$in` value grows with the list
(measured, 2,000 `_id` lookups: 0.2-0.3 s in lists of 25-100, 0.8 s in lists of 200; one
`delete_many` of 1,000 ids 2.7 s, the same ids by 100s about 0.5 s); MongoDB does not care."""

Collection = AsyncCollection[dict[str, Any]]


def batches(values: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def delete_ids(collection: Collection, ids: Sequence[Any]) -> int:
    deleted = 0
    for chunk in batches(ids, DELETE_BATCH):
        deleted += (await collection.delete_many({"_id": {"$in": list(chunk)}})).deleted_count
    return deleted


async def find_ids(
    collection: Collection, ids: Sequence[Any], projection: dict[str, int]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for chunk in batches(ids, LOOKUP_BATCH):
        found += [doc async for doc in collection.find({"_id": {"$in": list(chunk)}}, projection)]
    return found


async def unreferenced_attachments(
    statements: Collection,
    hashes: Iterable[str],
    remaining: Callable[[dict[str, Any]], Iterable[str]],
) -> list[str]:
    """The hashes no remaining statement carries. `remaining(doc)` (doc: `_id`, `seq`, `att`)
    gives the hashes a referencing statement still carries after the operation (none when
    it is deleted), so a dry run answers like a real run."""
    wanted = sorted(set(hashes))
    referenced: set[str] = set()
    for chunk in batches(wanted, LOOKUP_BATCH):
        match = {"keys": {"$in": [statement_keys.attachment(h) for h in chunk]}}
        async for doc in statements.find(match, {"seq": 1, "att": 1}):
            referenced.update(remaining(doc))
    return [h for h in wanted if h not in referenced]
