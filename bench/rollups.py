"""Aggregates from rollups (docs/analytics.md): ingest with rollups on vs off, side by side,
and the latency of every aggregate endpoint over a large store.

    .venv/bin/python bench/rollups.py [--statements 250000] [--ratio-statements 20000]
        [--keep DIR --database NAME] [--tree PATH] [--catch-up-seconds 3600] [--cache-size 3G]
        [--timestamps spread|now]

Starts a fresh embedded database (on a temporary directory) and `lrs serve` processes:

1. ratio: ingest `--ratio-statements` realistic statements (batches of 100, concurrency 4)
   into a fresh database with `LRS_ANALYTICS_ROLLUPS=false`, then into another with it on,
   alternating off/on `--rounds` times; reports statements/s of each and the on/off ratio (median of
   the pairs), and how long the consumer took to catch up after the last acknowledgement;
2. latency: fills one database to `--statements` with rollups on, waits until the rollups
   have caught up, imports an HRIS file for the learners, then drives each aggregate
   endpoint (summary, windowed summary, weekly and monthly series, groups by department,
   a learner's activities) at concurrency 16 with random activities and learners and
   reports p50/p95/p99.

`--keep DIR` keeps the database in DIR between runs (a kept store is only topped up to
`--statements`; `--database` names the database, e.g. `console` for bench/console.py's
store), and `--tree PATH` runs another checkout's LRS (the code before a change) against
it: two runs then measure before and after on the same statements, the second one's
catch-up being its rebuild when the rollups' layout changed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import http1
import httpx
import orjson
import pymongo
import variants
from common import CpuMeter, StatementFactory, drive, latency_summary, make_pools
from variants import ADMIN_KEY, ADMIN_SECRET, OPLOG_ARGS

from lrs.storage.embedded import EmbeddedDatabase, pid_of

BATCH = 100
POST_CONCURRENCY = 4
READ_CONCURRENCY = 16
ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def running_lrs(
    uri: str, workdir: Path, database: str, rollups: bool, tree: Path = ROOT
) -> Iterator[tuple[str, int]]:
    """This tree's (or `tree`'s) LRS on `database` of the shared server, rollups on or off:
    its base URL and its process id."""
    settings = {
        "LRS_ACCESS_LOG": "false",
        "LRS_ANALYTICS_ROLLUPS": "true" if rollups else "false",
    }
    with variants.running_lrs(tree, uri, workdir, settings, database) as (process, base):
        yield base, process.pid


def _client(base: str, connections: int, auth: tuple[str, str] = (ADMIN_KEY, ADMIN_SECRET)) -> Any:
    headers = {"X-Experience-API-Version": "2.0.0", "Content-Type": "application/json"}
    return http1.Client(base, auth=auth, headers=headers, connections=connections)


async def ingest(base: str, factory: StatementFactory, count: int) -> float:
    """Statements/s acknowledged, POSTing batches at concurrency 4."""
    bodies = (orjson.dumps(factory.batch(BATCH)) for _ in range(count // BATCH))

    async with _client(base, POST_CONCURRENCY) as client:

        async def post(body: bytes) -> int:
            response = await client.post("/xapi/statements", content=body)
            if response.status_code != 200:
                raise RuntimeError(f"POST {response.status_code}: {response.content[:200]!r}")
            return BATCH

        measured = await drive(
            bodies, post, concurrency=POST_CONCURRENCY, max_seconds=3600, grace_seconds=60
        )
    if measured.errors:
        raise SystemExit(f"ingest errors: {measured.first_error}")
    return measured.items / measured.elapsed


async def caught_up(base: str, activity: str, timeout: float = 600.0) -> float:
    """Seconds until the rollups' `through` passes the moment of the call."""
    started = time.time()
    wanted = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started))
    auth = (ADMIN_KEY, ADMIN_SECRET)
    async with httpx.AsyncClient(base_url=base, auth=auth, timeout=60) as client:
        while time.time() - started < timeout:
            try:
                summary = await client.get(
                    "/analytics/activities/summary", params={"activity": activity}
                )
            except httpx.TimeoutException:  # a loaded machine: ask again
                continue
            if summary.json()["through"] > wanted:
                return time.time() - started
            await asyncio.sleep(0.2)
    raise SystemExit("the rollups did not catch up")


def figures_made(uri: str, database: str, timeout: float = 3600.0) -> float:
    """Seconds until the consumer has made the series figures (`analytics.figures`), read
    from its state document: a store at rest has them. A tree whose rollup layout has none
    (before 9) has nothing to wait for."""
    started = time.monotonic()
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(uri) as client:
        states = client[database]["analytics_state"]
        while time.monotonic() - started < timeout:
            state = states.find_one({"_id": "cursor"}) or {}
            if state.get("layout", 0) < 9 or state.get("figured") == state.get("version"):
                return time.monotonic() - started
            time.sleep(0.5)
    raise SystemExit("the figures were not made")


def drop(uri: str, database: str) -> None:
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(uri) as client:
        client.drop_database(database)


def ratio_factory(pools: Any, seed: int, timestamps: str) -> StatementFactory:
    """`spread`: timestamps over 180 days, the consumer's worst case (a range of 2,000
    statements touches about 2,000 day documents); `now`: within the last minute, as live
    tools send them (a range touches about one day, week and month per activity)."""
    if timestamps == "now":
        now = datetime.now(UTC)
        return StatementFactory(pools, seed, epoch=now - timedelta(minutes=1), span_ms=60_000)
    return StatementFactory(pools, seed)


async def ratio(
    uri: str, workdir: Path, count: int, rounds: int, tree: Path = ROOT, timestamps: str = "spread"
) -> dict[str, Any]:
    rates: dict[str, list[float]] = {"off": [], "on": []}
    catch_up: list[float] = []
    figures: list[float] = []
    pools = make_pools(7)
    for round_ in range(rounds):
        for mode in ("off", "on"):
            database = f"ratio_{mode}_{round_}"
            drop(uri, database)  # a store kept with --keep still holds an earlier run's
            factory = ratio_factory(pools, round_, timestamps)
            with running_lrs(uri, workdir, database, rollups=mode == "on", tree=tree) as (base, _):
                rates[mode].append(await ingest(base, factory, count))
                if mode == "on":
                    catch_up.append(await caught_up(base, pools.activities[0]["id"]))
                    figures.append(figures_made(uri, database))
    pairs = [on / off for on, off in zip(rates["on"], rates["off"], strict=True)]
    return {
        "statements_per_run": count,
        "timestamps": timestamps,
        "off_statements_per_s": [round(r) for r in rates["off"]],
        "on_statements_per_s": [round(r) for r in rates["on"]],
        "on_over_off": round(statistics.median(pairs), 3),
        "on_over_off_per_pair": [round(p, 3) for p in pairs],
        "catch_up_seconds_after_last_ack": [round(s, 2) for s in catch_up],
        "figures_seconds_after_catch_up": [round(s, 2) for s in figures],
    }


def _draw(items: list[Any], rng: random.Random, repeat: bool) -> Iterator[Any]:
    """Items at random; with `repeat` False each once per pass (every question first seen)."""
    while True:
        if repeat:
            yield rng.choice(items)
        else:
            yield from rng.sample(items, len(items))


def _jobs(pools: Any, rng: random.Random, kind: str, repeat: bool = True) -> Iterator[str]:
    activities = _draw(pools.activities, rng, repeat)
    learners = _draw(pools.learners, rng, repeat)
    while True:
        activity = next(activities)["id"]
        if kind == "summary":
            yield "/analytics/activities/summary?" + str(httpx.QueryParams(activity=activity))
        elif kind == "summary-window":
            query = {"activity": activity, "since": "2025-02-01", "until": "2025-04-01"}
            yield "/analytics/activities/summary?" + str(httpx.QueryParams(query))
        elif kind == "summary-window-ragged":  # edge days and weeks around whole months
            query = {"activity": activity, "since": "2025-01-22", "until": "2025-04-16"}
            yield "/analytics/activities/summary?" + str(httpx.QueryParams(query))
        elif kind == "timeseries-day":
            query = {"activity": activity, "interval": "day", "since": "2025-03-01"}
            yield "/analytics/activities/timeseries?" + str(httpx.QueryParams(query))
        elif kind == "timeseries-week":
            query = {"activity": activity, "interval": "week"}
            yield "/analytics/activities/timeseries?" + str(httpx.QueryParams(query))
        elif kind == "timeseries-month":
            query = {"activity": activity, "interval": "month"}
            yield "/analytics/activities/timeseries?" + str(httpx.QueryParams(query))
        elif kind == "groups-department":
            query = {"activity": activity, "group_by": "department"}
            yield "/analytics/activities/groups?" + str(httpx.QueryParams(query))
        elif kind == "groups-window":
            query = {"activity": activity, "group_by": "department"}
            query |= {"since": "2025-01-22", "until": "2025-04-16"}
            yield "/analytics/activities/groups?" + str(httpx.QueryParams(query))
        else:
            learner = next(learners)
            agent = json.dumps({k: v for k, v in learner.items() if k in ("mbox", "account")})
            yield "/analytics/learners/activities?" + str(httpx.QueryParams(agent=agent))


DEPARTMENTS = ["Sales", "Ops", "Finance", "Legal", "R&D", "Support", "HR", "IT"]


async def import_people(base: str, pools: Any) -> None:
    """An HRIS file for the learners identified by e-mail (those by account stay unresolved,
    the `null` group), so `groups` joins real identity rows."""
    lines = ["employee_id,email,department,manager_id"]
    for i, learner in enumerate(pools.learners):
        if "mbox" in learner:
            email = learner["mbox"].removeprefix("mailto:")
            lines.append(f"E{i},{email},{DEPARTMENTS[i % len(DEPARTMENTS)]},M{i % 50}")
    async with httpx.AsyncClient(base_url=base, auth=(ADMIN_KEY, ADMIN_SECRET)) as client:
        response = await client.post(
            "/admin/identities",
            content="\n".join(lines).encode(),
            headers={"Content-Type": "text/csv"},
            timeout=300,
        )
    if response.status_code != 200:
        raise SystemExit(f"identity import {response.status_code}: {response.text[:200]}")


def stored_count(uri: str, database: str) -> int:
    with pymongo.MongoClient(uri) as client:
        return int(client[database]["statements"].estimated_document_count())


async def latency(
    uri: str, workdir: Path, args: argparse.Namespace, database_pid: int
) -> dict[str, Any]:
    pools = make_pools(11)
    with running_lrs(uri, workdir, args.database, rollups=True, tree=args.tree) as (base, pid):
        began = time.monotonic()
        missing = args.statements - stored_count(uri, args.database)
        results: dict[str, Any] = {"tree": str(args.tree)}
        if missing >= BATCH:
            factory = StatementFactory(pools, 3 + stored_count(uri, args.database))
            results["fill_statements_per_s"] = round(await ingest(base, factory, missing))
        waited = await caught_up(base, pools.activities[0]["id"], args.catch_up_seconds)
        results |= {
            "stored_statements": stored_count(uri, args.database),
            "catch_up_seconds_after_last_ack": round(waited, 2),
            "figures_seconds_after_catch_up": round(figures_made(uri, args.database), 2),
            "fill_and_catch_up_seconds": round(time.monotonic() - began, 1),
        }
        await import_people(base, pools)
        results["load_at_measure"] = os.getloadavg()
        kinds = (
            "summary",
            "summary-window",
            "summary-window-ragged",
            "timeseries-day",
            "timeseries-week",
            "timeseries-month",
            "groups-department",
            "groups-window",
            "learner",
        )
        kinds = tuple(k for k in kinds if not args.kinds or k in args.kinds)
        async with _client(base, READ_CONCURRENCY) as client:
            for kind in kinds:
                jobs = _jobs(pools, random.Random(kind), kind, repeat=not args.no_repeat)
                drawn = [next(jobs) for _ in range(args.requests + args.warmup)]
                paths = iter(drawn[: args.requests])

                async def get(path: str) -> int:
                    response = await client.request("GET", path)
                    if response.status_code != 200:
                        raise RuntimeError(
                            f"GET {response.status_code}: {response.content[:200]!r}"
                        )
                    return 1

                warm: dict[str, Any] = {}
                if args.warmup:  # questions outside the measured ones: none is asked twice
                    burst = iter(drawn[args.requests :])
                    first = await drive(burst, get, concurrency=READ_CONCURRENCY, max_seconds=60)
                    warm = {"warmup_max_ms": round(max(first.latencies_ms), 1)}
                meter = CpuMeter({"lrs": pid, "database": database_pid, "bench": os.getpid()})
                measured = await drive(paths, get, concurrency=READ_CONCURRENCY, max_seconds=600)
                used = meter.used()
                results[kind] = {
                    "requests": measured.requests,
                    "errors": measured.errors,
                    **latency_summary(measured.latencies_ms),
                    **warm,
                    "cpu_ms_per_request": {
                        name: round(1000 * seconds / max(1, measured.requests), 2)
                        for name, seconds in used.items()
                    },
                }
                print(kind, results[kind], flush=True)
    return results


async def run(
    args: argparse.Namespace, uri: str, workdir: Path, database_pid: int
) -> dict[str, Any]:
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_at_start": os.getloadavg()}
    if args.ratio_statements:
        results["ingest_rollups_on_vs_off"] = await ratio(
            uri, workdir, args.ratio_statements, args.rounds, args.tree, args.timestamps
        )
        print(json.dumps(results, indent=2), flush=True)
    if args.statements:
        results["aggregates"] = await latency(uri, workdir, args, database_pid)
    results["load_at_end"] = os.getloadavg()
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=250_000)
    parser.add_argument("--ratio-statements", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=1000, help="per endpoint")
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs of the ratio")
    parser.add_argument(
        "--timestamps",
        choices=("spread", "now"),
        default="spread",
        help="the ratio's statement timestamps: over 180 days (worst case) or near now",
    )
    parser.add_argument("--keep", type=Path, help="a directory whose store is reused")
    parser.add_argument("--database", default="latency", help="the latency run's database")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose LRS runs")
    parser.add_argument("--catch-up-seconds", type=float, default=3600)
    parser.add_argument("--kinds", nargs="*", help="measure only these endpoints")
    parser.add_argument(
        "--no-repeat",
        action="store_true",
        help="each activity (learner) once per pass: no question asked twice within"
        " --requests up to 475 (2,000), so no answer comes from a process's memory",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=0,
        help="per endpoint, this many requests at concurrency 16 before the measured ones,"
        " with questions drawn after them (with --no-repeat, none of the measured ones):"
        " the connections a new process opens and its identity table are then not in the"
        " measured latencies, and every measured answer is still computed afresh",
    )
    parser.add_argument(
        "--cache-size", default="1G", help="the database's cache (3G for 250,000 statements)"
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.keep is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="lrs-bench-analytics-"))
            workdir = Path(tmp)
        else:
            workdir = args.keep
        database = EmbeddedDatabase(
            str(workdir / "db"), cache_size=args.cache_size, extra_args=OPLOG_ARGS
        )
        uri = database.start()
        try:
            database_pid = pid_of(database)
            assert database_pid is not None  # started just above
            results = asyncio.run(run(args, uri, workdir, database_pid))
        finally:
            database.stop()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
