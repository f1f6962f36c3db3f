"""A range's writes in chunks (`analytics.chunks`): a crash between two chunks is redone
exactly, and a chunk's failures are reported against the whole list."""

import random
from datetime import UTC, datetime

import pytest
from pymongo.errors import BulkWriteError

from analytics import chunks, pacing
from analytics.consumer import Consumer
from analytics.pacing import PACER, Pacer, Pacing
from analytics.rollups import RollupStore
from analytics.verify import _normalised, verify
from lrs.storage.analytics_source import MongoAnalyticsSource, horizon
from tests.analytics.test_exactness import first_difference, random_statement


class Crash(Exception):
    pass


class CrashingPacer(Pacer):
    """Dies at its `after`-th pause: between two chunks of a range's writes (or reads)."""

    def __init__(self, after: int):
        super().__init__(Pacing(), lambda: False)
        self.after = after
        self.breaths = 0

    async def breathe(self):
        self.breaths += 1
        if self.breaths == self.after:
            raise Crash


@pytest.mark.parametrize("after", [4, 9, 17])
async def test_a_range_that_crashes_between_two_chunks_is_redone_exactly(
    after, client, services, learner_statement, monkeypatch
):
    monkeypatch.setattr(pacing, "WRITE_CHUNK", 3)
    rng = random.Random(after)
    db = services.client[services.settings.database]
    source = MongoAnalyticsSource(db)

    def consumer():
        settings, in_flight = services.settings, services.in_flight
        return Consumer(db, source, RollupStore(db), lambda: horizon(settings, in_flight))

    batch = [random_statement(rng, learner_statement) for _ in range(40)]
    assert (await client.post("/xapi/statements", json=batch)).status_code == 200
    crashing, pacer = consumer(), CrashingPacer(after)
    token = PACER.set(pacer)
    try:
        with pytest.raises(Crash):
            await crashing.step()
    finally:
        PACER.reset(token)
    assert (await crashing.state.find_one({"_id": "cursor"}))["pending"] is not None

    lapsed = {"$set": {"lease_until": datetime(2000, 1, 1, tzinfo=UTC)}}
    await crashing.state.update_one({"_id": "cursor"}, lapsed)  # as if it had died
    final = consumer()
    progress = await final.catch_up()
    report = await verify(source, final.rollups, progress.cursor)
    assert report.statements == 40 and report.differences == []
    redone = {k: _normalised(v) for k, v in (await final.rollups.all_documents()).items()}
    await final.reset()
    await final.catch_up()
    rebuilt = {k: _normalised(v) for k, v in (await final.rollups.all_documents()).items()}
    assert redone == rebuilt, first_difference(redone, rebuilt)


async def test_failures_of_any_chunk_are_indexed_into_the_whole_list(services, monkeypatch):
    monkeypatch.setattr(pacing, "WRITE_CHUNK", 3)
    collection = services.client[services.settings.database]["chunked"]
    await collection.insert_many([{"_id": 4}, {"_id": 8}])
    with pytest.raises(BulkWriteError) as raised:
        await chunks.insert_many(collection, [{"_id": n} for n in range(10)])
    assert [e["index"] for e in raised.value.details["writeErrors"]] == [4, 8]
    assert await collection.count_documents({}) == 10  # every other chunk was written
