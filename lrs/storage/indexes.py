"""Indexes of the collections lrs.storage owns, created at start-up (idempotent).

Statements have one multikey index, `(keys, seq)`: each statement lists its filter values as
prefixed keys (`lrs.storage.statement_keys`), so every GET filter, `since`/`until` and the
`more` cursor are one range of `seq` under one key, in the `stored` order."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

STATEMENT_KEYS_INDEX = "keys_seq"

STATEMENT_INDEXES = [
    # One index rather than one per filter: SecantusDB's insert cost grows with the number of
    # indexes (measured: 9 indexes 376 docs/s, this one 820).
    IndexModel([("keys", ASCENDING), ("seq", DESCENDING)], name=STATEMENT_KEYS_INDEX),
]


DOCUMENT_INDEXES = [
    # identity of a State / profile document; its prefixes serve the id listings and the
    # State "delete all" (see lrs.storage.mongo_documents)
    IndexModel(
        [
            ("kind", ASCENDING),
            ("activity", ASCENDING),
            ("agent", ASCENDING),
            ("registration", ASCENDING),
            ("doc_id", ASCENDING),
        ],
        name="identity",
        unique=True,
    ),
    # the compare-and-set of a conditional write (identity plus the `rev` it was planned
    # against): SecantusDB serves a filter only from an index holding every field of it,
    # so without this one each If-Match PUT/POST/DELETE scanned the whole collection
    # (50,000 documents: 1.5 s; with it: 2 ms)
    IndexModel(
        [
            ("kind", ASCENDING),
            ("activity", ASCENDING),
            ("agent", ASCENDING),
            ("registration", ASCENDING),
            ("doc_id", ASCENDING),
            ("rev", ASCENDING),
        ],
        name="identity_rev",
    ),
    # every State / Agent Profile document of one agent, for erasure (lrs.erasure): the
    # identity index cannot serve it, `activity` comes before `agent` there
    IndexModel([("agent", ASCENDING)], name="agent"),
]
ACTIVITY_DEFINITION_INDEXES = [IndexModel([("activity", ASCENDING)], name="activity")]


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db["statements"].create_indexes(STATEMENT_INDEXES)
    await db["documents"].create_indexes(DOCUMENT_INDEXES)
    await db["activity_definitions"].create_indexes(ACTIVITY_DEFINITION_INDEXES)
