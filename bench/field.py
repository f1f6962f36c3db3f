"""Writes and reads against the field: this LRS, Ralph, and the database's own floor.

    .venv/bin/python bench/field.py [--ralph-python /tmp/ralph-venv/bin/python]
        [--rounds 2] [--batches 10000] [--singles 3000] [--gets 1000] [--out FILE]

Issue 16 part 5. Ralph (PyPI `ralph-malph` 5.1.0, its Mongo backend) is installed outside
the repository, in a venv of its own:

    python3 -m venv /tmp/ralph-venv
    /tmp/ralph-venv/bin/pip install 'ralph-malph[backend-mongo,lrs]==5.1.0' requests

(`requests`: Ralph's OIDC module imports it and its `lrs` extra does not install it.)

Each round runs three targets one after the other, each on a fresh embedded database
(SecantusDB, on disk, as in production), driven by the same load generator (`ingest.py`'s
`http1` client, `common.StatementFactory`, the same seed per round):

- `lrs`: `lrs serve` of this tree (`variants.fresh_lrs`);
- `ralph`: `uvicorn ralph.api:app` with `RALPH_RUNSERVER_BACKEND=mongo`, basic auth from an
  auth file, and indexes added by hand on the statement id, the verb and the actor (mbox,
  account name);
- `floor`: no API, `insert_many` of this LRS's own documents (built by its write-path code)
  into a collection with only the `_id` index, `w="majority", j=True` as the store writes.

Phases: `batch x100 c4` (`--batches` statements, batches of 100 at concurrency 4),
`single c16` (`--singles` one-statement POSTs at concurrency 16), then GET by id, by verb and
by agent (`limit=10`, concurrency 4, `--gets` each). The floor runs the batch phase only.
Rows carry statements/s, p50/p95/p99 and CPU seconds; each target closes with the peak RSS
(VmHWM) of its server and of the database. Ralph writes with the driver's default write
concern (`w=1`, no journal wait): that part of its lead is durability we keep.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import http1
import httpx
from common import StatementFactory, make_pools, peak_rss_mib
from ingest import (
    ADMIN_KEY,
    ADMIN_SECRET,
    BATCH,
    HEADER,
    SEED,
    Recorder,
    ceiling_documents,
    ceiling_insert,
    filtered_gets,
    get_by_id,
    http_client,
    lrs_authority,
    post_statements,
    query_params,
    statement_bodies,
)
from pymongo import ASCENDING, AsyncMongoClient, MongoClient
from variants import CURRENT, HOST, fresh_lrs, spawn

from lrs.storage.embedded import EmbeddedDatabase, free_port, pid_of, stop_process
from lrs.storage.mongo_statements import MongoStatementStore

PHASE_SECONDS = 40.0
RALPH_DATABASE = "statements"
RALPH_COLLECTION = "marsha"
RALPH_INDEXES = (
    "_source.id",
    "_source.verb.id",
    "_source.actor.mbox",
    "_source.actor.account.name",
)
"""By hand, as the issue's comparison did: Ralph creates no index of its own."""


class Target:
    """A running server (or none, for the floor) and the pids to meter."""

    def __init__(self, name: str, base_url: str, server_pid: int, db_pid: int) -> None:
        self.name, self.base_url, self.server_pid, self.db_pid = name, base_url, server_pid, db_pid

    def client(self, concurrency: int) -> http1.Client:
        client = http_client(self.base_url, concurrency)
        if self.name == "ralph":
            client.__class__ = RalphClient
        return client


class RalphClient(http1.Client):
    """Ralph serves the Statement Resource at `/xAPI/statements` (its router's spelling)."""

    async def request(
        self,
        method: str,
        target: str,
        *,
        content: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> http1.Response:
        if target.startswith("/xapi/"):
            target = "/xAPI/" + target[len("/xapi/") :]
        return await super().request(method, target, content=content, headers=headers)


@contextlib.contextmanager
def fresh_database(workdir: Path) -> Iterator[EmbeddedDatabase]:
    database = EmbeddedDatabase(str(workdir / "db"), log_path=workdir / "secantusd.log")
    with database:
        yield database


def _auth_file(python: str, path: Path) -> None:
    """Ralph's basic-auth file: one user with every scope, password hashed with bcrypt by
    Ralph's own interpreter (bcrypt is its dependency, not ours)."""
    hashed = subprocess.run(  # noqa: S603 - fixed argv
        [
            python,
            "-c",
            "import bcrypt,sys; print(bcrypt.hashpw(sys.argv[1].encode(), "
            "bcrypt.gensalt()).decode())",
            ADMIN_SECRET,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    user = {
        "agent": {"mbox": "mailto:bench-admin@example.org", "objectType": "Agent"},
        "scopes": ["all"],
        "hash": hashed,
        "username": ADMIN_KEY,
    }
    path.write_text(json.dumps([user]))


def _ralph_indexes(uri: str) -> None:
    with MongoClient(uri) as client:
        collection = client[RALPH_DATABASE][RALPH_COLLECTION]
        for field in RALPH_INDEXES:
            collection.create_index([(field, ASCENDING)])


@contextlib.contextmanager
def running_ralph(python: str) -> Iterator[Target]:
    with tempfile.TemporaryDirectory(prefix="ralph-bench-") as tmp:
        workdir = Path(tmp)
        with fresh_database(workdir) as database:
            _ralph_indexes(database.uri)
            _auth_file(python, workdir / "auth.json")
            port = free_port(HOST)
            env = {
                **os.environ,
                "RALPH_APP_DIR": str(workdir / "ralph"),
                "RALPH_AUTH_FILE": str(workdir / "auth.json"),
                "RALPH_RUNSERVER_BACKEND": "mongo",
                "RALPH_BACKENDS__LRS__MONGO__CONNECTION_URI": database.uri,
                "RALPH_BACKENDS__DATA__MONGO__CONNECTION_URI": database.uri,
                "RALPH_BACKENDS__LRS__MONGO__DEFAULT_DATABASE": RALPH_DATABASE,
                "RALPH_BACKENDS__LRS__MONGO__DEFAULT_COLLECTION": RALPH_COLLECTION,
            }
            env.pop("PYTHONPATH", None)
            command = [python, "-m", "uvicorn", "ralph.api:app", "--host", HOST]
            command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
            process = spawn(command, workdir, env, workdir / "ralph.log")
            base_url = f"http://{HOST}:{port}"
            try:
                _wait_heartbeat(process, base_url, workdir / "ralph.log")
                db_pid = pid_of(database)
                assert db_pid is not None
                yield Target("ralph", base_url, process.pid, db_pid)
            finally:
                stop_process(process)


def _wait_heartbeat(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"Ralph exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get("/__lbheartbeat__").status_code == 200:
                    return
            time.sleep(0.2)
    raise SystemExit("Ralph was not ready in time")


@contextlib.contextmanager
def running_lrs(name: str, tree: Path) -> Iterator[Target]:
    with fresh_lrs(tree) as lrs:
        yield Target(name, lrs.base_url, lrs.lrs_pid, lrs.db_pid)


async def http_phases(args: argparse.Namespace, target: Target, seed: int) -> dict[str, Any]:
    recorder = Recorder({"lrs": target.server_pid, "db": target.db_pid, "client": os.getpid()})
    factory = StatementFactory(make_pools(SEED), seed)
    stored: list[str] = []
    for name, count, per_request, concurrency in (
        (f"batch x{BATCH} c4", args.batches, BATCH, 4),
        ("single c16", args.singles, 1, 16),
    ):
        bodies = statement_bodies(factory, count, per_request)
        async with target.client(concurrency) as client:
            work = post_statements(
                client, bodies, stored, concurrency=concurrency, max_seconds=PHASE_SECONDS
            )
            await recorder.phase(name, target.name, concurrency, work, writes=True)
    rng = random.Random(seed)
    async with target.client(4) as client:
        ids = [rng.choice(stored) for _ in range(args.gets)]
        work = get_by_id(client, ids, concurrency=4, max_seconds=PHASE_SECONDS)
        await recorder.phase("GET id c4", target.name, 4, work)
        for shape in ("verb", "agent"):
            jobs = [query_params(factory.pools, shape, rng) for _ in range(args.gets)]
            work = filtered_gets(
                client, jobs, [], Counter(), concurrency=4, max_seconds=PHASE_SECONDS
            )
            await recorder.phase(f"GET {shape} c4", target.name, 4, work)
    return _result(recorder, target)


async def floor_phase(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """`insert_many` of the LRS's documents into an `_id`-only collection, journaled."""
    with tempfile.TemporaryDirectory(prefix="floor-bench-") as tmp:
        with fresh_database(Path(tmp)) as database:
            db_pid = pid_of(database)
            assert db_pid is not None
            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
                database.uri, w="majority", journal=True
            )
            try:
                db = client["floor"]
                factory = StatementFactory(make_pools(SEED), seed)
                authority = lrs_authority("http://127.0.0.1")
                docs = ceiling_documents(factory, MongoStatementStore(db), args.batches, authority)
                recorder = Recorder({"lrs": os.getpid(), "db": db_pid, "client": os.getpid()})
                work = ceiling_insert(db, docs, BATCH, concurrency=4, max_seconds=PHASE_SECONDS)
                await recorder.phase(f"batch x{BATCH} c4", "floor", 4, work, writes=True)
            finally:
                await client.close()
            return _result(recorder, Target("floor", "", os.getpid(), db_pid))


def _result(recorder: Recorder, target: Target) -> dict[str, Any]:
    rss = {"server": peak_rss_mib(target.server_pid), "db": peak_rss_mib(target.db_pid)}
    return {"rows": recorder.rows, "rss": rss}


def run_target(args: argparse.Namespace, name: str, seed: int) -> dict[str, Any]:
    if name == "floor":
        return asyncio.run(floor_phase(args, seed))
    if name == "ralph":
        starting = running_ralph(args.ralph_python)
    else:
        starting = running_lrs(name, args.baseline if name == "baseline" else CURRENT)
    with starting as target:
        return asyncio.run(http_phases(args, target, seed))


def _cpu_ms(row: dict[str, Any]) -> float:
    """CPU milliseconds the server and the database spent per statement (or request): the
    figure the shared cores disturb least."""
    cpu = row["cpu_seconds"]
    return 1000 * (cpu.get("lrs", 0.0) + cpu.get("db", 0.0)) / max(1, row["statements"])


def _ratios(mine: dict[str, dict[str, Any]], other: dict[str, dict[str, Any]]) -> None:
    for phase, row in mine.items():
        theirs = other.get(phase)
        if theirs is None:
            continue
        if phase.startswith("GET"):
            print(
                f"  {phase:<16} p50 {theirs['p50_ms'] / row['p50_ms']:.2f}x faster, "
                f"p95 {theirs['p95_ms'] / row['p95_ms']:.2f}x faster"
            )
        else:
            ratio = row["statements_per_s"] / theirs["statements_per_s"]
            print(
                f"  {phase:<16} statements/s {ratio:.2f}; server+db CPU ms/statement "
                f"{_cpu_ms(row):.2f} vs {_cpu_ms(theirs):.2f}"
            )


def summary(results: list[dict[str, Any]]) -> None:
    """Ratios of each round: lrs (and baseline) over ralph, lrs over baseline and floor."""
    by_round: dict[int, dict[str, dict[str, Any]]] = {}
    for result in results:
        rows = {r["phase"]: r for r in result["rows"]}
        by_round.setdefault(result["round"], {})[result["target"]] = rows
    for round_no, targets in by_round.items():
        for mine, other in (("lrs", "ralph"), ("baseline", "ralph"), ("lrs", "baseline")):
            if mine in targets and other in targets:
                print(f"\nround {round_no}: {mine} / {other}")
                _ratios(targets[mine], targets[other])
        if "lrs" in targets and "floor" in targets:
            print(f"\nround {round_no}: lrs / floor")
            _ratios(targets["lrs"], targets["floor"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ralph-python",
        default=os.environ.get("RALPH_PYTHON", "/tmp/ralph-venv/bin/python"),  # noqa: S108 - where the docstring installs it
    )
    parser.add_argument("--targets", default="lrs,ralph,floor")
    parser.add_argument(
        "--baseline", type=Path, help="an older source tree: adds the `baseline` target"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=3_000)
    parser.add_argument("--gets", type=int, default=1_000)
    parser.add_argument("--out", type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"load: {os.getloadavg()}", flush=True)
    results = []
    for round_no in range(1, args.rounds + 1):
        names = args.targets.split(",") + (["baseline"] if args.baseline else [])
        for name in names if round_no % 2 else names[::-1]:  # alternate the order
            print(f"\nround {round_no}: {name}\n{HEADER}", flush=True)
            result = run_target(args, name, seed=SEED + round_no)
            print(f"peak RSS MiB: {result['rss']}; load {os.getloadavg()}", flush=True)
            results.append({"round": round_no, "target": name, **result})
    summary(results)
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
