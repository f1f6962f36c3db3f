"""The console in a real browser: Chromium driven by Playwright against the real app.

The app runs under uvicorn on a free loopback port with the embedded database; Chromium is
Debian's (/usr/bin/chromium, installed by `.ci/run`), never Playwright's own download. Where
it is missing these tests skip and say so. The screenshots they take illustrate
docs/console.md.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import expect

from lrs.app import create_app
from lrs.auth.credential_admin import credential_admin
from lrs.settings import Settings
from lrs.storage.embedded import EmbeddedDatabase
from tests.conditions import eventually
from tests.conftest import TEST_HASH_COST, basic

CHROMIUM = Path(os.environ.get("LRS_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS_SHOTS = Path(__file__).parents[2] / "docs" / "console"
UPDATE_SHOTS = "UPDATE_CONSOLE_SCREENSHOTS"
"""Set to 1 to refresh docs/console/*.png; otherwise screenshots go to a temporary directory,
so a test run leaves the working tree as it found it."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no Chromium at {CHROMIUM}: `apt-get install chromium` (as .ci/run does)",
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def lrs_url(
    mongo_server: EmbeddedDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    settings = Settings(
        database=f"console{port}",
        data_dir=tmp_path_factory.mktemp("console"),
        host="127.0.0.1",
        port=port,
        secret_hash_cost=TEST_HASH_COST,
    )
    app = create_app(settings, mongo_server.uri)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="error", ws="none", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # start-up, not a timing assertion
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


@pytest.fixture(scope="module")
async def operator(lrs_url: str, mongo_server: EmbeddedDatabase) -> tuple[str, str]:
    port = int(lrs_url.rsplit(":", 1)[1])
    settings = Settings(database=f"console{port}", host="127.0.0.1", port=port)
    async with credential_admin(settings, mongo_server.uri) as admin:
        return await admin.create("Operator", ["all", "admin"], actor="test", source="test")


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(chromium: Any, lrs_url: str, operator: tuple[str, str]) -> AsyncIterator[Any]:
    """A fresh browser context, signed in as the operator through the form."""
    context = await chromium.new_context(base_url=lrs_url, viewport={"width": 1100, "height": 800})
    page = await context.new_page()
    await page.goto("/console/login")
    await page.get_by_label("Key").fill(operator[0])
    await page.get_by_label("Secret").fill(operator[1])
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/console/")
    yield page
    await context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get(UPDATE_SHOTS) == "1":
        return DOCS_SHOTS
    return tmp_path_factory.mktemp("screenshots")


async def shot(page: Any, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


async def post_statement(lrs_url: str, operator: tuple[str, str], statement: dict[str, Any]) -> str:
    headers = {"Authorization": basic(*operator), "X-Experience-API-Version": "2.0.0"}
    async with httpx.AsyncClient(base_url=lrs_url, headers=headers) as http:
        answer = await http.post("/xapi/statements", json=statement)
    assert answer.status_code == 200, answer.text
    return str(answer.json()[0])


async def test_the_sign_in_form_is_labelled_and_works_from_the_keyboard(
    chromium: Any, lrs_url: str, operator: tuple[str, str], shots: Path
) -> None:
    context = await chromium.new_context(base_url=lrs_url)
    page = await context.new_page()
    await page.goto("/console/login")
    await shot(page, shots, "login")
    await page.keyboard.type(operator[0])  # the key field has focus on arrival
    await page.keyboard.press("Tab")
    await page.keyboard.type(operator[1])
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/console/")
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await context.close()


async def test_the_overview_shows_statements_per_day_as_a_chart(
    page: Any, lrs_url: str, operator: tuple[str, str], make_statement: Any, shots: Path
) -> None:
    await post_statement(lrs_url, operator, make_statement())
    course = page.get_by_role("link", name="http://example.com/courses/xapi-101")

    async def counted() -> bool:
        """The figures come from the rollups, which trail ingest by a second or two."""
        await page.reload()
        return await course.count() > 0

    await eventually(counted, "the statement in the overview's top activities", poll=0.25)
    chart = page.get_by_role("img", name="Statements stored per day, last 14 days")
    await expect(chart).to_be_visible()
    await expect(chart.locator("rect.bar")).to_have_count(14)  # (the rollups add a chart)
    await expect(course).to_be_visible()
    assert await page.locator("#queue-depth").inner_text() == "0"
    await shot(page, shots, "overview")


async def test_a_statement_just_posted_is_found_then_voided(
    page: Any, lrs_url: str, operator: tuple[str, str], make_statement: Any, shots: Path
) -> None:
    activity = "http://example.com/courses/voiding-101"
    statement = make_statement(object={"objectType": "Activity", "id": activity})
    statement_id = await post_statement(lrs_url, operator, statement)
    await page.get_by_role("link", name="Statements").click()
    await page.get_by_label("Activity").fill(activity)
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_role("heading", name=statement_id)).to_be_visible()
    await shot(page, shots, "statements")
    await page.get_by_role("link", name=f"Void statement {statement_id}").click()
    await page.get_by_role("heading", name=f"Void statement {statement_id}?").wait_for()
    await shot(page, shots, "void")
    await page.get_by_role("button", name="Void this statement").click()
    await expect(page.get_by_role("status")).to_have_text(f"Statement {statement_id} is voided.")
    await page.get_by_label("Activity").fill(activity)
    await page.get_by_role("button", name="Filter").click()
    # the voided statement is gone; the voiding statement, which refers to it, is found
    # (xAPI: a filter matches the statements a StatementRef targets)
    await expect(page.get_by_role("heading", name=statement_id)).to_have_count(0)
    await expect(page.get_by_text("http://adlnet.gov/expapi/verbs/voided ·")).to_be_visible()


async def test_a_credential_is_created_with_its_secret_shown_once_then_revoked(
    page: Any, lrs_url: str, shots: Path
) -> None:
    await page.get_by_role("link", name="Credentials").click()
    await page.get_by_label("Name").fill("Reporting tool")
    await page.get_by_label("statements/read", exact=True).check()
    await page.get_by_role("button", name="Create credential").click()
    key = await page.locator("#created-key").inner_text()
    secret = await page.locator("#created-secret").inner_text()
    await shot(page, shots, "credentials")
    async with httpx.AsyncClient(base_url=lrs_url) as http:
        headers = {"Authorization": basic(key, secret), "X-Experience-API-Version": "2.0.0"}
        assert (await http.get("/xapi/statements", headers=headers)).status_code == 200
        await page.goto("/console/credentials")
        assert await page.locator("#created-secret").count() == 0  # shown once only
        await page.get_by_role("link", name=f"Revoke credential {key}").click()
        await page.get_by_role("button", name="Revoke this credential").click()
        assert (await http.get("/xapi/statements", headers=headers)).status_code == 401


async def test_the_forwarders_and_audit_log_pages_are_reached_from_the_menu(
    page: Any, shots: Path
) -> None:
    await page.get_by_role("link", name="Forwarders").click()
    await expect(page.get_by_role("heading", name="Forwarders")).to_be_visible()
    await shot(page, shots, "forwarders")
    await page.get_by_role("link", name="Audit log").click()
    await page.get_by_label("Action").fill("console.signed_in")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_role("cell", name="console.signed_in").first).to_be_visible()
    await shot(page, shots, "audit")


async def test_an_identity_file_is_imported_after_its_preview(
    page: Any, tmp_path: Path, shots: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        "employee_id,email,department\n"
        "B1,grace@corp.example,Navy\n"
        "B2,alan@corp.example,\n"
        "B3,GRACE@corp.example,\n"  # conflicts with B1
    )
    await page.get_by_role("link", name="Identities").click()
    await page.get_by_label("HRIS file").set_input_files(str(people))
    await page.get_by_role("button", name="Preview the import").click()
    await expect(page.locator("#new-count")).to_have_text("2")
    await expect(page.locator("#conflicting-count")).to_have_text("1")
    await shot(page, shots, "identity_preview")
    await page.get_by_role("button", name="Apply this import").click()
    await expect(page.get_by_role("heading", name="Import applied")).to_be_visible()
    await expect(page.locator("#created-count")).to_have_text("2")
    await page.get_by_role("link", name="Back to identities").click()
    await shot(page, shots, "identities")


async def test_an_export_is_started_and_downloaded(
    page: Any, lrs_url: str, operator: tuple[str, str], make_statement: Any, shots: Path
) -> None:
    statement_id = await post_statement(lrs_url, operator, make_statement())
    await page.get_by_role("link", name="Exports").click()
    await page.get_by_label("Format").select_option("ndjson")
    await page.get_by_label("Stop this many seconds behind now").fill("0")
    await page.get_by_role("button", name="Start the export").click()
    await expect(page.locator("#export-state")).to_have_text("done", timeout=30_000)
    await shot(page, shots, "export")
    link = page.locator("a.download").first
    checksum = await page.locator("code.sha256").first.inner_text()
    async with page.expect_download() as waiting:
        await link.click()
    download = await waiting.value
    content = Path(await download.path()).read_bytes()
    assert hashlib.sha256(content).hexdigest() == checksum
    assert statement_id.encode() in gzip.decompress(content)


async def test_a_learner_is_found_and_an_erasure_is_previewed_from_the_menu(
    page: Any, lrs_url: str, operator: tuple[str, str], make_statement: Any, shots: Path
) -> None:
    learner = {"objectType": "Agent", "mbox": "mailto:lin@corp.example"}
    await post_statement(lrs_url, operator, make_statement(actor=learner))
    await page.get_by_role("link", name="Learners").click()
    await page.get_by_label("Email or HRIS employee id").fill("lin@corp.example")
    await page.get_by_role("button", name="Find").click()
    await expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    await expect(page.locator("ol.timeline li")).to_have_count(1)
    await shot(page, shots, "learners")
    await page.get_by_role("link", name="Erasure").click()
    await page.get_by_label("The learner").fill("lin@corp.example")
    await page.get_by_role("button", name="Dry run").click()
    await expect(page.locator("#count-statements-deleted")).to_have_text("1")
    await shot(page, shots, "erasure")
    await page.get_by_role("link", name="Cancel").click()  # nothing erased
    await expect(page.get_by_role("heading", name="Erase a learner")).to_be_visible()


async def test_after_signing_out_the_old_session_is_refused(page: Any) -> None:
    cookies = await page.context.cookies()
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/console/login")
    await page.context.add_cookies(cookies)  # replaying the old session cookie
    await page.goto("/console/")
    assert page.url.endswith("/console/login")
