"""`lrs forwarders health`: the worker's container health check reads its heartbeat."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from datetime import UTC, datetime, timedelta

from pymongo import MongoClient

from forwarders.health import check_worker
from forwarders.store import WORKERS
from forwarders.worker import utc_now
from lrs.cli.main import main


async def check(uri: str, database: str, **options):
    """The check runs in its own process in a container; here, off the event loop."""
    return await asyncio.to_thread(check_worker, uri, database, **options)


async def test_healthy_while_a_worker_on_this_host_runs_and_not_after_it_stops(
    make_worker, mongo_server, settings
):
    worker = make_worker(clock=utc_now)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(100):
            status, report = await check(mongo_server.uri, settings.database)
            if status == 0:
                break
            await asyncio.sleep(0.05)
        assert status == 0, report
        assert json.loads(report)["worker"] == worker.id
        other_host = await check(mongo_server.uri, settings.database, host="elsewhere")
        assert other_host[0] == 1
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    status, report = await check(mongo_server.uri, settings.database)
    assert status == 1 and json.loads(report)["status"] == "no recent heartbeat"


async def test_a_stale_heartbeat_is_unhealthy(db, mongo_server, settings):
    old = datetime.now(UTC) - timedelta(seconds=45)
    await db[WORKERS].insert_one({"_id": "w1", "host": socket.gethostname(), "beat": old})
    assert (await check(mongo_server.uri, settings.database, max_age=30))[0] == 1
    assert (await check(mongo_server.uri, settings.database, max_age=60))[0] == 0


async def test_an_unreachable_database_is_unhealthy():
    status, report = await check("mongodb://127.0.0.1:9/?connectTimeoutMS=200", "lrs")
    assert status == 1 and json.loads(report)["status"] == "unavailable"


def test_the_command_exits_by_the_heartbeat(mongo_server, monkeypatch, capsys):
    database = f"t{uuid.uuid4().hex}"
    monkeypatch.setenv("LRS_MONGODB_URI", mongo_server.uri)
    monkeypatch.setenv("LRS_DATABASE", database)
    assert main(["forwarders", "health"]) == 1
    with MongoClient(mongo_server.uri) as client:
        beat = datetime.now(UTC)
        client[database][WORKERS].insert_one(
            {"_id": "w", "host": socket.gethostname(), "beat": beat}
        )
        try:
            assert main(["forwarders", "health", "--max-age", "60"]) == 0
        finally:
            client.drop_database(database)
    assert '"status": "ok"' in capsys.readouterr().out
