"""Statement GETs under load, two trees alternated on one kept store: latency and CPU per request.

    .venv/bin/python bench/get_load.py --baseline /path/to/an/older/tree [--rounds 2]
        --keep DIR [--statements 100000] [--requests 1000] [--concurrency 16] [--out FILE]

The store is `deep_paging.py`'s (filled once through `--keep`, topped up to `--statements`),
and every variant reads the same data. Per round, each variant (baseline first, then this
tree) gets its own `lrs serve` on that store and runs, at `--concurrency`: GET by id, GET
filtered by verb, agent and activity (`limit=10`, random pool values), then the `more`
links those returned (page 2). Reported per phase: p50/p95/p99, requests/s, and the CPU
milliseconds per request of the LRS and of the database (the database's is the figure the
shared cores disturb least), with the machine's load average at the start of the phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from common import (
    CpuMeter,
    Measured,
    StatementFactory,
    drive,
    latency_summary,
    make_pools,
    settle,
)
from deep_paging import fill, lrs_on, stored_count
from ingest import BATCH, SEED, http_client
from pymongo import AsyncMongoClient
from variants import DATABASE, Running, variants

SHAPES = ("verb", "agent", "activity")
QUIET = {"LRS_ANALYTICS_ROLLUPS": "false", "LRS_ACCESS_LOG": "false"}
"""No rollup consumer (it would be catching up on the directly inserted store, on the
database's core) and no access log: what is left is the GETs."""


async def known_ids(uri: str, count: int, rng: random.Random) -> list[str]:
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        found = mongo[DATABASE]["statements"].find({}, {"_id": 1, "voided": 1, "voiding": 1})
        # a voided statement is a 404 by `statementId`, a voiding one is fine but rare
        ids = [d["_id"] async for d in found if not d.get("voided")]
    finally:
        await mongo.close()
    return [rng.choice(ids) for _ in range(count)]


def filter_jobs(shape: str, count: int, rng: random.Random) -> list[dict[str, str]]:
    pools = make_pools(SEED)
    jobs = []
    for _ in range(count):
        if shape == "verb":
            value = {"verb": rng.choice(pools.verbs)["id"]}
        elif shape == "agent":
            agent = rng.choice(pools.learners)
            ifi = {k: agent[k] for k in ("mbox", "account") if k in agent}
            value = {"agent": orjson.dumps({"objectType": "Agent", **ifi}).decode()}
        else:
            value = {"activity": rng.choice(pools.activities)["id"]}
        jobs.append({**value, "limit": "10"})
    return jobs


async def phase(
    lrs: Running, client: Any, targets: list[Any], concurrency: int, more: list[str]
) -> dict[str, Any]:
    async def run(target: Any) -> int:
        if isinstance(target, dict):
            response = await client.get("/xapi/statements", params=target)
        else:
            response = await client.get(target)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        if isinstance(target, dict) and "statementId" not in target:
            link = orjson.loads(response.content).get("more")
            if link:
                parts = urlsplit(link)
                more.append(f"{parts.path}?{parts.query}")
        return 1

    await settle(lrs.db_pid)
    load = os.getloadavg()[0]
    meter = CpuMeter({"lrs": lrs.lrs_pid, "db": lrs.db_pid, "client": os.getpid()})
    measured: Measured = await drive(iter(targets), run, concurrency=concurrency, max_seconds=120)
    cpu = meter.used()
    n = max(1, measured.requests)
    return {
        **latency_summary(measured.latencies_ms),
        "requests": measured.requests,
        "errors": measured.errors,
        "rps": round(measured.requests / measured.elapsed, 1) if measured.elapsed else None,
        "lrs_ms_per_req": round(cpu["lrs"] * 1000 / n, 2),
        "db_ms_per_req": round(cpu["db"] * 1000 / n, 2),
        "others_s": cpu["others"],
        "first_error": measured.first_error,
        "load": round(load, 2),
    }


async def measure(args: argparse.Namespace, tree: Path, round_no: int) -> dict[str, Any]:
    rng = random.Random(SEED + round_no)
    with lrs_on(tree, args.keep, args.cache_size, QUIET) as lrs:
        missing = args.statements - await stored_count(lrs.uri)
        if missing > BATCH:
            await fill(lrs, StatementFactory(make_pools(SEED), SEED + 7), missing)
        ids = await known_ids(lrs.uri, args.requests, rng)
        results: dict[str, Any] = {}
        more: list[str] = []
        async with http_client(lrs.base_url, args.concurrency) as client:
            # warm the LRS's density estimates and the database cache alike for both trees
            for job in filter_jobs("verb", 30, random.Random(1)):
                await client.get("/xapi/statements", params=job)
            targets: dict[str, list[Any]] = {
                "id": [{"statementId": i} for i in ids],
                **{s: filter_jobs(s, args.requests, rng) for s in SHAPES},
            }
            for name, jobs in targets.items():
                results[name] = await phase(lrs, client, jobs, args.concurrency, more)
                print(f"    {name:<9} {results[name]}", flush=True)
            results["page 2"] = await phase(
                lrs, client, more[: args.requests], args.concurrency, []
            )
            print(f"    {'page 2':<9} {results['page 2']}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1_000, help="per phase")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--keep", type=Path, required=True, help="the store, kept between runs")
    parser.add_argument("--cache-size", default="3G")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results: dict[str, list[Any]] = {}
    for round_no in range(args.rounds):
        for name, tree in variants(args.baseline):
            print(f"round {round_no + 1}, {name}:", flush=True)
            results.setdefault(name, []).append(asyncio.run(measure(args, tree, round_no)))
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
