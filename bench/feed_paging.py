"""What a completion-feed page costs on the embedded database (docs/feeds.md).

    .venv/bin/python bench/feed_paging.py [--events 20000] [--per-ready 100] [--limit 100]

Starts a fresh embedded database, stores `--events` delivered events of one forwarder (plus
as many of a second forwarder, which the index keeps out of the reads), `--per-ready` of
them sharing each `ready` millisecond (discovery stores a batch with one `now`), ten
batches a second, then follows the feed from the start to the end with `--limit` and
reports the per-page latency, and the latency of a caught-up poll.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient

from forwarders.feed import CompletionFeed, decode_cursor
from forwarders.queue import JobStore
from forwarders.rules import Forwarder
from forwarders.secretbox import SecretBox
from forwarders.store import EVENTS, ForwarderStore, ensure_indexes
from lrs.storage.embedded import EmbeddedDatabase


def documents(forwarder: str, count: int, per_ready: int, start: datetime) -> list[dict[str, Any]]:
    payload = {"type": "learning.completed", "data": {"member_id": "E1", "note": "x" * 400}}
    return [
        {
            "_id": str(uuid.uuid4()),
            "forwarder": forwarder,
            "statement": str(uuid.uuid4()),
            "type": "learning.completed",
            "state": "delivered",
            "ready": start + timedelta(milliseconds=100 * (n // per_ready)),
            "payload": payload,
            "created": start,
            "updated": start,
        }
        for n in range(count)
    ]


async def run(args: argparse.Namespace, uri: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    db = client["bench_feed"]
    await ensure_indexes(db)
    await JobStore(db).ensure_indexes()
    start = datetime.now(UTC) - timedelta(days=1)
    store = ForwarderStore(db, SecretBox(None))
    for name in ("one", "two"):
        await store.insert(Forwarder(id=name, name=name, url="https://x.test", created=start))
        docs = documents(name, args.events, args.per_ready, start)
        for i in range(0, len(docs), 1000):
            await db[EVENTS].insert_many(docs[i : i + 1000])
    feed = CompletionFeed(db, store, settle_seconds=5, clock=lambda: datetime.now(UTC))
    after, seen, latencies = None, 0, []
    while True:
        began = time.perf_counter()
        page = await feed.page(forwarder_id="one", after=after, limit=args.limit)
        latencies.append((time.perf_counter() - began) * 1000)
        seen += len(page.events)
        after = decode_cursor(page.next)
        if not page.full:
            break
    began = time.perf_counter()
    await feed.page(forwarder_id="one", after=after, limit=args.limit)
    idle = (time.perf_counter() - began) * 1000
    print(f"events {seen}/{args.events}, pages {len(latencies)} of {args.limit}")
    print(
        f"page ms: median {statistics.median(latencies):.1f}"
        f" p90 {statistics.quantiles(latencies, n=10)[-1]:.1f} max {max(latencies):.1f};"
        f" caught-up poll {idle:.1f} ms"
    )
    await client.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--per-ready", type=int, default=100)
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args()
    database = EmbeddedDatabase(":memory:", cache_size="256M")
    uri = database.start()
    try:
        asyncio.run(run(args, uri))
    finally:
        database.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
