"""What a `more` page deep into a large result costs, against page 2.

    .venv/bin/python bench/deep_paging.py [--statements 250000] [--pages 50] [--limit 10]
        [--verbs 5] [--repeats 3] [--filters verb,agent,activity,window]
        [--baseline /path/to/an/older/tree] [--keep DIR] [--out FILE]

A fresh on-disk database (its oplog cap raised: see OPLOG_ARGS) and `lrs serve` per
variant (see variants.py); with `--keep DIR`,
one database in DIR kept between runs (filled once, topped up to `--statements`) that every
variant reads in turn, so a baseline and the current tree page through the same data. The
store gets a batch through the LRS (so it knows where the sequence starts), `--statements`
more inserted directly (documents built by the LRS's own write-path code, as `ingest.py`'s
top-up does, since the LRS would take minutes to store them), and a last batch through the
LRS (so it knows where the sequence ends). Then, per filter, `--verbs` queries (verb: 15 in
the pool, so one matches about a fifteenth of the store; agent: one of 2,000 learners;
activity: one of 475; window: no filter but `since`/`until` around the middle half of the
store), each a GET and up to `--pages - 1` `more` links after it, `--repeats` times.
Reported: latency by filter and page number (p50/p95/max) and how many statements each page
returned.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from common import Pools, StatementFactory, latency_summary, make_pools, peak_rss_mib, settle
from ingest import (
    BATCH,
    JSON_HEADERS,
    SEED,
    ceiling_documents,
    http_client,
    lrs_authority,
)
from pymongo import AsyncMongoClient
from variants import DATABASE, OPLOG_ARGS, Running, running_lrs, variants

from lrs.storage.embedded import EmbeddedDatabase, pid_of
from lrs.storage.mongo_statements import MongoStatementStore
from lrs.storage.sequence import ms_of, stored_string

REPORTED_PAGES = (1, 2, 5, 10, 25, 50, 100)
FILTERS = ("verb", "agent", "activity", "window")


async def stored_count(uri: str) -> int:
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        return int(await mongo[DATABASE]["statements"].estimated_document_count())
    finally:
        await mongo.close()


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


async def middle_half(uri: str) -> dict[str, str]:
    """`since`/`until` around the middle half of the stored statements (by count)."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        statements = mongo[DATABASE]["statements"]
        count = await statements.estimated_document_count()
        quartiles = []
        for skip in (count // 4, count * 3 // 4):
            cursor = statements.find({"keys": "*"}, {"seq": 1}).sort("seq", 1).skip(skip)
            quartiles.append(ms_of((await cursor.to_list(1))[0]["seq"]))
    finally:
        await mongo.close()
    return {"since": stored_string(quartiles[0]), "until": stored_string(quartiles[1])}


def queries(pools: Pools, kind: str, count: int, window: dict[str, str]) -> list[dict[str, str]]:
    if kind == "verb":
        return [{"verb": v["id"]} for v in pools.verbs[:count]]
    if kind == "agent":
        return [{"agent": orjson.dumps(a).decode()} for a in pools.learners[:count]]
    if kind == "activity":
        return [{"activity": a["id"]} for a in pools.activities[:count]]
    return [window] * count


async def walk(
    client: Any, params: dict[str, str], pages: int, limit: int
) -> list[tuple[float, int]]:
    """(ms, statements) per page: the first page, then its `more` links."""
    target = "/xapi/statements?" + urlencode({**params, "limit": str(limit)})
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


@contextlib.contextmanager
def lrs_on(
    tree: Path, keep: Path | None, cache_size: str, settings: dict[str, str] | None = None
) -> Iterator[Running]:
    """The tree's LRS (with `settings`) on the database kept in `keep` (made there on the
    first run), or on a new one in a temporary directory."""
    with contextlib.ExitStack() as stack:
        if keep is None:
            keep = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lrs-bench-")))
        keep.mkdir(parents=True, exist_ok=True)
        database = EmbeddedDatabase(
            str(keep / "db"),
            log_path=keep / "secantusd.log",
            cache_size=cache_size,
            extra_args=OPLOG_ARGS,
        )
        with database:
            db_pid = pid_of(database)
            assert db_pid is not None
            with running_lrs(tree, database.uri, keep, settings or {}) as (process, base_url):
                yield Running(database.uri, base_url, process.pid, db_pid, keep)


async def measure(args: argparse.Namespace, tree: Path) -> dict[str, Any]:
    pools = make_pools(SEED)
    with lrs_on(tree, args.keep, args.cache_size) as lrs:
        missing = args.statements - await stored_count(lrs.uri)
        if missing > BATCH:
            seed = SEED + 7 + (args.statements - missing)  # a top-up writes new ids
            await fill(lrs, StatementFactory(pools, seed), missing)
        await settle(lrs.db_pid)
        window = await middle_half(lrs.uri)
        results: dict[str, Any] = {"stored": await stored_count(lrs.uri), "window": window}
        async with http_client(lrs.base_url, 1) as client:
            for kind in args.filters:
                results[kind] = await walk_all(
                    client, args, queries(pools, kind, args.verbs, window)
                )
                report(kind, results[kind])
        results["rss"] = {"lrs": peak_rss_mib(lrs.lrs_pid), "db": peak_rss_mib(lrs.db_pid)}
    return results


async def walk_all(
    client: Any, args: argparse.Namespace, params: list[dict[str, str]]
) -> dict[int, dict[str, Any]]:
    by_page: dict[int, list[float]] = defaultdict(list)
    sizes: dict[int, list[int]] = defaultdict(list)
    for _ in range(args.repeats):
        for one in params:
            for page, (ms, returned) in enumerate(
                await walk(client, one, args.pages, args.limit), start=1
            ):
                by_page[page].append(ms)
                sizes[page].append(returned)
    return {
        page: {**latency_summary(ms), "samples": len(ms), "min_returned": min(sizes[page])}
        for page, ms in sorted(by_page.items())
    }


def report(name: str, pages: dict[int, dict[str, Any]]) -> None:
    print(f"  {name}:")
    print(f"  {'page':>5} {'n':>4} {'p50':>8} {'p95':>8} {'max':>8} {'returned':>8}")
    for page, p in pages.items():
        if page in REPORTED_PAGES or page == max(pages):
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
    parser.add_argument("--verbs", type=int, default=5, help="queries per filter")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--filters",
        type=lambda text: [f for f in text.split(",") if f],
        default=["verb"],
        help=f"comma-separated, of {','.join(FILTERS)}",
    )
    parser.add_argument("--baseline", type=Path, help="source tree of the code to compare with")
    parser.add_argument("--keep", type=Path, help="a database directory reused between runs")
    parser.add_argument(
        "--cache-size",
        default="3G",
        help="the database's cache: 250,000 statements and their oplog copies are about 2.5 GB "
        "on disk, and a fill whose working set outgrows the cache crawls (seen with 512M: "
        "stalled at 60,000 statements)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if unknown := set(args.filters) - set(FILTERS):
        parser.error(f"unknown filters: {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = {}
    for name, tree in variants(args.baseline):
        print(f"{name}:", flush=True)
        results[name] = asyncio.run(measure(args, tree))
        print(f"{name}: stored {results[name]['stored']}, peak RSS MiB {results[name]['rss']}")
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
