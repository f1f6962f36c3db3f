"""The overview's figures: statements per day, the top activities, and completions, passes
and fails per day from the analytics rollups when they are on (store-wide, a few documents);
a labelled sample of the newest statements when they are off."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from forwarders.delivery.tally import Tally
from lrs.services import Services
from lrs.settings import Settings
from tests.console.conftest import SignIn

ADL = "http://adlnet.gov/expapi/verbs/"


def outcome(make_statement: Any, verb: str, course: str, **result: Any) -> Any:
    return make_statement(
        verb={"id": ADL + verb},
        object={"objectType": "Activity", "id": course},
        result=result,
    )


def bar_figures(page: str, title: str) -> dict[str, int]:
    """The chart's bars as {label: value}, from each bar's <title>."""
    chart = page.split(f'aria-label="{title}"')[1].split("</svg>")[0]
    bars = re.findall(r"<rect class=\"bar\"[^>]*><title>([^<]+): (\d+)</title>", chart)
    return {label: int(value) for label, value in bars}


def days_ago(n: int) -> datetime:
    return datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=n)


PER_DAY = "Statements stored per day, last 14 days"


class TestWithoutRollups:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        """Off explicitly: the rollups are on by default."""
        return dataclasses.replace(settings, analytics_rollups=False)

    async def test_the_overview_says_where_the_figures_come_from(
        self, browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
    ) -> None:
        await sign_in(*admin_secret)
        page = await browser.get("/console/")
        assert "analytics rollups, which are off" in page.text
        assert "Completions per day" not in page.text

    async def test_statements_per_day_fall_back_to_the_newest_statements_by_stored_day(
        self,
        browser: httpx.AsyncClient,
        sign_in: SignIn,
        admin_secret: tuple[str, str],
        client: httpx.AsyncClient,
        make_statement: Any,
    ) -> None:
        old = make_statement(timestamp=days_ago(3).isoformat())
        assert (await client.post("/xapi/statements", json=[old])).status_code == 200
        await sign_in(*admin_secret)
        page = (await browser.get("/console/")).text
        assert bar_figures(page, PER_DAY)[datetime.now(UTC).strftime("%m-%d")] == 1
        assert "All 1 statements of the last 14 days" in page
        assert "the analytics rollups are off" in page


class TestWithRollups:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, analytics_rollups=True, analytics_lag_ms=0)

    async def test_completions_passes_and_fails_per_day_come_from_the_rollups(
        self,
        browser: httpx.AsyncClient,
        sign_in: SignIn,
        admin_secret: tuple[str, str],
        client: httpx.AsyncClient,
        make_statement: Any,
        services: Services,
    ) -> None:
        statements = [
            outcome(make_statement, "completed", "http://example.com/a", completion=True),
            outcome(make_statement, "passed", "http://example.com/a", success=True),
            outcome(make_statement, "passed", "http://example.com/b", success=True),
            outcome(make_statement, "failed", "http://example.com/b", success=False),
        ]
        assert (await client.post("/xapi/statements", json=statements)).status_code == 200
        await services.analytics.catch_up()
        await sign_in(*admin_secret)
        page = await browser.get("/console/")
        assert 'aria-label="Completions per day, last 14 days"' in page.text
        today = datetime.now(UTC).date().isoformat()
        row = page.text.split(f"<td>{today}</td>")[1].split("</tr>")[0]
        cells = [c.split("</td>")[0] for c in row.split('<td class="num">')[1:]]
        assert cells == ["1", "2", "1"]  # completed, passed, failed
        assert "over every activity" in page.text

    async def test_statements_per_day_and_top_activities_come_from_the_rollups(
        self,
        browser: httpx.AsyncClient,
        sign_in: SignIn,
        admin_secret: tuple[str, str],
        client: httpx.AsyncClient,
        make_statement: Any,
        services: Services,
    ) -> None:
        a, b = "http://example.com/a", "http://example.com/b"
        statements = [
            outcome(make_statement, "completed", a, completion=True),
            outcome(make_statement, "passed", b, success=True),
            outcome(make_statement, "failed", b, success=False),
        ]
        statements[0]["timestamp"] = days_ago(3).isoformat()
        statements[1]["id"] = str(uuid.uuid4())
        voiding = make_statement(
            verb={"id": ADL + "voided"},
            object={"objectType": "StatementRef", "id": statements[1]["id"]},
        )
        for batch in (statements, [voiding]):
            assert (await client.post("/xapi/statements", json=batch)).status_code == 200
        await services.analytics.catch_up()
        await sign_in(*admin_secret)

        page = (await browser.get("/console/")).text

        bars = bar_figures(page, PER_DAY)
        assert bars[days_ago(3).strftime("%m-%d")] == 1  # the day of its timestamp
        assert bars[datetime.now(UTC).strftime("%m-%d")] == 1  # the voided one left
        assert sum(bars.values()) == 2
        assert "From the analytics rollups" in page
        through = page.split('id="counted-through">')[1].split("<")[0]
        newest = await client.get("/xapi/statements", params={"limit": 1})
        assert through > newest.json()["statements"][0]["stored"]  # all posted so far
        section = page.split('id="top"')[1].split("</section>")[0]
        top = re.findall(r'>([^<]+)</a></td>\s*<td class="num">(\d+)</td>', section)
        assert sorted(top) == [(a, "1"), (b, "1")]  # b's voided pass no longer counts


async def test_delivery_success_over_a_day_and_a_week_comes_from_the_workers_tally(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], services: Services
) -> None:
    await sign_in(*admin_secret)
    quiet = await browser.get("/console/")
    assert 'id="success-1">no attempts<' in quiet.text

    db = services.client[services.settings.database]
    counts = Tally()
    now = datetime.now(UTC)
    for outcome_name in ("Delivered", "Delivered", "Delivered", "RetryLater"):
        counts.note("f1", now, outcome_name)
    counts.note("f1", now - timedelta(days=2), "Dead")
    await counts.flush(db, now)

    page = await browser.get("/console/")
    assert 'id="success-1">75.0 % of 4 attempts<' in page.text
    assert 'id="success-2">60.0 % of 5 attempts<' in page.text


async def test_the_ingest_rate_now_counts_the_statements_this_process_just_stored(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    client: httpx.AsyncClient,
    make_statement: Any,
) -> None:
    await sign_in(*admin_secret)
    assert 'id="ingest-rate">0.0 statements/s<' in (await browser.get("/console/")).text
    batch = [make_statement() for _ in range(120)]
    assert (await client.post("/xapi/statements", json=batch)).status_code == 200
    assert 'id="ingest-rate">2.0 statements/s<' in (await browser.get("/console/")).text
