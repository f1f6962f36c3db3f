"""State and profile documents on a large store: GET, PUT with If-Match, POST merge.

    .venv/bin/python bench/documents.py [--agents 10000] [--activities 3] [--requests 1500]
        [--concurrency 8] [--rounds 2] [--baseline /path/to/an/older/tree] [--out FILE]

Each variant (see variants.py: `--baseline` is a checkout of the code to compare against)
gets a fresh embedded database and its own `lrs serve`.
The store is filled directly with PyMongo in the store's layout (one State document per
agent and activity, one Agent Profile per agent: 40,000 documents by default), then driven
over HTTP/1.1. Variants run interleaved (base, current, base, current, ...) because the
machine's cores are shared: the spread between rounds says how much to trust a difference.

Phases (p50/p95/p99, requests/s): GET one State document; PUT a State document with
`If-Match` (its current ETag); POST a JSON merge into an Agent Profile; GET the State ids
of an agent and activity `since` a time. Last, peak RSS (VmHWM) of the LRS and the database.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import http1
import orjson
from bson import Binary
from common import Measured, drive, latency_summary, peak_rss_mib, settle
from pymongo import AsyncMongoClient
from variants import ADMIN_KEY, ADMIN_SECRET, DATABASE, fresh_lrs, variants

from statements.index import agent_key

PHASE_SECONDS = 20.0
STARTED = datetime(2026, 1, 1, tzinfo=UTC)


def agent(i: int) -> dict[str, str]:
    return {"objectType": "Agent", "mbox": f"mailto:learner{i}@example.com"}


def activity(j: int) -> str:
    return f"http://example.com/course/{j}"


def content(i: int, j: int) -> bytes:
    return orjson.dumps({"bookmark": f"page-{i}-{j}", "progress": (i * 7 + j) % 100})


def etag(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()  # noqa: S324 - the ETag xAPI prescribes


def stored_documents(agents: int, activities: int) -> Iterator[dict[str, Any]]:
    """The documents the store would hold, in its layout (lrs.storage.mongo_documents)."""
    for i in range(agents):
        key = agent_key(agent(i))
        updated = STARTED + timedelta(milliseconds=i)
        for j in range(activities):
            body = content(i, j)
            yield document("state", activity(j), key, "resume", body, updated)
        yield document("agent_profile", None, key, "preferences", b"{}", updated)


def document(
    kind: str, activity_id: str | None, key: str | None, doc_id: str, body: bytes, at: datetime
) -> dict[str, Any]:
    return {
        "kind": kind,
        "activity": activity_id,
        "agent": key,
        "registration": None,
        "doc_id": doc_id,
        "content": Binary(body),
        "content_type": "application/json",
        "etag": etag(body),
        "updated": at,
        "rev": 1,
    }


async def fill(uri: str, agents: int, activities: int) -> int:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        collection = client[DATABASE]["documents"]
        batch: list[dict[str, Any]] = []
        count = 0
        for doc in stored_documents(agents, activities):
            batch.append(doc)
            if len(batch) == 1000:
                await collection.insert_many(batch)
                count, batch = count + len(batch), []
        if batch:
            await collection.insert_many(batch)
            count += len(batch)
        return count
    finally:
        await client.close()


# -- phases ---------------------------------------------------------------------------------


def state_target(i: int, j: int, **extra: str) -> str:
    params = {"activityId": activity(j), "agent": json.dumps(agent(i)), **extra}
    return f"/xapi/activities/state?{urlencode(params)}"


def profile_target(i: int) -> str:
    params = {"agent": json.dumps(agent(i)), "profileId": "preferences"}
    return f"/xapi/agents/profile?{urlencode(params)}"


def expect(response: http1.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")


async def phases(
    client: http1.Client, args: argparse.Namespace, rng: random.Random
) -> dict[str, Measured]:
    """Each phase touches random documents; each PUT a different one, whose ETag is known."""
    n, agents, activities = args.requests, args.agents, args.activities
    keys = [(i, j) for i in range(agents) for j in range(activities)]
    json_headers = {"Content-Type": "application/json"}
    since = (STARTED + timedelta(milliseconds=agents // 2)).isoformat()

    async def get(key: tuple[int, int]) -> int:
        expect(await client.request("GET", state_target(*key, stateId="resume")), 200)
        return 1

    async def put(key: tuple[int, int]) -> int:
        headers = {**json_headers, "If-Match": f'"{etag(content(*key))}"'}
        body = orjson.dumps({"bookmark": "next", "progress": 100})
        response = await client.request(
            "PUT", state_target(*key, stateId="resume"), content=body, headers=headers
        )
        expect(response, 204)
        return 1

    async def merge(i: int) -> int:
        body = orjson.dumps({f"k{rng.randrange(1000)}": True})
        response = await client.post(profile_target(i), content=body, headers=json_headers)
        expect(response, 204)
        return 1

    async def listing(key: tuple[int, int]) -> int:
        expect(await client.request("GET", state_target(*key, since=since)), 200)
        return 1

    jobs: dict[str, tuple[Iterator[Any], Any]] = {
        "GET state": (iter([rng.choice(keys) for _ in range(n)]), get),
        "PUT state If-Match": (iter(rng.sample(keys, min(n, len(keys)))), put),
        "POST merge profile": (iter([rng.randrange(agents) for _ in range(n)]), merge),
        "GET state ids since": (iter([rng.choice(keys) for _ in range(n)]), listing),
    }
    results = {}
    for name, (work, run) in jobs.items():
        results[name] = await drive(
            work, run, concurrency=args.concurrency, max_seconds=PHASE_SECONDS, probe_seconds=10
        )
    return results


async def run_variant(args: argparse.Namespace, name: str, tree: Path, seed: int) -> dict[str, Any]:
    with fresh_lrs(tree) as lrs:
        stored = await fill(lrs.uri, args.agents, args.activities)
        await settle(lrs.db_pid)
        client = http1.Client(
            lrs.base_url,
            auth=(ADMIN_KEY, ADMIN_SECRET),
            headers={"X-Experience-API-Version": "2.0.0"},
            connections=args.concurrency,
        )
        async with client:
            measured = await phases(client, args, random.Random(seed))
        rss = {"lrs": peak_rss_mib(lrs.lrs_pid), "db": peak_rss_mib(lrs.db_pid)}
    return {"variant": name, "documents": stored, "phases": summarize(measured), "rss_mib": rss}


def summarize(measured: dict[str, Measured]) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "requests": m.requests,
            "errors": m.errors,
            "first_error": m.first_error,
            "skipped": m.skipped,
            "requests_per_s": round(m.requests / m.elapsed, 1) if m.elapsed else None,
            **latency_summary(m.latencies_ms),
        }
        for name, m in measured.items()
    }


def print_result(round_no: int, result: dict[str, Any]) -> None:
    rss = result["rss_mib"]
    print(
        f"round {round_no} {result['variant']:<8} {result['documents']} documents, peak RSS "
        f"lrs {rss['lrs']} MiB, db {rss['db']} MiB",
        flush=True,
    )
    for name, p in result["phases"].items():
        if p["skipped"]:
            print(f"  {name:<22} skipped: {p['skipped']}")
            continue
        print(
            f"  {name:<22} {p['requests']:>6} req {p['errors']:>3} err {p['requests_per_s']:>8} "
            f"req/s  p50 {p['p50_ms']:>8} p95 {p['p95_ms']:>8} p99 {p['p99_ms']:>8} ms",
            flush=True,
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--activities", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1_500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline", type=Path, help="source tree of the code to compare with")
    parser.add_argument("--out", type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = []
    for round_no in range(1, args.rounds + 1):
        for name, tree in variants(args.baseline):
            result = asyncio.run(run_variant(args, name, tree, seed=round_no))
            print_result(round_no, result)
            results.append({"round": round_no, **result})
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
