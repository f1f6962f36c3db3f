"""Nothing acknowledged is lost: a process killed after storing deliveries and before making
their statements, or killed after writing statements and before marking the event done."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from connectors.attendance import ATTENDED, COMPLETED
from connectors.inbox import LEASE
from connectors.processor import Processor
from connectors.providers import zoom
from statements.errors import BadRequest
from tests.connectors.conftest import post_event, zoom_events

KILLED_RECEIVER = textwrap.dedent(
    """
    import asyncio, json, os, signal, sys
    import httpx
    from asgi_lifespan import LifespanManager
    from lrs.app import create_app
    from lrs.settings import Settings
    from tests.connectors.conftest import zoom_events, zoom_headers

    uri, database, connector_id, data_dir = sys.argv[1:5]

    async def main():
        settings = Settings(database=database, data_dir=data_dir, public_url="http://lrs.test")
        app = create_app(settings, uri)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://lrs.test") as http:
                for event in zoom_events():
                    body = json.dumps(event).encode()
                    response = await http.post(
                        "/connectors/" + connector_id, content=body, headers=zoom_headers(body)
                    )
                    print(response.status_code, flush=True)
            # acknowledged, meeting.ended not yet due: die without any clean-up
            os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


async def count(client, verb: str) -> int:
    response = await client.get("/xapi/statements", params={"verb": verb, "limit": 100})
    return len(response.json()["statements"])


@pytest.mark.slow
async def test_a_process_killed_after_acknowledging_loses_nothing_and_duplicates_nothing(
    zoom_connector, provider, client, services, settings, mongo_server, tmp_path
):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_RECEIVER,
            mongo_server.uri,
            settings.database,
            zoom_connector["id"],
            str(tmp_path / "killed"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -9, done.stderr
    assert done.stdout.split() == ["200"] * len(zoom_events())
    assert await count(client, ATTENDED) == 0

    # this process takes over: what the killed one acknowledged becomes statements, once
    later = datetime.now(UTC) + timedelta(hours=1)
    await services.connectors.processor.drain(later)
    retry = await post_event(provider, "/connectors/" + zoom_connector["id"], zoom_events()[-2])
    assert retry.json() == {"status": "duplicate"}
    await services.connectors.processor.drain(later)
    assert await count(client, ATTENDED) == 2
    assert await count(client, COMPLETED) == 1


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


async def test_a_crash_after_writing_statements_and_before_marking_done_repeats_nothing(
    zoom_connector, provider, client, services
):
    connectors = services.connectors
    for event in zoom_events():
        await post_event(provider, "/connectors/" + zoom_connector["id"], event)
    await connectors.processor.drain()  # the moves; meeting.ended waits for its settle time

    async def write_then_die(connector, statements):
        await connectors.processor.sink(connector, statements)
        raise Killed

    dying = Processor(connectors.inbox, connectors.store, write_then_die)
    later = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(Killed):
        await dying.drain(later)
    assert await count(client, ATTENDED) == 2
    stuck = await connectors.inbox.collection.find_one({"event.kind": "ended"})
    assert stuck["state"] == "pending"

    # before the lease ends nobody takes it; after, the event is processed again
    assert await connectors.processor.drain(later) == 0
    assert await connectors.processor.drain(later + LEASE) == 1
    assert await count(client, ATTENDED) == 2
    assert await count(client, COMPLETED) == 1
    done = await connectors.inbox.collection.find_one({"_id": stuck["_id"]})
    assert (done["state"], done["attempts"]) == ("done", 2)


async def test_moves_go_in_one_batch_and_a_refused_batch_fails_only_the_event_at_fault(
    zoom_connector, client, services
):
    connectors = services.connectors
    later = datetime.now(UTC) + timedelta(hours=1)  # out of the app's own processor's reach
    for event in [zoom.parse(e) for e in zoom_events()]:
        await connectors.inbox.add(zoom_connector["id"], event, b"", later, later)
    calls = []

    async def refuse_bob(connector, statements):
        calls.append(len(statements))
        bob = {"homePage": "https://zoom.us", "name": "G-7C1E9A22-0002"}
        if any(s["actor"].get("account") == bob for s in statements):
            raise BadRequest("not Bob", {"rule": "test"})
        await connectors.processor.sink(connector, statements)

    picky = Processor(connectors.inbox, connectors.store, refuse_bob)
    assert await picky.drain(later) == 10
    assert calls[0] == 8  # every move in one batch: refused, so then one by one
    states = {
        doc["event"]["participant"]["name"]: doc["state"]
        async for doc in connectors.inbox.collection.find({"event.kind": "left"})
    }
    assert states == {"Ada Lovelace": "done", "Bob (guest)": "failed"}
    joined = await client.get(
        "/xapi/statements", params={"verb": "http://activitystrea.ms/schema/1.0/join"}
    )
    assert len(joined.json()["statements"]) == 3  # Ada's three joins; Bob's was refused
