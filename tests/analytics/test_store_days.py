"""The store-wide day documents: every activity's statements per day and canonical verb,
summed, so the console's overview reads a handful of documents, whatever the store holds."""

import uuid

from analytics.verify import verify
from lrs.storage.analytics_source import MongoAnalyticsSource
from tests.analytics.conftest import COURSE

OTHER = "http://example.com/courses/other"
DAY = "2026-02-03T10:00:00Z"
NEXT_DAY = "2026-02-04T10:00:00Z"


async def per_day(services):
    return await services.analytics.store_counts_per_day("2026-02-01", "2026-02-10")


async def exact(services):
    progress = await services.analytics.catch_up()
    db = services.client[services.settings.database]
    report = await verify(MongoAnalyticsSource(db), services.analytics.rollups, progress.cursor)
    assert report.differences == []


async def test_each_day_counts_every_activitys_statements_by_canonical_verb(
    client, services, learner_statement
):
    statements = [
        learner_statement("ada", activity=COURSE, timestamp=DAY),
        learner_statement("bob", activity=OTHER, timestamp=DAY),
        learner_statement("bob", "passed", activity=OTHER, timestamp=DAY),
        learner_statement("cy", "attempted", activity=OTHER, timestamp=NEXT_DAY),
    ]
    assert (await client.post("/xapi/statements", json=statements)).status_code == 200
    await exact(services)

    assert await per_day(services) == {
        "2026-02-03": {"completed": 2, "passed": 1},
        "2026-02-04": {"attempted": 1},
    }


async def test_a_voided_statement_stops_counting_on_its_day(client, services, learner_statement):
    kept, voided = learner_statement("ada", timestamp=DAY), learner_statement("bob", timestamp=DAY)
    voided["id"] = str(uuid.uuid4())
    assert (await client.post("/xapi/statements", json=[kept, voided])).status_code == 200
    await services.analytics.catch_up()
    assert await per_day(services) == {"2026-02-03": {"completed": 2}}

    voiding = learner_statement("admin", "voided")
    voiding["object"] = {"objectType": "StatementRef", "id": voided["id"]}
    assert (await client.post("/xapi/statements", json=[voiding])).status_code == 200
    await exact(services)

    assert await per_day(services) == {"2026-02-03": {"completed": 1}}


async def test_an_erased_learner_leaves_every_activitys_days(
    client, services, make_credentials, learner_statement
):
    statements = [
        learner_statement("ada", activity=COURSE, timestamp=DAY),
        learner_statement("ada", activity=OTHER, timestamp=NEXT_DAY),
        learner_statement("bob", activity=OTHER, timestamp=DAY),
    ]
    assert (await client.post("/xapi/statements", json=statements)).status_code == 200
    await services.analytics.catch_up()
    admin = await make_credentials(("admin",))

    erased = await client.post(
        "/admin/erasure", json={"agent": {"mbox": "mailto:ada@example.com"}}, headers=admin
    )

    assert erased.status_code == 200
    await exact(services)
    assert await per_day(services) == {"2026-02-03": {"completed": 1}}
