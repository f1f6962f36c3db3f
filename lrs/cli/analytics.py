"""`lrs analytics status|verify|rebuild`: the rollups from the command line
(docs/analytics.md).

`verify` holds the consumers still (a pause in the state document), recounts every
statement below the cursor and prints the differences (exit 1 when there are any).
`rebuild` asks for a reset (carried out by whichever consumer holds the lease, this one or
an API process) and follows the cursor to the horizon with a progress bar, then the series
figures being made (`analytics.figures`); interrupted, it resumes where the durable cursor
stands (`--restart` starts over).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from analytics.consumer import Consumer, LeaseLost
from analytics.service import Analytics
from analytics.verify import verify
from lrs.settings import Settings
from lrs.storage.analytics_source import MongoAnalyticsSource, horizon
from lrs.storage.client import mongo_client
from lrs.storage.sequence import ms_of, stored_string

COMMAND = "analytics"
VERIFY_PAUSE_SECONDS = 600.0


def add_parser(commands: Any) -> None:
    analytics = commands.add_parser("analytics", help="rollups: status, verify, rebuild")
    actions = analytics.add_subparsers(dest="action", required=True)
    actions.add_parser("status", help="how far the rollups have got")
    actions.add_parser("verify", help="recount from the statements and report differences")
    rebuild = actions.add_parser("rebuild", help="rebuild the rollups (resumable)")
    rebuild.add_argument("--restart", action="store_true", help="start over even if resuming")


async def run(settings: Settings, uri: str, args: argparse.Namespace) -> int:
    client = mongo_client(uri)
    try:
        db = client[settings.database]
        source = MongoAnalyticsSource(db)
        analytics = Analytics(db, source, lambda: horizon(settings, set()))
        await analytics.ensure_indexes()
        consumer = analytics.consumer
        if args.action == "verify":
            return await _verify(analytics, source)
        if args.action == "rebuild":
            await _rebuild(consumer, restart=args.restart)
        progress = await consumer.progress()
        _print(
            {
                "through": _when(progress.cursor),
                "pending_refreshes": progress.pending_refreshes,
                "figures_current": progress.figures_current,
            }
        )
        return 0
    finally:
        await client.close()


async def _verify(analytics: Analytics, source: MongoAnalyticsSource) -> int:
    consumer = analytics.consumer
    await consumer.pause(VERIFY_PAUSE_SECONDS)
    try:
        state = await consumer.settled()
        made = (await consumer.version())[2]
        report = await verify(source, analytics.rollups, int(state.get("seq", 0)), figures=made)
    finally:
        await consumer.resume()
    _print({**report.as_dict(), "through": _when(report.cursor)})
    return 0 if report.exact else 1


async def _rebuild(consumer: Consumer, *, restart: bool) -> None:
    if restart or not await consumer.rebuilding():
        await consumer.reset()
    start: int | None = None
    target: int | None = None
    while True:
        try:
            await consumer.step()
        except LeaseLost:  # an API process holds the lease and does the work: follow it
            await asyncio.sleep(0.5)
        state = await consumer.settled()
        if state.get("reset_requested"):
            continue
        progress = await consumer.progress()
        # the horizon moves on with the clock: the rebuild is done at the one it started with
        start = progress.cursor if start is None else start
        target = progress.horizon if target is None else target
        _bar(progress.cursor, target, start)
        done = progress.cursor >= target and not progress.pending_refreshes
        if done and progress.figures_current:
            break
    await consumer.finish_rebuild()
    sys.stderr.write("\n")


def _bar(cursor: int, horizon_seq: int, start: int, width: int = 40) -> None:
    span = max(1, ms_of(horizon_seq) - ms_of(start))
    done = min(1.0, max(0.0, (ms_of(cursor) - ms_of(start)) / span))
    filled = int(done * width)
    line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done:6.1%} through {_when(cursor)}"
    sys.stderr.write(line)
    sys.stderr.flush()


def _when(seq: int) -> str:
    return stored_string(ms_of(seq))


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")
