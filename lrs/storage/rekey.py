"""Bringing the `keys` of stored statements up to `statement_keys.KEYS_VERSION`, at start-up.

Version 2 added the pair keys (`va:`, `ta:`, `vt:`). A store written by an earlier version
holds statements without them, which a two-filter query would miss. So the first start of
this version adds them in the background while the API serves (measured: 458 statements/s,
about four minutes per 100,000), and until the `meta` marker says the store is current,
queries do not ask for pairs (`MongoStatementStore` checks it). The upgrade reads a slice
of `seq` at a time (`sequence_scan`, at most `BATCH` statements), records how far it got, so
an interrupted run resumes there, and holds a lease, so that of several processes starting
at once one works.
Keys are only ever added (`$addToSet`), never replaced: a concurrent write is not lost.

Processes of an earlier version still writing while this runs would store statements
without pairs: stop them first (docs/operations.md, "Upgrades").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from lrs.storage import statement_keys as keys
from lrs.storage.sequence import CLOCK_SKEW_MS, MS_SHIFT, future_seq
from lrs.storage.sequence_scan import scan

log = logging.getLogger(__name__)

MARKER = "statement_keys"
"""`meta` document holding the version of the keys every stored statement carries."""
BATCH = 1000
FIRST_SPAN = 1000 << MS_SHIFT
LEASE_SECONDS = 60.0


async def keys_current(db: AsyncDatabase[dict[str, Any]]) -> bool:
    marker = await db["meta"].find_one({"_id": MARKER}) or {}
    return int(marker.get("version", 1)) >= keys.KEYS_VERSION


async def mark_current_if_empty(db: AsyncDatabase[dict[str, Any]]) -> bool:
    """A store with no statement is current at once (every first start takes this path)."""
    if await keys_current(db):
        return True
    if await db["statements"].find_one({}, {"_id": 1}) is not None:
        return False
    await _mark_done(db)
    return True


@contextlib.asynccontextmanager
async def upgrading_keys(
    db: AsyncDatabase[dict[str, Any]], retry_seconds: float = LEASE_SECONDS
) -> AsyncIterator[None]:
    """Runs `upgrade_keys` in the background when the store needs it, until it is current
    (another process may hold the lease: then it waits and tries again)."""

    async def run() -> None:
        while await upgrade_keys(db) is None:
            await asyncio.sleep(retry_seconds)

    if await mark_current_if_empty(db):
        yield
        return
    log.info("statement keys: upgrading stored statements to version %d", keys.KEYS_VERSION)
    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def upgrade_keys(db: AsyncDatabase[dict[str, Any]]) -> int | None:
    """Add what the current key version needs to every stored statement: how many changed,
    or None when another process holds the upgrade's lease."""
    meta = db["meta"]
    if await mark_current_if_empty(db):
        return 0
    owner = f"{os.getpid()}-{time.monotonic_ns()}"
    if not await _claim(db, owner):
        return None
    marker = await meta.find_one({"_id": MARKER}) or {}
    stored = await meta.find_one({"_id": "statements"}) or {}
    # the store records its oldest seq (less a minute for lagging clocks); else from 0, where
    # empty windows grow fourfold: about twenty reads to cross fifty empty years
    oldest = max(0, int(stored.get("first_seq", 0)) - (CLOCK_SKEW_MS << MS_SHIFT))
    low = int(marker.get("resume_seq", oldest))
    high = future_seq()
    changed = await _add_pairs(db, low, high, owner)
    await _mark_done(db)
    log.info("statement keys upgraded to version %d: %d statements", keys.KEYS_VERSION, changed)
    return changed


async def _claim(db: AsyncDatabase[dict[str, Any]], owner: str) -> bool:
    """Take (or renew) the lease; False while another process holds it."""
    meta, now = db["meta"], time.time()
    await meta.update_one({"_id": MARKER}, {"$setOnInsert": {"version": 1}}, upsert=True)
    marker = await meta.find_one({"_id": MARKER}) or {}
    holder = marker.get("lease_owner")
    if holder not in (None, owner) and float(marker.get("lease_until", 0)) > now:
        return False
    # compare-and-set on the holder read above: of two racing claims, one matches
    taken = await meta.update_one(
        {"_id": MARKER, "lease_owner": holder},
        {"$set": {"lease_owner": owner, "lease_until": now + LEASE_SECONDS}},
    )
    return taken.modified_count == 1


async def _add_pairs(db: AsyncDatabase[dict[str, Any]], low: int, high: int, owner: str) -> int:
    """Add the missing pairs to the statements with `low <= seq < high`, a slice at a time,
    recording after each slice where to resume (`resume_seq`, the first seq not yet read)."""
    statements, meta = db["statements"], db["meta"]
    changed = 0
    async for found in scan(
        statements, keys.ALL, low - 1, high - 1, {"keys": 1}, page=BATCH, first_span=FIRST_SPAN
    ):
        updates = [
            UpdateOne({"_id": doc["_id"]}, {"$addToSet": {"keys": {"$each": missing}}})
            for doc in found.docs
            if (missing := _missing_pairs(doc.get("keys", [])))
        ]
        if updates:
            await statements.bulk_write(updates, ordered=False)
            changed += len(updates)
        # where to resume, and the lease renewed, in one write that only its holder makes
        progress = await meta.update_one(
            {"_id": MARKER, "lease_owner": owner},
            {"$set": {"resume_seq": found.through + 1, "lease_until": time.time() + LEASE_SECONDS}},
        )
        if progress.modified_count != 1:
            raise RuntimeError("statement keys upgrade: lost the lease to another process")
    return changed


def _missing_pairs(stored: list[str]) -> list[str]:
    present = set(stored)
    return [k for k in keys.pair_keys(keys.index_from_keys(stored)) if k not in present]


async def _mark_done(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db["meta"].update_one(
        {"_id": MARKER},
        {
            "$set": {"version": keys.KEYS_VERSION},
            "$unset": {"resume_seq": "", "lease_owner": "", "lease_until": ""},
        },
        upsert=True,
    )
