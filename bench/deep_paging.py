"""What a `more` page deep into a large result costs, against page 2.

    .venv/bin/python bench/deep_paging.py [--statements 250000] [--pages 50] [--limit 10]
        [--verbs 5] [--repeats 3] [--baseline /path/to/an/older/tree] [--out FILE]

A fresh on-disk database and `lrs serve` per variant (see variants.py). The store gets a
batch through the LRS (so it knows where the sequence starts), `--statements` more inserted
directly (documents built by the LRS's own write-path code, as `ingest.py`'s top-up does,
since the LRS would take minutes to store them), and a last batch through the LRS (so it
knows where the sequence ends). Then, for `--verbs` verbs (15 in the pool, so a verb matches
about a fifteenth of the store), a verb-filtered GET and `--pages - 1` `more` links after it,
`--repeats` times each. Reported: latency by page number (p50/p95/max over verbs and
repeats) and how many statements each page returned.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from common import StatementFactory, latency_summary, make_pools, peak_rss_mib, settle
from ingest import (
    BATCH,
    JSON_HEADERS,
    SEED,
    ceiling_documents,
    http_client,
    lrs_authority,
)
from pymongo import AsyncMongoClient
from variants import DATABASE, Running, fresh_lrs, variants

from lrs.storage.mongo_statements import MongoStatementStore

REPORTED_PAGES = (1, 2, 5, 10, 25, 50, 100)


async def fill(lrs: Running, factory: StatementFactory, count: int) -> None:
    async def through_lrs() -> None:
        body = orjson.dumps(factory.batch(BATCH))
        async with http_client(lrs.base_url, 1) as client:  # idle keep-alives get closed
            response = await client.post("/xapi/statements", content=body, headers=JSON_HEADERS)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")

    await through_lrs()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(lrs.uri)
    try:
        db = mongo[DATABASE]
        store = MongoStatementStore(db)
        authority = lrs_authority(lrs.base_url)
        for start in range(0, count, 10_000):
            docs = ceiling_documents(factory, store, min(10_000, count - start), authority)
            for i in range(0, len(docs), 1_000):
                await db["statements"].insert_many(docs[i : i + 1_000], ordered=False)
            print(f"  stored {start + len(docs)}", flush=True)
    finally:
        await mongo.close()
    await through_lrs()


async def walk(client: Any, verb: str, pages: int, limit: int) -> list[tuple[float, int]]:
    """(ms, statements) per page: the first page, then its `more` links."""
    target = "/xapi/statements?" + urlencode({"verb": verb, "limit": str(limit)})
    walked = []
    for _ in range(pages):
        started = time.perf_counter()
        response = await client.get(target)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        body = response.json()
        walked.append((elapsed, len(body["statements"])))
        if not body.get("more"):
            break
        parts = urlsplit(body["more"])
        target = f"{parts.path}?{parts.query}"
    return walked


async def measure(args: argparse.Namespace, tree: Path) -> dict[str, Any]:
    pools = make_pools(SEED)
    factory = StatementFactory(pools, SEED + 7)
    with fresh_lrs(tree) as lrs:
        await fill(lrs, factory, args.statements)
        await settle(lrs.db_pid)
        async with http_client(lrs.base_url, 1) as client:
            by_page: dict[int, list[float]] = defaultdict(list)
            sizes: dict[int, list[int]] = defaultdict(list)
            for _ in range(args.repeats):
                for verb in pools.verbs[: args.verbs]:
                    for page, (ms, returned) in enumerate(
                        await walk(client, verb["id"], args.pages, args.limit), start=1
                    ):
                        by_page[page].append(ms)
                        sizes[page].append(returned)
        rss = {"lrs": peak_rss_mib(lrs.lrs_pid), "db": peak_rss_mib(lrs.db_pid)}
    pages = {
        page: {**latency_summary(ms), "samples": len(ms), "min_returned": min(sizes[page])}
        for page, ms in sorted(by_page.items())
    }
    return {"pages": pages, "rss": rss}


def report(name: str, result: dict[str, Any]) -> None:
    print(f"{name}: peak RSS MiB {result['rss']}")
    print(f"  {'page':>5} {'n':>4} {'p50':>8} {'p95':>8} {'max':>8} {'returned':>8}")
    for page, p in result["pages"].items():
        if page in REPORTED_PAGES or page == max(result["pages"]):
            print(
                f"  {page:>5} {p['samples']:>4} {p['p50_ms']:>8} {p['p95_ms']:>8} "
                f"{p['max_ms']:>8} {p['min_returned']:>8}",
                flush=True,
            )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=250_000)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--verbs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="source tree of the code to compare with")
    parser.add_argument("--out", type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = {}
    for name, tree in variants(args.baseline):
        results[name] = asyncio.run(measure(args, tree))
        report(name, results[name])
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
