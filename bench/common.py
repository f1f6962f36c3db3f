"""Shared pieces of the benchmarks: realistic statements, the load driver, latency statistics,
and per-process accounting (CPU seconds, peak RSS) read from /proc."""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS: list[tuple[str, str, str]] = [
    (ADL + "completed", "completed", "a terminé"),
    (ADL + "passed", "passed", "a réussi"),
    (ADL + "failed", "failed", "a échoué"),
    (ADL + "attempted", "attempted", "a tenté"),
    (ADL + "experienced", "experienced", "a expérimenté"),
    (ADL + "answered", "answered", "a répondu"),
    (ADL + "launched", "launched", "a lancé"),
    (ADL + "initialized", "initialized", "a initialisé"),
    (ADL + "terminated", "terminated", "a terminé la session"),
    (ADL + "progressed", "progressed", "a progressé"),
    (ADL + "scored", "scored", "a obtenu"),
    (ADL + "commented", "commented", "a commenté"),
    (ADL + "registered", "registered", "s'est inscrit"),
    (ADL + "mastered", "mastered", "a maîtrisé"),
    ("http://id.tincanapi.com/verb/viewed", "viewed", "a consulté"),
]
SCORED_VERBS = {"completed", "passed", "failed", "answered", "scored", "mastered"}
ACTIVITY_TYPES = [
    "http://adlnet.gov/expapi/activities/lesson",
    "http://adlnet.gov/expapi/activities/assessment",
    "http://adlnet.gov/expapi/activities/question",
    "http://adlnet.gov/expapi/activities/media",
    "http://adlnet.gov/expapi/activities/simulation",
]
COURSE_TYPE = "http://adlnet.gov/expapi/activities/course"
PROGRAM_TYPE = "http://adlnet.gov/expapi/activities/module"
FIRST_NAMES = ["Ada", "Ben", "Chloé", "Dev", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jun"]
LAST_NAMES = ["Okafor", "Nguyen", "Schmidt", "García", "Kowalski", "Haddad", "Ito", "Silva"]
EPOCH = datetime(2025, 1, 6, tzinfo=UTC)


# -- realistic statements -------------------------------------------------------------------


@dataclass(frozen=True)
class Pools:
    learners: list[dict[str, Any]]
    verbs: list[dict[str, Any]]
    activities: list[dict[str, Any]]
    courses: list[dict[str, Any]]
    programs: list[dict[str, Any]]
    registrations: list[str]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _learner(rng: random.Random, i: int) -> dict[str, Any]:
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    if i % 7 == 0:  # about one in seven identified by an LMS account
        account = {"homePage": "https://lms.example.org", "name": f"u{100000 + i}"}
        return {"objectType": "Agent", "name": name, "account": account}
    local = name.lower().replace(" ", ".").replace("é", "e").replace("í", "i")
    return {"objectType": "Agent", "name": name, "mbox": f"mailto:{local}.{i}@example.org"}


def _activity(kind: str, i: int, activity_type: str) -> dict[str, Any]:
    title = f"{kind.title()} {i}"
    return {
        "objectType": "Activity",
        "id": f"https://courses.example.org/{kind}/{i}",
        "definition": {
            "name": {"en-US": title, "fr-FR": f"{title} (fr)"},
            "description": {"en-US": f"The {title} of the catalogue, with a short description."},
            "type": activity_type,
        },
    }


def make_pools(
    seed: int, *, learners: int = 2000, activities: int = 500, registrations: int = 5000
) -> Pools:
    rng = random.Random(seed)
    courses = [_activity("course", i, COURSE_TYPE) for i in range(20)]
    programs = [_activity("program", i, PROGRAM_TYPE) for i in range(5)]
    leaves = activities - len(courses) - len(programs)
    return Pools(
        learners=[_learner(rng, i) for i in range(learners)],
        verbs=[{"id": v, "display": {"en-US": en, "fr-FR": fr}} for v, en, fr in VERBS],
        activities=[_activity("unit", i, rng.choice(ACTIVITY_TYPES)) for i in range(leaves)],
        courses=courses,
        programs=programs,
        registrations=[_uuid(rng) for _ in range(registrations)],
    )


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"PT{minutes}M{rest}S" if minutes else f"PT{rest}S"


def _result(rng: random.Random, verb: str) -> dict[str, Any] | None:
    if verb not in SCORED_VERBS:
        return {"duration": _duration(rng.randint(5, 3600))} if rng.random() < 0.5 else None
    score_max = rng.choice([10, 20, 100])
    raw = rng.randint(0, score_max)
    return {
        "score": {"scaled": round(raw / score_max, 4), "raw": raw, "min": 0, "max": score_max},
        "success": verb != "failed" and raw * 2 >= score_max,
        "completion": verb != "failed",
        "duration": _duration(rng.randint(30, 5400)),
    }


class StatementFactory:
    """Seeded: the same seed gives the same statements (ids included). Timestamps fall in
    the `span_ms` after `epoch` (by default 180 days from 2025-01-06)."""

    def __init__(
        self,
        pools: Pools,
        seed: int,
        *,
        epoch: datetime = EPOCH,
        span_ms: int = 180 * 86_400_000,
    ) -> None:
        self.pools = pools
        self.rng = random.Random(seed)
        self.epoch = epoch
        self.span_ms = span_ms

    def statement(self) -> dict[str, Any]:
        rng, pools = self.rng, self.pools
        verb = rng.choice(pools.verbs)
        activity = rng.choice(pools.activities)
        moment = self.epoch + timedelta(milliseconds=rng.randrange(self.span_ms))
        statement: dict[str, Any] = {
            "id": _uuid(rng),
            "actor": rng.choice(pools.learners),
            "verb": verb,
            "object": activity,
            "context": {
                "registration": rng.choice(pools.registrations),
                "contextActivities": {
                    "parent": [{"id": rng.choice(pools.courses)["id"]}],
                    "grouping": [{"id": rng.choice(pools.programs)["id"]}],
                },
                "platform": "Example LMS",
                "language": "en-US",
            },
            "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        result = _result(rng, verb["display"]["en-US"])
        if result is not None:
            statement["result"] = result
        return statement

    def batch(self, size: int) -> list[dict[str, Any]]:
        return [self.statement() for _ in range(size)]


# -- load driver and statistics -------------------------------------------------------------


@dataclass
class Measured:
    requests: int = 0
    items: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    first_error: str | None = None
    stopped_by_time: bool = False
    cancelled: int = 0
    """Requests still running at the hard limit (time cap + grace), cancelled client-side."""
    skipped: str | None = None
    """Why the phase did not run (its first request, run alone, took too long)."""


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class _Run:
    """One phase's workers, sharing one job iterator and one `Measured`."""

    def __init__(
        self, jobs: Iterator[T], run: Callable[[T], Awaitable[int]], max_errors: int
    ) -> None:
        self.jobs: Iterator[Any] = jobs
        self.run: Callable[[Any], Awaitable[int]] = run
        self.max_errors = max_errors
        self.measured = Measured()
        self.in_flight = 0
        self.deadline = math.inf

    def error(self, error: Exception) -> None:
        if _cancelling():
            raise error  # Ctrl-C or the hard limit, even if the client wrapped it
        self.measured.errors += 1
        self.measured.first_error = self.measured.first_error or repr(error)[:300]

    async def probe(self, seconds: float) -> bool:
        """Run the first job alone (not measured); False if it took over `seconds`."""
        first = next(self.jobs, None)
        if first is None:
            return True
        try:
            await asyncio.wait_for(self.run(first), seconds)
        except TimeoutError:
            self.measured.skipped = f"a single request took over {seconds:.0f}s"
            return False
        except Exception as error:  # noqa: BLE001 - counted and reported, not hidden
            self.error(error)
        return True

    async def worker(self) -> None:
        measured = self.measured
        for job in self.jobs:  # one shared iterator: each job runs once
            if time.monotonic() > self.deadline:
                measured.stopped_by_time = True
                return
            if measured.errors >= self.max_errors:
                return
            started = time.perf_counter()
            self.in_flight += 1
            try:
                items = await self.run(job)
            except Exception as error:  # noqa: BLE001 - counted and reported, not hidden
                self.error(error)
                continue
            finally:
                self.in_flight -= 1
            measured.latencies_ms.append((time.perf_counter() - started) * 1000)
            measured.requests += 1
            measured.items += items

    async def workers(self, concurrency: int, max_seconds: float, grace_seconds: float) -> None:
        self.deadline = time.monotonic() + max_seconds
        tasks = [asyncio.create_task(self.worker()) for _ in range(concurrency)]
        try:
            _, pending = await asyncio.wait(tasks, timeout=max_seconds + grace_seconds)
        finally:
            for task in tasks:
                task.cancel()
        if pending and self.in_flight:
            cancelled, self.measured.cancelled = self.in_flight, self.in_flight
            self.measured.stopped_by_time = True
            self.measured.errors += cancelled
            self.measured.first_error = self.measured.first_error or (
                f"{cancelled} requests still running {grace_seconds:.0f}s after the time cap "
                "were cancelled"
            )
        await asyncio.gather(*tasks, return_exceptions=True)


async def drive(
    jobs: Iterator[T],
    run: Callable[[T], Awaitable[int]],
    *,
    concurrency: int,
    max_seconds: float,
    max_errors: int = 25,
    grace_seconds: float = 5.0,
    probe_seconds: float | None = None,
) -> Measured:
    """Run `jobs` through `concurrency` workers until done, out of time, or too many errors.

    `run` returns how many items (statements) a job carried; an exception is an error. No
    job starts after `max_seconds`; the ones still running `grace_seconds` later are
    cancelled. With `probe_seconds`, the first job runs alone first (not measured): if it
    takes longer, the phase is skipped rather than piling slow requests on the server.
    """
    phase = _Run(jobs, run, max_errors)
    if probe_seconds is not None and not await phase.probe(probe_seconds):
        return phase.measured
    started = time.perf_counter()
    await phase.workers(concurrency, max_seconds, grace_seconds)
    phase.measured.elapsed = time.perf_counter() - started
    return phase.measured


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return math.nan
    rank = max(0, math.ceil(fraction * len(sorted_values)) - 1)
    return sorted_values[rank]


def latency_summary(latencies_ms: list[float]) -> dict[str, float]:
    ordered = sorted(latencies_ms)
    return {
        "p50_ms": round(percentile(ordered, 0.50), 2),
        "p95_ms": round(percentile(ordered, 0.95), 2),
        "p99_ms": round(percentile(ordered, 0.99), 2),
        "max_ms": round(ordered[-1], 2) if ordered else math.nan,
    }


# -- processes ------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(c) for c in handle.read().split()]
        except OSError:
            continue
    return found


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (the database may run helper processes)."""
    tree, frontier = [pid], [pid]
    while frontier:
        frontier = [c for p in frontier for c in _children(p)]
        tree += frontier
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its descendants."""
    total = 0.0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/stat") as handle:
                fields = handle.read().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return total


def status_kib(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM (peak resident set) of `pid` plus its descendants, in MiB."""
    values = [status_kib(member, "VmHWM") for member in process_tree(pid)]
    known = [v for v in values if v is not None]
    return round(sum(known) / 1024, 1) if known else None


def machine_busy_seconds() -> float:
    """CPU seconds spent by every process on the machine (from /proc/stat)."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


async def settle(pid: int, *, below_cores: float = 0.2, max_seconds: float = 15.0) -> float:
    """Wait until `pid` is (nearly) idle, e.g. the database still running queries whose
    requests were cancelled; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < max_seconds:
        before = cpu_seconds(pid)
        await asyncio.sleep(0.5)
        if (cpu_seconds(pid) - before) / 0.5 < below_cores:
            break
    return round(time.monotonic() - started, 1)


class CpuMeter:
    """CPU seconds used by each named process (with its descendants) during a phase; the
    benchmark's own process is counted alone, as the LRS and the database are its children."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = {name: self._now(pid) for name, pid in pids.items()}
        self.machine_start = machine_busy_seconds()

    @staticmethod
    def _now(pid: int) -> float:
        if pid == os.getpid():
            times = os.times()
            return times.user + times.system
        return cpu_seconds(pid)

    def used(self) -> dict[str, float]:
        """CPU seconds per process since the start, and `others`: every other process on the
        machine (other work running at the same time distorts the numbers)."""
        used = {
            name: round(self._now(pid) - self.start[name], 2) for name, pid in self.pids.items()
        }
        others = machine_busy_seconds() - self.machine_start - sum(used.values())
        return {**used, "others": round(max(0.0, others), 2)}


def report(result: dict[str, Any], out: Path | None) -> None:
    """Print a bench's result as JSON, and write it to `out` too when given."""
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
