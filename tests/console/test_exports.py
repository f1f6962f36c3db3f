"""The exports pages: a job started from the form through the admin API's path (its checks,
its audit), its progress, and its files downloaded with the manifest's checksums."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import uuid
from typing import Any

import httpx
import orjson

from lrs.services import Services
from tests.console.conftest import SignIn, csrf_of


async def finished(browser: httpx.AsyncClient, path: str) -> httpx.Response:
    """The job's page once the job has ended (the test's timeout bounds the wait)."""
    while True:
        page = await browser.get(path)
        if '<dd id="export-state">running</dd>' not in page.text:
            return page
        assert page.headers["refresh"] == "2"  # a running job's page refreshes itself
        await asyncio.sleep(0.01)


async def start(browser: httpx.AsyncClient, **fields: str) -> httpx.Response:
    page = await browser.get("/console/exports")
    return await browser.post("/console/exports", data={"csrf": csrf_of(page), **fields})


async def test_an_export_started_from_the_console_downloads_with_its_checksums(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    client: httpx.AsyncClient,
    make_statement: Any,
    services: Services,
) -> None:
    wanted = make_statement(
        id=str(uuid.uuid4()), verb={"id": "http://adlnet.gov/expapi/verbs/passed"}
    )
    other = make_statement(id=str(uuid.uuid4()))
    assert (await client.post("/xapi/statements", json=[wanted, other])).status_code == 200
    await sign_in(*admin_secret)
    started = await start(
        browser,
        format="ndjson",
        verb="http://adlnet.gov/expapi/verbs/passed",
        settle_seconds="0",
    )
    assert started.status_code == 303
    job_page = await finished(browser, started.headers["location"])
    assert '<dd id="export-state">done</dd>' in job_page.text
    assert '<dd id="export-rows">1</dd>' in job_page.text

    link = job_page.text.split('class="download" href="')[1].split('"')[0]
    checksum = job_page.text.split('class="sha256">')[1].split("<")[0]
    download = await browser.get(link)
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert hashlib.sha256(download.content).hexdigest() == checksum
    [line] = gzip.decompress(download.content).splitlines()
    assert orjson.loads(line)["id"] == wanted["id"]
    [entry] = await services.audit.list(action="export.start")
    assert entry.actor == admin_secret[0]

    listing = await browser.get("/console/exports")
    assert started.headers["location"] in listing.text


async def test_a_bad_filter_gets_the_apis_400_naming_the_field(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], services: Services
) -> None:
    await sign_in(*admin_secret)
    answer = await start(browser, format="ndjson", since="yesterday")
    assert answer.status_code == 400
    assert "since" in answer.text
    bad_format = await start(browser, format="xlsx")
    assert bad_format.status_code == 400 and "format" in bad_format.text
    bad_settle = await start(browser, format="csv", settle_seconds="soon")
    assert bad_settle.status_code == 400 and "settle_seconds" in bad_settle.text
    assert await services.audit.list(action="export.start") == []


async def test_a_file_the_manifest_does_not_list_is_404(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(*admin_secret)
    started = await start(browser, format="csv", settle_seconds="0")
    await finished(browser, started.headers["location"])
    answer = await browser.get(started.headers["location"] + "/files/..%2F..%2Fsecret")
    assert answer.status_code == 404
    assert (await browser.get("/console/exports/nope")).status_code == 404


async def test_the_exports_pages_need_the_admin_scope(
    browser: httpx.AsyncClient, sign_in: SignIn, services: Services
) -> None:
    key, secret = await services.credentials.create("Analyst", ["all/read"])
    await sign_in(key, secret)
    assert (await browser.get("/console/exports")).status_code == 403
