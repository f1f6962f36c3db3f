import uuid

import pytest

from tests.analytics.conftest import COURSE

SUMMARY = "/analytics/activities/summary"


async def post(client, statements):
    response = await client.post("/xapi/statements", json=statements)
    assert response.status_code == 200, response.text
    return response.json()


async def test_summary_counts_statements_and_learners_per_canonical_verb(
    client, analyst, services, learner_statement
):
    await post(
        client,
        [
            learner_statement("ada", "completed", result={"completion": True}),
            learner_statement("ada", "https://w3id.org/xapi/adl/verbs/completed"),
            learner_statement("bob", "http://activitystrea.ms/complete"),
            learner_statement("bob", "attempted"),
            learner_statement("cy", "passed", result={"success": True}),
            learner_statement("cy", "http://example.com/verbs/pondered"),
            learner_statement("dee", "completed", activity="http://example.com/other"),
        ],
    )
    await services.analytics.catch_up()

    response = await analyst.get(SUMMARY, params={"activity": COURSE})

    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {
        "attempted": 1,
        "completed": 3,
        "http://example.com/verbs/pondered": 1,
        "passed": 1,
    }
    assert body["learners"] == {
        "attempted": 1,
        "completed": 2,
        "http://example.com/verbs/pondered": 1,
        "passed": 1,
    }


async def test_score_covers_every_statement_that_carries_one_whatever_its_verb(
    client, analyst, services, learner_statement
):
    await post(
        client,
        [
            learner_statement("ada", "scored", result={"score": {"scaled": 0.5}}),
            learner_statement("bob", "passed", result={"success": True, "score": {"scaled": 1}}),
            learner_statement("cy", "failed", result={"success": False, "score": {"scaled": -0.3}}),
            learner_statement("dee", "attempted", result={"completion": False}),
        ],
    )
    await services.analytics.catch_up()

    body = (await analyst.get(SUMMARY, params={"activity": COURSE})).json()

    assert body["score"] == {"count": 3, "mean": pytest.approx(0.4), "min": -0.3, "max": 1.0}


async def test_a_voided_completion_stops_counting(client, analyst, services, learner_statement):
    kept, voided = str(uuid.uuid4()), str(uuid.uuid4())
    await post(
        client,
        [
            learner_statement("ada", id=kept, result={"score": {"scaled": 0.9}}),
            learner_statement("bob", id=voided, result={"score": {"scaled": 0.1}}),
        ],
    )
    await services.analytics.catch_up()
    void = learner_statement("admin", "voided")
    void["object"] = {"objectType": "StatementRef", "id": voided}
    await post(client, [void])
    await services.analytics.catch_up()

    body = (await analyst.get(SUMMARY, params={"activity": COURSE})).json()

    assert body["counts"] == {"completed": 1}
    assert body["learners"] == {"completed": 1}
    assert body["score"]["count"] == 1 and body["score"]["min"] == 0.9


async def test_a_statement_voided_before_it_arrives_never_counts(
    client, analyst, services, learner_statement
):
    target = str(uuid.uuid4())
    void = learner_statement("admin", "voided")
    void["object"] = {"objectType": "StatementRef", "id": target}
    await post(client, [void])
    await post(client, [learner_statement("ada", id=target)])
    await services.analytics.catch_up()

    body = (await analyst.get(SUMMARY, params={"activity": COURSE})).json()

    assert body["counts"] == {}
    assert body["score"] == {"count": 0, "mean": None, "min": None, "max": None}


async def test_since_and_until_select_by_statement_timestamp(
    client, analyst, services, learner_statement
):
    await post(
        client,
        [
            learner_statement("ada", timestamp="2026-01-31T23:59:59Z"),
            learner_statement("bob", timestamp="2026-02-01T00:00:00Z"),
            learner_statement("cy", timestamp="2026-02-14T12:00:00+02:00"),
            learner_statement("dee", timestamp="2026-03-01T00:30:00+01:00"),  # Feb 28 UTC
            learner_statement("eve", timestamp="2026-03-01T00:00:00Z"),
        ],
    )
    await services.analytics.catch_up()
    february = {"activity": COURSE, "since": "2026-02-01", "until": "2026-03-01T00:00:00Z"}

    body = (await analyst.get(SUMMARY, params=february)).json()

    assert body["counts"] == {"completed": 3}
    assert body["learners"] == {"completed": 3}
    assert body["since"] == "2026-02-01"


@pytest.mark.parametrize(
    ("query", "field", "rule"),
    [
        ({}, "activity", "required"),
        ({"activity": "not an iri"}, "activity", "iri"),
        ({"activity": "https://example.com/a\u00a0b"}, "activity", "iri"),  # Unicode space
        ({"activity": "https://example.com/a\u2028"}, "activity", "iri"),
        ({"activity": COURSE, "since": "yesterday"}, "since", "timestamp"),
        ({"activity": COURSE, "since": "2026-02-30"}, "since", "date"),
        ({"activity": COURSE, "until": "2026-02-01T10:00:00Z"}, "until", "day-granularity"),
        (
            {"activity": COURSE, "since": "2026-02-02", "until": "2026-02-01"},
            "until",
            "after-since",
        ),
    ],
)
async def test_bad_parameters_get_400_naming_field_and_rule(analyst, query, field, rule):
    response = await analyst.get(SUMMARY, params=query)
    assert response.status_code == 400
    assert response.json()["details"] == {"field": field, "rule": rule}


@pytest.mark.parametrize(
    ("scopes", "status"),
    [(("analytics/read",), 200), (("admin",), 200), (("all",), 403), (("all/read",), 403)],
)
async def test_analytics_read_or_admin_reaches_the_aggregates_all_does_not(
    app_services, make_credentials, scopes, status
):
    import httpx

    auth = await make_credentials(scopes)
    transport = httpx.ASGITransport(app=app_services[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://lrs.test") as http:
        response = await http.get(SUMMARY, params={"activity": COURSE}, headers=auth)
    assert response.status_code == status


async def test_timeseries_pages_per_period_with_a_cursor(
    client, analyst, services, learner_statement
):
    stamps = ["2026-01-05T10:00:00Z", "2026-01-06T10:00:00Z", "2026-02-10T10:00:00Z"]
    stamps += ["2027-03-01T10:00:00Z"]
    await post(client, [learner_statement(f"l{i}", timestamp=t) for i, t in enumerate(stamps)])
    await services.analytics.catch_up()
    query = {"activity": COURSE, "interval": "month"}

    first = (await analyst.get("/analytics/activities/timeseries", params=query)).json()
    rest = await analyst.get(
        "/analytics/activities/timeseries", params={**query, "cursor": first["cursor"]}
    )

    assert [(p["start"], p["counts"], p["learners"]) for p in first["points"]] == [
        ("2026-01-01", {"completed": 2}, {"completed": 2}),
        ("2026-02-01", {"completed": 1}, {"completed": 1}),
    ]
    assert first["cursor"] == "2027-01-01"
    assert [p["start"] for p in rest.json()["points"]] == ["2027-03-01"]
    assert rest.json()["cursor"] is None


async def test_weekly_series_starts_on_monday(client, analyst, services, learner_statement):
    await post(client, [learner_statement("ada", timestamp="2026-01-08T10:00:00Z")])
    await services.analytics.catch_up()
    query = {"activity": COURSE, "interval": "week"}
    body = (await analyst.get("/analytics/activities/timeseries", params=query)).json()
    assert [p["start"] for p in body["points"]] == ["2026-01-05"]


async def test_learner_endpoint_lists_counts_per_activity_with_a_cursor(
    client, analyst, services, learner_statement
):
    activities = [f"http://example.com/courses/{n}" for n in ("a", "b", "c")]
    await post(
        client,
        [learner_statement("ada", activity=a) for a in activities]
        + [learner_statement("ada", "attempted", activity=activities[0])]
        + [learner_statement("bob", activity=activities[1])],
    )
    await services.analytics.catch_up()
    agent = '{"mbox": "mailto:ada@example.com"}'

    first = (
        await analyst.get("/analytics/learners/activities", params={"agent": agent, "limit": 2})
    ).json()
    rest = await analyst.get(
        "/analytics/learners/activities", params={"agent": agent, "cursor": first["cursor"]}
    )

    assert first["activities"] == [
        {"activity": activities[0], "counts": {"attempted": 1, "completed": 1}},
        {"activity": activities[1], "counts": {"completed": 1}},
    ]
    assert rest.json()["activities"] == [{"activity": activities[2], "counts": {"completed": 1}}]
    assert rest.json()["cursor"] is None


async def test_learner_endpoint_refuses_a_bad_agent(analyst):
    response = await analyst.get("/analytics/learners/activities", params={"agent": "{nope"})
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "agent"


async def test_the_top_activities_are_ranked_by_counted_statements_all_time(
    client, services, learner_statement
):
    other, third = "http://example.com/other", "http://example.com/third"
    posted = await post(
        client,
        [learner_statement(who, "completed", activity=other) for who in ("ada", "bob", "cy", "dee")]
        + [learner_statement(who, "attempted", activity=third) for who in ("ada", "bob")]
        + [learner_statement("ada", "attempted")],
    )
    voiding = learner_statement("admin", "voided")
    voiding["object"] = {"objectType": "StatementRef", "id": posted[0]}
    await post(client, [voiding])
    await services.analytics.catch_up()

    assert await services.analytics.top_activities(10) == [(other, 3), (third, 2), (COURSE, 1)]
    assert await services.analytics.top_activities(1) == [(other, 3)]


@pytest.mark.parametrize(
    ("later", "cursor"),
    [
        (None, None),  # the page ends inside the last month, nothing after it
        ("2026-02-20T10:00:00Z", "2026-02-16"),  # the same month, after the page
        ("2026-04-02T10:00:00Z", "2026-02-16"),  # a later month
    ],
)
async def test_a_page_has_a_cursor_exactly_when_statements_follow_it(
    client, analyst, services, learner_statement, later, cursor
):
    stamps = ["2026-01-16T10:00:00Z", "2026-02-03T10:00:00Z", *([later] if later else [])]
    await post(client, [learner_statement(f"l{i}", timestamp=t) for i, t in enumerate(stamps)])
    await services.analytics.catch_up()
    query = {"activity": COURSE, "interval": "day", "since": "2026-01-16"}

    body = (await analyst.get("/analytics/activities/timeseries", params=query)).json()

    assert [p["start"] for p in body["points"]] == ["2026-01-16", "2026-02-03"]
    assert body["cursor"] == cursor


async def test_a_window_reads_its_edge_days_apart_and_its_runs_of_days_whole(
    client, analyst, services, learner_statement
):
    days = ["2026-01-22", "2026-01-30", "2026-02-11", "2026-04-01", "2026-04-15", "2026-04-16"]
    await post(
        client, [learner_statement(f"l{i}", timestamp=f"{d}T10:00:00Z") for i, d in enumerate(days)]
    )
    await services.analytics.catch_up()
    window = {"activity": COURSE, "since": "2026-01-22", "until": "2026-04-16"}
    series = {"activity": COURSE, "interval": "day", "since": "2026-04-01"}

    summary = (await analyst.get(SUMMARY, params=window)).json()
    points = (await analyst.get("/analytics/activities/timeseries", params=series)).json()

    assert summary["counts"] == {"completed": 5}
    assert summary["learners"] == {"completed": 5}
    assert [p["start"] for p in points["points"]] == ["2026-04-01", "2026-04-15", "2026-04-16"]


async def test_a_monthly_series_cut_by_since_counts_only_the_days_inside(
    client, analyst, services, learner_statement
):
    stamps = ["2026-01-05T10:00:00Z", "2026-01-20T10:00:00Z", "2026-03-02T10:00:00Z"]
    await post(client, [learner_statement(f"l{i}", timestamp=t) for i, t in enumerate(stamps)])
    await services.analytics.catch_up()
    query = {"activity": COURSE, "interval": "month", "since": "2026-01-15"}

    body = (await analyst.get("/analytics/activities/timeseries", params=query)).json()

    assert [(p["start"], p["counts"]) for p in body["points"]] == [
        ("2026-01-01", {"completed": 1}),
        ("2026-03-01", {"completed": 1}),
    ]
    assert body["cursor"] is None


async def test_an_all_time_slice_reads_every_month_of_the_activity(
    client, analyst, services, learner_statement
):
    stamps = ["2025-11-05T10:00:00Z", "2026-01-20T10:00:00Z", "2026-03-02T10:00:00Z"]
    await post(client, [learner_statement(f"l{i}", timestamp=t) for i, t in enumerate(stamps)])
    await services.analytics.catch_up()
    query = {"activity": COURSE, "group_by": "department"}

    body = (await analyst.get("/analytics/activities/groups", params=query)).json()

    assert [(g["value"], g["learners"]) for g in body["groups"]] == [(None, {"completed": 3})]


async def test_a_monthly_series_of_more_months_than_a_page_pages_them_all(
    client, analyst, services, learner_statement
):
    months = [f"2026-{m:02d}" for m in range(1, 13)] + ["2027-01", "2027-02", "2027-03"]
    statements = [
        learner_statement(f"l{i}", timestamp=f"{m}-10T10:00:00Z") for i, m in enumerate(months)
    ]
    await post(client, statements)
    await services.analytics.catch_up()
    query = {"activity": COURSE, "interval": "month"}

    first = (await analyst.get("/analytics/activities/timeseries", params=query)).json()
    rest = (
        await analyst.get(
            "/analytics/activities/timeseries", params={**query, "cursor": first["cursor"]}
        )
    ).json()

    assert [p["start"][:7] for p in first["points"]] == months[:12]
    assert first["cursor"] == "2027-01-01"
    assert [p["start"][:7] for p in rest["points"]] == months[12:]
    assert [p["counts"] for p in rest["points"]] == [{"completed": 1}] * 3
    assert rest["cursor"] is None
