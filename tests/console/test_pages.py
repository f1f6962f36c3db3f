"""Console pages over HTTP: the API's rules, shown as pages with the API's status codes."""

from __future__ import annotations

from typing import Any

import httpx

from lrs.services import Services
from tests.conftest import MakeCredentials
from tests.console.conftest import SignIn, csrf_of


async def test_a_bad_filter_gets_400_naming_the_parameter(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(*admin_secret)
    answer = await browser.get("/console/statements", params={"since": "yesterday"})
    assert answer.status_code == 400
    assert "since" in answer.text


async def test_the_browser_pages_through_more(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    client: httpx.AsyncClient,
    make_statement: Any,
) -> None:
    posted = (await client.post("/xapi/statements", json=[make_statement()] * 25)).json()
    await sign_in(*admin_secret)
    first = await browser.get("/console/statements")
    assert first.text.count('class="statement-id"') == 20
    more = first.text.split('class="more" href="')[1].split('"')[0].replace("&amp;", "&")
    second = await browser.get(more)
    assert second.text.count('class="statement-id"') == 5
    assert posted[0] in second.text  # newest first: the first posted is on the last page


async def test_voiding_through_the_console_voids_the_statement_and_is_audited(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    client: httpx.AsyncClient,
    make_statement: Any,
    services: Services,
) -> None:
    [statement_id] = (await client.post("/xapi/statements", json=make_statement())).json()
    await sign_in(*admin_secret)
    confirm = await browser.get(f"/console/statements/{statement_id}/void")
    assert confirm.status_code == 200
    done = await browser.post(
        f"/console/statements/{statement_id}/void", data={"csrf": csrf_of(confirm)}
    )
    assert done.status_code == 303
    voided = await client.get("/xapi/statements", params={"voidedStatementId": statement_id})
    assert voided.status_code == 200
    [entry] = await services.audit.list(action="statement.voided")
    assert (entry.actor, entry.target) == (admin_secret[0], statement_id)


async def test_voiding_a_statement_twice_gets_404_the_second_time(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    client: httpx.AsyncClient,
    make_statement: Any,
) -> None:
    [target] = (await client.post("/xapi/statements", json=make_statement())).json()
    await sign_in(*admin_secret)
    confirm = await browser.get(f"/console/statements/{target}/void")
    form = {"csrf": csrf_of(confirm)}
    assert (await browser.post(f"/console/statements/{target}/void", data=form)).status_code == 303
    again = await browser.post(f"/console/statements/{target}/void", data=form)
    assert again.status_code == 404
    assert "voided already" in again.text


async def test_voiding_an_unknown_statement_gets_404(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(*admin_secret)
    answer = await browser.get("/console/statements/not-a-uuid/void")
    assert answer.status_code == 404


async def test_a_read_only_credential_cannot_void(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    services: Services,
    client: httpx.AsyncClient,
    make_statement: Any,
) -> None:
    [statement_id] = (await client.post("/xapi/statements", json=make_statement())).json()
    key, secret = await services.credentials.create("Analyst", ["all/read"])
    await sign_in(key, secret)
    page = await browser.get("/console/statements")
    assert "Void…" not in page.text
    answer = await browser.post(
        f"/console/statements/{statement_id}/void", data={"csrf": csrf_of(page)}
    )
    assert answer.status_code == 403
    assert (await client.get("/xapi/statements", params={"statementId": statement_id})).is_success


async def test_a_mine_credential_browses_only_its_own_statements(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    services: Services,
    client: httpx.AsyncClient,
    make_statement: Any,
) -> None:
    [theirs] = (await client.post("/xapi/statements", json=make_statement())).json()
    key, secret = await services.credentials.create("Tool", ["statements/read/mine"])
    await sign_in(key, secret)
    page = await browser.get("/console/statements")
    assert page.status_code == 200
    assert theirs not in page.text


async def test_creating_a_credential_without_scopes_gets_400_naming_the_field(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(*admin_secret)
    page = await browser.get("/console/credentials")
    answer = await browser.post(
        "/console/credentials", data={"csrf": csrf_of(page), "name": "Tool"}
    )
    assert answer.status_code == 400
    assert "scopes" in answer.text


async def test_creating_a_credential_with_an_unknown_scope_gets_400(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(*admin_secret)
    page = await browser.get("/console/credentials")
    data = {"csrf": csrf_of(page), "name": "Tool", "scopes": "everything"}
    answer = await browser.post("/console/credentials", data=data)
    assert answer.status_code == 400
    assert "everything" in answer.text


async def test_a_created_credential_works_and_its_revocation_is_audited(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    services: Services,
    make_credentials: MakeCredentials,
) -> None:
    await sign_in(*admin_secret)
    page = await browser.get("/console/credentials")
    data = {"csrf": csrf_of(page), "name": "Tool", "scopes": ["statements/read", "state"]}
    created = await browser.post("/console/credentials", data=data)
    assert created.status_code == 201
    key = created.text.split('id="created-key">')[1].split("<")[0]
    secret = created.text.split('id="created-secret">')[1].split("<")[0]
    assert await services.credentials.authenticate(key, secret) is not None
    confirm = await browser.get(f"/console/credentials/{key}/revoke")
    revoked = await browser.post(
        f"/console/credentials/{key}/revoke", data={"csrf": csrf_of(confirm)}
    )
    assert revoked.status_code == 303
    assert await services.credentials.authenticate(key, secret) is None
    actions = [(e.action, e.target) for e in await services.audit.list()]
    assert ("credential.revoked", key) in actions
    assert ("credential.created", key) in actions


async def test_each_statement_shows_its_canonical_verb_and_resolved_hris_id(
    browser: httpx.AsyncClient,
    sign_in: SignIn,
    admin_secret: tuple[str, str],
    client: httpx.AsyncClient,
    make_statement: Any,
    services: Services,
) -> None:
    await services.identities.import_people("employee_id,email\nE42,ada@example.com\n", "csv")
    ada = {"objectType": "Agent", "mbox": "mailto:ada@example.com"}
    passed = {"id": "https://w3id.org/xapi/adl/verbs/passed"}
    stranger = {"objectType": "Agent", "mbox": "mailto:nobody@example.com"}
    await client.post(
        "/xapi/statements",
        json=[make_statement(actor=ada, verb=passed), make_statement(actor=stranger)],
    )
    await sign_in(*admin_secret)
    page = await browser.get("/console/statements")
    assert '<span class="canonical-verb">passed</span>' in page.text
    assert '<span class="canonical-verb">completed</span>' in page.text
    assert '<span class="employee-id">E42</span>' in page.text
    assert '<span class="employee-id">unresolved</span>' in page.text
