"""Console pages: server render time (p50/p95/p99) of every page over a large store.

    .venv/bin/python bench/console.py [--statements 250000] [--requests 50]

Starts a fresh embedded database and `lrs serve` with the analytics rollups on (so the
overview draws its outcome figures from them), fills it with `--statements` realistic
statements (bench/common.py, batches of 100 at concurrency 4), an HRIS file naming the
learners, and one export; waits until the rollups have caught up; signs in through the
console's form; then GETs each page `--requests` times, one at a time (a render time, not a
throughput: nothing queues), and reports p50/p95/p99 per page against the 300 ms target.
The time is the client's, over a loopback connection: the server's render plus well under a
millisecond of transport.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import StatementFactory, latency_summary, make_pools
from rollups import ADMIN_KEY, ADMIN_SECRET, caught_up, ingest, running_lrs

from lrs.storage.embedded import EmbeddedDatabase

TARGET_MS = 300.0
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


async def seed_side_data(base: str, pools: Any) -> str | None:
    """People for the HRIS (so learners resolve) and one finished export."""
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


async def run(args: argparse.Namespace, uri: str, workdir: Path) -> dict[str, Any]:
    pools = make_pools(11)
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()}
    with running_lrs(uri, workdir, "console", rollups=True) as base:
        began = time.monotonic()
        rate = await ingest(base, StatementFactory(pools, 5), args.statements)
        results["stored_statements"] = args.statements
        results["fill_statements_per_s"] = round(rate)
        results["catch_up_seconds_after_last_ack"] = round(
            await caught_up(base, pools.activities[0]["id"], timeout=3600), 2
        )
        export_id = await seed_side_data(base, pools)
        results["setup_seconds"] = round(time.monotonic() - began, 1)
        results["load_at_measure"] = os.getloadavg()
        results["pages"] = await measure(base, pages(pools, export_id), args.requests)
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=250_000)
    parser.add_argument("--requests", type=int, default=50, help="per page")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lrs-bench-console-") as tmp:
        workdir = Path(tmp)
        database = EmbeddedDatabase(workdir / "db", cache_size="1G")
        uri = database.start()
        try:
            results = asyncio.run(run(args, uri, workdir))
        finally:
            database.stop()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
