"""Completion and pass rates, score distribution, time to completion, attendance minutes,
and the same sliced by an HRIS attribute: all from the rollups."""

import uuid

import pytest

from tests.analytics.conftest import COURSE

SUMMARY = "/analytics/activities/summary"
GROUPS = "/analytics/activities/groups"
T0 = "2026-03-02T09:00:00Z"


def at(seconds):
    """T0 plus `seconds`, as a statement timestamp."""
    from datetime import UTC, datetime, timedelta

    moment = datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(seconds=seconds)
    return moment.isoformat().replace("+00:00", "Z")


async def post(client, statements):
    response = await client.post("/xapi/statements", json=statements)
    assert response.status_code == 200, response.text
    return response.json()


async def summary(analyst, **params):
    response = await analyst.get(SUMMARY, params={"activity": COURSE, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def test_completion_rate_is_completed_over_attempted_and_pass_rate_passed_over_judged(
    client, analyst, services, learner_statement
):
    await post(
        client,
        [
            learner_statement("ada", "attempted"),
            learner_statement("ada", "completed"),
            learner_statement("bob", "attempted"),
            learner_statement("cy", "passed", result={"success": True}),
            learner_statement("dee", "failed", result={"success": False}),
            learner_statement("dee", "passed", result={"success": True}),
            learner_statement("eve", "failed", result={"success": False}),
        ],
    )
    await services.analytics.catch_up()

    body = await summary(analyst)

    assert body["rates"] == {"completion": 0.5, "pass": pytest.approx(2 / 3, abs=1e-4)}


async def test_rates_are_null_without_a_denominator(client, analyst, services, learner_statement):
    await post(client, [learner_statement("ada", "completed")])
    await services.analytics.catch_up()

    assert (await summary(analyst))["rates"] == {"completion": None, "pass": None}


async def test_score_distribution_counts_statements_per_tenth_of_the_scaled_score(
    client, analyst, services, learner_statement
):
    scores = [0, 0.05, 0.1, 0.55, 0.999, 1, -0.3]
    await post(
        client,
        [
            learner_statement(f"l{i}", "scored", result={"score": {"scaled": s}})
            for i, s in enumerate(scores)
        ],
    )
    await services.analytics.catch_up()

    body = await summary(analyst)

    assert body["score_distribution"] == {
        "buckets": [2, 1, 0, 0, 0, 1, 0, 0, 0, 2],
        "below_zero": 1,
    }
    assert body["score"]["count"] == 7


async def test_time_to_completion_is_first_attempt_to_first_completion_per_learner(
    client, analyst, services, learner_statement
):
    await post(
        client,
        [
            learner_statement("ada", "attempted", timestamp=at(0)),
            learner_statement("ada", "attempted", timestamp=at(300)),
            learner_statement("ada", "completed", timestamp=at(600)),
            learner_statement("ada", "completed", timestamp=at(900)),
            learner_statement("bob", "attempted", timestamp=at(0)),
            learner_statement("bob", "completed", timestamp=at(60)),
            learner_statement("cy", "completed", timestamp=at(30)),  # never attempted
            learner_statement("dee", "attempted", timestamp=at(10)),  # never completed
            learner_statement("eve", "attempted", timestamp=at(0)),
            learner_statement("eve", "completed", timestamp=at(7200)),
        ],
    )
    await services.analytics.catch_up()

    body = await summary(analyst)

    assert body["completion_time"] == {
        "learners": 3,
        "median_seconds": 600.0,
        "p90_seconds": 7200.0,
        "mean_seconds": pytest.approx((60 + 600 + 7200) / 3, abs=1e-3),
    }


async def test_a_voided_first_completion_gives_way_to_the_next_one(
    client, analyst, services, learner_statement
):
    first = learner_statement("ada", "completed", timestamp=at(100))
    first["id"] = str(uuid.uuid4())
    await post(
        client,
        [
            learner_statement("ada", "attempted", timestamp=at(0)),
            first,
            learner_statement("ada", "completed", timestamp=at(500)),
        ],
    )
    await services.analytics.catch_up()
    assert (await summary(analyst))["completion_time"]["median_seconds"] == 100.0

    voiding = learner_statement("admin", "voided")
    voiding["object"] = {"objectType": "StatementRef", "id": first["id"]}
    await post(client, [voiding])
    await services.analytics.catch_up()

    assert (await summary(analyst))["completion_time"]["median_seconds"] == 500.0


async def test_time_to_completion_in_a_window_counts_learners_who_first_completed_in_it(
    client, analyst, services, learner_statement
):
    await post(
        client,
        [
            learner_statement("ada", "attempted", timestamp="2026-03-01T10:00:00Z"),
            learner_statement("ada", "completed", timestamp="2026-03-01T11:00:00Z"),
            learner_statement("bob", "attempted", timestamp="2026-03-01T10:00:00Z"),
            learner_statement("bob", "completed", timestamp="2026-03-05T10:00:00Z"),
        ],
    )
    await services.analytics.catch_up()

    body = await summary(analyst, since="2026-03-02", until="2026-04-01")

    assert body["completion_time"]["learners"] == 1
    assert body["completion_time"]["median_seconds"] == 4 * 86400


async def test_attendance_sums_the_duration_of_attended_statements_only(
    client, analyst, services, learner_statement
):
    await post(
        client,
        [
            learner_statement("ada", "attended", result={"duration": "PT30M"}),
            learner_statement(
                "bob", "http://activitystrea.ms/attend", result={"duration": "PT1H0.5S"}
            ),
            learner_statement("cy", "attended"),
            learner_statement("dee", "completed", result={"duration": "PT10M"}),
        ],
    )
    await services.analytics.catch_up()

    body = await summary(analyst)

    assert body["attendance"] == {"minutes": pytest.approx(90 + 0.5 / 60, abs=1e-3), "learners": 3}


async def test_a_voided_attendance_stops_counting_its_minutes(
    client, analyst, services, learner_statement
):
    long = learner_statement("ada", "attended", result={"duration": "PT2H"})
    long["id"] = str(uuid.uuid4())
    await post(client, [long, learner_statement("bob", "attended", result={"duration": "PT15M"})])
    await services.analytics.catch_up()
    voiding = learner_statement("admin", "voided")
    voiding["object"] = {"objectType": "StatementRef", "id": long["id"]}
    await post(client, [voiding])
    await services.analytics.catch_up()

    assert (await summary(analyst))["attendance"] == {"minutes": 15.0, "learners": 1}


PEOPLE = (
    "employee_id,email,department,manager_id\n"
    "E1,ada@example.com,Sales,M1\n"
    "E2,bob@example.com,Sales,M1\n"
    "E3,cy@example.com,Ops,M2\n"
)


async def test_groups_slice_learner_figures_by_an_hris_column(
    client, analyst, services, learner_statement
):
    await services.identities.import_people(PEOPLE, "csv")
    await post(
        client,
        [
            learner_statement("ada", "attempted", timestamp=at(0)),
            learner_statement("ada", "completed", timestamp=at(120)),
            learner_statement("bob", "attempted", timestamp=at(0)),
            learner_statement("cy", "attempted", timestamp=at(0)),
            learner_statement("cy", "attended", result={"duration": "PT45M"}),
            learner_statement("zed", "passed", result={"success": True}),  # in no HRIS row
        ],
    )
    await services.analytics.catch_up()

    response = await analyst.get(GROUPS, params={"activity": COURSE, "group_by": "department"})

    assert response.status_code == 200, response.text
    groups = {g["value"]: g for g in response.json()["groups"]}
    assert [g["value"] for g in response.json()["groups"]] == ["Ops", "Sales", None]
    assert groups["Sales"]["learners"] == {"attempted": 2, "completed": 1}
    assert groups["Sales"]["rates"]["completion"] == 0.5
    assert groups["Sales"]["completion_time"]["median_seconds"] == 120.0
    assert groups["Ops"]["attendance"] == {"minutes": 45.0, "learners": 1}
    assert groups[None]["learners"] == {"passed": 1}
    assert groups[None]["rates"]["pass"] == 1.0

    by_manager = await analyst.get(GROUPS, params={"activity": COURSE, "group_by": "manager"})
    assert [g["value"] for g in by_manager.json()["groups"]] == ["M1", "M2", None]


@pytest.mark.parametrize(
    ("query", "field", "rule"),
    [
        ({"activity": COURSE}, "group_by", "required"),
        ({"activity": COURSE, "group_by": "location"}, "group_by", "enum"),
        ({"activity": COURSE, "group_by": "$where"}, "group_by", "enum"),
        ({"group_by": "department"}, "activity", "required"),
        ({"activity": COURSE, "group_by": "department", "since": "soon"}, "since", "timestamp"),
    ],
)
async def test_groups_bad_parameters_get_400_naming_field_and_rule(analyst, query, field, rule):
    response = await analyst.get(GROUPS, params=query)
    assert response.status_code == 400
    assert response.json()["details"] == {"field": field, "rule": rule}


async def test_each_period_of_the_series_has_its_own_rates_and_attendance(
    client, analyst, services, learner_statement
):
    await post(
        client,
        [
            learner_statement("ada", "attempted", timestamp="2026-01-05T10:00:00Z"),
            learner_statement("ada", "completed", timestamp="2026-01-06T10:00:00Z"),
            learner_statement("bob", "attempted", timestamp="2026-01-06T10:00:00Z"),
            learner_statement(
                "bob", "attended", timestamp="2026-01-13T10:00:00Z", result={"duration": "PT20M"}
            ),
            learner_statement("bob", "completed", timestamp="2026-01-14T10:00:00Z"),
        ],
    )
    await services.analytics.catch_up()
    query = {"activity": COURSE, "interval": "week"}

    body = (await analyst.get("/analytics/activities/timeseries", params=query)).json()

    first, second = body["points"]
    assert (first["start"], first["rates"]["completion"], first["attendance_minutes"]) == (
        "2026-01-05",
        0.5,
        0.0,
    )
    assert second["start"] == "2026-01-12"
    assert second["learners"] == {"attended": 1, "completed": 1}
    assert second["rates"]["completion"] is None  # nobody attempted that week
    assert second["attendance_minutes"] == 20.0


async def test_a_series_starts_at_the_first_month_with_counted_statements_from_the_totals(
    client, analyst, services, learner_statement
):
    january = learner_statement("ada", timestamp="2026-01-05T10:00:00Z")
    january["id"] = str(uuid.uuid4())
    march = learner_statement("bob", timestamp="2026-03-03T10:00:00Z")
    await post(client, [january, march])
    voiding = learner_statement("admin", "voided")
    voiding["object"] = {"objectType": "StatementRef", "id": january["id"]}
    await post(client, [voiding])
    await services.analytics.catch_up()

    totals = await services.analytics.rollups.totals_of(COURSE)
    assert {m: n for m, n in totals["mo"].items() if n} == {"2026-03-01": 1}
    query = {"activity": COURSE, "interval": "week"}
    body = (await analyst.get("/analytics/activities/timeseries", params=query)).json()
    assert [point["start"] for point in body["points"]] == ["2026-03-02"]
    assert body["cursor"] is None
