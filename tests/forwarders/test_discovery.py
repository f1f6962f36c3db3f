"""Discovery: polling the stored sequence through the index, writes that commit late with a
lower position, the durable cursor and its horizon, restarts, and the one-discoverer lease."""

from __future__ import annotations

import asyncio
import uuid

import orjson

from forwarders import discovery as discovery_module
from forwarders.discovery import CURSOR_STATE, Discovery, ForwarderCache
from forwarders.events import event_id
from forwarders.worker import utc_now
from lrs.storage.protocols import NewStatement
from lrs.storage.sequence import MS_SHIFT, first_seq_of_ms, ms_of, stored_string
from statements.index import derive_index
from tests.forwarders.conftest import ADL
from tests.forwarders.test_delivery import post


async def store_with_seq(services, make_statement, seq: int, **overrides) -> str:
    """Store a statement through the real store with a chosen seq: a write that took its
    sequence number long ago and commits only now."""
    statement = make_statement(id=str(uuid.uuid4()), stored=stored_string(ms_of(seq)), **overrides)
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


class Horizon:
    """A horizon the test moves by hand."""

    def __init__(self, position: int = 0) -> None:
        self.position = position

    def __call__(self) -> int:
        return self.position


def seconds_ago(seconds: float) -> int:
    return first_seq_of_ms(int(utc_now().timestamp() * 1000 - seconds * 1000))


async def test_a_late_commit_below_what_was_read_is_found_before_the_cursor_passes_it(
    client, services, make_statement, make_forwarder, make_worker, receiver, clock
):
    clock.advance(-60)  # the forwarder exists since before the late write's seq
    forwarder = await make_forwarder("hook")
    clock.sync()
    horizon = Horizon(seconds_ago(30))
    worker = make_worker(horizon=horizon)
    [first] = await post(client, make_statement())
    assert await worker.run_until_empty() == 1
    assert worker.discovery.cursor == horizon.position  # not past the horizon

    # a write that took its position 10 s ago (above the horizon, below what the live read
    # has passed) commits only now; the cursor reads it on its way to the next horizon
    late = await store_with_seq(services, make_statement, seconds_ago(10))
    horizon.position = seconds_ago(5)
    assert await worker.run_until_empty() == 1
    assert worker.discovery.cursor == horizon.position
    assert receiver.on("hook")[-1].id == event_id(forwarder["id"], late)
    assert first != late


async def test_the_cursor_is_saved_and_a_restart_resumes_from_it(
    client, db, services, make_statement, make_forwarder, make_worker, receiver, clock
):
    clock.advance(-120)
    await make_forwarder("hook")
    clock.sync()
    horizon = Horizon(seconds_ago(60))
    first = make_worker(horizon=horizon)
    await first.discovery.backfill()
    await first.discovery.save()
    saved = await db["forwarder_state"].find_one({"_id": CURSOR_STATE})
    assert saved is not None and saved["cursor"] == horizon.position

    # while no worker ran: one write behind the saved cursor (lost to the horizon's
    # promise: never written by a real API), one above it
    behind = await store_with_seq(services, make_statement, horizon.position - (5000 << MS_SHIFT))
    above = await store_with_seq(services, make_statement, seconds_ago(40))
    assert await make_worker(horizon=horizon).run_until_empty() == 1
    sent = {d.payload["data"]["statement_id"] for d in receiver.on("hook")}
    assert above in sent and behind not in sent


async def test_a_restarted_worker_sends_new_statements_before_its_backlog(
    client, db, services, make_statement, make_forwarder, make_worker, receiver, clock
):
    clock.advance(-7200)
    await make_forwarder("hook")
    clock.sync()
    # the previous run saved its cursor an hour ago; a backlog is waiting behind it
    await db["forwarder_state"].insert_one({"_id": CURSOR_STATE, "cursor": seconds_ago(3600)})
    backlog = [
        await store_with_seq(services, make_statement, seconds_ago(3000 - i)) for i in range(3)
    ]
    worker = make_worker(clock=utc_now)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        [live] = await post(client, make_statement())
        deliveries = await receiver.wait_for("hook", 4)
        sent = {d.payload["data"]["statement_id"] for d in deliveries}
        assert sent == {live, *backlog}
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
    saved = await db["forwarder_state"].find_one({"_id": CURSOR_STATE})
    assert saved is not None and saved["cursor"] > seconds_ago(3600)


async def test_a_store_left_by_the_change_stream_version_is_re_read_behind_its_watermark(
    client, db, services, make_statement, make_forwarder, make_worker, receiver, clock
):
    clock.advance(-7200)
    await make_forwarder("hook")
    clock.sync()
    watermark = seconds_ago(600)
    await db["forwarder_state"].insert_one(
        {"_id": CURSOR_STATE, "token": {"_data": "old"}, "watermark": watermark}
    )
    within = await store_with_seq(services, make_statement, seconds_ago(800))
    before = await store_with_seq(services, make_statement, seconds_ago(1000))
    assert await make_worker().run_until_empty() == 1
    sent = {d.payload["data"]["statement_id"] for d in receiver.on("hook")}
    assert within in sent and before not in sent


async def test_only_the_wanted_verbs_are_read(
    client, services, make_statement, make_forwarder, worker, monkeypatch
):
    await make_forwarder("hook", verbs=[ADL + "passed"])
    read: list[str] = []
    source = worker.discovery.source
    slices = source.slices

    async def spying(after, through, verbs, *, page=500):
        async for found in slices(after, through, verbs, page=page):
            read.extend(s.id for s in found.statements)
            yield found

    monkeypatch.setattr(source, "slices", spying)
    [passed] = await post(client, make_statement(verb={"id": ADL + "passed"}))
    await post(client, *(make_statement(verb={"id": ADL + "experienced"}) for _ in range(5)))
    await post(client, make_statement())  # completed: no forwarder wants it
    assert await worker.run_until_empty() == 1
    assert set(read) == {passed}


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


async def test_the_backfill_reads_in_batches_and_advances_the_cursor(
    client, db, make_statement, make_forwarder, make_worker, receiver, monkeypatch
):
    import forwarders.discovery

    monkeypatch.setattr(forwarders.discovery, "BATCH", 2)
    monkeypatch.setattr(forwarders.discovery, "FORWARDER_SKEW_MS", 0)
    await make_forwarder("hook")
    ids = await post(client, *(make_statement() for _ in range(5)))
    last = await db["statements"].find_one({"_id": ids[-1]})
    assert last is not None
    worker = make_worker(horizon=lambda: last["seq"])
    assert await worker.discovery.backfill() == 5
    await worker.discovery.save()
    state = await db["forwarder_state"].find_one({"_id": CURSOR_STATE})
    assert state is not None
    assert state["cursor"] == last["seq"]
    assert await worker.discovery.backfill() == 0  # idempotent


async def polled_at_now(make_forwarder, make_worker, clock, monkeypatch):
    """A forwarder created a minute ago and a worker whose discovery has polled once, its
    wall clock held at `now` (until a test moves it): (forwarder, worker, now)."""
    clock.advance(-60)
    forwarder = await make_forwarder("hook")
    clock.sync()
    worker = make_worker()
    now = discovery_module.wall_ms()
    monkeypatch.setattr(discovery_module, "wall_ms", lambda: now)
    await worker.discovery.poll()
    return forwarder, worker, now


async def test_a_write_committed_just_behind_the_live_read_is_found_by_the_next_live_read(
    client, services, make_statement, make_forwarder, make_worker, clock, monkeypatch
):
    forwarder, worker, now = await polled_at_now(make_forwarder, make_worker, clock, monkeypatch)
    discovery = worker.discovery
    # the live and recheck ranges have read up to now; a write that took its position
    # 100 ms ago commits only now, behind the live read
    late = await store_with_seq(services, make_statement, first_seq_of_ms(now - 100))
    discovery.last_read["recheck"] = discovery.last_read["durable"] = float("inf")

    assert (await discovery.poll()).new == 1  # the live range alone: no recheck, no cursor
    assert await worker.jobs.states([event_id(forwarder["id"], late)])


async def test_the_live_and_recheck_ranges_are_read_together_and_find_a_late_commit(
    client, services, make_statement, make_forwarder, make_worker, clock, monkeypatch
):
    """A query costs the embedded database about what eight statements do, found or not:
    when the recheck is due, its range (ending where the live one begins) is read with the
    live one, one read per poll, and a write that committed behind the live read's overlap
    is found by it."""
    forwarder, worker, now = await polled_at_now(make_forwarder, make_worker, clock, monkeypatch)
    discovery = worker.discovery
    # the live range has read up to now, the recheck to 500 ms ago
    # a write that took its position 400 ms ago commits only now, behind both reads
    late = await store_with_seq(services, make_statement, first_seq_of_ms(now - 400))
    ranges: list[tuple[int, int]] = []
    source = discovery.source
    slices = source.slices

    async def spying(after, through, verbs, *, page=500):
        ranges.append((after, through))
        async for found in slices(after, through, verbs, page=page):
            yield found

    monkeypatch.setattr(source, "slices", spying)
    later = now + 1000  # the live range's overlap no longer reaches the write
    monkeypatch.setattr(discovery_module, "wall_ms", lambda: later)
    discovery.last_read["durable"] = float("inf")
    discovery.last_read.pop("recheck")  # the recheck is due, the durable range is not

    assert (await discovery.poll()).new == 1
    assert await worker.jobs.states([event_id(forwarder["id"], late)])
    [(after, through)] = ranges  # one read for both ranges
    assert after < first_seq_of_ms(now - 400) <= first_seq_of_ms(later) <= through + 1


async def test_the_recent_ranges_read_the_verbs_forwarders_name_and_those_in_use(
    client, make_statement, make_forwarder, worker, monkeypatch
):
    """Each verb IRI read costs a query, found or not; a word's aliases are several IRIs,
    most of them seldom used: those are read by the durable range until one is found."""
    forwarder = await make_forwarder("hook", verbs=[ADL + "completed"])
    monkeypatch.setattr(discovery_module, "FORWARDER_SKEW_MS", 0)
    read: list[frozenset[str]] = []
    source = worker.discovery.source
    slices = source.slices

    async def spying(after, through, verbs, *, page=500):
        read.append(frozenset(verbs))
        async for found in slices(after, through, verbs, page=page):
            yield found

    monkeypatch.setattr(source, "slices", spying)
    discovery = worker.discovery
    discovery.horizon = lambda: seconds_ago(-60)  # the durable range reads up to now
    await worker.cache.refresh()
    await discovery.poll()
    live, durable = read[0], read[-1]
    alias = "https://w3id.org/xapi/adl/verbs/completed"
    assert live == {ADL + "completed"}  # named by the forwarder: read at once
    assert {ADL + "completed", alias, discovery_module.VOIDED} <= durable  # every IRI

    alias_verb = {"id": alias, "display": {"en-US": "completed"}}
    [statement_id] = await post(client, make_statement(verb=alias_verb))
    await worker.cache.refresh()
    discovery.last_read.clear()  # every range due
    await discovery.poll()
    queued = await worker.jobs.states([event_id(forwarder["id"], statement_id)])
    assert list(queued.values()) == ["pending"]  # found by the durable range
    assert discovery.hot(durable) == {ADL + "completed", alias}  # in use: read at once now

    quiet = discovery_module.COLD_AFTER_SECONDS + 1
    discovery.found_at = {verb: at - quiet for verb, at in discovery.found_at.items()}
    assert discovery.hot(durable) == frozenset()  # an hour without a statement: cold


async def test_a_forwarder_created_just_before_a_statement_still_gets_its_event(
    client, make_statement, make_forwarder, worker, admin
):
    a = await make_forwarder("a")
    await worker.cache.refresh()
    await worker.discovery.poll()
    b = await make_forwarder("b")  # unknown to the worker's cache for up to a second
    [statement_id] = await post(client, make_statement())
    await worker.discovery.poll()
    await worker.cache.refresh()
    await worker.discovery.backfill()  # re-read: handled again for b alone
    states = await worker.jobs.states([event_id(f["id"], statement_id) for f in (a, b)])
    assert sorted(states.values()) == ["pending", "pending"]
