"""Discovery: the change stream, the seq-watermark backfill, lost resume tokens, writes that
commit late with a lower seq, and the one-discoverer lease."""

from __future__ import annotations

import asyncio
import uuid

import orjson

from forwarders.discovery import STREAM_STATE, Discovery, ForwarderCache
from forwarders.events import event_id
from forwarders.worker import utc_now
from lrs.storage.protocols import NewStatement
from lrs.storage.sequence import MS_SHIFT, ms_of, stored_string
from statements.index import derive_index
from tests.forwarders.test_delivery import post


async def store_with_seq(services, make_statement, seq: int) -> str:
    """Store a statement through the real store with a chosen seq: a write that took its
    sequence number long ago and commits only now."""
    statement = make_statement(id=str(uuid.uuid4()), stored=stored_string(ms_of(seq)))
    statement["authority"] = {"mbox": "mailto:lrs@example.com"}
    new = NewStatement(
        id=statement["id"],
        seq=seq,
        statement=statement,
        raw=orjson.dumps(statement).decode(),
        index=derive_index(statement),
        ref=None,
        authority_key="mbox::mailto:lrs@example.com",
    )
    await services.statements.insert_statements([new], [])
    return str(statement["id"])


async def test_a_late_commit_behind_the_watermark_is_found_by_the_rescan(
    client, services, make_statement, make_forwarder, worker, receiver, clock
):
    clock.advance(-10)  # the forwarder exists since before the late write's seq
    forwarder = await make_forwarder("hook")
    clock.sync()
    [first] = await post(client, make_statement())
    assert await worker.run_until_empty() == 1
    watermark = worker.discovery.watermark
    assert watermark > 0

    late = await store_with_seq(services, make_statement, watermark - (2000 << MS_SHIFT))
    assert await worker.run_until_empty() == 1
    assert receiver.on("hook")[-1].id == event_id(forwarder["id"], late)
    assert first != late


async def test_a_refused_resume_token_falls_back_to_the_backfill(
    client, db, services, make_statement, make_forwarder, make_worker, receiver, clock
):
    clock.advance(-7200)  # the forwarder exists since before the late write's seq
    await make_forwarder("hook")
    await db["forwarder_state"].insert_one(
        {"_id": STREAM_STATE, "token": {"_data": "not-a-token"}, "watermark": 0}
    )
    ids = await post(client, *(make_statement() for _ in range(3)))  # while no worker runs
    worker = make_worker(clock=utc_now)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        deliveries = await receiver.wait_for("hook", 3)
        assert {d.payload["data"]["statement_id"] for d in deliveries} == set(ids)
        # and the live stream, ordered by commit, catches a write far behind the watermark
        old_seq = (ms_of(services.clock.next()) - 3_600_000) << MS_SHIFT
        late = await store_with_seq(services, make_statement, old_seq)
        deliveries = await receiver.wait_for("hook", 4)
        assert late in {d.payload["data"]["statement_id"] for d in deliveries}
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    state = await db["forwarder_state"].find_one({"_id": STREAM_STATE})
    assert state is not None and state["token"] != {"_data": "not-a-token"}


async def test_only_one_worker_discovers_at_a_time(db, worker, clock):
    cache = ForwarderCache(worker.store)
    other = Discovery(
        db, worker.discovery.source, worker.pipeline, cache, clock=clock, owner="other"
    )
    assert await worker.discovery.acquire() is True
    assert await other.acquire() is False
    assert await worker.discovery.acquire() is True  # renewal
    clock.advance(16)
    assert await other.acquire() is True
    assert await worker.discovery.acquire() is False
    await other.resign()
    assert await worker.discovery.acquire() is True


async def test_the_backfill_reads_in_batches_and_advances_the_watermark(
    client, db, make_statement, make_forwarder, worker, receiver, monkeypatch
):
    import forwarders.discovery

    monkeypatch.setattr(forwarders.discovery, "BATCH", 2)
    await make_forwarder("hook")
    ids = await post(client, *(make_statement() for _ in range(5)))
    assert await worker.discovery.backfill() == 5
    state = await db["forwarder_state"].find_one({"_id": STREAM_STATE})
    last = await db["statements"].find_one({"_id": ids[-1]})
    assert state is not None and last is not None
    assert state["watermark"] == last["seq"]
    assert await worker.discovery.backfill() == 0  # idempotent
