"""The overview's outcome figures: completions, passes and fails per day from the analytics
rollups when they are on; the fallback message when they are off."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

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


class TestWithoutRollups:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        """Off explicitly: the rollups are on by default."""
        return dataclasses.replace(settings, analytics_rollups=False)

    async def test_without_rollups_the_overview_says_where_the_figures_come_from(
        self, browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
    ) -> None:
        await sign_in(*admin_secret)
        page = await browser.get("/console/")
        assert "analytics rollups, which are off" in page.text
        assert "Completions per day" not in page.text


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
