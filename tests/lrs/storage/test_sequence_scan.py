"""The one slice-by-slice scan over the stored sequence (discovery, reconciliation, the key
upgrade): every statement of the key in the range, once, in seq order, however the slices
fall, with a checkpoint after each slice."""

from __future__ import annotations

import contextlib
import random

from pymongo import AsyncMongoClient, monitoring

from lrs.storage.analytics_source import MongoAnalyticsSource
from lrs.storage.sequence import MS_SHIFT
from lrs.storage.sequence_scan import scan

BASE_MS = 1_700_000_000_000


async def stored(db, spread_ms: list[int], key: str = "*") -> list[int]:
    seqs = [(BASE_MS + ms) << MS_SHIFT | n for n, ms in enumerate(spread_ms)]
    await db["statements"].insert_many(
        [
            {"_id": f"s{n}", "seq": seq, "keys": ["*", key], "raw": "{}"}
            for n, seq in enumerate(seqs)
        ]
    )
    return seqs


async def slices(db, key, after, through, **options):
    return [s async for s in scan(db["statements"], key, after, through, {"_id": 1}, **options)]


async def test_a_scan_reads_every_statement_of_the_range_once_in_seq_order(services):
    db = services.client[services.settings.database]
    # a dense burst, a long gap, a sparse tail: pages fill, slices narrow, then grow
    seqs = await stored(db, [0] * 7 + [1, 2, 3] + [3_600_000 + 10 * n for n in range(5)])
    found = await slices(db, "*", seqs[0] - 1, seqs[-1], page=3, first_span=1 << MS_SHIFT)

    read = [doc["seq"] for s in found for doc in s.docs]
    assert read == seqs
    assert all(len(s.docs) <= 3 for s in found)
    throughs = [s.through for s in found]
    assert throughs == sorted(throughs) and throughs[-1] == seqs[-1]
    assert any(not s.docs for s in found)  # the gap is crossed in empty, growing slices


async def test_a_scan_keeps_to_its_key_and_its_bounds(services):
    db = services.client[services.settings.database]
    seqs = await stored(db, [0, 1, 2, 3], key="v:x")
    await db["statements"].insert_one({"_id": "other", "seq": seqs[1] + 1, "keys": ["*"]})

    found = await slices(db, "v:x", seqs[0], seqs[2])
    assert [doc["_id"] for s in found for doc in s.docs] == ["s1", "s2"]


async def test_a_checkpoint_resumes_without_reading_anything_twice(services):
    db = services.client[services.settings.database]
    seqs = await stored(db, list(range(6)))
    first = await slices(db, "*", 0, seqs[2], page=2)
    rest = await slices(db, "*", first[-1].through, seqs[-1], page=2)
    read = [doc["seq"] for s in first + rest for doc in s.docs]
    assert read == seqs


async def test_several_keys_are_read_as_one_sequence_each_statement_once(services):
    db = services.client[services.settings.database]
    spread = [0, 0, 0, 1, 1, 2, 3, 3, 4, 5]
    seqs = [(BASE_MS + ms) << MS_SHIFT | n for n, ms in enumerate(spread)]
    keys = [["*", "v:a"], ["*", "v:b"], ["*", "v:a", "v:b"], ["*", "v:c"], ["*", "v:a"]]
    await db["statements"].insert_many(
        [{"_id": f"s{n}", "seq": seq, "keys": keys[n % 5]} for n, seq in enumerate(seqs)]
    )
    # "v:a" fills its pages while "v:b" does not: each slice stops where "v:a" was cut
    found = await slices(db, ["v:a", "v:b"], seqs[0] - 1, seqs[-1], page=2, first_span=1 << 40)

    read = [doc["_id"] for s in found for doc in s.docs]
    wanted = [f"s{n}" for n in range(len(seqs)) if n % 5 != 3]
    assert read == wanted  # in seq order, "s2" (both keys) once, "v:c" left out
    throughs = [s.through for s in found]
    assert throughs == sorted(throughs) and throughs[-1] == seqs[-1]
    assert await slices(db, ["v:a"], seqs[0] - 1, seqs[-1]) == await slices(
        db, "v:a", seqs[0] - 1, seqs[-1]
    )


class FindRanges(monitoring.CommandListener):
    """The `seq` range of every find the scan sends (a real client-side command monitor)."""

    def __init__(self) -> None:
        self.ranges: list[dict[str, int]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.ranges.append(dict(event.command["filter"]["seq"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@contextlib.asynccontextmanager
async def watched(mongo_server, services):
    """The statements collection through a client whose finds are recorded."""
    listener = FindRanges()
    client = AsyncMongoClient(mongo_server.uri, event_listeners=[listener])
    try:
        yield client[services.settings.database]["statements"], listener
    finally:
        await client.close()


async def held_by(db, listener: FindRanges) -> list[int]:
    """How many statements each recorded find's range holds: what the database read."""
    return [
        await db["statements"].count_documents({"keys": "*", "seq": bounds})
        for bounds in listener.ranges
    ]


async def test_a_densely_stored_backlog_is_read_about_once(services, mongo_server):
    """The database reads every match of a slice before its limit: each slice after the
    first holds about a page, so a backlog stored at thousands a second (a rebuild's, a
    catching-up forwarder's) is not read again from every cut."""
    db = services.client[services.settings.database]
    rng = random.Random(7)
    seqs = await stored(db, sorted(rng.randrange(1_000) for _ in range(3_000)))
    async with watched(mongo_server, services) as (statements, listener):
        found = [s async for s in scan(statements, "*", seqs[0] - 1, seqs[-1], page=100)]

    assert [doc["seq"] for s in found for doc in s.docs] == seqs
    held = await held_by(db, listener)
    assert held[0] == len(seqs)  # the first slice (five seconds) holds the whole burst
    assert max(held[1:]) <= 2 * 100, held  # every later one about a page
    assert sum(held) <= 3 * len(seqs), sum(held)


async def test_a_consumer_working_through_a_dense_backlog_reads_each_statement_about_once(
    services, mongo_server
):
    """The rollup consumer reads a page per call, each call a new scan: it starts as wide
    as its last full page was, not with a whole first slice every time."""
    db = services.client[services.settings.database]
    rng = random.Random(11)
    seqs = await stored(db, sorted(rng.randrange(2_000) for _ in range(3_000)))
    async with watched(mongo_server, services) as (statements, listener):
        source = MongoAnalyticsSource(statements.database)
        read: list[int] = []
        low = seqs[0]
        while batch := await source.slice(low, seqs[-1] + 1, 200):
            read += [statement.seq for statement in batch]
            low = batch[-1].seq + 1

    assert read == seqs
    held = await held_by(db, listener)
    assert held[0] == len(seqs)
    assert max(held[1:]) <= 2 * 200, held
    assert sum(held) <= 3 * len(seqs), sum(held)
