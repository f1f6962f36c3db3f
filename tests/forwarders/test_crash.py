"""Crash tests: SIGKILL the worker in the middle of a burst, and the API between storing
statements and answering; after a restart every qualifying statement is delivered."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from forwarders.discovery import LEASE_STATE
from forwarders.events import event_id
from forwarders.store import STATE
from lrs.storage.embedded import free_port
from tests.conditions import eventually
from tests.conftest import basic
from tests.forwarders.receiver import Answer
from tests.forwarders.test_delivery import post

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spawn(mongo_server, services, tmp_path) -> Iterator:
    """Start `python -m <module> <args>` against the test's database; killed at teardown."""
    started: list[subprocess.Popen[bytes]] = []
    logs: list = []
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LRS_")},
        "LRS_MONGODB_URI": mongo_server.uri,
        "LRS_DATABASE": services.settings.database,
        "LRS_DATA_DIR": str(tmp_path),
        "LRS_FORWARDER_ALLOW_PRIVATE": "true",
        "LRS_FORWARDER_POLL_SECONDS": "0.05",
        "LRS_FORWARDER_LEASE_SECONDS": "2",
        "LRS_FORWARDER_DISCOVERY_LEASE_SECONDS": "1",
    }

    def start(*args: str, **extra: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{args[0]}-{len(started)}.log").open("wb")
        logs.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            env={**env, **extra},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
    for log in logs:
        log.close()


async def test_a_worker_killed_mid_burst_loses_nothing_after_restart(
    client, make_statement, make_forwarder, spawn, receiver, admin
):
    forwarder = await make_forwarder("burst", max_in_flight=4)
    receiver.default("burst", Answer(200, delay=0.01))
    ids = []
    for _ in range(3):
        ids += await post(client, *(make_statement() for _ in range(50)))

    first = spawn("lrs.cli.worker")
    await receiver.wait_for("burst", 20, timeout=30)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert len({d.id for d in receiver.on("burst")}) < len(ids)  # killed mid-burst

    ids += await post(client, *(make_statement() for _ in range(50)))  # while no worker runs
    second = spawn("lrs.cli.worker")
    deliveries = await receiver.wait_for("burst", len(ids), timeout=40)

    assert {d.id for d in deliveries} == {event_id(forwarder["id"], i) for i in ids}
    assert all(d.verified for d in deliveries)
    # a delivery is recorded just after the receiver answers it: stop the worker once it has
    # recorded them all (a SIGTERM in between would rightly leave the event to be re-sent)
    await eventually(_no_pending(admin), "the restarted worker to record every delivery")
    second.send_signal(signal.SIGTERM)
    assert second.wait(15) == 0
    assert await admin.list_events(state="pending") == []
    assert await admin.list_events(state="failed") == []


async def test_a_worker_killed_while_delivering_what_it_has_not_written_loses_nothing(
    db, client, make_statement, make_forwarder, spawn, receiver, admin
):
    """Statements stored while the worker runs: their events are delivered before they are
    written (`claim.Claim.keep`), so the kill catches some sent and unwritten, some
    unwritten and unsent; the saved cursor is below all of them."""
    forwarder = await make_forwarder("live", max_in_flight=4)
    receiver.default("live", Answer(200, delay=0.01))
    first = spawn("lrs.cli.worker")
    await eventually(_discovering(db), "the worker to lead discovery")
    ids = []
    for _ in range(3):
        ids += await post(client, *(make_statement() for _ in range(50)))
    await receiver.wait_for("live", 20, timeout=30)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert len({d.id for d in receiver.on("live")}) < len(ids)  # killed mid-burst

    second = spawn("lrs.cli.worker")
    deliveries = await receiver.wait_for("live", len(ids), timeout=40)

    assert {d.id for d in deliveries} == {event_id(forwarder["id"], i) for i in ids}
    await eventually(_no_pending(admin), "the restarted worker to record every delivery")
    second.send_signal(signal.SIGTERM)
    assert second.wait(15) == 0
    delivered = await admin.list_events(state="delivered", limit=len(ids))
    assert {r.statement_id for r in delivered} == set(ids)


def _discovering(db):
    async def probe() -> bool:
        return await db[STATE].find_one({"_id": LEASE_STATE}) is not None

    return probe


async def test_an_api_killed_between_storing_and_answering_loses_nothing(
    db, mongo_server, make_statement, make_forwarder, spawn, worker, receiver
):
    forwarder = await make_forwarder("api")
    port = free_port()
    api = spawn(
        "lrs.cli",
        "serve",
        LRS_PORT=str(port),
        LRS_ADMIN_KEY="k",
        LRS_ADMIN_SECRET="s" * 16,
        LRS_MONGODB_URI=f"{mongo_server.uri}&appName={KILLED_API}",
    )
    headers = {"Authorization": basic("k", "s" * 16), "X-Experience-API-Version": "2.0.0"}
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
        await _wait_ready(http)
        answered = await _post_until_killed(http, api, make_statement)

    # a write the database received before the kill still runs to its end: read once the
    # database has closed every connection of the killed API (it does after its last command)
    await eventually(_gone(db, KILLED_API), "the database to finish the killed API's writes")
    stored = [doc["_id"] async for doc in db["statements"].find({}, {"_id": 1})]
    assert set(answered) <= set(stored)
    await worker.run_until_empty()
    delivered = {d.id for d in receiver.on("api")}
    assert delivered == {event_id(forwarder["id"], i) for i in stored}


KILLED_API = "killed-api"


def _gone(db, app_name: str):
    async def probe() -> bool:
        ops = (await db.client.admin.command("currentOp"))["inprog"]
        names = [(op.get("clientMetadata") or {}).get("application", {}).get("name") for op in ops]
        return app_name not in names

    return probe


async def _wait_ready(http: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the API did not start")


async def _post_until_killed(http, api, make_statement) -> list[str]:
    """Eight clients post batches; the API is SIGKILLed while requests are in flight."""
    answered: list[str] = []

    async def client_loop() -> None:
        while True:
            try:
                response = await http.post("/xapi/statements", json=[make_statement()])
            except httpx.HTTPError:
                return
            answered.extend(response.json())

    loops = [asyncio.create_task(client_loop()) for _ in range(8)]
    while len(answered) < 40:
        await asyncio.sleep(0.02)
    api.send_signal(signal.SIGKILL)
    await asyncio.gather(*loops)
    return answered


def _no_pending(admin):
    async def probe() -> bool:
        return await admin.list_events(state="pending") == []

    return probe
