"""Console pages: server render time (p50/p95/p99) of every page over a large store.

    .venv/bin/python bench/console.py [--statements 250000] [--requests 50]
        [--catch-up-seconds 3600] [--rollups on|off] [--keep DIR] [--cache-size 3G]
        [--pages overview ...]

Starts a fresh embedded database and `lrs serve` with the analytics rollups on (so the
overview draws its outcome figures from them), fills it with `--statements` realistic
statements (bench/common.py, batches of 100 at concurrency 4), an HRIS file naming the
learners, and one export; waits until the rollups have caught up (at most
`--catch-up-seconds`, then measures anyway and reports the share counted); signs in through the
console's form; then GETs each page `--requests` times, one at a time (a render time, not a
throughput: nothing queues), and reports p50/p95/p99 per page against the 300 ms target.
The time is the client's, over a loopback connection: the server's render plus well under a
millisecond of transport.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pymongo
from common import StatementFactory, latency_summary, make_pools
from rollups import ADMIN_KEY, ADMIN_SECRET, caught_up, ingest, running_lrs
from variants import OPLOG_ARGS

from lrs.storage.embedded import EmbeddedDatabase

TARGET_MS = 300.0
DATABASE = "console"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def pages(pools: Any, export_id: str | None) -> dict[str, str]:
    learner = pools.learners[3]
    email = learner.get("mbox", "mailto:none@example.org").removeprefix("mailto:")
    activity = pools.activities[0]["id"]
    verb = pools.verbs[0]["id"]
    found = {
        "overview": "/console/",
        "statements": "/console/statements",
        "statements?verb": f"/console/statements?{httpx.QueryParams(verb=verb)}",
        "statements?activity": f"/console/statements?{httpx.QueryParams(activity=activity)}",
        "learners?q=email": f"/console/learners?{httpx.QueryParams(q=email)}",
        "learners?q=employee": "/console/learners?q=B3",
        "identities": "/console/identities",
        "exports": "/console/exports",
        "forwarders": "/console/forwarders",
        "credentials": "/console/credentials",
        "erasure": "/console/erasure",
        "audit": "/console/audit",
    }
    if export_id is not None:
        found["export"] = f"/console/exports/{export_id}"
    return found


async def sign_in(http: httpx.AsyncClient) -> None:
    form = await http.get("/console/login")
    token = CSRF.search(form.text)
    assert token is not None
    data = {"csrf": token.group(1), "key": ADMIN_KEY, "secret": ADMIN_SECRET}
    answer = await http.post("/console/login", data=data)
    if answer.status_code != 303:
        raise SystemExit(f"sign-in failed: {answer.status_code}")


async def seed_side_data(base: str, pools: Any, export: bool = True) -> str | None:
    """People for the HRIS (so learners resolve) and one finished export (unless not
    measured: it reads every statement of a verb)."""
    rows = ["employee_id,email,accounts"]
    for i, learner in enumerate(pools.learners):
        email = learner.get("mbox", "").removeprefix("mailto:")
        account = learner.get("account")
        accounts = f"{account['homePage']}|{account['name']}" if account else ""
        rows.append(f"B{i},{email},{accounts}")
    auth = (ADMIN_KEY, ADMIN_SECRET)
    async with httpx.AsyncClient(base_url=base, auth=auth, timeout=600) as http:
        people = await http.post(
            "/admin/identities",
            content="\n".join(rows).encode(),
            headers={"Content-Type": "text/csv"},
        )
        people.raise_for_status()
        if not export:
            return None
        body = {"format": "csv", "filters": f"verb={pools.verbs[0]['id']}", "settle_seconds": 0}
        started = await http.post("/admin/exports", json=body)
        started.raise_for_status()
        job_id = str(started.json()["id"])
        while (await http.get(f"/admin/exports/{job_id}")).json()["state"] == "running":
            await asyncio.sleep(0.5)
    return job_id


async def measure(base: str, paths: dict[str, str], requests: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        await sign_in(http)
        for name, path in paths.items():
            first = await http.get(path)  # warm: templates compiled, caches filled
            if first.status_code != 200:
                raise SystemExit(f"{name}: {first.status_code} {first.text[:200]}")
            latencies = []
            for _ in range(requests):
                began = time.perf_counter()
                answer = await http.get(path)
                latencies.append((time.perf_counter() - began) * 1000)
                answer.raise_for_status()
            summary = latency_summary(latencies)
            results[name] = {**summary, "under_target": summary["p95_ms"] < TARGET_MS}
            print(name, results[name], flush=True)
    return results


def stored_count(uri: str) -> int:
    with pymongo.MongoClient(uri) as client:
        return int(client[DATABASE]["statements"].estimated_document_count())


def rollups_counted(uri: str) -> float:
    """The share of the stored statements the rollups have counted so far."""
    with pymongo.MongoClient(uri) as client:
        db = client[DATABASE]
        cursor = (db["analytics_state"].find_one({"_id": "cursor"}) or {}).get("seq", 0)
        counted = db["statements"].count_documents({"seq": {"$lte": cursor}})
        return round(counted / max(stored_count(uri), 1), 3)


async def run(args: argparse.Namespace, uri: str, workdir: Path) -> dict[str, Any]:
    pools = make_pools(11)
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()}
    with running_lrs(uri, workdir, DATABASE, rollups=args.rollups == "on") as base:
        began = time.monotonic()
        missing = args.statements - stored_count(uri)  # a kept store fills up only the rest
        if missing >= 100:
            rate = await ingest(base, StatementFactory(pools, 5 + stored_count(uri)), missing)
            results["fill_statements_per_s"] = round(rate)
        results["stored_statements"] = stored_count(uri)
        results["rollups"] = args.rollups
        try:
            if args.rollups == "on":
                waited = await caught_up(
                    base, pools.activities[0]["id"], timeout=args.catch_up_seconds
                )
                results["catch_up_seconds_after_last_ack"] = round(waited, 2)
        except (SystemExit, httpx.TimeoutException):  # measured anyway, consumer still busy
            results["rollups_still_catching_up"] = True
        results["rollups_counted_share"] = rollups_counted(uri)
        wanted = set(args.pages or [])
        export_id = await seed_side_data(base, pools, export=not wanted or "export" in wanted)
        results["setup_seconds"] = round(time.monotonic() - began, 1)
        results["load_at_measure"] = os.getloadavg()
        paths = {k: v for k, v in pages(pools, export_id).items() if not wanted or k in wanted}
        results["pages"] = await measure(base, paths, args.requests)
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=250_000)
    parser.add_argument("--requests", type=int, default=50, help="per page")
    parser.add_argument(
        "--catch-up-seconds",
        type=float,
        default=3600,
        help="then measure anyway, with the rollup consumer still counting",
    )
    parser.add_argument(
        "--rollups",
        choices=["on", "off"],
        default="on",
        help="off: the overview falls back to its sample, no consumer competes for the CPU",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="a directory kept between runs: its store is reused and only topped up",
    )
    parser.add_argument(
        "--cache-size", default="1G", help="the database's cache (3G for 250,000 statements)"
    )
    parser.add_argument(
        "--pages", nargs="*", help="measure only these pages (e.g. overview); default: all"
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.keep is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lrs-bench-")))
        else:
            workdir = args.keep
        database = EmbeddedDatabase(
            workdir / "db", cache_size=args.cache_size, extra_args=OPLOG_ARGS
        )
        uri = database.start()
        try:
            results = asyncio.run(run(args, uri, workdir))
        finally:
            database.stop()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
