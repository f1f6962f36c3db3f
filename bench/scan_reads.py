"""What the sequence-scan readers cost the database per statement, projected and whole.

    .venv/bin/python bench/scan_reads.py [--statements 100000] [--rounds 3] [--page 20000]
        [--cache-size 2G] [--out bench/results/scan_reads.json]

The rollup consumer (`lrs.storage.analytics_source`) and forwarding's discovery and
reconciliation (`lrs.storage.statement_source`) read stored statements in `seq` order
through `lrs.storage.sequence_scan.scan`. This bench starts its own embedded database,
stores `--statements` statements as the write path builds them (`export.seed`), then
alternates, `--rounds` times, five reads of the whole store (`--only` picks some):

- `consumer, projected`: every statement (the `*` key) with the projection the consumer
  passed before it read whole documents (`CONSUMER_PROJECTION`);
- `consumer, whole`: the same without a projection, as it reads now;
- `forwarding, projected` / `forwarding, whole`: one verb's key (completed), with and without
  the projection forwarding passed before (`FORWARDING_PROJECTION`);
- `consumer, ranges of 2,000`: the store read as the rollup consumer (a rebuild) reads it,
  through `MongoAnalyticsSource.slice`, one call per range, each call a scan of its own
  (the `--page` does not apply: the range is the page).

`--page 500` reads with the scan's own page, as the readers do: each full slice's
successor is then as wide as the part of it that held the page, so the figures show what a
reader pays for a densely stored backlog, slices included (an older scan read every cut
slice again from its cut).

Each row gives the database's CPU per statement (from /proc, the daemon's process tree),
this process's CPU per statement (decoding), and the wall time; the median over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from common import cpu_seconds, report
from export import DATABASE, seed
from pymongo import AsyncMongoClient

from lrs.storage import statement_keys as keys
from lrs.storage.analytics_source import MongoAnalyticsSource
from lrs.storage.embedded import EmbeddedDatabase, pid_of
from lrs.storage.sequence_scan import scan

CONSUMER_PROJECTION = {"seq": 1, "raw": 1, "canon": 1, "ref": 1, "voiding": 1, "voided": 1}
FORWARDING_PROJECTION = {
    "_id": 1,
    "seq": 1,
    "raw": 1,
    "ref": 1,
    "voiding": 1,
    "voided": 1,
    "keys": 1,
    "canon.verb": 1,
}
COMPLETED = keys.FILTER_PREFIXES["verbs"] + "http://adlnet.gov/expapi/verbs/completed"
SHAPES: dict[str, tuple[str, Mapping[str, Any] | None]] = {
    "consumer, projected": (keys.ALL, CONSUMER_PROJECTION),
    "consumer, whole": (keys.ALL, None),
    "forwarding, projected": (COMPLETED, FORWARDING_PROJECTION),
    "forwarding, whole": (COMPLETED, None),
}


PAGE = 20_000
"""The default page: larger than any slice of the seeded store holds (its five-second first
slice holds about 5,000 statements, inserted faster than the API takes them), so the
default compares what one read costs per document, slices aside."""


async def scan_all(db: Any, key: str, projection: Mapping[str, Any] | None, page: int) -> int:
    rows = 0
    async for found in scan(db["statements"], key, 0, 2**63 - 1, projection, page=page):
        rows += len(found.docs)
    return rows


CONSUMER_RANGE = 2000
"""The rollup consumer's range (`analytics.service.Analytics`'s batch)."""


async def consumer_ranges(db: Any) -> int:
    """The store read as the rollup consumer reads it: one `MongoAnalyticsSource.slice`
    call per range of `CONSUMER_RANGE`, each call a scan of its own."""
    source, low, rows = MongoAnalyticsSource(db), 0, 0
    while batch := await source.slice(low, 2**63 - 1, CONSUMER_RANGE):
        rows += len(batch)
        low = batch[-1].seq + 1
    return rows


READERS = [*SHAPES, "consumer, ranges of 2,000"]


async def measure(args: argparse.Namespace, uri: str, pid: int) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        db = client[DATABASE]
        seeded = await seed(db, args.statements)
        names = args.only or READERS
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in names}
        for _ in range(args.rounds):
            for name in names:
                db_before, me_before = cpu_seconds(pid), time.process_time()
                started = time.perf_counter()
                if name in SHAPES:
                    rows = await scan_all(db, *SHAPES[name], args.page)
                else:
                    rows = await consumer_ranges(db)
                wall = time.perf_counter() - started
                samples[name].append(
                    {
                        "rows": rows,
                        "db_ms_per_statement": 1000 * (cpu_seconds(pid) - db_before) / rows,
                        "client_ms_per_statement": 1000 * (time.process_time() - me_before) / rows,
                        "wall_ms_per_statement": 1000 * wall / rows,
                    }
                )
        return {
            "statements": args.statements,
            "seed_seconds": round(seeded, 1),
            "rounds": args.rounds,
            "page": args.page,
            "median": {
                name: {
                    field: round(statistics.median(s[field] for s in rows), 4) for field in rows[0]
                }
                for name, rows in samples.items()
            },
            "all": samples,
        }
    finally:
        await client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page", type=int, default=PAGE, help="statements per slice read")
    parser.add_argument("--only", action="append", choices=READERS, help="readers to run")
    parser.add_argument("--cache-size", default="2G", help="the embedded database's cache")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lrs-bench-scan-") as tmp:
        work = Path(tmp)
        database = EmbeddedDatabase(
            str(work / "db"), cache_size=args.cache_size, log_path=work / "secantusd.log"
        )
        uri = database.start()
        try:
            pid = pid_of(database)
            assert pid is not None, "the embedded database is not running"
            result = asyncio.run(measure(args, uri, pid))
        finally:
            database.stop()
    report(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
