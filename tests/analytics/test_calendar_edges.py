"""The time series at the edges of the calendar: found by the contract test (500s before)."""

import pytest

from tests.analytics.conftest import COURSE

TIMESERIES = "/analytics/activities/timeseries"


@pytest.mark.parametrize("cursor", ["0000-00-00", "2026-02-30", "2026-13-01"])
async def test_a_cursor_that_is_not_a_calendar_day_gets_400(analyst, cursor):
    response = await analyst.get(TIMESERIES, params={"activity": COURSE, "cursor": cursor})
    assert response.status_code == 400
    assert response.json()["details"] == {"field": "cursor", "rule": "cursor"}


@pytest.mark.parametrize("interval", ["day", "week", "month"])
@pytest.mark.parametrize("bound", ["since", "cursor"])
async def test_a_series_from_the_last_day_of_the_calendar_is_empty(analyst, interval, bound):
    query = {"activity": COURSE, "interval": interval, bound: "9999-12-31"}
    response = await analyst.get(TIMESERIES, params=query)
    assert response.status_code == 200, response.text
    assert response.json()["points"] == []
    assert response.json()["cursor"] is None
