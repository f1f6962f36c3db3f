"""The learners page: found by email or HRIS employee id, their status in every course from
the analytics rollups (every identifier of the person merged) and their timeline."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest

from lrs.console.learners import status_of
from lrs.services import Services
from lrs.settings import Settings
from tests.console.conftest import SignIn

ADL = "http://adlnet.gov/expapi/verbs/"
PYTHON = "http://example.com/courses/python"
SQL = "http://example.com/courses/sql"
LMS = "https://lms.example.com"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Rollups driven by the test (`catch_up`), with no lag."""
    return dataclasses.replace(settings, analytics_lag_ms=0)


def did(make_statement: Any, actor: dict[str, Any], verb: str, course: str, **result: Any) -> Any:
    return make_statement(
        actor={"objectType": "Agent", **actor},
        verb={"id": ADL + verb},
        object={"objectType": "Activity", "id": course},
        **({"result": result} if result else {}),
    )


@pytest.fixture
async def history(client: httpx.AsyncClient, make_statement: Any, services: Services) -> list[str]:
    await services.identities.import_people(
        f"employee_id,email,accounts\nE7,ada@corp.com,{LMS}|ada-l\n", "csv"
    )
    ada_mail, ada_lms = (
        {"mbox": "mailto:ada@corp.com"},
        {"account": {"homePage": LMS, "name": "ada-l"}},
    )
    statements = [
        did(make_statement, ada_mail, "failed", PYTHON, success=False),
        did(make_statement, ada_lms, "passed", PYTHON, success=True),  # the other identifier
        did(make_statement, ada_mail, "attempted", SQL),
        did(make_statement, {"mbox": "mailto:bob@corp.com"}, "completed", SQL),
    ]
    posted = await client.post("/xapi/statements", json=statements)
    assert posted.status_code == 200, posted.text
    await services.analytics.catch_up()
    return list(posted.json())


def test_a_pass_after_a_fail_reads_passed_and_no_verb_reads_in_progress() -> None:
    assert status_of({"failed": 1, "passed": 1}) == "passed"
    assert status_of({"completed": 2, "failed": 1}) == "failed"
    assert status_of({"http://example.com/verbs/watched": 3}) == "in progress"


async def test_a_learner_found_by_employee_id_shows_every_course_over_every_identifier(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], history: list[str]
) -> None:
    await sign_in(*admin_secret)
    page = await browser.get("/console/learners", params={"q": "E7"})
    assert page.status_code == 200
    rows = page.text.split("<tbody>")[1].split("</tbody>")[0]
    assert f'<code>{PYTHON}</code></td><td class="status">passed</td>' in rows
    assert f'<code>{SQL}</code></td><td class="status">attempted</td>' in rows
    timeline = page.text.split('class="timeline"')[1]
    assert [i for i in history[:3] if i in timeline] == history[:3]
    assert history[3] not in timeline  # bob's
    assert timeline.index(history[2]) < timeline.index(history[0])  # newest first


async def test_a_learner_found_by_email_is_the_hris_person_holding_it(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], history: list[str]
) -> None:
    await sign_in(*admin_secret)
    page = await browser.get("/console/learners", params={"q": "ADA@corp.com"})
    assert '<h2 id="learner">E7' in page.text
    assert "passed" in page.text


async def test_an_email_no_person_holds_still_shows_its_courses(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], history: list[str]
) -> None:
    await sign_in(*admin_secret)
    page = await browser.get("/console/learners", params={"q": "bob@corp.com"})
    assert "bob@corp.com (not in the HRIS)" in page.text
    assert f'<code>{SQL}</code></td><td class="status">completed</td>' in page.text


async def test_an_unknown_employee_id_is_404(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(*admin_secret)
    answer = await browser.get("/console/learners", params={"q": "E404"})
    assert answer.status_code == 404
    assert "E404" in answer.text


async def test_an_analyst_sees_statuses_but_no_timeline_and_others_are_refused(
    browser: httpx.AsyncClient, sign_in: SignIn, services: Services, history: list[str]
) -> None:
    key, secret = await services.credentials.create("Analyst", ["analytics/read"])
    await sign_in(key, secret)
    page = await browser.get("/console/learners", params={"q": "E7"})
    assert page.status_code == 200
    assert 'class="status">passed' in page.text
    assert 'class="timeline"' not in page.text
    reader_key, reader_secret = await services.credentials.create("Reader", ["statements/read"])
    await sign_in(reader_key, reader_secret)
    assert (await browser.get("/console/learners")).status_code == 403
    assert 'href="/console/learners"' not in (await browser.get("/console/statements")).text
