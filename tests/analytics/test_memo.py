"""Answers kept per version of the rollups: reused while nothing is written, never after."""

import asyncio
import time
from typing import Any

from pymongo import AsyncMongoClient

from analytics.consumer import STATE
from analytics.memo import Memo
from lrs.analytics_people import CACHE_SECONDS
from tests.analytics.conftest import COURSE
from tests.analytics.finds import RollupFinds

SUMMARY = "/analytics/activities/summary"
SERIES = "/analytics/activities/timeseries"
LEARNER = "/analytics/learners/activities"
GROUPS = "/analytics/activities/groups"
ADA = '{"mbox": "mailto:ada@example.com"}'
SALES = "employee_id,email,department\nE1,ada@example.com,Sales\n"
BY_DEPARTMENT = {"activity": COURSE, "group_by": "department"}


async def post(client, statements):
    response = await client.post("/xapi/statements", json=statements)
    assert response.status_code == 200, response.text


def test_a_new_version_drops_every_answer_of_the_old_one():
    memo = Memo()
    memo.put("v1", "ignored", 1)  # no answer is kept before its version was seen
    assert memo.get("v1", "summary") is None
    memo.put("v1", "summary", {"counts": 1})
    assert memo.get("v1", "summary") == {"counts": 1}

    assert memo.get("v2", "summary") is None
    assert len(memo) == 0


def test_an_answer_computed_under_an_older_version_is_not_kept():
    memo = Memo()
    memo.get("v1", "summary")
    memo.get("v2", "summary")  # another request saw the new version meanwhile

    memo.put("v1", "summary", {"counts": 1})

    assert len(memo) == 0


def test_the_least_recently_used_answers_go_first():
    memo = Memo(max_bytes=3)  # an answer `1` is one byte of JSON
    memo.get("v", "a")
    memo.put("v", "a", 1)
    memo.put("v", "b", 2)
    memo.put("v", "c", 3)
    memo.get("v", "a")
    memo.put("v", "d", 4)

    assert [memo.get("v", key) for key in "abcd"] == [1, None, 3, 4]


def test_a_large_answer_makes_room_for_itself():
    memo = Memo(max_bytes=18)
    memo.get("v", "a")
    for key in "abc":
        memo.put("v", key, key)  # 3 bytes each

    memo.put("v", "documents", ["d"] * 4)  # 17 bytes

    assert [memo.get("v", key) for key in "abc"] == [None, None, None]
    assert memo.get("v", "documents") == ["d"] * 4


def test_an_answer_that_is_not_json_is_not_kept():
    memo = Memo()
    memo.get("v", "odd")

    memo.put("v", "odd", {"n": 2**70})

    assert memo.get("v", "odd") is None


def test_every_caller_gets_its_own_copy():
    memo = Memo()
    memo.get("v", "summary")
    memo.put("v", "summary", {"counts": {"completed": 1}})

    memo.get("v", "summary")["counts"]["completed"] = 99

    assert memo.get("v", "summary") == {"counts": {"completed": 1}}


async def test_a_repeated_question_is_answered_from_memory(
    client, analyst, services, learner_statement
):
    await post(client, [learner_statement("ada", "completed")])
    await services.analytics.catch_up()
    first = (await analyst.get(SUMMARY, params={"activity": COURSE})).json()
    # the rollups change behind the service's back (no version written): the answer kept
    # for the version is what comes back, not a read of the documents
    await services.analytics.rollups.totals.delete_many({})

    again = (await analyst.get(SUMMARY, params={"activity": COURSE})).json()

    assert again == first
    assert again["counts"] == {"completed": 1}


async def test_a_range_applied_elsewhere_shows_as_soon_as_its_version_is_read(
    client, analyst, services, learner_statement
):
    analytics = services.analytics
    analytics.through_seconds = 0  # read the version for every answer
    analytics.consumer.changed = lambda: None  # as if another process's consumer ran
    await post(client, [learner_statement("ada", "completed")])
    await analytics.catch_up()
    queries = {
        SUMMARY: {"activity": COURSE},
        SERIES: {"activity": COURSE, "interval": "day"},
        LEARNER: {"agent": ADA},
    }
    before = {url: (await analyst.get(url, params=q)).json() for url, q in queries.items()}

    await post(client, [learner_statement("ada", "passed"), learner_statement("bob", "passed")])
    await analytics.catch_up()
    after = {url: (await analyst.get(url, params=q)).json() for url, q in queries.items()}

    assert before[SUMMARY]["counts"] == {"completed": 1}
    assert after[SUMMARY]["counts"] == {"completed": 1, "passed": 2}
    assert [p["counts"] for p in after[SERIES]["points"]] == [{"completed": 1, "passed": 2}]
    assert after[LEARNER]["activities"][0]["counts"] == {"completed": 1, "passed": 1}


async def test_this_process_s_consumer_makes_the_next_answer_read_the_new_version(
    client, analyst, services, learner_statement
):
    await post(client, [learner_statement("ada", "completed")])
    await services.analytics.catch_up()
    assert (await analyst.get(SUMMARY, params={"activity": COURSE})).json()["counts"] == {
        "completed": 1
    }

    await post(client, [learner_statement("bob", "completed")])
    await services.analytics.catch_up()

    body = (await analyst.get(SUMMARY, params={"activity": COURSE})).json()
    assert body["counts"] == {"completed": 2}


async def test_a_range_without_statements_keeps_the_version(client, services, learner_statement):
    consumer = services.analytics.consumer
    await post(client, [learner_statement("ada", "completed")])
    await consumer.catch_up()
    cursor, version, _ = await consumer.version()

    await consumer.step()  # the horizon moved on, with no statement below it
    later_cursor, later_version, _ = await consumer.version()

    assert later_version == version
    assert later_cursor >= cursor


async def test_a_refresh_writes_a_new_version(client, services, learner_statement):
    consumer = services.analytics.consumer
    await post(client, [learner_statement("ada", "completed")])
    await consumer.catch_up()
    _, version, _ = await consumer.version()

    await consumer.refreshes.close(await consumer.refreshes.open({COURSE}))  # as erasure does
    await consumer.catch_up()

    assert (await consumer.version())[1] != version


async def test_a_rebuild_writes_a_new_version(client, services, learner_statement):
    consumer = services.analytics.consumer
    await post(client, [learner_statement("ada", "completed")])
    await consumer.catch_up()
    _, version, _ = await consumer.version()

    await consumer.reset()
    await consumer.step()  # the rollups cleared, the cursor back at the first statement

    assert (await consumer.version())[1] != version


async def ada_sliced_in_sales(client, analyst, services, learner_statement) -> dict:
    """Ada, of Sales in the identity import, completed the course; her slice by department."""
    await services.identities.import_people(SALES, "csv")
    await post(client, [learner_statement("ada", "completed")])
    await services.analytics.catch_up()
    return (await analyst.get(GROUPS, params=BY_DEPARTMENT)).json()


async def moved_to_ops(services) -> None:
    """The import now has Ada in Ops, and the table read before has aged."""
    await services.identities.import_people(SALES.replace("Sales", "Ops"), "csv")
    services.analytics.people.clock = lambda: time.monotonic() + 2 * CACHE_SECONDS


async def test_a_repeated_slice_is_kept_until_the_people_table_is_read_again(
    client, analyst, services, learner_statement
):
    first = await ada_sliced_in_sales(client, analyst, services, learner_statement)
    query = BY_DEPARTMENT
    # the rollups change behind the service's back (no version written): kept
    await services.analytics.rollups.periods.delete_many({})
    await services.analytics.rollups.days.delete_many({})
    assert (await analyst.get(GROUPS, params=query)).json() == first

    await moved_to_ops(services)
    again = (await analyst.get(GROUPS, params=query)).json()

    assert [g["value"] for g in first["groups"]] == ["Sales"]
    assert again["groups"] == []  # recomputed: from the documents as they now are


async def test_a_learner_met_before_takes_the_value_of_the_table_read_again(
    client, analyst, services, learner_statement
):
    first = await ada_sliced_in_sales(client, analyst, services, learner_statement)

    await moved_to_ops(services)
    again = (await analyst.get(GROUPS, params=BY_DEPARTMENT)).json()

    assert [(g["value"], g["learners"]) for g in first["groups"]] == [("Sales", {"completed": 1})]
    assert [(g["value"], g["learners"]) for g in again["groups"]] == [("Ops", {"completed": 1})]


async def test_requests_that_find_the_version_aged_share_one_read_of_it(mongo_server, services):
    analytics = services.analytics
    reads = RollupFinds()
    observed: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_server.uri, event_listeners=[reads]
    )
    kept = analytics.consumer.state
    try:
        analytics.consumer.state = observed[services.settings.database][STATE]
        analytics._changed()
        versions = await asyncio.gather(*(analytics.version() for _ in range(16)))
        assert len(reads.to(STATE)) == 1
        assert len(set(versions)) == 1

        analytics._changed()  # this process wrote a new version: read again at once
        await analytics.version()
        assert len(reads.to(STATE)) == 2
    finally:
        analytics.consumer.state = kept
        await observed.close()
