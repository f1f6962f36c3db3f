"""Erasure in the console: the dry run shows what would be deleted and pseudonymised and
writes nothing; the confirmation (typing ERASE) erases, through the admin API's service."""

from __future__ import annotations

from typing import Any

import httpx

from lrs.services import Services
from tests.console.conftest import SignIn, csrf_of

ADA = {"objectType": "Agent", "mbox": "mailto:ada@example.com"}
BOB = {"objectType": "Agent", "mbox": "mailto:bob@example.com"}


async def seed(client: httpx.AsyncClient, make_statement: Any) -> tuple[str, str, str]:
    ada_alone = make_statement(actor=ADA)
    ada_with_bob = make_statement(actor=BOB, context={"instructor": ADA})
    bob_alone = make_statement(actor=BOB)
    answer = await client.post("/xapi/statements", json=[ada_alone, ada_with_bob, bob_alone])
    assert answer.status_code == 200, answer.text
    first, second, third = answer.json()
    return first, second, third


async def dry_run(browser: httpx.AsyncClient, agent: str) -> httpx.Response:
    page = await browser.get("/console/erasure")
    return await browser.post(
        "/console/erasure/dry-run", data={"csrf": csrf_of(page), "agent": agent}
    )


def count(page: httpx.Response, what: str) -> str:
    return page.text.split(f'id="count-{what}">')[1].split("<")[0]


async def test_the_dry_run_shows_what_would_change_and_changes_nothing(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    client: httpx.AsyncClient,
    make_statement: Any,
    services: Services,
) -> None:
    alone, shared, _ = await seed(client, make_statement)
    await sign_in(*admin_secret)
    shown = await dry_run(browser, "ada@example.com")
    assert shown.status_code == 200
    assert "nothing is changed yet" in shown.text
    assert count(shown, "statements-deleted") == "1"
    assert count(shown, "statements-pseudonymised") == "1"
    assert alone in shown.text and shared in shown.text
    got = await client.get("/xapi/statements", params={"statementId": alone})
    assert got.status_code == 200  # still there
    [entry] = await services.audit.list(action="erasure.dry_run")
    assert entry.actor == admin_secret[0]


async def test_confirming_erases_what_the_dry_run_announced_and_is_audited(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    client: httpx.AsyncClient,
    make_statement: Any,
    services: Services,
) -> None:
    alone, shared, bobs = await seed(client, make_statement)
    await sign_in(*admin_secret)
    shown = await dry_run(browser, '{"mbox": "mailto:ada@example.com"}')
    agent = shown.text.split('name="agent" value="')[1].split('"')[0].replace("&#34;", '"')
    refused = await browser.post(
        "/console/erasure", data={"csrf": csrf_of(shown), "agent": agent, "confirm": "yes"}
    )
    assert refused.status_code == 400 and "ERASE" in refused.text
    assert (await client.get("/xapi/statements", params={"statementId": alone})).status_code == 200

    done = await browser.post(
        "/console/erasure", data={"csrf": csrf_of(shown), "agent": agent, "confirm": "ERASE"}
    )
    assert done.status_code == 200
    assert "Erasure done" in done.text
    assert count(done, "statements-deleted") == "1"
    assert (await client.get("/xapi/statements", params={"statementId": alone})).status_code == 404
    kept = (await client.get("/xapi/statements", params={"statementId": shared})).json()
    assert "ada@example.com" not in str(kept)
    assert (await client.get("/xapi/statements", params={"statementId": bobs})).status_code == 200
    [entry] = await services.audit.list(action="erasure.run")
    assert entry.details is not None and entry.details["statements_deleted"] == 1


async def test_a_bad_agent_gets_400_naming_the_field(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(*admin_secret)
    for text in ("", "ada", '{"name": "Ada"}', "{not json"):
        answer = await dry_run(browser, text)
        assert answer.status_code == 400, text
        assert "agent" in answer.text


async def test_erasure_needs_the_admin_scope(
    browser: httpx.AsyncClient, sign_in: SignIn, services: Services
) -> None:
    key, secret = await services.credentials.create("Writer", ["all"])
    await sign_in(key, secret)
    assert (await browser.get("/console/erasure")).status_code == 403
