"""What listing a forwarder's events costs on a long history (the console's dead-letter
page, `GET /admin/forwarders/events`, the unmatched listing).

    .venv/bin/python bench/event_listings.py [--delivered 20000] [--rounds 2]
        [--baseline TREE] [--out bench/results/event_listings.json]

Starts its own embedded database (on a temporary directory), makes one forwarder created
31 days ago and fills it, spread over the 30 days since, with `--delivered` delivered
events (a rendered payload and one logged attempt each) plus 300 pending or failed, 200
dead (eight logged attempts each), 300 unmatched and 100 dropped, written straight to
`forwarder_events` in the queue's layout. Then, `--rounds` times, alternating with
`--baseline TREE` (a checkout of older code, e.g. `git archive main | tar -x -C
/tmp/base`) when given, a child process with `PYTHONPATH` set to the tree (this
interpreter and dependencies: only the project's code differs) runs each listing
`--calls` times through `JobStore`:

- `recent, every state`: the console's recent events (20, no state);
- `dead letters`: the console's dead letters (100, state dead);
- `delivered`: the admin API's default page of one state (100);
- `deep, every state` / `deep, delivered`: 20 events `before` the middle of the history;
- `unmatched`: the identities page (51) and its page after the middle of the history.

Per listing: the database's CPU milliseconds per call (its process tree, from /proc; the
mean over the calls) and the wall milliseconds per call (median).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import cpu_seconds, report
from pymongo import AsyncMongoClient

DATABASE = "bench_listings"
CURRENT = Path(__file__).resolve().parent.parent
DAYS = 30
OTHERS = {"pending": 150, "failed": 150, "dead": 200, "unmatched": 300, "dropped": 100}


def event_document(forwarder: str, n: int, state: str, created: datetime) -> dict[str, Any]:
    from forwarders.events import statement_event

    statement = {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "actor": {"mbox": f"mailto:learner{n % 500}@example.org", "name": "A Learner"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en": "done"}},
        "object": {"id": f"https://courses.example.org/unit/{n % 300}"},
        "result": {"score": {"scaled": 0.8}, "success": True, "completion": True},
        "timestamp": created.isoformat(),
    }
    event = statement_event(forwarder, statement)
    attempts = 8 if state == "dead" else 1
    log = [
        {"n": i + 1, "at": created, "status": 500, "latency_ms": 12.5, "outcome": "retry",
         "error": None, "excerpt": "Internal Server Error " * 20}
        for i in range(attempts)
    ]  # fmt: skip
    doc: dict[str, Any] = {
        "_id": event.id,
        "forwarder": forwarder,
        "statement": event.statement_id,
        "type": event.type,
        "event": event.as_dict(),
        "state": state,
        "attempts": attempts,
        "created": created,
        "updated": created,
        "reason": None,
    }
    if state != "unmatched" and state != "dropped":
        doc.update(payload={**event.as_dict(), "data": {"x": "y" * 400}}, ready=created, log=log)
    if state in ("pending", "failed"):
        doc["due"] = created + timedelta(minutes=5)
    if state == "delivered":
        doc.update(delivered_at=created, last_status=200)
    if state == "unmatched":
        doc["learner_keys"] = [event.learner.get("key", "")]
    return doc


async def fill(uri: str, delivered: int) -> dict[str, Any]:
    from forwarders.service import ForwarderService
    from lrs.storage.statement_source import MongoStatementSource

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        db = client[DATABASE]
        now = datetime.now(UTC).replace(microsecond=0)
        start = now - timedelta(days=DAYS + 1)
        service = ForwarderService(
            db, statements=MongoStatementSource(db), allow_private=True, clock=lambda: start
        )
        await service.ensure_indexes()
        made = await service.create_forwarder({"name": "bench", "url": "https://r.example.com"})
        forwarder = made.view.forwarder.id
        rng = random.Random(1)
        states = ["delivered"] * delivered + [s for s, n in OTHERS.items() for _ in range(n)]
        span = timedelta(days=DAYS).total_seconds()
        moments = sorted(now - timedelta(seconds=span * rng.random()) for _ in states)
        rng.shuffle(states)
        docs = [
            event_document(forwarder, n, s, m)
            for n, (s, m) in enumerate(zip(states, moments, strict=True))
        ]
        for start_at in range(0, len(docs), 1000):
            await db["forwarder_events"].insert_many(docs[start_at : start_at + 1000])
        middle = moments[len(moments) // 2]
        return {"forwarder": forwarder, "middle": middle.isoformat(), "events": len(docs)}
    finally:
        await client.close()


def calls(forwarder: str, middle: datetime) -> dict[str, tuple[str, dict[str, Any]]]:
    every = {"forwarder_id": forwarder, "state": None}
    return {
        "recent, every state": ("events", {**every, "limit": 20}),
        "dead letters": ("events", {**every, "state": "dead", "limit": 100}),
        "delivered": ("events", {**every, "state": "delivered", "limit": 100}),
        "deep, every state": ("events", {**every, "limit": 20, "before": middle}),
        "deep, delivered": ("events", {**every, "state": "delivered", "limit": 20,
                                       "before": middle}),
        "unmatched": ("unmatched", {"after": None}),
        "unmatched, deep": ("unmatched", {"after": (middle, "~")}),
    }  # fmt: skip


async def measure(uri: str, pid: int, forwarder: str, middle: datetime, n: int) -> dict[str, Any]:
    """Run in the child, on the tree on `PYTHONPATH`."""
    from forwarders.queue import JobStore

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        jobs = JobStore(client[DATABASE])
        results: dict[str, Any] = {}
        for name, (kind, kwargs) in calls(forwarder, middle).items():
            walls, rows = [], 0
            db_before = cpu_seconds(pid)
            for _ in range(n):
                started = time.perf_counter()
                if kind == "events":
                    found = await jobs.list_events(**kwargs)
                else:
                    found = await jobs.list_unmatched(forwarder, 51, kwargs["after"])
                walls.append(1000 * (time.perf_counter() - started))
                rows = len(found)
            results[name] = {
                "rows": rows,
                "db_ms": round(1000 * (cpu_seconds(pid) - db_before) / n, 2),
                "wall_ms": round(statistics.median(walls), 2),
            }
        return results
    finally:
        await client.close()


def run_child(tree: Path, args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(  # noqa: S603 - this interpreter on this script
        [sys.executable, __file__, "--child", *args],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delivered", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--calls", type=int, default=10, help="per listing and round")
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        uri, pid, forwarder, middle, n = args.child
        found = asyncio.run(
            measure(uri, int(pid), forwarder, datetime.fromisoformat(middle), int(n))
        )
        print(json.dumps(found))
        return 0
    from lrs.storage.embedded import EmbeddedDatabase, pid_of

    trees = [("current", CURRENT)]
    if args.baseline is not None:
        trees.insert(0, ("baseline", args.baseline.resolve()))
    with tempfile.TemporaryDirectory(prefix="lrs-bench-listings-") as tmp:
        database = EmbeddedDatabase(str(Path(tmp) / "db"), log_path=Path(tmp) / "secantusd.log")
        uri = database.start()
        try:
            pid = pid_of(database)
            assert pid is not None, "the embedded database is not running"
            filled = asyncio.run(fill(uri, args.delivered))
            child = [uri, str(pid), filled["forwarder"], filled["middle"], str(args.calls)]
            rounds = [
                {name: run_child(tree, child) for name, tree in trees} for _ in range(args.rounds)
            ]
        finally:
            database.stop()
    report({**filled, "calls": args.calls, "rounds": rounds}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
