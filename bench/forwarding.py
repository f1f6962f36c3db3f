"""Forwarding benchmark: end-to-end latency, sustained events/s, and the ingest cost.

    .venv/bin/python bench/forwarding.py [--latency 300] [--burst 3000] [--ingest 5000]
                                         [--db-commands] [--in-process] [--baseline TREE]
                                         [--out bench/results/forwarding.json]

Starts its own embedded database (on a temporary directory), a webhook receiver (a separate
process on loopback: `/ok` answers 200, `/flaky` answers 500 to 20 % of requests), `lrs
serve` and a forwarder worker (`python -m lrs.cli.worker`), each a separate process, and
stops them all at the end.

Phases:
- fresh-store pairs (`--rounds`, alternating): ingest without forwarding on a fresh store,
  then ingest with a worker, a live receiver and a forwarder on the default verbs on another
  fresh store; `fresh_ingest_on_over_off` is the ratio of the mean rates (`--only ingest`
  runs just these);
- ingest, forwarding off: batches of 100 realistic statements (15 verbs), concurrency 4,
  no forwarder and no worker;
- ingest, forwarding on: the same with a worker running and a forwarder taking the default
  verbs (completed, passed: 2 of the 15 verbs), followed by the time the worker took to
  drain its backlog;
- latency: single completed statements POSTed at concurrency 2; latency is from the start of
  the POST to the receiver's first 2xx receipt (wall clocks of one machine); `first_try`
  is the same over the events whose first request succeeded;
- burst: completed statements in batches of 100 as fast as the API takes them; events/s is
  deliveries over the time from the first POST to the last receipt;
- the last two again with the 20 %-failing receiver. The worker runs with the retry
  schedule 1s,2s,4s,8s,16s,32s,64s (the default starts at 5 s, so its p95 would simply be
  ~5 s: the schedule, not the engine);
- ingest with a forwarder taking every verb (every statement becomes an event: the worst
  case), after the latency phases so that its backlog does not delay them;
- ingest, forwarding off again: the worker stopped, on the now larger database, so that
  on/off are compared at a similar size.

`--baseline TREE` (`--only ingest` and `--only latency`) runs the same phases on the LRS and
worker of another checkout too (`python -m ... ` with `PYTHONPATH` and the working directory
set to it, on this interpreter: only the project's code differs, as in `bench/variants.py`),
the two alternating round by round; its rows are under `baseline`.

`--in-process` (fresh-store pairs) runs the "on" side's worker inside the LRS process
(`LRS_FORWARDER_IN_PROCESS`, `lrs serve`'s default on the embedded database) instead of as
a process of its own; its CPU is then the LRS's.

`--db-commands` (fresh-store pairs) adds to each ingest row the database's CPU per command
and collection (`db_commands`, counted inside the database by `bench/dbcommands`), and to
each "on" row the forwarding collections' commands and CPU per event: where the extra
database time of forwarding goes, which the process's CPU alone cannot say. The counts until
the backlog drained leave out the bench's own polling (`drain` counts the events with
`count_documents`, an `aggregate` on `forwarder_events`, every 0.2 s: about 20 ms of database
CPU each once there are 500 events, which this figure used to include).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from common import (
    CpuMeter,
    StatementFactory,
    drive,
    latency_summary,
    make_pools,
    peak_rss_mib,
    report,
)
from pymongo import AsyncMongoClient

from forwarders.service import ForwarderService
from lrs.storage.embedded import EmbeddedDatabase, _die_with_parent, free_port, pid_of
from lrs.storage.statement_source import MongoStatementSource

HOST = "127.0.0.1"
DATABASE = "bench_forwarding"
ADMIN = ("bench-admin", "bench-admin-secret-0123456789")
ADL = "http://adlnet.gov/expapi/verbs/"
SEED = 20250106
CURRENT = Path(__file__).resolve().parent.parent
BENCH_OWN = ("aggregate:forwarder_events",)
"""Commands the bench itself sends while a backlog drains (`drain`), not forwarding's."""
FAST_RETRIES = "1s,2s,4s,8s,16s,32s,64s"
Row = dict[str, Any]


# -- the receiver (a separate process) ------------------------------------------------------


def receiver_app(fail_rate: float) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    first: dict[str, float] = {}
    tries: dict[str, int] = {}
    first_try: set[str] = set()
    counts = {"requests": 0, "failed": 0}
    rng = random.Random(SEED)

    async def hook(request: Request) -> Response:
        body = await request.json()
        counts["requests"] += 1
        statement_id = body["data"]["statement_id"]
        tries[statement_id] = tries.get(statement_id, 0) + 1
        if request.path_params["name"] == "flaky" and rng.random() < fail_rate:
            counts["failed"] += 1
            return Response("try again", 500)
        if statement_id not in first:
            first[statement_id] = time.time()
            if tries[statement_id] == 1:
                first_try.add(statement_id)
        return Response(status_code=204)

    async def stats(request: Request) -> Response:
        return JSONResponse({"first": first, "first_try": sorted(first_try), **counts})

    async def reset(request: Request) -> Response:
        first.clear()
        tries.clear()
        first_try.clear()
        counts.update(requests=0, failed=0)
        return Response(status_code=204)

    routes = [
        Route("/hook/{name}", hook, methods=["POST"]),
        Route("/stats", stats),
        Route("/reset", reset, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def run_receiver(port: int, fail_rate: float) -> None:
    import uvicorn

    uvicorn.run(
        receiver_app(fail_rate), host=HOST, port=port, log_level="warning", http="httptools"
    )


# -- processes ------------------------------------------------------------------------------


def spawn(
    args: list[str], env: dict[str, str], log: Path, tree: Path = CURRENT
) -> subprocess.Popen[bytes]:
    """Our interpreter running `args` with `tree`'s code (first on the path, and the
    working directory, as `python -m` puts it first)."""
    path = os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter, fixed argv
            [sys.executable, *args],
            cwd=tree,
            env={**os.environ, **env, "PYTHONPATH": path},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code < 500:
                    return
            await asyncio.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f}s")


class DbCommands:
    """The database's CPU per command and collection (`--db-commands`: the hook in
    `bench/dbcommands` runs inside the database process), read around a phase."""

    HOOK = Path(__file__).resolve().parent / "dbcommands"

    def __init__(self, workdir: Path) -> None:
        self.path = workdir / "db-commands.json"

    def environ(self) -> dict[str, str]:
        """What the database process is started with: the hook on its path."""
        path = os.pathsep.join(filter(None, [str(self.HOOK), os.environ.get("PYTHONPATH")]))
        return {"PYTHONPATH": path, "BENCH_DB_COMMANDS": str(self.path)}

    async def _signal(self, suffix: str) -> None:
        flag = Path(f"{self.path}{suffix}")
        flag.touch()
        deadline = time.monotonic() + 10
        while flag.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def reset(self) -> None:
        await self._signal(".reset")

    async def read(self) -> Row:
        """The counts since the last reset: per `command:collection`, and per family of
        collections (the forwarding ones, the analytics rollups, the statements)."""
        await self._signal(".dump")
        found: Row = json.loads(self.path.read_text())
        commands: dict[str, Row] = found["commands"]
        families: dict[str, dict[str, float]] = {}
        for key, entry in commands.items():
            collection = key.partition(":")[2]
            family = next(
                (f for f in ("forwarder", "analytics", "statements") if collection.startswith(f)),
                "other",
            )
            total = families.setdefault(family, {"commands": 0, "cpu_s": 0.0})
            total["commands"] += entry["n"]
            total["cpu_s"] = round(total["cpu_s"] + entry["cpu_s"], 4)
        ranked = sorted(commands.items(), key=lambda item: -float(item[1]["cpu_s"]))
        return {
            "by_family": families,
            "commands": dict(ranked),
            "write_conflicts": found["write_conflicts"],
        }


class Stack:
    """The database, receiver, LRS and worker processes of one run."""

    def __init__(
        self,
        workdir: Path,
        *,
        db_commands: bool = False,
        tree: Path = CURRENT,
        in_process: bool = False,
    ) -> None:
        self.workdir = workdir
        self.tree = tree
        self.in_process = in_process
        """The worker runs inside the LRS process (`lrs serve`'s default on the embedded
        database) instead of as a process of its own."""
        self.db = EmbeddedDatabase(str(workdir / "db"), cache_size="512M")
        self.receiver_port, self.lrs_port = free_port(HOST), free_port(HOST)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.commands = DbCommands(workdir) if db_commands else None

    @property
    def env(self) -> dict[str, str]:
        return {
            "LRS_MONGODB_URI": self.db.uri,
            "LRS_DATABASE": DATABASE,
            "LRS_HOST": HOST,
            "LRS_PORT": str(self.lrs_port),
            "LRS_ADMIN_KEY": ADMIN[0],
            "LRS_ADMIN_SECRET": ADMIN[1],
            "LRS_DATA_DIR": str(self.workdir / "lrs-data"),
            "LRS_LOG_LEVEL": "warning",
            "LRS_FORWARDER_ALLOW_PRIVATE": "true",
            "LRS_FORWARDER_IN_PROCESS": "true" if self.in_process else "false",
        }

    async def start(self) -> None:
        if self.commands is None:
            self.db.start()
        else:  # the daemon inherits our environment: the hook for it alone
            saved = dict(os.environ)
            os.environ.update(self.commands.environ())
            try:
                self.db.start()
            finally:
                os.environ.clear()
                os.environ.update(saved)
        here = str(Path(__file__).resolve())
        self.processes["receiver"] = spawn(
            [here, "receiver", "--port", str(self.receiver_port)], {}, self.workdir / "rx.log"
        )
        self.processes["lrs"] = spawn(
            ["-m", "lrs.cli", "serve"], self.env, self.workdir / "lrs.log", self.tree
        )
        await wait_http(f"http://{HOST}:{self.receiver_port}/stats")
        await wait_http(f"http://{HOST}:{self.lrs_port}/readyz")

    def start_worker(self, **extra: str) -> None:
        if self.in_process:
            return  # it runs in the LRS process already
        self.stop_worker()
        log = self.workdir / "worker.log"
        self.processes["worker"] = spawn(
            ["-m", "lrs.cli.worker"], {**self.env, **extra}, log, self.tree
        )

    def stop_worker(self) -> None:
        worker = self.processes.pop("worker", None)
        if worker is not None:
            stop(worker)

    def pids(self) -> dict[str, int]:
        pids = {name: p.pid for name, p in self.processes.items()}
        db_pid = pid_of(self.db)
        return {**pids, "db": db_pid} if db_pid else pids

    def close(self) -> None:
        for process in self.processes.values():
            stop(process)
        self.db.stop()


# -- phases ---------------------------------------------------------------------------------


def peak_rss(stack: Stack) -> dict[str, float | None]:
    """Peak resident set (MiB) of each process of the stack so far."""
    return {name: peak_rss_mib(pid) for name, pid in stack.pids().items()}


def completed(factory: StatementFactory) -> dict[str, Any]:
    statement = factory.statement()
    statement["id"] = str(uuid.uuid4())
    statement["verb"] = {"id": ADL + "completed", "display": {"en-US": "completed"}}
    statement["result"] = {"completion": True, "success": True, "score": {"scaled": 0.8}}
    return statement


async def ingest(http: httpx.AsyncClient, stack: Stack, factory: StatementFactory, n: int) -> Row:
    batches = iter([factory.batch(100) for _ in range(n // 100)])

    async def send(batch: list[dict[str, Any]]) -> int:
        response = await http.post("/xapi/statements", json=batch)
        response.raise_for_status()
        return len(batch)

    if stack.commands is not None:
        await stack.commands.reset()
    meter = CpuMeter(stack.pids())
    measured = await drive(batches, send, concurrency=4, max_seconds=120)
    row = {
        "statements": measured.items,
        "errors": measured.errors,
        "statements_per_s": round(measured.items / measured.elapsed, 1),
        **latency_summary(measured.latencies_ms),
        "cpu_seconds": meter.used(),
        "peak_rss_mib": peak_rss(stack),
    }
    if stack.commands is not None:
        row["db_commands"] = await stack.commands.read()
    return row


async def receipts(stack: Stack, ids: set[str], timeout: float) -> tuple[dict[str, float], Row]:
    """When each of `ids` first reached the receiver; the counts carry `first_try`, the ids
    that succeeded on their first request."""
    deadline = time.monotonic() + timeout
    url = f"http://{HOST}:{stack.receiver_port}/stats"
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            stats = (await client.get(url)).json()
            got = {k: v for k, v in stats["first"].items() if k in ids}
            if len(got) == len(ids) or time.monotonic() > deadline:
                counts = {
                    "requests": stats["requests"],
                    "failed": stats["failed"],
                    "first_try": set(stats["first_try"]) & ids,
                }
                await client.post(f"http://{HOST}:{stack.receiver_port}/reset")
                return got, counts
            await asyncio.sleep(0.2)


async def latency(http: httpx.AsyncClient, stack: Stack, factory: StatementFactory, n: int) -> Row:
    sent: dict[str, float] = {}
    acked: dict[str, float] = {}
    statements = iter([completed(factory) for _ in range(n)])

    async def send(statement: dict[str, Any]) -> int:
        sent[statement["id"]] = time.time()
        (await http.post("/xapi/statements", json=statement)).raise_for_status()
        acked[statement["id"]] = time.time()
        return 1

    await drive(statements, send, concurrency=2, max_seconds=120)
    got, counts = await receipts(stack, set(sent), timeout=180)
    millis = [(got[i] - sent[i]) * 1000 for i in got]
    first_try = counts.pop("first_try")
    first_millis = [(got[i] - sent[i]) * 1000 for i in got if i in first_try]
    return {
        "posted": len(sent),
        "received": len(got),
        **counts,
        **latency_summary(millis),
        "first_try": {"events": len(first_millis), **latency_summary(first_millis)},
        "after_answer": latency_summary([(got[i] - acked[i]) * 1000 for i in got if i in acked]),
    }


async def burst(http: httpx.AsyncClient, stack: Stack, factory: StatementFactory, n: int) -> Row:
    batches = [[completed(factory) for _ in range(100)] for _ in range(n // 100)]
    ids = {s["id"] for batch in batches for s in batch}
    started = time.time()

    async def send(batch: list[dict[str, Any]]) -> int:
        (await http.post("/xapi/statements", json=batch)).raise_for_status()
        return len(batch)

    posted = await drive(iter(batches), send, concurrency=4, max_seconds=120)
    got, counts = await receipts(stack, ids, timeout=240)
    counts["first_try"] = len(counts["first_try"])
    last = max(got.values(), default=started)
    return {
        "posted": len(ids),
        "received": len(got),
        **counts,
        "post_seconds": round(posted.elapsed, 2),
        "seconds_to_last_receipt": round(last - started, 2),
        "events_per_s": round(len(got) / max(last - started, 1e-9), 1),
    }


QUIET_SECONDS = 5.0


async def drain(service: ForwarderService, forwarder_id: str, timeout: float = 300) -> float:
    """Seconds until no event of the forwarder is waiting for delivery (pending or failed)
    and none has been added for `QUIET_SECONDS` (a statement whose write committed behind
    discovery's live and recheck reads is found by the durable read, up to about 4 s later:
    nothing waiting is not yet everything delivered)."""
    started = time.monotonic()
    events = service.jobs.events
    waiting = {"forwarder": forwarder_id, "due": {"$exists": True}}
    last, changed, busy = -1, started, started
    while time.monotonic() - started < timeout:
        count = await events.count_documents({"forwarder": forwarder_id})
        if count != last:
            last, changed = count, time.monotonic()
        if await events.count_documents(waiting):
            busy = time.monotonic()
        elif time.monotonic() - changed >= QUIET_SECONDS:
            return round(max(changed, busy) - started, 2)
        await asyncio.sleep(0.2)
    return round(time.monotonic() - started, 2)


async def make_forwarder(service: ForwarderService, stack: Stack, name: str, verbs: Any) -> str:
    url = f"http://{HOST}:{stack.receiver_port}/hook/{name}"
    created = await service.create_forwarder(
        {"name": name, "url": url, "verbs": verbs, "max_in_flight": 16}
    )
    return created.view.forwarder.id


def client_for(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://{HOST}:{stack.lrs_port}",
        auth=httpx.BasicAuth(*ADMIN),
        headers={"X-Experience-API-Version": "2.0.0"},
        timeout=60,
        limits=httpx.Limits(max_connections=16),
    )


async def fresh_ingest(stack: Stack, plan: argparse.Namespace, forwarding: bool) -> Row:
    """Ingest on a fresh store: without forwarding, or with a worker running, a live
    receiver and a forwarder taking the default verbs (completed, passed)."""
    factory = StatementFactory(make_pools(SEED), SEED)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.db.uri, tz_aware=True)
    try:
        service = ForwarderService(
            mongo[DATABASE], statements=MongoStatementSource(mongo[DATABASE]), allow_private=True
        )
        async with client_for(stack) as http:
            if forwarding:
                ok = await make_forwarder(service, stack, "ok", [ADL + "completed", ADL + "passed"])
                stack.start_worker()
                await asyncio.sleep(3)  # the worker is up and discovering before the clock runs
            meter = CpuMeter(stack.pids())
            row = await ingest(http, stack, factory, plan.ingest)
            if forwarding:
                row["backlog_drained_after_s"] = await drain(service, ok)
                row["events"] = await service.jobs.events.count_documents({"forwarder": ok})
                # the worker's work left after the ingest window counts too
                row["cpu_seconds_until_drained"] = meter.used()
                if stack.commands is not None and row["events"]:
                    drained = await stack.commands.read()  # counted since the ingest began
                    row["db_commands_until_drained"] = drained["by_family"]
                    row.update(forwarding_per_event(drained["commands"], row["events"]))
            return row
    finally:
        await mongo.close()


def forwarding_per_event(commands: dict[str, Row], events: int) -> Row:
    """The forwarding collections' commands and database CPU per event, since the ingest
    began, without the bench's own (`BENCH_OWN`)."""
    ours = [
        entry
        for key, entry in commands.items()
        if key.partition(":")[2].startswith("forwarder") and key not in BENCH_OWN
    ]
    return {
        "db_forwarder_commands_per_event": round(sum(e["n"] for e in ours) / events, 2),
        "db_forwarder_cpu_ms_per_event": round(1000 * sum(e["cpu_s"] for e in ours) / events, 2),
    }


def trees(plan: argparse.Namespace) -> list[tuple[str, Path]]:
    """The checkouts to run: the baseline first when there is one, then this one."""
    found = [("current", CURRENT)]
    if plan.baseline is not None:
        found.insert(0, ("baseline", plan.baseline.resolve()))
    return found


def compare_ingest(plan: argparse.Namespace) -> dict[str, Any]:
    """Ingest without and with forwarding, each on a fresh store, `plan.rounds` times
    alternating (the machine's load drifts: alternation spreads it over both), and over the
    checkouts round by round."""
    rows: dict[str, dict[str, list[Row]]] = {name: {"off": [], "on": []} for name, _ in trees(plan)}
    for _ in range(plan.rounds):
        for name, tree in trees(plan):
            for mode in ("off", "on"):
                with tempfile.TemporaryDirectory(prefix="bench-forwarding-") as tmp:
                    stack = Stack(
                        Path(tmp),
                        db_commands=plan.db_commands,
                        tree=tree,
                        in_process=plan.in_process and mode == "on",
                    )
                    try:
                        asyncio.run(stack.start())
                        row = asyncio.run(fresh_ingest(stack, plan, mode == "on"))
                        row["loadavg_at_end"] = os.getloadavg()
                        rows[name][mode].append(row)
                    finally:
                        stack.close()
    results = {name: pairs(found) for name, found in rows.items()}
    current = results.pop("current")
    return {**current, **({"baseline": results["baseline"]} if results else {})}


def pairs(rows: dict[str, list[Row]]) -> dict[str, Any]:
    rate = {m: sum(r["statements_per_s"] for r in rows[m]) / len(rows[m]) for m in rows}
    return {
        "fresh_ingest_forwarding_off": rows["off"],
        "fresh_ingest_forwarding_on": rows["on"],
        "fresh_ingest_on_over_off": round(rate["on"] / rate["off"], 3),
    }


async def latency_only(stack: Stack, plan: argparse.Namespace) -> dict[str, Any]:
    """The latency phases alone (`--only latency`), healthy then with the 20 %-failing
    receiver, on a fresh store, with the CPU each process used during each."""
    factory = StatementFactory(make_pools(SEED), SEED)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.db.uri, tz_aware=True)
    try:
        service = ForwarderService(
            mongo[DATABASE], statements=MongoStatementSource(mongo[DATABASE]), allow_private=True
        )
        async with client_for(stack) as http:
            ok = await make_forwarder(service, stack, "ok", [ADL + "completed"])
            stack.start_worker(LRS_FORWARDER_RETRY_SCHEDULE=FAST_RETRIES)
            await asyncio.sleep(3)
            meter = CpuMeter(stack.pids())
            healthy = await latency(http, stack, factory, plan.latency)
            results = {"latency_healthy": {**healthy, "cpu_seconds": meter.used()}}
            results["latency_healthy"]["peak_rss_mib"] = peak_rss(stack)
            await service.delete_forwarder(ok)
            await make_forwarder(service, stack, "flaky", [ADL + "completed"])
            meter = CpuMeter(stack.pids())
            failing = await latency(http, stack, factory, plan.latency)
            results["latency_20pct_failing"] = {**failing, "cpu_seconds": meter.used()}
            results["latency_20pct_failing"]["peak_rss_mib"] = peak_rss(stack)
            return results
    finally:
        await mongo.close()


async def run(stack: Stack, plan: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    factory = StatementFactory(make_pools(SEED), SEED)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.db.uri, tz_aware=True)
    service = ForwarderService(
        mongo[DATABASE], statements=MongoStatementSource(mongo[DATABASE]), allow_private=True
    )
    auth = httpx.BasicAuth(*ADMIN)
    headers = {"X-Experience-API-Version": "2.0.0"}
    base = f"http://{HOST}:{stack.lrs_port}"
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(
        base_url=base, auth=auth, headers=headers, timeout=60, limits=limits
    ) as http:
        results["ingest_forwarding_off"] = await ingest(http, stack, factory, plan.ingest)
        ok = await make_forwarder(service, stack, "ok", [ADL + "completed", ADL + "passed"])
        stack.start_worker(LRS_FORWARDER_RETRY_SCHEDULE=FAST_RETRIES)
        results["ingest_forwarding_on_default_verbs"] = on = await ingest(
            http, stack, factory, plan.ingest
        )
        on["backlog_drained_after_s"] = await drain(service, ok)
        await service.update_forwarder(ok, {"verbs": [ADL + "completed"]})
        await receipts(stack, set(), 0)  # reset the receiver's counters
        results["latency_healthy"] = await latency(http, stack, factory, plan.latency)
        results["burst_healthy"] = await burst(http, stack, factory, plan.burst)
        await service.delete_forwarder(ok)  # the failing phases run with one forwarder too
        flaky = await make_forwarder(service, stack, "flaky", [ADL + "completed"])
        results["latency_20pct_failing"] = await latency(http, stack, factory, plan.latency)
        results["burst_20pct_failing"] = await burst(http, stack, factory, plan.burst)
        await service.delete_forwarder(flaky)
        every = await make_forwarder(service, stack, "ok", [v["id"] for v in factory.pools.verbs])
        results["ingest_forwarding_on_every_verb"] = on = await ingest(
            http, stack, factory, plan.ingest
        )
        on["backlog_drained_after_s"] = await drain(service, every)
        stack.stop_worker()  # the same database size as the "on" phases, no worker
        results["ingest_forwarding_off_again"] = await ingest(http, stack, factory, plan.ingest)
    await mongo.close()
    return results


def with_stack(phases: Any, plan: argparse.Namespace, tree: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-forwarding-") as tmp:
        stack = Stack(Path(tmp), tree=tree)
        try:
            asyncio.run(stack.start())
            found: dict[str, Any] = asyncio.run(phases(stack, plan))
            return found
        finally:
            stack.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "receiver"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=int, default=300)
    parser.add_argument("--burst", type=int, default=3000)
    parser.add_argument("--ingest", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2, help="fresh-store on/off pairs")
    parser.add_argument(
        "--only",
        choices=["ingest", "latency", "all"],
        default="all",
        help="ingest: the fresh-store pairs; latency: the healthy latency phase",
    )
    parser.add_argument(
        "--db-commands",
        action="store_true",
        help="count the database's CPU per command and collection (fresh-store pairs)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="fresh-store pairs: the worker runs inside the LRS process (the embedded default)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout whose LRS and worker run the same phases, alternating",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.mode == "receiver":
        run_receiver(args.port, fail_rate=0.2)
        return 0
    results = compare_ingest(args) if args.only != "latency" else {}
    if args.only == "all":
        results.update(with_stack(run, args, CURRENT))
    elif args.only == "latency":
        for name, tree in trees(args):
            found = with_stack(latency_only, args, tree)
            results.update(found if name == "current" else {"baseline": found})
    load = os.getloadavg()
    report({"cores": os.cpu_count(), "loadavg_at_end": load, **results}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
