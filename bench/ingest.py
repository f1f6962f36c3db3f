"""Ingestion and query benchmark of the LRS, and its ceiling.

    .venv/bin/python bench/ingest.py [--statements 100000] [--concurrency 16]
                                     [--out bench/results/ingest.json] [--profile-seconds 0]

Starts a fresh embedded database (on a temporary directory, as in production) and `lrs serve`
as a separate process on it, drives the xAPI endpoint over HTTP/1.1 keep-alive, then measures
the ceiling: the same kind of documents, written and read directly with PyMongo on the same
database server (database `bench_ceiling`, same indexes, same write concern). The client, the
LRS and the database share this machine's cores, so every number is for all three together.

Every phase has a count and a time cap. When the LRS cannot store `--statements` within the
fill phase's cap, the rest is inserted directly ("insert_many top-up", documents built by
the LRS's own write-path code) so that the reads run at the intended size; `--no-top-up`
turns that off. The `size` column is the statements in the database when a phase started.

Note on explain(): SecantusDB's explain does not model every access path its executor takes
(a multi-field filter is served by an index on one of its fields, in filter order, while
explain reports COLLSCAN), so each shape is also run once and timed (`run_ms`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Coroutine, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import http1
import httpx
import orjson
from common import (
    CpuMeter,
    Measured,
    Pools,
    StatementFactory,
    drive,
    latency_summary,
    make_pools,
    peak_rss_mib,
    settle,
)
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from lrs.auth.scopes import ALL, Credential
from lrs.ingest import _new_statement
from lrs.storage.embedded import (
    EmbeddedDatabase,
    _die_with_parent,
    free_port,
    pid_of,
    stop_process,
)
from lrs.storage.indexes import STATEMENT_INDEXES
from lrs.storage.mongo_statements import MongoStatementStore
from lrs.storage.protocols import NewStatement
from lrs.storage.sequence import SequenceClock
from statements.index import agent_key
from statements.types import StatementQuery

HOST = "127.0.0.1"
ADMIN_KEY = "bench-admin"
ADMIN_SECRET = "bench-admin-secret-0123456789"  # noqa: S105 - a throwaway local credential
DATABASE = "bench"
CEILING_DATABASE = "bench_ceiling"
BATCH = 100
PAGE = 10
PROJECTION = {"seq": 1, "raw": 1, "att": 1}
SHAPES = ("agent", "verb", "activity", "verb+activity")
SEED = 20250106
JSON_HEADERS = {"Content-Type": "application/json"}
PROBE = 10.0
"""A read phase whose first request, alone, takes longer than this is skipped."""

Doc = dict[str, Any]
Row = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Plan:
    """Counts and time caps of every phase (caps keep a default run under ~10 minutes)."""

    statements: int
    concurrency: int
    low_concurrency: int = 4
    """Filtered GETs again at this concurrency: latency when the cores are not saturated."""
    batch_concurrency: int = 4
    extra_batch_concurrency: tuple[int, ...] = (2, 8)
    extra_batch_statements: int = 10_000
    singles: int = 5_000
    gets: int = 5_000
    filtered: int = 1_000
    top_up: bool = True
    fill_seconds: float = 90.0
    extra_seconds: float = 15.0
    single_seconds: float = 30.0
    top_up_seconds: float = 60.0
    get_seconds: float = 20.0
    filtered_seconds: float = 12.0
    ceiling_fill_seconds: float = 60.0
    explain_max_ms: int = 10_000
    explain_seconds: float = 90.0
    profile_seconds: float = 0.0


# -- processes ------------------------------------------------------------------------------


@dataclasses.dataclass
class Lrs:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path


def _lrs_command() -> list[str]:
    beside = Path(sys.executable).parent / "lrs"
    if not beside.exists():
        raise SystemExit(f"{beside} not found: run `make bench` (it installs the package)")
    return [str(beside), "serve"]


def _wait_ready(lrs: Lrs, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=lrs.base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if lrs.process.poll() is not None:
                raise SystemExit(f"the LRS exited ({lrs.process.returncode}); see {lrs.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get("/readyz").status_code == 200:
                    return
            time.sleep(0.2)
    raise SystemExit(f"the LRS was not ready within {timeout:.0f}s; see {lrs.log_path}")


def _stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    stop_process(process, timeout)


@contextlib.contextmanager
def running_lrs(uri: str, workdir: Path) -> Iterator[Lrs]:
    port = free_port(HOST)
    env = {
        **os.environ,
        "LRS_HOST": HOST,
        "LRS_PORT": str(port),
        "LRS_MONGODB_URI": uri,
        "LRS_DATABASE": DATABASE,
        "LRS_ADMIN_KEY": ADMIN_KEY,
        "LRS_ADMIN_SECRET": ADMIN_SECRET,
        "LRS_DATA_DIR": str(workdir / "lrs-data"),
        "LRS_LOG_LEVEL": "warning",
    }
    log_path = workdir / "lrs.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            _lrs_command(),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C reaches us; we stop the LRS in order
            preexec_fn=_die_with_parent,
        )
    lrs = Lrs(process, f"http://{HOST}:{port}", log_path)
    try:
        _wait_ready(lrs)
        yield lrs
    finally:
        _stop(process)


# -- rows and results -----------------------------------------------------------------------


def row(name: str, target: str, concurrency: int, measured: Measured, cpu: dict[str, float]) -> Row:
    elapsed = measured.elapsed or float("nan")
    return {
        "phase": name,
        "target": target,
        "concurrency": concurrency,
        "requests": measured.requests,
        "statements": measured.items,
        "errors": measured.errors,
        "first_error": measured.first_error,
        "stopped_by_time_cap": measured.stopped_by_time,
        "seconds": round(measured.elapsed, 2),
        "requests_per_s": round(measured.requests / elapsed, 1),
        "statements_per_s": round(measured.items / elapsed, 1),
        **latency_summary(measured.latencies_ms),
        "cpu_seconds": cpu,
    }


class Recorder:
    """Runs phases, meters the CPU of each process, tracks each database's size, keeps and
    prints the rows."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.rows: list[Row] = []
        self.sizes: Counter[str] = Counter()
        self.peaks: dict[str, float] = {}
        """Peak RSS (VmHWM) seen so far, MiB: read after each phase, in case a process dies."""

    async def phase(
        self,
        name: str,
        target: str,
        concurrency: int,
        work: Awaitable[Measured],
        *,
        writes: bool = False,
    ) -> Row:
        """Await `work` (a coroutine not yet started) and record what it measured."""
        database = "ceiling" if target == "ceiling" else "lrs"
        meter = CpuMeter(self.pids)
        size = self.sizes[database]
        measured = await work
        result = {
            **row(name, target, concurrency, measured, meter.used()),
            "store_size": size,
            "skipped": measured.skipped,
            "cancelled": measured.cancelled,
            "settle_seconds": await settle(self.pids["db"]),
        }
        if writes:
            self.sizes[database] += measured.items
        for process in ("lrs", "db"):
            peak = peak_rss_mib(self.pids[process])
            if peak is not None:
                self.peaks[process] = max(peak, self.peaks.get(process, 0.0))
        self.rows.append(result)
        print(format_row(result), flush=True)
        return result


HEADER = (
    f"{'phase':<28} {'target':<8} {'size':>7} {'conc':>4} {'reqs':>6} {'stmts':>7} {'err':>3} "
    f"{'secs':>6} {'req/s':>8} {'stmt/s':>8} {'p50':>7} {'p95':>7} {'p99':>7}  "
    "cpu s lrs/db/client/others"
)


def format_row(r: Row) -> str:
    if r["skipped"]:
        return f"{r['phase']:<28} {r['target']:<8} {r['store_size']:>7}  skipped: {r['skipped']}"
    cpu = r["cpu_seconds"]
    cpus = "/".join(f"{cpu.get(k, 0):.1f}" for k in ("lrs", "db", "client", "others"))
    capped = "*" if r["stopped_by_time_cap"] else " "
    busy = f"  (db busy {r['settle_seconds']:.0f}s after)" if r["settle_seconds"] > 2 else ""
    return (
        f"{r['phase']:<28} {r['target']:<8} {r['store_size']:>7} {r['concurrency']:>4} "
        f"{r['requests']:>6} "
        f"{r['statements']:>7} {r['errors']:>3} {r['seconds']:>5.1f}{capped} "
        f"{r['requests_per_s']:>8.1f} {r['statements_per_s']:>8.1f} {r['p50_ms']:>7.1f} "
        f"{r['p95_ms']:>7.1f} {r['p99_ms']:>7.1f}  {cpus}{busy}"
    )


# -- LRS phases (HTTP) ----------------------------------------------------------------------


def _check(response: http1.Response) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")


def http_client(base_url: str, concurrency: int) -> http1.Client:
    """The load driver's client (see http1.py for why not httpx)."""
    return http1.Client(
        base_url,
        auth=(ADMIN_KEY, ADMIN_SECRET),
        headers={"X-Experience-API-Version": "2.0.0"},
        connections=concurrency,
    )


def statement_bodies(
    factory: StatementFactory, statements: int, per_request: int
) -> Iterator[bytes]:
    """Request bodies, made lazily (memory stays flat) and outside each request's timing."""
    for _ in range(-(-statements // per_request)):
        if per_request == 1:
            yield orjson.dumps(factory.statement())
        else:
            yield orjson.dumps(factory.batch(per_request))


async def post_statements(
    client: http1.Client,
    bodies: Iterator[bytes],
    stored: list[str],
    *,
    concurrency: int,
    max_seconds: float,
) -> Measured:
    async def run(body: bytes) -> int:
        response = await client.post("/xapi/statements", content=body, headers=JSON_HEADERS)
        _check(response)
        ids = orjson.loads(response.content)
        stored.extend(ids)
        return len(ids)

    return await drive(bodies, run, concurrency=concurrency, max_seconds=max_seconds)


async def get_by_id(
    client: http1.Client, ids: list[str], *, concurrency: int, max_seconds: float
) -> Measured:
    async def run(statement_id: str) -> int:
        response = await client.get("/xapi/statements", params={"statementId": statement_id})
        _check(response)
        return 1

    return await drive(
        iter(ids), run, concurrency=concurrency, max_seconds=max_seconds, probe_seconds=PROBE
    )


def query_params(pools: Pools, shape: str, rng: random.Random) -> dict[str, str]:
    params = {"limit": str(PAGE)}
    if shape == "agent":
        agent = rng.choice(pools.learners)
        ifi = {k: agent[k] for k in ("mbox", "account") if k in agent}
        params["agent"] = orjson.dumps({"objectType": "Agent", **ifi}).decode()
    if "verb" in shape:
        params["verb"] = rng.choice(pools.verbs)["id"]
    if "activity" in shape:
        params["activity"] = rng.choice(pools.activities)["id"]
    return params


async def filtered_gets(
    client: http1.Client,
    jobs: list[dict[str, str]],
    more_links: list[str],
    returned: Counter[int],
    *,
    concurrency: int,
    max_seconds: float,
) -> Measured:
    async def run(params: dict[str, str]) -> int:
        response = await client.get("/xapi/statements", params=params)
        _check(response)
        body = orjson.loads(response.content)
        returned[len(body["statements"])] += 1
        if body.get("more"):
            more_links.append(body["more"])
        return 1

    return await drive(
        iter(jobs), run, concurrency=concurrency, max_seconds=max_seconds, probe_seconds=PROBE
    )


async def follow_more(
    client: http1.Client, links: list[str], *, concurrency: int, max_seconds: float
) -> Measured:
    async def run(link: str) -> int:
        parts = urlsplit(link)  # `more` is a path; an absolute IRL is reduced to one
        response = await client.get(f"{parts.path}?{parts.query}" if parts.query else parts.path)
        _check(response)
        return 1

    return await drive(
        iter(links), run, concurrency=concurrency, max_seconds=max_seconds, probe_seconds=PROBE
    )


# -- ceiling phases (PyMongo, the same documents and queries) ---------------------------------


CLOCK = SequenceClock(node=250)
"""Sequence numbers for the documents the benchmark writes itself (the LRS has its own)."""


def new_statements(
    factory: StatementFactory, count: int, authority: Doc, clock: SequenceClock = CLOCK
) -> list[NewStatement]:
    """Statements prepared by the LRS's own write-path code, as the admin credential."""
    credential = Credential(ADMIN_KEY, frozenset({ALL}), authority, "admin")
    statements = factory.batch(count)
    return [
        _new_statement(s, seq, credential, "2.0.0")
        for s, seq in zip(statements, clock.take(count), strict=True)
    ]


def ceiling_documents(
    factory: StatementFactory, store: MongoStatementStore, count: int, authority: Doc
) -> list[Doc]:
    """Documents exactly as the LRS stores them (built by its own code)."""
    docs: list[Doc] = []
    while len(docs) < count:
        fresh = new_statements(factory, min(BATCH, count - len(docs)), authority)
        docs += store._documents(fresh, {})
    return docs


async def ceiling_insert(
    db: AsyncDatabase[Doc], docs: list[Doc], per: int, *, concurrency: int, max_seconds: float
) -> Measured:
    collection = db["statements"]
    batches = [docs[i : i + per] for i in range(0, len(docs), per)]

    async def run(batch: list[Doc]) -> int:
        if per == 1:
            await collection.insert_one(batch[0])
        else:
            await collection.insert_many(batch, ordered=False)
        return len(batch)

    return await drive(iter(batches), run, concurrency=concurrency, max_seconds=max_seconds)


async def ceiling_find_one(
    db: AsyncDatabase[Doc], ids: list[str], *, concurrency: int, max_seconds: float
) -> Measured:
    async def run(statement_id: str) -> int:
        found = await db["statements"].find_one({"_id": statement_id, "voided": False}, PROJECTION)
        if found is None:
            raise RuntimeError(f"no statement {statement_id}")
        return 1

    return await drive(
        iter(ids), run, concurrency=concurrency, max_seconds=max_seconds, probe_seconds=PROBE
    )


def statement_query(params: dict[str, str], after: int | None = None) -> StatementQuery:
    agent = agent_key(orjson.loads(params["agent"])) if "agent" in params else None
    return StatementQuery(
        agent=agent,
        verb=params.get("verb"),
        activity=params.get("activity"),
        limit=int(params["limit"]),
        after=after,
    )


def ceiling_filter(query: StatementQuery) -> Doc:
    """The filter the LRS's store matches on, without its paging windows, hints or anything
    else: the plain query a client of the database would send. Follows the store's layout
    (one `keys` array, or the older `idx` sub-document)."""
    if hasattr(MongoStatementStore, "_filter"):  # the `idx` layout
        match: Doc = MongoStatementStore._filter(query, None)
    else:
        from lrs.storage.statement_keys import query_keys

        required = query_keys(query, None)
        match = {"keys": required[0] if len(required) == 1 else {"$all": required}}
        match["voided"] = False
    if query.after is not None and "seq" not in match:
        match["seq"] = {"$lt": query.after}
    return match


async def ceiling_finds(
    db: AsyncDatabase[Doc],
    queries: list[StatementQuery],
    next_pages: list[StatementQuery],
    *,
    concurrency: int,
    max_seconds: float,
) -> Measured:
    async def run(query: StatementQuery) -> int:
        cursor = (
            db["statements"]
            .find(ceiling_filter(query), PROJECTION)
            .sort("seq", -1)
            .limit(query.limit + 1)
        )
        docs = await cursor.to_list()
        if len(docs) > query.limit:
            next_pages.append(dataclasses.replace(query, after=docs[query.limit - 1]["seq"]))
        return 1

    return await drive(
        iter(queries), run, concurrency=concurrency, max_seconds=max_seconds, probe_seconds=PROBE
    )


# -- explain: every find the LRS's store sends, captured, explained and timed ----------------

FIND_FIELDS = ("find", "filter", "projection", "sort", "hint", "limit", "skip")


class FindCapture(monitoring.CommandListener):
    """Records the `find` commands a client sends (exactly as the driver sends them)."""

    def __init__(self) -> None:
        self.finds: list[Doc] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            command = event.command
            self.finds.append({k: command[k] for k in FIND_FIELDS if k in command})

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def _plan_stages(plan: Any, stages: list[str], indexes: list[str]) -> None:
    if isinstance(plan, dict):
        if "stage" in plan:
            stages.append(str(plan["stage"]))
        if "indexName" in plan:
            indexes.append(str(plan["indexName"]))
        for key in ("inputStage", "queryPlan", "winningPlan"):
            _plan_stages(plan.get(key), stages, indexes)
        for child in plan.get("inputStages", ()):
            _plan_stages(child, stages, indexes)


def summarize_explain(explained: Doc) -> Doc:
    planner = explained.get("queryPlanner", {})
    stages: list[str] = []
    indexes: list[str] = []
    _plan_stages(planner.get("winningPlan"), stages, indexes)
    stats = explained.get("executionStats", {})
    return {
        "stages": stages,
        "indexes": indexes,
        "keys_examined": stats.get("totalKeysExamined"),
        "docs_examined": stats.get("totalDocsExamined"),
        "n_returned": stats.get("nReturned"),
        "explain_ms": stats.get("executionTimeMillis"),
    }


async def _timed_command(db: AsyncDatabase[Doc], command: Doc, max_ms: int) -> float | str:
    started = time.perf_counter()
    try:
        await db.command({**command, "maxTimeMS": max_ms})
    except Exception as error:  # noqa: BLE001 - reported as the result
        return f"{type(error).__name__}: {str(error)[:60]}"
    return round((time.perf_counter() - started) * 1000, 1)


async def explain_command(db: AsyncDatabase[Doc], find: Doc, max_ms: int) -> Doc:
    """explain(executionStats) of one captured find, and its wall time with and without
    its index hint (SecantusDB's explain does not model every path its executor takes)."""
    summary: Doc = {
        "filter": json.loads(json.dumps(find.get("filter"), default=str)),
        "hint": find.get("hint"),
        "limit": find.get("limit"),
    }
    try:
        explained = await db.command(
            {"explain": find, "verbosity": "executionStats", "maxTimeMS": max_ms}
        )
        summary.update(summarize_explain(explained))
    except Exception as error:  # noqa: BLE001 - reported as the result
        summary["error"] = f"{type(error).__name__}: {str(error)[:60]}"
    summary["run_ms"] = await _timed_command(db, find, max_ms)
    if "hint" in find:
        unhinted = {k: v for k, v in find.items() if k != "hint"}
        summary["run_ms_without_hint"] = await _timed_command(db, unhinted, max_ms)
    return summary


@dataclasses.dataclass
class ExplainBudget:
    call_seconds: float
    max_ms: int
    deadline: float


async def explain_shape(
    db: AsyncDatabase[Doc],
    capture: FindCapture,
    call: Coroutine[Any, Any, Any],
    budget: ExplainBudget,
) -> Doc:
    """Run one store call (capturing its finds), then explain the first few finds."""
    if time.monotonic() > budget.deadline:
        call.close()  # never awaited
        return {"skipped": "explain time budget used up"}
    capture.finds.clear()
    started = time.perf_counter()
    outcome: Doc = {}
    try:
        await asyncio.wait_for(call, budget.call_seconds)
        outcome["store_call_ms"] = round((time.perf_counter() - started) * 1000, 1)
    except TimeoutError:
        outcome["store_call_ms"] = f"over {budget.call_seconds:.0f}s (stopped)"
    finds = list(capture.finds)
    outcome["finds_sent"] = len(finds)
    # the first and the last find: paging windows grow, so the last one reads the most
    chosen = finds if len(finds) <= 2 else [finds[0], finds[-1]]
    outcome["explained"] = [await explain_command(db, find, budget.max_ms) for find in chosen]
    return outcome


async def explain_shapes(ctx: Context, uri: str) -> dict[str, Doc]:
    """Each query shape exactly as the LRS's store sends it, against the LRS's own database."""
    plan, rng = ctx.plan, ctx.rng
    capture = FindCapture()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(
        uri, w="majority", journal=True, event_listeners=[capture]
    )
    budget = ExplainBudget(15.0, plan.explain_max_ms, time.monotonic() + plan.explain_seconds)
    try:
        db = client[DATABASE]
        store = MongoStatementStore(db)
        middle = await db["statements"].find_one({"_id": rng.choice(ctx.stored)}, {"seq": 1})
        after = int(middle["seq"]) if middle else 0
        calls: dict[str, Coroutine[Any, Any, Any]] = {
            "statementId": store.get_statement(rng.choice(ctx.stored), voided=False)
        }
        for shape in SHAPES:
            query = statement_query(query_params(ctx.pools, shape, rng))
            calls[shape] = store.find_statements(query, authority_key=None)
        page2 = statement_query(query_params(ctx.pools, "verb", rng), after=after)
        calls["verb page 2 (after)"] = store.find_statements(page2, authority_key=None)
        calls["no filter"] = store.find_statements(StatementQuery(limit=PAGE), authority_key=None)
        for size in (1, BATCH):
            fresh = new_statements(ctx.factory, size, ctx.authority, SequenceClock(node=251))
            calls[f"write pre-check x{size}"] = store.insert_statements(fresh, [])
        return {
            name: await explain_shape(db, capture, call, budget) for name, call in calls.items()
        }
    finally:
        await asyncio.wait_for(client.close(), 10)


def format_explain(name: str, outcome: Doc) -> list[str]:
    if "skipped" in outcome:
        return [f"  {name:<22} skipped: {outcome['skipped']}"]
    lines = [
        f"  {name:<22} finds sent={outcome['finds_sent']} store call={outcome['store_call_ms']}ms"
    ]
    for find in outcome["explained"]:
        plan = " <- ".join(find.get("stages", [])) or find.get("error", "?")
        hinted = f" hint={find['hint']}" if find.get("hint") else ""
        without = (
            f" without hint={find['run_ms_without_hint']}ms"
            if "run_ms_without_hint" in find
            else ""
        )
        lines.append(
            f"    {plan} index={','.join(find.get('indexes', [])) or '-'}{hinted} "
            f"keys={find.get('keys_examined')} docs={find.get('docs_examined')} "
            f"run={find['run_ms']}ms{without}"
        )
    return lines


# -- profiling (optional, py-spy) -----------------------------------------------------------


def start_profiles(
    pids: dict[str, int], seconds: float, workdir: Path, label: str
) -> dict[str, tuple[subprocess.Popen[bytes], Path]]:
    spy = Path(sys.executable).parent / "py-spy"
    if seconds <= 0 or not spy.exists():
        return {}
    started = {}
    for name in ("lrs", "db"):
        out = workdir / f"profile-{label}-{name}.txt"
        argv = [str(spy), "record", "-p", str(pids[name]), "-d", str(int(seconds))]
        argv += ["-r", "50", "-f", "raw", "--gil", "-o", str(out)]  # GIL holders: Python CPU
        started[name] = (
            subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),  # noqa: S603
            out,
        )
    return started


def _frame_name(frame: str) -> str:
    function, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if parts else path
    return f"{function} ({short})"


def summarize_profile(path: Path, top: int = 12) -> Doc:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)]

    return {"samples": total, "self_pct": share(own), "inclusive_pct": share(inclusive)}


def finish_profiles(started: dict[str, tuple[subprocess.Popen[bytes], Path]]) -> dict[str, Doc]:
    results = {}
    for name, (process, out) in started.items():
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if out.exists():
            results[name] = summarize_profile(out)
        else:
            results[name] = {"error": f"py-spy wrote no profile (exit {process.returncode})"}
    return results


# -- the run --------------------------------------------------------------------------------


@dataclasses.dataclass
class Context:
    plan: Plan
    pools: Pools
    factory: StatementFactory
    rng: random.Random
    recorder: Recorder
    workdir: Path
    authority: Doc
    stored: list[str] = dataclasses.field(default_factory=list)
    more_links: list[str] = dataclasses.field(default_factory=list)
    profiles: dict[str, Doc] = dataclasses.field(default_factory=dict)


def lrs_authority(base_url: str) -> Doc:
    """The `authority` the LRS sets for the admin credential (see MongoCredentialStore)."""
    return {
        "objectType": "Agent",
        "name": "admin",
        "account": {"homePage": base_url, "name": ADMIN_KEY},
    }


async def post_phase(
    ctx: Context,
    client: http1.Client,
    name: str,
    *,
    statements: int,
    per_request: int,
    concurrency: int,
    max_seconds: float,
) -> None:
    bodies = statement_bodies(ctx.factory, statements, per_request)
    work = post_statements(
        client, bodies, ctx.stored, concurrency=concurrency, max_seconds=max_seconds
    )
    await ctx.recorder.phase(name, "lrs", concurrency, work, writes=True)


async def lrs_writes(ctx: Context, client: http1.Client) -> None:
    plan, pids = ctx.plan, ctx.recorder.pids
    spies = start_profiles(pids, plan.profile_seconds, ctx.workdir, "batch")
    await post_phase(
        ctx,
        client,
        f"POST batch x{BATCH} (fill)",
        statements=plan.statements,
        per_request=BATCH,
        concurrency=plan.batch_concurrency,
        max_seconds=plan.fill_seconds,
    )
    ctx.profiles["batch"] = finish_profiles(spies)
    for concurrency in plan.extra_batch_concurrency:
        await post_phase(
            ctx,
            client,
            f"POST batch x{BATCH}",
            statements=plan.extra_batch_statements,
            per_request=BATCH,
            concurrency=concurrency,
            max_seconds=plan.extra_seconds,
        )
    spies = start_profiles(pids, plan.profile_seconds, ctx.workdir, "single")
    await post_phase(
        ctx,
        client,
        "POST single statement",
        statements=plan.singles,
        per_request=1,
        concurrency=plan.concurrency,
        max_seconds=plan.single_seconds,
    )
    ctx.profiles["single"] = finish_profiles(spies)


async def top_up(ctx: Context, db: AsyncDatabase[Doc]) -> None:
    """When the LRS could not reach `--statements` within its time cap, add the missing
    documents directly (built by the LRS's own code), so that reads run at the intended size."""
    missing = ctx.plan.statements - ctx.recorder.sizes["lrs"]
    if missing <= 0 or not ctx.plan.top_up:
        return
    docs = ceiling_documents(ctx.factory, MongoStatementStore(db), missing, ctx.authority)
    work = ceiling_insert(
        db,
        docs,
        BATCH,
        concurrency=ctx.plan.batch_concurrency,
        max_seconds=ctx.plan.top_up_seconds,
    )
    done = await ctx.recorder.phase("insert_many top-up", "direct", 4, work, writes=True)
    ctx.stored += [d["_id"] for d in docs[: done["statements"]]]  # batches run in order


async def lrs_reads(ctx: Context, client: http1.Client) -> dict[str, Doc]:
    plan, rec, rng = ctx.plan, ctx.recorder, ctx.rng
    ids = [rng.choice(ctx.stored) for _ in range(plan.gets)]
    await rec.phase(
        "GET statementId",
        "lrs",
        plan.concurrency,
        get_by_id(client, ids, concurrency=plan.concurrency, max_seconds=plan.get_seconds),
    )
    page_sizes: dict[str, Doc] = {}
    for shape in SHAPES:
        jobs = [query_params(ctx.pools, shape, rng) for _ in range(plan.filtered)]
        returned: Counter[int] = Counter()
        await rec.phase(
            f"GET {shape}",
            "lrs",
            plan.concurrency,
            filtered_gets(
                client,
                jobs,
                ctx.more_links,
                returned,
                concurrency=plan.concurrency,
                max_seconds=plan.filtered_seconds,
            ),
        )
        page_sizes[shape] = page_size_summary(returned)
    for shape in SHAPES if plan.low_concurrency else ():
        jobs = [query_params(ctx.pools, shape, rng) for _ in range(plan.filtered)]
        await rec.phase(
            f"GET {shape}",
            "lrs",
            plan.low_concurrency,
            filtered_gets(
                client,
                jobs,
                [],
                Counter(),
                concurrency=plan.low_concurrency,
                max_seconds=plan.filtered_seconds,
            ),
        )
    links = rng.sample(ctx.more_links, min(plan.filtered, len(ctx.more_links)))
    await rec.phase(
        "GET page 2 (more link)",
        "lrs",
        plan.concurrency,
        follow_more(client, links, concurrency=plan.concurrency, max_seconds=plan.filtered_seconds),
    )
    return page_sizes


def page_size_summary(returned: Counter[int]) -> Doc:
    pages = sum(returned.values())
    full = returned.get(PAGE, 0)
    mean = sum(size * n for size, n in returned.items()) / pages if pages else 0.0
    return {"pages": pages, "full_pages": full, "mean_statements": round(mean, 2)}


async def ceiling(ctx: Context, db: AsyncDatabase[Doc]) -> None:
    plan, rec = ctx.plan, ctx.recorder
    await db.drop_collection("statements")
    await db["statements"].create_indexes(STATEMENT_INDEXES)
    store = MongoStatementStore(db)
    docs = ceiling_documents(ctx.factory, store, plan.statements, ctx.authority)
    await rec.phase(
        f"insert_many x{BATCH} (fill)",
        "ceiling",
        plan.batch_concurrency,
        ceiling_insert(
            db,
            docs,
            BATCH,
            concurrency=plan.batch_concurrency,
            max_seconds=plan.ceiling_fill_seconds,
        ),
        writes=True,
    )
    ids = [d["_id"] for d in docs[: rec.sizes["ceiling"]]]
    del docs
    singles = ceiling_documents(ctx.factory, store, plan.singles, ctx.authority)
    await rec.phase(
        "insert_one",
        "ceiling",
        plan.concurrency,
        ceiling_insert(
            db, singles, 1, concurrency=plan.concurrency, max_seconds=plan.single_seconds
        ),
        writes=True,
    )
    await ceiling_reads(ctx, db, ids)


async def ceiling_reads(ctx: Context, db: AsyncDatabase[Doc], ids: list[str]) -> None:
    plan, rec, rng = ctx.plan, ctx.recorder, ctx.rng
    picks = [rng.choice(ids) for _ in range(plan.gets)]
    await rec.phase(
        "find_one _id",
        "ceiling",
        plan.concurrency,
        ceiling_find_one(db, picks, concurrency=plan.concurrency, max_seconds=plan.get_seconds),
    )
    next_pages: list[StatementQuery] = []
    for shape in SHAPES:
        queries = [
            statement_query(query_params(ctx.pools, shape, rng)) for _ in range(plan.filtered)
        ]
        await rec.phase(
            f"find {shape}",
            "ceiling",
            plan.concurrency,
            ceiling_finds(
                db,
                queries,
                next_pages,
                concurrency=plan.concurrency,
                max_seconds=plan.filtered_seconds,
            ),
        )
    second = rng.sample(next_pages, min(plan.filtered, len(next_pages)))
    await rec.phase(
        "find page 2 (seq < after)",
        "ceiling",
        plan.concurrency,
        ceiling_finds(
            db, second, [], concurrency=plan.concurrency, max_seconds=plan.filtered_seconds
        ),
    )


def ratios(rows: list[Row]) -> dict[str, float | None]:
    def rate(phase: str, target: str) -> float | None:
        for r in rows:
            if r["phase"] == phase and r["target"] == target and r["statements_per_s"] > 0:
                return float(r["statements_per_s"])
        return None

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    pairs = {
        "batch_post_vs_insert_many": (
            f"POST batch x{BATCH} (fill)",
            f"insert_many x{BATCH} (fill)",
        ),
        "single_post_vs_insert_one": ("POST single statement", "insert_one"),
        "get_id_vs_find_one": ("GET statementId", "find_one _id"),
        **{f"get_{s}_vs_find": (f"GET {s}", f"find {s}") for s in SHAPES},
        "page2_vs_find_page2": ("GET page 2 (more link)", "find page 2 (seq < after)"),
    }
    return {name: ratio(rate(a, "lrs"), rate(b, "ceiling")) for name, (a, b) in pairs.items()}


def memory(recorder: Recorder) -> dict[str, float | None]:
    for process in ("lrs", "db"):  # once more at the end
        peak = peak_rss_mib(recorder.pids[process])
        if peak is not None:
            recorder.peaks[process] = max(peak, recorder.peaks.get(process, 0.0))
    client_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "lrs_peak_rss_mib": recorder.peaks.get("lrs"),
        "db_peak_rss_mib": recorder.peaks.get("db"),
        "client_peak_rss_mib": round(client_kib / 1024, 1),
    }


def lrs_health(lrs: Lrs) -> Doc:
    """Whether the LRS survived the run, and the end of its log."""
    code = lrs.process.poll()
    lines = lrs.log_path.read_text(errors="replace").splitlines() if lrs.log_path.exists() else []
    return {"exit_code": code, "alive": code is None, "log_tail": lines[-15:]}


async def run_all(plan: Plan, database: EmbeddedDatabase, lrs: Lrs, workdir: Path) -> Doc:
    db_pid = pid_of(database)
    assert db_pid is not None
    pids = {"lrs": lrs.process.pid, "db": db_pid, "client": os.getpid()}
    pools = make_pools(SEED)
    ctx = Context(
        plan,
        pools,
        StatementFactory(pools, SEED + 1),
        random.Random(SEED + 2),
        Recorder(pids),
        workdir,
        lrs_authority(lrs.base_url),
    )
    mongo: AsyncMongoClient[Doc] = AsyncMongoClient(
        database.uri, w="majority", journal=True, maxPoolSize=plan.concurrency + 4
    )
    print(HEADER, flush=True)
    try:
        lrs_db = mongo[DATABASE]
        async with http_client(lrs.base_url, plan.concurrency) as client:
            await lrs_writes(ctx, client)
            await top_up(ctx, lrs_db)
            page_sizes = await lrs_reads(ctx, client)
        stored_count = await lrs_db["statements"].count_documents({})
        await ceiling(ctx, mongo[CEILING_DATABASE])
        explained = await explain_shapes(ctx, database.uri)
    finally:
        await asyncio.wait_for(mongo.close(), 10)
    return {
        "phases": ctx.recorder.rows,
        "ratios": ratios(ctx.recorder.rows),
        "lrs_statements_stored": stored_count,
        "page_sizes": page_sizes,
        "explain": explained,
        "memory": memory(ctx.recorder),
        "lrs": lrs_health(lrs),
        "profiles": ctx.profiles,
    }


def machine() -> Doc:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "note": "client, LRS and database share these CPUs: every rate is for all three together",
    }


def print_report(results: Doc) -> None:
    print("\nratios (LRS / ceiling, statements or requests per second):")
    for name, value in results["ratios"].items():
        print(f"  {name:<32} {value}")
    topped = sum(r["statements"] for r in results["phases"] if r["target"] == "direct")
    print(
        f"\nLRS database holds {results['lrs_statements_stored']} statements "
        f"({topped} of them inserted directly by the top-up, not through the LRS)"
    )
    print("page sizes returned (limit=10):")
    for shape, sizes in results["page_sizes"].items():
        print(f"  {shape:<16} {sizes}")
    print("\nexplain (the LRS's own database, each shape as the LRS sends it):")
    for name, outcome in results["explain"].items():
        print("\n".join(format_explain(name, outcome)))
    print("\npeak RSS (VmHWM), MiB:", results["memory"])
    health = results["lrs"]
    if not health["alive"]:
        print(f"\nTHE LRS EXITED during the run (status {health['exit_code']}); its log ends:")
        print("\n".join("  " + line for line in health["log_tail"]))
    for label, by_process in results["profiles"].items():
        for process, summary in by_process.items():
            print(f"\nprofile {label} / {process}: {summary.get('samples', 0)} samples")
            for name, pct in summary.get("self_pct", [])[:10]:
                print(f"  self {pct:5.1f}%  {name}")
            for name, pct in summary.get("inclusive_pct", [])[:10]:
                print(f"  incl {pct:5.1f}%  {name}")
    print(f"\n{results['machine']['note']} ({results['machine']['cpus']} CPUs).")
    print("* = phase stopped by its time cap before its count.")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--low-concurrency",
        type=int,
        default=4,
        help="filtered GETs again at this concurrency (0: skip)",
    )
    parser.add_argument(
        "--requests", type=int, default=5_000, help="single POSTs, and GETs by statementId"
    )
    parser.add_argument("--queries", type=int, default=1_000, help="GETs per filtered shape")
    parser.add_argument(
        "--no-top-up",
        action="store_true",
        help="do not insert the statements the LRS could not store in its time cap directly",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/ingest.json"))
    parser.add_argument(
        "--profile-seconds",
        type=float,
        default=0.0,
        help="py-spy the LRS and the database for this long in the batch and single phases",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(
        statements=args.statements,
        concurrency=args.concurrency,
        low_concurrency=args.low_concurrency,
        singles=args.requests,
        gets=args.requests,
        filtered=args.queries,
        extra_batch_statements=min(10_000, args.statements),
        top_up=not args.no_top_up,
        profile_seconds=args.profile_seconds,
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lrs-bench-") as tmp:
        workdir = Path(tmp)
        database = EmbeddedDatabase(str(workdir / "db"), log_path=workdir / "secantusd.log")
        with database, running_lrs(database.uri, workdir) as lrs:
            results = asyncio.run(run_all(plan, database, lrs, workdir))
    results["machine"] = machine()
    results["plan"] = dataclasses.asdict(plan)
    results["total_seconds"] = round(time.monotonic() - started, 1)
    print_report(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"total {results['total_seconds']}s; results in {args.out}")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM: stop the LRS and the database as Ctrl-C does


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: the LRS and the database were stopped", file=sys.stderr)
        sys.exit(130)
