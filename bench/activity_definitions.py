"""What recording activity definitions at ingest costs (the Activities Resource's feed).

    .venv/bin/python bench/activity_definitions.py [--batches 200] [--batch-size 100]

Starts a fresh embedded database and the LRS services in-process and times
`lrs.ingest.store_statements` on batches of realistic statements whose activities carry
definitions (bench/common.py: 475 unit activities, all with definitions), in three runs:

- baseline: a `statements/write` credential, so no definition is recorded;
- steady:   an `all` credential on a warmed-up process: definitions repeat, the LRU cache
            skips them, so no database write is added;
- new-ids:  a `statements/write` credential on statements whose activity ids are all new
            (the baseline of the next run);
- cold:     an `all` credential where every statement carries a definition never seen
            (a fresh activity id each time): one bulk write of 100 upserts per batch,
            compared with new-ids.

Batches are sent one at a time, so the numbers are per-batch latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from common import StatementFactory, make_pools

from lrs.app import open_services
from lrs.auth.scopes import Credential
from lrs.ingest import store_statements
from lrs.services import Services
from lrs.settings import Settings
from lrs.storage.embedded import EmbeddedDatabase

AUTHORITY = {"objectType": "Agent", "mbox": "mailto:bench@example.org"}


def credential(*scopes: str) -> Credential:
    return Credential("bench", frozenset(scopes), AUTHORITY)


async def timed(services: Services, who: Credential, batch: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    await store_statements(services, who, "2.0.0", batch)
    return (time.perf_counter() - start) * 1000


def fresh_activities(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for statement in batch:
        activity = dict(statement["object"])
        activity["id"] = f"{activity['id']}/{uuid.uuid4()}"
        statement["object"] = activity
    return batch


def report(name: str, timings: list[float], baseline: float | None) -> float:
    median = statistics.median(timings)
    p90 = statistics.quantiles(timings, n=10)[-1]
    extra = "" if baseline is None else f"  overhead {median - baseline:+.2f} ms"
    extra += "" if baseline is None else f" ({(median / baseline - 1) * 100:+.1f} %)"
    print(f"{name:9} median {median:7.2f} ms  p90 {p90:7.2f} ms{extra}")
    return median


async def main(batches: int, size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database = EmbeddedDatabase(str(Path(tmp) / "db"), cache_size="256M")
        database.start()
        try:
            settings = Settings(database="bench_definitions", data_dir=Path(tmp))
            services = await open_services(settings, database.uri)
            await measure(services, StatementFactory(make_pools(7), seed=11), batches, size)
            await services.client.drop_database(settings.database)
            await services.client.close()
        finally:
            database.stop()


async def measure(services: Services, factory: StatementFactory, batches: int, size: int) -> None:
    """The four runs interleave batch by batch, so drift in the machine's load hits all."""
    writer, definer = credential("statements/write"), credential("all")
    for _ in range(batches):  # warm-up: the database, and the cache sees every activity
        await timed(services, definer, factory.batch(size))
    runs: dict[str, list[float]] = {"baseline": [], "steady": [], "new-ids": [], "cold": []}
    for _ in range(batches):
        runs["baseline"].append(await timed(services, writer, factory.batch(size)))
        runs["steady"].append(await timed(services, definer, factory.batch(size)))
        runs["new-ids"].append(await timed(services, writer, fresh_activities(factory.batch(size))))
        runs["cold"].append(await timed(services, definer, fresh_activities(factory.batch(size))))
    base = report("baseline", runs["baseline"], None)
    report("steady", runs["steady"], base)
    new_ids = report("new-ids", runs["new-ids"], None)
    report("cold", runs["cold"], new_ids)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.batches, args.batch_size)))
