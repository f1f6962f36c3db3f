"""`lrs forwarders health`: is a forwarding worker on this host alive? (A container check.)

A worker has no HTTP port to probe; what shows it is working is its heartbeat document in
`forwarder_workers` (renewed every few seconds by a running worker, removed when it stops).
The check passes when a heartbeat from this host (in a container: this container) is younger
than `max_age`, so a worker that hangs, lost its database, or died shows as unhealthy.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError

from forwarders.store import WORKERS

DEFAULT_MAX_AGE = 30.0
"""Seconds; six missed heartbeats (every 5 s) before a worker counts as unhealthy."""


def latest_beat(
    db: Database[dict[str, Any]], host: str, max_age: float, now: datetime
) -> dict[str, Any] | None:
    """The heartbeat of a worker on `host` no older than `max_age`, if there is one."""
    cutoff = now - timedelta(seconds=max_age)
    return db[WORKERS].find_one(
        {"host": host, "beat": {"$gte": cutoff}}, {"_id": 1, "beat": 1, "in_flight": 1}
    )


def check_worker(
    uri: str, database: str, max_age: float = DEFAULT_MAX_AGE, host: str | None = None
) -> tuple[int, str]:
    """(exit status, one JSON line): 0 when a worker on this host heartbeats.

    Synchronous on purpose: a one-shot check in its own process. (PyMongo's async client,
    closed right after its first query, can leave a monitor's half-open socket behind.)
    """
    host = host or socket.gethostname()
    client: MongoClient[dict[str, Any]] = MongoClient(
        uri, tz_aware=True, serverSelectionTimeoutMS=3000
    )
    try:
        beat = latest_beat(client[database], host, max_age, datetime.now(UTC))
    except PyMongoError as error:
        return 1, json.dumps({"status": "unavailable", "reason": type(error).__name__})
    finally:
        client.close()
    if beat is None:
        return 1, json.dumps({"status": "no recent heartbeat", "host": host})
    report = {"status": "ok", "worker": str(beat["_id"]), "beat": beat["beat"].isoformat()}
    return 0, json.dumps(report)
