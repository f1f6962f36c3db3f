"""Signing in and out of the console: cookies, CSRF, expiry, the brute-force limit, the audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from lrs.auth.config import AuthSettings
from lrs.console.security import POLICY
from lrs.console.sessions import SESSIONS
from lrs.services import Services
from tests.console.conftest import SignIn, csrf_of


async def test_signing_in_with_a_credential_opens_a_session(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    signed = await sign_in(*admin_secret)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/console/"
    overview = await browser.get("/console/")
    assert overview.status_code == 200
    assert "<svg" in overview.text


async def test_without_a_session_every_page_sends_the_browser_to_sign_in(
    browser: httpx.AsyncClient,
) -> None:
    for path in ("/console/", "/console/statements", "/console/credentials"):
        answer = await browser.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/login"


async def test_the_session_cookie_is_httponly_samesite_strict_and_not_secure_over_http(
    sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    signed = await sign_in(*admin_secret)
    cookie = signed.headers["set-cookie"].lower()
    assert "lrs_console=" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/console" in cookie
    assert "secure" not in cookie.split("lrs_console=")[1].split(",")[0]


async def test_the_session_cookie_is_secure_over_https(
    app_services: tuple[object, Services], admin_secret: tuple[str, str]
) -> None:
    transport = httpx.ASGITransport(app=app_services[0])  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="https://lrs.test") as http:
        form = await http.get("/console/login")
        assert "secure" in form.headers["set-cookie"].lower()
        data = {"csrf": csrf_of(form), "key": admin_secret[0], "secret": admin_secret[1]}
        signed = await http.post("/console/login", data=data)
    session_cookie = next(
        c for c in signed.headers.get_list("set-cookie") if c.startswith("lrs_console=")
    )
    assert "; secure" in session_cookie.lower()


async def test_pages_carry_a_csp_without_unsafe_inline(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/console/login")
    policy = page.headers["content-security-policy"]
    assert policy == POLICY
    assert "unsafe-inline" not in policy
    assert "script-src" not in policy  # default-src 'none': no script at all
    assert "<script" not in page.text
    assert " style=" not in page.text


async def test_sign_in_without_the_forms_csrf_token_is_refused(
    browser: httpx.AsyncClient, admin_secret: tuple[str, str], services: Services
) -> None:
    await browser.get("/console/login")
    data = {"csrf": "forged", "key": admin_secret[0], "secret": admin_secret[1]}
    answer = await browser.post("/console/login", data=data)
    assert answer.status_code == 403
    assert "lrs_console=" not in answer.headers.get("set-cookie", "")
    assert await services.client[services.settings.database][SESSIONS].count_documents({}) == 0


async def test_a_signed_in_form_without_the_sessions_csrf_token_is_refused(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    await sign_in(*admin_secret)
    answer = await browser.post("/console/credentials", data={"name": "x", "scopes": "all"})
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    listing = await browser.get("/console/credentials")
    assert ">x<" not in listing.text


async def test_a_wrong_secret_is_refused_and_audited(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], services: Services
) -> None:
    answer = await sign_in(admin_secret[0], "wrong")
    assert answer.status_code == 401
    assert "Wrong key or secret" in answer.text
    entries = await services.audit.list(action="auth.failed")
    assert [(e.target, e.details["scheme"]) for e in entries] == [(admin_secret[0], "console")]


async def test_failed_sign_ins_count_toward_the_brute_force_limit(
    sign_in: SignIn, admin_secret: tuple[str, str]
) -> None:
    per_key = AuthSettings().failures_per_key
    statuses = [(await sign_in(admin_secret[0], "wrong")).status_code for _ in range(per_key + 1)]
    assert statuses == [401] * per_key + [429]
    locked = await sign_in(*admin_secret)  # the right secret is refused too while locked
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0


async def test_an_expired_session_is_refused(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], services: Services
) -> None:
    await sign_in(*admin_secret)
    assert (await browser.get("/console/")).status_code == 200
    sessions = services.client[services.settings.database][SESSIONS]
    past = datetime.now(UTC) - timedelta(seconds=1)
    await sessions.update_many({}, {"$set": {"expires": past}})
    answer = await browser.get("/console/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login"


async def test_signing_out_ends_the_session(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], services: Services
) -> None:
    await sign_in(*admin_secret)
    overview = await browser.get("/console/")
    token = browser.cookies["lrs_console"]
    out = await browser.post("/console/logout", data={"csrf": csrf_of(overview)})
    assert out.status_code == 303
    browser.cookies.set("lrs_console", token, domain="lrs.test", path="/console")
    assert (await browser.get("/console/")).status_code == 303
    actions = [e.action for e in await services.audit.list()]
    assert actions[:2] == ["console.signed_out", "console.signed_in"]


async def test_revoking_a_credential_ends_its_sessions(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], services: Services
) -> None:
    await sign_in(*admin_secret)
    await services.credentials.revoke(admin_secret[0])
    assert (await browser.get("/console/")).status_code == 303


async def test_a_read_only_credential_sees_statements_but_not_the_admin_pages(
    browser: httpx.AsyncClient, sign_in: SignIn, services: Services
) -> None:
    key, secret = await services.credentials.create("Analyst", ["statements/read"])
    await sign_in(key, secret)
    assert (await browser.get("/console/statements")).status_code == 200
    assert (await browser.get("/console/credentials")).status_code == 403
    overview = await browser.get("/console/")
    assert "Queue depth" not in overview.text


async def test_a_revoked_credentials_session_is_signed_out_saying_why_and_audited(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], services: Services
) -> None:
    await sign_in(*admin_secret)
    assert (await browser.get("/console/")).status_code == 200
    token = browser.cookies["lrs_console"]
    await services.credentials.revoke(admin_secret[0])
    answer = await browser.get("/console/statements")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    assert 'lrs_console=""' in answer.headers["set-cookie"]  # the cookie is cleared
    form = await browser.get("/console/login")
    assert "credential of your console session has been revoked" in form.text
    assert "revoked" not in (await browser.get("/console/login")).text  # said once
    [ended] = await services.audit.list(action="console.session_ended")
    assert (ended.actor, ended.outcome) == (admin_secret[0], "revoked")
    assert await services.client[services.settings.database][SESSIONS].count_documents({}) == 0
    browser.cookies.set("lrs_console", token, domain="lrs.test", path="/console")
    assert (await browser.get("/console/")).status_code == 303


async def test_a_revoked_credential_cannot_post_a_form_with_its_old_session(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], services: Services
) -> None:
    await sign_in(*admin_secret)
    page = await browser.get("/console/credentials")
    await services.credentials.revoke(admin_secret[0])
    data = {"csrf": csrf_of(page), "name": "late", "scopes": "all"}
    answer = await browser.post("/console/credentials", data=data)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    names = [c.name for c in await services.credentials.list()]
    assert "late" not in names


async def test_changed_scopes_apply_to_an_open_session(
    browser: httpx.AsyncClient, sign_in: SignIn, admin_secret: tuple[str, str], services: Services
) -> None:
    await sign_in(*admin_secret)
    assert (await browser.get("/console/credentials")).status_code == 200
    credentials = services.client[services.settings.database]["credentials"]
    await credentials.update_one(
        {"_id": admin_secret[0]}, {"$set": {"scopes": ["statements/read"]}}
    )
    services.credentials._active.clear()  # what ACTIVE_TTL seconds do in a real deployment
    assert (await browser.get("/console/credentials")).status_code == 403
    assert (await browser.get("/console/statements")).status_code == 200
