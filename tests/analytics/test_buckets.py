"""A learner's activities kept in 16 bucket documents: the per-learner page reads them
whole, a refresh finds an activity's entries across every learner's buckets, and `verify`
compares buckets."""

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from analytics.buckets import BUCKETS, bucket_id, bucket_of, entries_of
from analytics.rollups import LEARNERS, RollupStore
from analytics.verify import verify
from lrs.retention import run_retention
from lrs.storage.analytics_source import MongoAnalyticsSource
from tests.analytics.finds import RollupFinds
from tests.analytics.test_removal import exact, post_at

ACTIVITIES = [f"http://example.com/courses/{n:02d}" for n in range(40)]
LEARNER = "mbox::mailto:ada@example.com"
PAGE = "/analytics/learners/activities"
ADA = '{"mbox": "mailto:ada@example.com"}'
NOW = datetime(2025, 1, 31, tzinfo=UTC)
OLD_MS = int(datetime(2024, 12, 1, tzinfo=UTC).timestamp() * 1000)
NEW_MS = int(datetime(2025, 1, 20, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, retention_statement_days=30)


def test_an_activity_has_one_bucket_of_sixteen_the_same_in_every_process():
    assert {bucket_of(a) for a in ACTIVITIES} == set(range(BUCKETS))
    assert bucket_of(ACTIVITIES[0]) == bucket_of(str(ACTIVITIES[0]))
    assert len({bucket_id(LEARNER, a) for a in ACTIVITIES}) == BUCKETS
    # a learner key holding `|` cannot run into another learner's buckets
    assert not {bucket_id("a|01", a) for a in ACTIVITIES} & {bucket_id("a", a) for a in ACTIVITIES}


async def pages(analyst, limit):
    found, cursor = [], None
    while True:
        params = {"agent": ADA, "limit": limit} | ({"cursor": cursor} if cursor else {})
        body = (await analyst.get(PAGE, params=params)).json()
        found.append(body["activities"])
        cursor = body["cursor"]
        if cursor is None:
            return found


async def test_forty_activities_are_sixteen_documents_paged_in_activity_order(
    client, analyst, services, learner_statement
):
    statements = [learner_statement("ada", activity=a) for a in reversed(ACTIVITIES)]
    statements.append(learner_statement("ada", "passed", activity=ACTIVITIES[3]))
    statements.append(learner_statement("bob", activity=ACTIVITIES[3]))
    assert (await client.post("/xapi/statements", json=statements)).status_code == 200
    await exact(services)

    db = services.client[services.settings.database]
    buckets = await db[LEARNERS].find({"l": LEARNER}).to_list(None)
    assert len(buckets) == BUCKETS
    assert sorted(a for doc in buckets for a, _ in entries_of(doc)) == ACTIVITIES
    assert all(bucket_id(LEARNER, a) == doc["_id"] for doc in buckets for a, _ in entries_of(doc))

    found = await pages(analyst, 15)
    assert [len(page) for page in found] == [15, 15, 10]
    assert [entry["activity"] for page in found for entry in page] == ACTIVITIES
    assert found[0][3] == {"activity": ACTIVITIES[3], "counts": {"completed": 1, "passed": 1}}


async def test_a_learners_page_is_one_read_through_the_learner_index(
    client, analyst, mongo_server, services, learner_statement
):
    """By `l` on its index, not `_id` in a list of the 16 bucket ids: SecantusDB checks each
    document it fetched against every value of an `$in` (about a third of a page's database
    time), and against the one value of an equality."""
    statements = [learner_statement("ada", activity=a) for a in ACTIVITIES]
    statements.append(learner_statement("bob", activity=ACTIVITIES[0]))
    assert (await client.post("/xapi/statements", json=statements)).status_code == 200
    await exact(services)
    reads = RollupFinds()
    observed: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_server.uri, event_listeners=[reads]
    )
    try:
        db = observed[services.settings.database]
        entries = await RollupStore(db).of_learner(LEARNER, None, 100)
        assert [entry["a"] for entry in entries] == ACTIVITIES
        assert len(reads.to(LEARNERS)) == 1
        plan = (await db[LEARNERS].find(reads.to(LEARNERS)[0]).explain())["queryPlanner"]
        assert plan["winningPlan"]["inputStage"]["indexName"] == "learner"
    finally:
        await observed.close()
    body = (await analyst.get(PAGE, params={"agent": ADA})).json()
    assert [entry["activity"] for entry in body["activities"]] == ACTIVITIES


async def test_retention_takes_an_activity_out_of_every_learners_bucket(
    client, analyst, services, learner_statement
):
    old, kept = ACTIVITIES[:20], ACTIVITIES[20:24]
    for learner in ("ada", "bob"):
        await post_at(
            client, services, OLD_MS, [learner_statement(learner, activity=a) for a in old]
        )
        await post_at(
            client, services, NEW_MS, [learner_statement(learner, activity=a) for a in kept]
        )
    await services.analytics.catch_up()
    assert len([e for page in await pages(analyst, 100) for e in page]) == 24

    db = services.client[services.settings.database]
    report = await run_retention(
        db, services.settings, services.audit, dry_run=False, actor="t", source="t", now=NOW
    )
    assert report.statements_deleted == 40
    await exact(services)

    assert [e["activity"] for page in await pages(analyst, 100) for e in page] == kept
    held = {a async for doc in db[LEARNERS].find({}) for a, _ in entries_of(doc)}
    assert held == set(kept)
    # a bucket whose every activity went is deleted, not left empty
    assert await db[LEARNERS].count_documents({"x": {}}) == 0


async def test_verify_sees_a_changed_count_in_a_bucket(client, services, learner_statement):
    response = await client.post("/xapi/statements", json=[learner_statement("ada")])
    assert response.status_code == 200
    report = await exact(services)
    assert report.documents > 0
    db = services.client[services.settings.database]
    bucket = await db[LEARNERS].find_one({"l": LEARNER})
    assert bucket is not None

    name = next(iter(bucket["x"]))
    await db[LEARNERS].update_one({"_id": bucket["_id"]}, {"$inc": {f"x.{name}.v.completed": 1}})
    progress = await services.analytics.catch_up()
    source = MongoAnalyticsSource(db)
    report = await verify(source, services.analytics.rollups, progress.cursor)
    assert [d["id"] for d in report.differences] == [bucket["_id"]]
    assert report.differences[0]["actual"]["x"][name]["v"] == {"completed": 2}
