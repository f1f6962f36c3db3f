"""Activity definitions seen in trusted statements, for the Activities Resource.

One MongoDB document per distinct (activity, definition) pair:

    {_id: <SHA-1 of activity id + definition>, activity: <IRI>,
     seq: <stored sequence of the latest statement that carried it>,
     raw: <the definition's JSON text>}

The definition stays JSON text (keys sorted) so extension IRIs (dots, `$`) round-trip and
never become field paths. Ingest costs at most one unordered `insert_many` per batch (plus
an `update_many` when a variant stored earlier becomes current again), and nothing when
every definition in the batch is the one this process last recorded for its activity (an
LRU cache of activity -> digest). Variants are keyed by content, so concurrent batches and
processes never lose a definition. Reading folds the variants in stored order
(`statements.activities.activity_object`); an activity with many variants is compacted into
one on read.

Trust is the caller's decision (`lrs.auth.scopes.may_define`): this store records whatever
batch it is given, and the write path hands it only batches written with `define`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import orjson
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from lrs.storage.protocols import NewStatement
from statements.activities import (
    activity_definitions,
    activity_object,
    canonical_definition,
    definition_digest,
)

DUPLICATE_KEY = 11000
COMPACT_OVER = 32
"""Variants of one activity beyond which a read folds them into one stored definition."""


class DigestCache:
    """LRU map activity id -> digest of the definition this process recorded last."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, str] = OrderedDict()

    def get(self, activity_id: str) -> str | None:
        digest = self._entries.get(activity_id)
        if digest is not None:
            self._entries.move_to_end(activity_id)
        return digest

    def put(self, activity_id: str, digest: str) -> None:
        self._entries[activity_id] = digest
        self._entries.move_to_end(activity_id)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)


class _Variant:
    __slots__ = ("activity_id", "raw", "seq")

    def __init__(self, activity_id: str, seq: int, raw: bytes) -> None:
        self.activity_id, self.seq, self.raw = activity_id, seq, raw


class MongoActivityStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], cache_size: int = 10_000) -> None:
        self.definitions = db["activity_definitions"]
        self.cache = DigestCache(cache_size)

    async def record_definitions(self, statements: Sequence[NewStatement]) -> int:
        """Record the definitions of a stored batch; returns how many variants were written."""
        variants, order = _variants(statements)
        changed = [
            digest
            for activity_id, digests in order.items()
            if list(digests) != [self.cache.get(activity_id)]
            for digest in digests
        ]
        if changed:
            latest = {next(reversed(digests)) for digests in order.values()}
            await self._insert(changed, variants, latest)
        for activity_id, digests in order.items():
            self.cache.put(activity_id, next(reversed(digests)))
        return len(changed)

    async def _insert(
        self, changed: list[str], variants: dict[str, _Variant], latest: set[str]
    ) -> None:
        """One unordered insert (upserts cost a journal write each on the embedded database).

        A variant stored before (by another process, or before a restart) is a duplicate
        key; its `seq` is raised only when it is again its activity's latest definition.
        """
        try:
            await self.definitions.insert_many(
                [_document(digest, variants[digest]) for digest in changed], ordered=False
            )
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            again = [changed[e["index"]] for e in errors if changed[e["index"]] in latest]
            if again:
                top = max(variants[digest].seq for digest in again)
                await self.definitions.update_many({"_id": {"$in": again}}, {"$max": {"seq": top}})

    async def get_activity(self, activity_id: str) -> dict[str, Any]:
        cursor = self.definitions.find({"activity": activity_id}, {"seq": 1, "raw": 1})
        docs = sorted([doc async for doc in cursor], key=lambda doc: int(doc["seq"]))
        activity = activity_object(activity_id, (orjson.loads(doc["raw"]) for doc in docs))
        if len(docs) > COMPACT_OVER:
            await self._compact(activity_id, docs, activity["definition"])
        return activity

    async def _compact(
        self, activity_id: str, docs: list[dict[str, Any]], merged: dict[str, Any]
    ) -> None:
        """Replace the variants read by their fold; variants written meanwhile survive."""
        top = int(docs[-1]["seq"])
        canonical = canonical_definition(merged)
        digest = definition_digest(activity_id, canonical)
        document = _document(digest, _Variant(activity_id, top, canonical))
        await self.definitions.update_one(
            {"_id": digest},
            {"$max": {"seq": top}, "$setOnInsert": {k: document[k] for k in ("activity", "raw")}},
            upsert=True,
        )
        folded = [doc["_id"] for doc in docs if doc["_id"] != digest]
        await self.definitions.delete_many({"_id": {"$in": folded}, "seq": {"$lte": top}})


def _variants(
    statements: Sequence[NewStatement],
) -> tuple[dict[str, _Variant], dict[str, dict[str, None]]]:
    """Each distinct definition with its latest seq, and per activity its digests in the
    order they were last seen (the last one is the activity's current definition)."""
    variants: dict[str, _Variant] = {}
    order: dict[str, dict[str, None]] = {}
    for statement in statements:
        for activity_id, definition in activity_definitions(statement.statement):
            canonical = canonical_definition(definition)
            digest = definition_digest(activity_id, canonical)
            variants[digest] = _Variant(activity_id, statement.seq, canonical)
            digests = order.setdefault(activity_id, {})
            digests.pop(digest, None)
            digests[digest] = None
    return variants, order


def _document(digest: str, variant: _Variant) -> dict[str, Any]:
    return {
        "_id": digest,
        "activity": variant.activity_id,
        "seq": variant.seq,
        "raw": variant.raw.decode(),
    }
