"""Bringing the `keys` of stored statements up to `statement_keys.KEYS_VERSION`, at start-up.

Version 2 added the pair keys (`va:`, `ta:`, `vt:`). A store written by an earlier version
holds statements without them, which a two-filter query would miss, so the first start of
this version adds them before the API serves: a window of `seq` at a time (windows sized
to about `BATCH` statements), recording in `meta` how far it got, so an interrupted run
resumes there. Keys are only ever added (`$addToSet`), never replaced, so a concurrent
write to the same statement is not lost.

Processes of an earlier version still writing while this runs would store statements
without pairs: stop them first (docs/operations.md, "Upgrading").
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from lrs.storage import statement_keys as keys
from lrs.storage.sequence import MS_SHIFT

log = logging.getLogger(__name__)

MARKER = "statement_keys"
"""`meta` document holding the version of the keys every stored statement carries."""
BATCH = 1000
FIRST_SPAN_MS = 1000
FUTURE_MS = 60_000
"""Past anything stored: a minute of clock skew between API nodes (as the store assumes)."""


async def upgrade_keys(db: AsyncDatabase[dict[str, Any]]) -> int:
    """Add what the current key version needs to every stored statement; how many changed."""
    meta = db["meta"]
    marker = await meta.find_one({"_id": MARKER}) or {}
    if int(marker.get("version", 1)) >= keys.KEYS_VERSION:
        return 0
    if await db["statements"].find_one({}, {"_id": 1}) is None:
        await _mark_done(db)
        return 0
    stored = await meta.find_one({"_id": "statements"}) or {}
    # the store records its oldest seq (less a minute for lagging clocks); else from 0, where
    # empty windows grow fourfold: about twenty reads to cross fifty empty years
    oldest = max(0, int(stored.get("first_seq", 0)) - (FUTURE_MS << MS_SHIFT))
    low = int(marker.get("resume_seq", oldest))
    high = (time.time_ns() // 1_000_000 + FUTURE_MS) << MS_SHIFT
    changed = await _add_pairs(db, low, high)
    await _mark_done(db)
    log.info("statement keys upgraded to version %d: %d statements", keys.KEYS_VERSION, changed)
    return changed


async def _add_pairs(db: AsyncDatabase[dict[str, Any]], low: int, high: int) -> int:
    statements, meta = db["statements"], db["meta"]
    span_ms, changed = FIRST_SPAN_MS, 0
    while low < high:
        top = min(high, low + (span_ms << MS_SHIFT))
        window = {"keys": keys.ALL, "seq": {"$gte": low, "$lt": top}}
        docs = [doc async for doc in statements.find(window, {"keys": 1})]
        updates = [
            UpdateOne({"_id": doc["_id"]}, {"$addToSet": {"keys": {"$each": missing}}})
            for doc in docs
            if (missing := _missing_pairs(doc.get("keys", [])))
        ]
        if updates:
            await statements.bulk_write(updates, ordered=False)
            changed += len(updates)
        low = top
        await meta.update_one({"_id": MARKER}, {"$set": {"resume_seq": low}}, upsert=True)
        span_ms = _next_span(span_ms, len(docs))
    return changed


def _missing_pairs(stored: list[str]) -> list[str]:
    present = set(stored)
    return [k for k in keys.pair_keys(keys.index_from_keys(stored)) if k not in present]


def _next_span(span_ms: int, found: int) -> int:
    """About `BATCH` statements per window: grow at most fourfold, shrink to fit."""
    if found == 0:
        return span_ms * 4
    return max(1, min(span_ms * 4, span_ms * BATCH // found))


async def _mark_done(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db["meta"].update_one(
        {"_id": MARKER},
        {"$set": {"version": keys.KEYS_VERSION}, "$unset": {"resume_seq": ""}},
        upsert=True,
    )
