"""The identities page: an HRIS file previewed before it is imported, and the unmatched
queue re-driven, through the identity service the API and the CLI use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from forwarders.events import event_id
from forwarders.identity.import_file import parse_people
from forwarders.service import ForwarderService
from forwarders.worker import Worker
from lrs.services import Services
from tests.console.conftest import SignIn, csrf_of
from tests.forwarders.test_delivery import post

HEADER = "employee_id,email,department\n"
ADA = {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@corp.com"}


async def preview(browser: httpx.AsyncClient, text: str, fmt: str = "csv") -> httpx.Response:
    page = await browser.get("/console/identities")
    return await browser.post(
        "/console/identities/preview",
        data={"csrf": csrf_of(page), "format": fmt},
        files={"file": ("people.csv", text.encode(), "text/csv")},
    )


def hidden(page: httpx.Response, name: str) -> str:
    return page.text.split(f'name="{name}" value="')[1].split('"')[0]


async def test_the_preview_names_new_changed_and_conflicting_rows_and_writes_nothing(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], services: Services
) -> None:
    await services.identities.import_people(HEADER + "E1,ada@corp.com,Sales\n", "csv")
    await sign_in(*admin_secret)
    shown = await preview(
        browser, HEADER + "E1,ada@corp.com,HR\nE2,bob@corp.com,\nE3,ADA@corp.com,\n"
    )
    assert shown.status_code == 200
    assert '<dd id="new-count">1</dd>' in shown.text
    assert '<dd id="changed-count">1</dd>' in shown.text
    assert '<dd id="conflicting-count">1</dd>' in shown.text
    assert "<td>department</td>" in shown.text  # the changed field is named
    assert (await services.identities.get_person("E1")).department == "Sales"
    assert await services.identities.store.get("E2") is None


async def test_applying_the_preview_imports_the_file_and_is_audited(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], services: Services
) -> None:
    await sign_in(*admin_secret)
    shown = await preview(browser, HEADER + "E1,ada@corp.com,HR\nE2,bob@corp.com,\n")
    form = {"csrf": csrf_of(shown), "upload": hidden(shown, "upload"), "format": "csv"}
    applied = await browser.post("/console/identities/import", data=form)
    assert applied.status_code == 200
    assert '<dd id="created-count">2</dd>' in applied.text
    assert (await services.identities.get_person("E1")).department == "HR"
    [entry] = await services.audit.list(action="identities.imported")
    assert entry.actor == admin_secret[0]
    assert entry.details is not None and entry.details["created"] == 2

    again = await browser.post("/console/identities/import", data=form)
    assert again.status_code == 400  # an upload applies once
    assert "upload" in again.text


async def test_an_upload_cannot_be_applied_from_another_session(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    services: Services,
    app_services: tuple[Any, Services],
) -> None:
    await sign_in(*admin_secret)
    shown = await preview(browser, HEADER + "E1,ada@corp.com,HR\n")
    token = hidden(shown, "upload")
    transport = httpx.ASGITransport(app=app_services[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://lrs.test") as other:
        login = await other.get("/console/login")
        data = {"csrf": csrf_of(login), "key": admin_secret[0], "secret": admin_secret[1]}
        await other.post("/console/login", data=data)
        page = await other.get("/console/identities")
        form = {"csrf": csrf_of(page), "upload": token, "format": "csv"}
        answer = await other.post("/console/identities/import", data=form)
    assert answer.status_code == 400
    assert await services.identities.store.get("E1") is None


async def test_a_forged_upload_token_gets_400_naming_the_field(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(*admin_secret)
    page = await browser.get("/console/identities")
    form = {"csrf": csrf_of(page), "upload": "../../etc/passwd", "format": "csv"}
    answer = await browser.post("/console/identities/import", data=form)
    assert answer.status_code == 400
    assert "upload" in answer.text


async def test_a_preview_without_a_file_or_with_a_bad_format_gets_400(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(*admin_secret)
    page = await browser.get("/console/identities")
    no_file = await browser.post(
        "/console/identities/preview", data={"csrf": csrf_of(page), "format": "csv"}
    )
    assert no_file.status_code == 400 and "file" in no_file.text
    bad_format = await preview(browser, HEADER, fmt="xlsx")
    assert bad_format.status_code == 400 and "format" in bad_format.text


async def test_a_file_that_cannot_be_read_as_a_whole_gets_400(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(*admin_secret)
    answer = await preview(browser, "employee_id,emial\nE1,ada@corp.com\n")
    assert answer.status_code == 400
    assert "emial" in answer.text


async def test_the_identities_page_needs_the_admin_scope(
    browser: httpx.AsyncClient, sign_in: SignIn, services: Services
) -> None:
    key, secret = await services.credentials.create("Analyst", ["all/read"])
    await sign_in(key, secret)
    assert (await browser.get("/console/identities")).status_code == 403


async def test_an_unmatched_event_is_listed_and_re_driven_from_the_console(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    services: Services,
    client: httpx.AsyncClient,
    make_statement: Any,
    make_forwarder: Any,
    worker: Worker,
    admin: ForwarderService,
) -> None:
    forwarder = await make_forwarder("market", kind="marketplace")
    [statement_id] = await post(client, make_statement(actor=ADA))
    await worker.run_until_empty()
    waiting = event_id(forwarder["id"], statement_id)
    assert (await admin.get_event(waiting)).state == "unmatched"
    await sign_in(*admin_secret)
    page = await browser.get("/console/identities")
    assert waiting in page.text
    assert "no person has the identifier mbox:ada@corp.com" in page.text

    # the person arrives by a path that re-drives nothing (the store itself)
    rows = parse_people(HEADER + "E1,ada@corp.com,\n", "csv").rows
    await services.identities.store.import_people(rows, datetime.now(UTC))
    done = await browser.post(
        "/console/identities/redrive", data={"csrf": csrf_of(page), "event": waiting}
    )
    assert done.status_code == 303 and done.headers["location"].endswith("redriven=1")
    assert (await admin.get_event(waiting)).state == "pending"
    [entry] = await services.audit.list(action="identities.redrive")
    assert entry.details == {"resolved": 1, "still_unmatched": 0}


async def test_re_driving_nothing_gets_400_naming_the_field(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(*admin_secret)
    page = await browser.get("/console/identities")
    answer = await browser.post("/console/identities/redrive", data={"csrf": csrf_of(page)})
    assert answer.status_code == 400 and "event" in answer.text
