"""Export throughput and memory, against a plain PyMongo cursor over the same documents.

    .venv/bin/python bench/export.py [--statements 250000] [--formats ndjson,csv,parquet]
        [--rounds 2] [--cache-size 2G] [--store DIR] [--out bench/results/export.json]

Starts its own embedded database (SecantusDB on a temporary directory, or in `--store`),
stores `--statements` realistic statements as the LRS's write path builds them (see
`seed`; a `--store` that already holds statements is read as it is, so runs of two
checkouts, one after the other, read the same documents), then, alternating, for
`--rounds` rounds:

- `plain cursor`: `find({}, {"raw": 1, "seq": 1})` with async PyMongo, every document
  iterated, nothing else: the rate the export is compared with;
- `plain cursor, whole documents`: `find({})`, the same without a projection, as the
  export reads (on SecantusDB a projection costs more than the bytes it saves; see
  `MongoStatementStore.scan_statements`): the stricter comparison;
- `export <format>`: `exports.run.run_export` in this process (settle 0), files on disk.

The best round of each is reported (the machine is shared), with the ratios export/plain
and export/whole documents.
Then `lrs export` runs once per format as a child process on the same database, and its
peak RSS (VmHWM, read from /proc while it runs) is reported: the bounded-memory check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import StatementFactory, make_pools, report
from pymongo import AsyncMongoClient

from exports.run import run_export
from exports.spec import build_spec
from lrs.auth.scopes import ALL, Credential
from lrs.ingest import _new_statement
from lrs.storage.embedded import EmbeddedDatabase
from lrs.storage.indexes import ensure_indexes
from lrs.storage.mongo_statements import MongoStatementStore
from lrs.storage.sequence import SequenceClock

BATCH = 1000
DATABASE = "bench"
AUTHORITY = {"objectType": "Agent", "mbox": "mailto:bench@example.com"}
PROJECTION = {"raw": 1, "seq": 1}


async def seed(db: Any, count: int) -> float:
    """Documents built by the LRS's own code (`_new_statement`, the store's `_documents`),
    inserted with `insert_many`, as bench/ingest.py's top-up does: the statements are
    exactly what the write path stores, without its per-batch lookups (this benchmark is
    about reading them)."""
    await ensure_indexes(db)
    store = MongoStatementStore(db)
    factory = StatementFactory(make_pools(7), seed=11)
    clock = SequenceClock(node=250)
    credential = Credential("bench", frozenset({ALL}), AUTHORITY, "bench")
    started = time.perf_counter()
    stored = 0
    while stored < count:
        size = min(BATCH, count - stored)
        prepared = [
            _new_statement(s, seq, credential, "2.0.0")
            for s, seq in zip(factory.batch(size), clock.take(size), strict=True)
        ]
        docs = store._documents(prepared, {})
        await store._note_first_seq(min(d["seq"] for d in docs))
        await db["statements"].insert_many(docs, ordered=False)
        stored += size
        if stored % 25_000 == 0:
            print(f"  seeded {stored:,}", file=sys.stderr, flush=True)
    await store._note_newest_seq(clock.next())
    return time.perf_counter() - started


async def plain_cursor(
    db: Any, projection: dict[str, int] | None = PROJECTION
) -> tuple[int, float]:
    started = time.perf_counter()
    rows = 0
    async for _doc in db["statements"].find({}, projection):
        rows += 1
    return rows, time.perf_counter() - started


async def export_once(db: Any, fmt: str, directory: Path) -> tuple[int, float, int]:
    spec = build_spec(fmt, settle_seconds=0)
    started = time.perf_counter()
    manifest = await run_export(spec, MongoStatementStore(db), directory, now=datetime.now(UTC))
    elapsed = time.perf_counter() - started
    return manifest.rows, elapsed, sum(f.bytes for f in manifest.files)


def vm_hwm_mib(pid: int) -> float | None:
    """The process's peak resident set so far (VmHWM), None once it has exited."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cli_peak_rss(uri: str, fmt: str, directory: Path) -> dict[str, Any]:
    """`lrs export` as a child process; its peak RSS read from /proc while it runs (the
    `ru_maxrss` of a forked child counts the parent's pages from before the exec)."""
    env = {**os.environ, "LRS_MONGODB_URI": uri, "LRS_DATABASE": DATABASE}
    command = [sys.executable, "-m", "lrs.cli", "export", "--format", fmt]
    command += ["--out", str(directory), "--settle", "0", "--quiet"]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE)  # noqa: S603 - our own CLI
    peak = 0.0
    while child.poll() is None:
        peak = max(peak, vm_hwm_mib(child.pid) or 0.0)
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    assert child.stdout is not None
    summary = json.loads(child.stdout.read())
    child.stdout.close()
    return {
        "format": fmt,
        "exit": child.returncode,
        "rows": summary["rows"],
        "seconds": round(elapsed, 2),
        "peak_rss_mib": round(peak, 1),
    }


async def measure(args: argparse.Namespace, uri: str, work: Path) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    db = client[DATABASE]
    kept = await db["statements"].estimated_document_count()
    if kept:
        seeded = 0.0
        print(f"reading the {kept:,} statements kept in {args.store}", file=sys.stderr)
    else:
        seeded = await seed(db, args.statements)
        print(f"seeded {args.statements:,} in {seeded:.1f} s", file=sys.stderr)
    formats = args.formats.split(",")
    best: dict[str, dict[str, Any]] = {}
    for round_ in range(args.rounds):
        rows, elapsed = await plain_cursor(db)
        _keep(best, "plain cursor", rows, elapsed)
        rows, elapsed = await plain_cursor(db, None)
        _keep(best, "plain cursor, whole documents", rows, elapsed)
        for fmt in formats:
            rows, elapsed, size = await export_once(db, fmt, work / f"{fmt}-{round_}")
            _keep(best, f"export {fmt}", rows, elapsed, bytes=size)
        print(f"round {round_ + 1}: {json.dumps(best)}", file=sys.stderr, flush=True)
    await client.close()
    plain = best["plain cursor"]["rate"]
    whole = best["plain cursor, whole documents"]["rate"]
    for result in best.values():
        result["ratio_to_plain"] = round(result["rate"] / plain, 3)
        result["ratio_to_whole"] = round(result["rate"] / whole, 3)
    rss = [cli_peak_rss(uri, fmt, work / f"cli-{fmt}") for fmt in formats]
    return {
        "statements": kept or args.statements,
        "seed_seconds": round(seeded, 1),
        "best": best,
        "cli": rss,
    }


def _keep(
    best: dict[str, dict[str, Any]], name: str, rows: int, elapsed: float, **extra: Any
) -> None:
    rate = rows / elapsed
    if name not in best or rate > best[name]["rate"]:
        best[name] = {"rows": rows, "seconds": round(elapsed, 2), "rate": round(rate), **extra}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--statements", type=int, default=250_000)
    parser.add_argument("--formats", default="ndjson,csv,parquet")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--cache-size", default="2G", help="the embedded database's cache")
    parser.add_argument(
        "--store", type=Path, help="keep the database here; seeded only while it is empty"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lrs-bench-export-") as tmp:
        work = Path(tmp)
        home = args.store or work
        database = EmbeddedDatabase(
            str(home / "db"), cache_size=args.cache_size, log_path=home / "secantusd.log"
        )
        uri = database.start()
        try:
            result = asyncio.run(measure(args, uri, work))
        finally:
            database.stop()
    report(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
