"""Windowed answers from the day, week and month documents: learners by name, each day of
the window counted once, and learner names that are not plain field names."""

import pytest

from analytics.contribution import field_name, value_of
from tests.analytics.conftest import ADL, COURSE

SUMMARY = "/analytics/activities/summary"
GROUPS = "/analytics/activities/groups"
ODD = "a.b$c%2E\x00d"


@pytest.mark.parametrize("value", [ODD, "mbox::mailto:ada@example.com", "%00", "%"])
def test_a_field_name_reads_back_as_its_value_and_holds_no_dot_dollar_or_nul(value):
    name = field_name(value)
    assert value_of(name) == value
    assert not {".", "$", "\x00"} & set(name)


async def test_a_learner_whose_account_name_has_a_dot_a_dollar_and_a_nul_is_counted(
    client, analyst, services, make_statement
):
    actor = {"objectType": "Agent", "account": {"homePage": "http://hr.example", "name": ODD}}
    statement = make_statement(
        actor=actor,
        verb={"id": ADL + "completed"},
        object={"objectType": "Activity", "id": COURSE},
        timestamp="2026-02-10T10:00:00Z",
    )
    assert (await client.post("/xapi/statements", json=[statement])).status_code == 200
    await services.analytics.catch_up()

    window = {"activity": COURSE, "since": "2026-02-01", "until": "2026-03-01"}
    summary = (await analyst.get(SUMMARY, params=window)).json()
    assert summary["learners"] == {"completed": 1}
    groups = (await analyst.get(GROUPS, params={**window, "group_by": "department"})).json()
    assert groups["groups"][0]["value"] is None
    assert groups["groups"][0]["learners"] == {"completed": 1}


async def test_a_learner_active_on_both_edges_and_inside_the_window_counts_once(
    client, analyst, services, learner_statement
):
    days = ["2026-01-30", "2026-02-14", "2026-03-02", "2026-03-20"]  # days, a month, days
    statements = [learner_statement("ada", timestamp=f"{day}T08:00:00Z") for day in days]
    statements += [learner_statement("bob", timestamp="2026-03-21T08:00:00Z")]  # outside
    assert (await client.post("/xapi/statements", json=statements)).status_code == 200
    await services.analytics.catch_up()

    window = {"activity": COURSE, "since": "2026-01-29", "until": "2026-03-21"}
    summary = (await analyst.get(SUMMARY, params=window)).json()

    assert summary["counts"] == {"completed": 4}
    assert summary["learners"] == {"completed": 1}


async def test_groups_list_the_learners_active_in_the_window(
    client, analyst, services, learner_statement
):
    await services.identities.import_people(
        "employee_id,email,department\nE1,ada@example.com,Sales\nE2,bob@example.com,Ops\n", "csv"
    )
    statements = [
        learner_statement("ada", timestamp="2026-02-03T08:00:00Z"),
        learner_statement("ada", "attempted", timestamp="2026-02-02T08:00:00Z"),
        learner_statement("bob", timestamp="2026-04-03T08:00:00Z"),
    ]
    assert (await client.post("/xapi/statements", json=statements)).status_code == 200
    await services.analytics.catch_up()

    window = {"activity": COURSE, "group_by": "department", "since": "2026-02-01"}
    window["until"] = "2026-03-01"
    body = (await analyst.get(GROUPS, params=window)).json()

    assert [g["value"] for g in body["groups"]] == ["Sales"]
    (sales,) = body["groups"]
    assert sales["learners"] == {"attempted": 1, "completed": 1}
    assert sales["rates"]["completion"] == 1.0
    assert sales["completion_time"]["median_seconds"] == 86400.0
