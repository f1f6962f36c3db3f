"""Conferencing connectors under a 500-participant meeting: provider-answer latency, the time
until every statement exists, peak memory.

    .venv/bin/python bench/conferencing.py [--participants 500] [--concurrency 32]
        [--retries 0.05] [--max-wait 300] [--baseline DIR] [--out bench/results/conferencing.json]

(Named for the domain, not `connectors.py`: a script's folder comes first on `sys.path`, so a
`bench/connectors.py` would shadow the `connectors` package, as `analytics.py` once did.)

A fresh embedded database and `lrs serve` (bench/variants.py), a Zoom connector made through
the admin API, then one seeded meeting of `--participants` people: everyone joins in the
first five minutes (the opening storm), a third drop and rejoin once or twice, a tenth have a
second device for a while, one in twenty is a guest without an email, and everyone leaves in
the last two minutes (the closing storm). Every event is signed as Zoom signs it and POSTed
at `--concurrency`; a share of them (`--retries`) is delivered twice, as Zoom does when an
answer is slow. Zoom wants an answer within 3 s; the target is p99 under 1 s.

Phases:
- moves: every join and leave, in time order; latency of each provider answer;
- end: `meeting.ended` and `recording.completed` (the attendance is due 15 s after the end,
  so that leaves Zoom sends just after the end are counted: that settle time is part of the
  wait below, on purpose);
- the wait: time from the last move answered until every move's statement exists (the
  inbox has no pending move), and from the end's answer until the attendance exists (no
  pending event at all), polled every 0.2 s, bounded.
With `--baseline DIR` (a source tree, e.g. `git archive COMMIT | tar -x -C DIR`) the same
meeting runs first against that tree's LRS, then against this one (bench/variants.py), each
on a fresh database, and the ratios current / baseline are printed.
Then the statement count against what the meeting implies, peak RSS (VmHWM) of the LRS and
the database, their CPU seconds, and `others` (every other process: the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from common import CpuMeter, drive, latency_summary, peak_rss_mib
from http1 import Client
from pymongo import AsyncMongoClient
from variants import ADMIN_KEY, ADMIN_SECRET, DATABASE, fresh_lrs, variants

from connectors.inbox import COLLECTION as INBOX
from connectors.providers.signing import zoom_signature

SECRET = "bench-zoom-secret-token"  # noqa: S105 - a throwaway local connector secret
SEED = 20261203
MEETING_MINUTES = 60


@dataclass(frozen=True)
class Move:
    at: datetime
    kind: str
    person: int


def meeting_moves(participants: int, start: datetime, rng: random.Random) -> list[Move]:
    end = start + timedelta(minutes=MEETING_MINUTES)
    moves: list[Move] = []
    for person in range(participants):
        joined = start + timedelta(seconds=rng.uniform(0, 300))
        moves.append(Move(joined, "joined", person))
        if rng.random() < 1 / 3:
            for _ in range(rng.choice((1, 2))):
                dropped = joined + timedelta(seconds=rng.uniform(300, 1500))
                joined = dropped + timedelta(seconds=rng.uniform(10, 120))
                moves += [Move(dropped, "left", person), Move(joined, "joined", person)]
        if rng.random() < 0.1:
            second = start + timedelta(seconds=rng.uniform(900, 1800))
            moves += [
                Move(second, "joined", person),
                Move(second + timedelta(minutes=5), "left", person),
            ]
        moves.append(Move(end - timedelta(seconds=rng.uniform(0, 120)), "left", person))
    return sorted(moves, key=lambda move: (move.at, move.kind != "joined"))


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class Meeting:
    """Zoom event bodies for one meeting (the shapes of tests/data/connectors)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.object: dict[str, Any] = {
            "id": "85746065432",
            "uuid": "bench-meeting-occurrence==",
            "host_id": "z8yCxjabcdEFGHfp8uQ",
            "topic": "Bench: a 500-person class",
            "type": 2,
            "start_time": _stamp(start),
            "duration": MEETING_MINUTES,
        }

    def move(self, move: Move) -> dict[str, Any]:
        guest = move.person % 20 == 19
        participant = {
            "user_id": str(16_000_000 + move.person),
            "user_name": f"Learner {move.person}",
            "id": "" if guest else f"u{move.person:05d}",
            "participant_uuid": f"P-{move.person:05d}",
            "email": "" if guest else f"learner{move.person}@example.com",
            ("join_time" if move.kind == "joined" else "leave_time"): _stamp(move.at),
        }
        name = f"meeting.participant_{move.kind}"
        return self._event(name, {**self.object, "participant": participant})

    def ended(self) -> dict[str, Any]:
        end = self.start + timedelta(minutes=MEETING_MINUTES)
        return self._event("meeting.ended", {**self.object, "end_time": _stamp(end)})

    def recording(self) -> dict[str, Any]:
        url = "https://example.zoom.us/rec/share/bench-recording"
        return self._event("recording.completed", {**self.object, "share_url": url})

    @staticmethod
    def _event(name: str, meeting: dict[str, Any]) -> dict[str, Any]:
        stamp = int(time.time() * 1000)
        return {"event": name, "event_ts": stamp, "payload": {"account_id": "A", "object": meeting}}


def signed(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "x-zm-request-timestamp": stamp,
        "x-zm-signature": zoom_signature(SECRET, stamp, body),
    }
    return body, headers


async def create_connector(base_url: str) -> str:
    definition = {
        "kind": "zoom",
        "name": "bench-zoom",
        "secret": SECRET,
        "activity_template": "https://meetings.example.com/zoom/{meeting_id}",
        "completion_threshold": 0.75,
    }
    async with httpx.AsyncClient(base_url=base_url, auth=(ADMIN_KEY, ADMIN_SECRET)) as http:
        response = await http.post("/admin/connectors", json=definition)
        response.raise_for_status()
        return str(response.json()["id"])


async def post_all(
    client: Client, path: str, events: list[dict[str, Any]], concurrency: int
) -> dict[str, Any]:
    statuses: dict[int, int] = {}

    async def deliver(event: dict[str, Any]) -> int:
        body, headers = signed(event)
        response = await client.post(path, content=body, headers=headers)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code} {response.text[:200]}")
        return 1

    measured = drive(iter(events), deliver, concurrency=concurrency, max_seconds=600)
    done = await measured
    return {
        "deliveries": done.requests,
        "errors": done.errors,
        "first_error": done.first_error,
        "seconds": round(done.elapsed, 2),
        "per_second": round(done.requests / done.elapsed, 1) if done.elapsed else None,
        "statuses": statuses,
        **latency_summary(done.latencies_ms),
    }


async def wait_until(predicate: Any, started: float, limit: float) -> float | None:
    """Seconds from `started` until `predicate()` holds (None past `limit` seconds)."""
    while time.monotonic() - started < limit:
        if await predicate():
            return round(time.monotonic() - started, 2)
        await asyncio.sleep(0.2)
    return None


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results = {name: await run_variant(args, tree) for name, tree in variants(args.baseline)}
    if "baseline" in results:
        results["ratios_current_over_baseline"] = ratios(results["baseline"], results["current"])
    return results


def ratios(base: dict[str, Any], current: dict[str, Any]) -> dict[str, float | None]:
    def ratio(a: Any, b: Any) -> float | None:
        return (
            round(b / a, 3)
            if isinstance(a, int | float) and isinstance(b, int | float) and a
            else None
        )

    found = {
        k: ratio(base["moves_phase"][k], current["moves_phase"][k])
        for k in ("p50_ms", "p95_ms", "p99_ms")
    }
    for key in ("moves_statements_after_s", "attendance_after_s"):
        found[key] = ratio(base[key], current[key])
    return found


async def run_variant(args: argparse.Namespace, tree: Path) -> dict[str, Any]:
    rng = random.Random(SEED)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    meeting = Meeting(start)
    moves = meeting_moves(args.participants, start, rng)
    events = [meeting.move(move) for move in moves]
    deliveries = []
    for event in events:  # a retry follows its first delivery closely, as Zoom's do
        deliveries += [event, event] if rng.random() < args.retries else [event]
    result: dict[str, Any] = {
        "participants": args.participants,
        "moves": len(moves),
        "repeated_deliveries": len(deliveries) - len(events),
        "concurrency": args.concurrency,
        "load_before": os.getloadavg(),
    }
    with fresh_lrs(tree) as lrs:
        connector = await create_connector(lrs.base_url)
        path = f"/connectors/{connector}"
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(lrs.uri)
        inbox, statements = mongo[DATABASE][INBOX], mongo[DATABASE]["statements"]
        meter = CpuMeter({"lrs": lrs.lrs_pid, "db": lrs.db_pid})
        auth = (ADMIN_KEY, ADMIN_SECRET)
        async with Client(
            lrs.base_url, auth=auth, headers={}, connections=args.concurrency
        ) as client:
            result["moves_phase"] = await post_all(client, path, deliveries, args.concurrency)
        answered = time.monotonic()

        async def moves_done() -> bool:
            pending = {"state": "pending", "event.kind": {"$in": ["joined", "left"]}}
            return await inbox.count_documents(pending) == 0

        result["moves_statements_after_s"] = await wait_until(moves_done, answered, args.max_wait)
        # a new connection: the server closes idle keep-alive ones during the wait
        async with Client(lrs.base_url, auth=auth, headers={}, connections=1) as client:
            ending = [meeting.ended(), meeting.recording()]
            result["end_phase"] = await post_all(client, path, ending, 1)
        ended = time.monotonic()

        async def all_done() -> bool:
            return await inbox.count_documents({"state": "pending"}) == 0

        result["attendance_after_s"] = await wait_until(all_done, ended, args.max_wait)
        result["statements"] = await statements.count_documents({})
        result["by_state"] = {
            state: await inbox.count_documents({"state": state})
            for state in ("done", "pending", "failed", "ignored")
        }
        result["cpu_seconds"] = meter.used()
        result["peak_rss_mib"] = {"lrs": peak_rss_mib(lrs.lrs_pid), "db": peak_rss_mib(lrs.db_pid)}
        await mongo.close()
    result["expected_statements_at_least"] = len(moves) + args.participants + 1
    result["load_after"] = os.getloadavg()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--retries", type=float, default=0.05, help="share delivered twice")
    parser.add_argument("--max-wait", type=float, default=300.0, help="seconds, per wait")
    parser.add_argument("--baseline", type=Path, help="a source tree to compare against")
    parser.add_argument("--out", type=Path, default=Path("bench/results/conferencing.json"))
    args = parser.parse_args()
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
