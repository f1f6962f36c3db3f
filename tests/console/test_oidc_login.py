"""Signing in to the console through an OIDC provider (a real stand-in on loopback): the
authorization code flow with state, nonce and PKCE, and each way it must refuse."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric import rsa

from lrs.app import create_app
from lrs.auth.config import AuthSettings, parse_scope_map
from lrs.console.sessions import SESSIONS
from lrs.services import Services
from lrs.settings import Settings
from tests.console.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, serve

FLOW = "lrs_console_oidc"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def provider(signing_key: rsa.RSAPrivateKey) -> Iterator[Provider]:
    yield from serve(Provider(signing_key))


SCOPE_MAP = '{"lrs.ops": ["admin", "all"], "lrs.read": "all/read"}'
"""The API's rule: `admin` only ever comes through an explicit map."""


@contextlib.asynccontextmanager
async def console_app(
    mongo_server: Any, settings: Settings, provider: Provider, scope_map: str = SCOPE_MAP
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    """The app with the provider configured (and `scope_map`), and a cookie-keeping client."""
    auth = AuthSettings(
        oidc_issuer=provider.issuer,
        oidc_audience="lrs-api",
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_scope_map=parse_scope_map(scope_map),
    ).validated()
    app = create_app(settings, mongo_server.uri, auth=auth)
    async with LifespanManager(app) as manager:
        services: Services = manager._state["services"]
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lrs.test") as http:
            yield http, services


@pytest.fixture
async def console(
    mongo_server: Any, settings: Settings, provider: Provider
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    async with console_app(mongo_server, settings, provider) as (http, services):
        yield http, services
        await services.client.drop_database(settings.database)


async def via_provider(browser: httpx.AsyncClient) -> httpx.Response:
    """Start on the console, let the provider approve, come back: the callback's answer."""
    started = await browser.get("/console/oidc/start")
    assert started.status_code == 303
    async with httpx.AsyncClient() as outside:  # the browser at the provider
        approved = await outside.get(started.headers["location"])
    assert approved.status_code == 302
    back = httpx.URL(approved.headers["location"])
    assert back.host == "lrs.test"
    return await browser.get(back.path + "?" + back.query.decode())


async def test_the_sign_in_page_offers_the_provider(console: Any) -> None:
    browser, _ = console
    page = await browser.get("/console/login")
    assert 'href="/console/oidc/start"' in page.text


async def test_the_authorization_request_carries_state_nonce_and_a_pkce_challenge(
    console: Any, provider: Provider
) -> None:
    browser, _ = console
    started = await browser.get("/console/oidc/start")
    target = httpx.URL(started.headers["location"])
    query = dict(target.params)
    assert str(target).startswith(provider.issuer + "/authorize?")
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://lrs.test/console/oidc/callback"
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    cookie = started.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console/oidc" in cookie
    assert query["state"] in cookie and query["code_challenge"] not in cookie


async def test_a_provider_sign_in_opens_a_session_with_the_granted_scopes(
    console: Any,
) -> None:
    browser, services = console
    back = await via_provider(browser)
    assert back.status_code == 303 and back.headers["location"] == "/console/"
    overview = await browser.get("/console/")
    assert overview.status_code == 200
    assert "Olive Ops" in overview.text
    assert (await browser.get("/console/credentials")).status_code == 200  # admin granted
    [entry] = await services.audit.list(action="console.signed_in")
    assert entry.actor == "oidc:ops-7"


async def test_read_only_scopes_from_the_provider_see_no_admin_page(
    console: Any, provider: Provider
) -> None:
    browser, _ = console
    provider.claims = {"scope": "lrs.read"}
    await via_provider(browser)
    assert (await browser.get("/console/statements")).status_code == 200
    assert (await browser.get("/console/credentials")).status_code == 403


async def test_a_callback_whose_state_is_not_this_browsers_is_refused_and_audited(
    console: Any, provider: Provider
) -> None:
    browser, services = console
    started = await browser.get("/console/oidc/start")
    async with httpx.AsyncClient() as outside:
        approved = await outside.get(started.headers["location"])
    back = httpx.URL(approved.headers["location"])
    forged = dict(back.params) | {"state": "someone-elses"}
    answer = await browser.get("/console/oidc/callback", params=forged)
    assert answer.status_code == 401
    assert "did not start in this browser" in answer.text
    assert (await browser.get("/console/")).headers.get("location") == "/console/login"
    [entry] = await services.audit.list(action="auth.failed")
    assert entry.details is not None and entry.details["scheme"] == "console-oidc"
    assert provider.tokens_issued == 0


async def test_a_callback_in_a_browser_that_never_started_is_refused(console: Any) -> None:
    browser, _ = console
    answer = await browser.get("/console/oidc/callback", params={"code": "x", "state": "y"})
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"nonce": "replayed"}, "nonce"),
        ({"aud": "lrs-api"}, "audience"),
        ({"iss": "http://elsewhere.test"}, "issuer"),
        ({"scope": "openid"}, "no scope"),
    ],
)
async def test_an_id_token_with_a_wrong_claim_is_refused(
    console: Any, provider: Provider, claims: dict[str, Any], why: str
) -> None:
    browser, _ = console
    provider.claims = claims
    answer = await via_provider(browser)
    assert answer.status_code == 401
    assert why in answer.text.lower()
    assert (await browser.get("/console/")).headers.get("location") == "/console/login"


async def test_an_id_token_signed_by_another_key_is_refused(
    console: Any, provider: Provider
) -> None:
    browser, _ = console
    provider.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    provider_jwks = provider.jwks
    provider.jwks = lambda: {"keys": []}  # type: ignore[method-assign]
    try:
        answer = await via_provider(browser)
    finally:
        provider.jwks = provider_jwks  # type: ignore[method-assign]
    assert answer.status_code == 401


async def test_the_provider_saying_no_is_shown_and_nothing_is_opened(console: Any) -> None:
    browser, _ = console
    started = await browser.get("/console/oidc/start")
    state = dict(httpx.URL(started.headers["location"]).params)["state"]
    answer = await browser.get(
        "/console/oidc/callback", params={"state": state, "error": "access_denied"}
    )
    assert answer.status_code == 401 and "access_denied" in answer.text


async def test_without_a_client_id_the_oidc_routes_are_404(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/console/login")
    assert "/console/oidc/start" not in page.text
    assert (await browser.get("/console/oidc/start")).status_code == 404


async def test_a_code_redeemed_without_this_flows_pkce_verifier_is_refused(
    console: Any, provider: Provider
) -> None:
    browser, _ = console
    started = await browser.get("/console/oidc/start")
    state, nonce, _ = browser.cookies[FLOW].split(".")
    browser.cookies.set(FLOW, f"{state}.{nonce}.a-verifier-of-another-flow", path="/console/oidc")
    async with httpx.AsyncClient() as outside:
        approved = await outside.get(started.headers["location"])
    back = httpx.URL(approved.headers["location"])
    answer = await browser.get(back.path + "?" + back.query.decode())
    assert answer.status_code == 401
    assert provider.tokens_issued == 0  # the provider refused the exchange


async def test_an_oidc_session_lasts_as_long_as_its_id_token_and_is_refused_after(
    console: Any, provider: Provider
) -> None:
    browser, services = console
    expiry = int(time.time()) + 120
    provider.claims = {"exp": expiry}
    back = await via_provider(browser)
    cookie = next(c for c in back.headers.get_list("set-cookie") if c.startswith("lrs_console="))
    assert 0 < int(cookie.lower().split("max-age=")[1].split(";")[0]) <= 120
    sessions = services.client[services.settings.database][SESSIONS]
    [session] = await sessions.find().to_list()
    assert session["expires"] == datetime.fromtimestamp(expiry, UTC)  # not 8 hours
    assert set(session["identity"]["claims"]) == {"scope", "sub", "name"}  # no more kept
    assert (await browser.get("/console/")).status_code == 200
    # the ID token's expiry passes
    await sessions.update_one({}, {"$set": {"expires": datetime.now(UTC) - timedelta(seconds=1)}})
    answer = await browser.get("/console/")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    form = await browser.get("/console/login")
    assert "session has ended" in form.text


async def test_a_narrowed_scope_map_applies_to_open_oidc_sessions_at_once(
    console: Any, provider: Provider, mongo_server: Any, settings: Settings
) -> None:
    browser, _ = console
    await via_provider(browser)
    assert (await browser.get("/console/credentials")).status_code == 200
    token = browser.cookies["lrs_console"]
    # the LRS restarted with `lrs.ops` mapped to reading only: the same session
    narrowed = '{"lrs.ops": "all/read"}'
    async with console_app(mongo_server, settings, provider, narrowed) as (again, _):
        again.cookies.set("lrs_console", token, domain="lrs.test", path="/console")
        assert (await again.get("/console/statements")).status_code == 200
        assert (await again.get("/console/credentials")).status_code == 403


async def test_an_oidc_session_whose_claims_no_longer_map_to_a_scope_is_signed_out(
    console: Any, provider: Provider, mongo_server: Any, settings: Settings
) -> None:
    browser, _ = console
    await via_provider(browser)
    token = browser.cookies["lrs_console"]
    async with console_app(mongo_server, settings, provider, '{"lrs.read": "all/read"}') as (
        again,
        services,
    ):
        again.cookies.set("lrs_console", token, domain="lrs.test", path="/console")
        answer = await again.get("/console/")
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
        assert 'lrs_console=""' in answer.headers["set-cookie"]  # the cookie is cleared
        form = await again.get("/console/login")
        assert "no longer maps to any scope" in form.text
        [ended] = await services.audit.list(action="console.session_ended")
        assert (ended.actor, ended.outcome) == ("oidc:ops-7", "ungranted")
        sessions = services.client[services.settings.database][SESSIONS]
        assert await sessions.count_documents({}) == 0


async def test_an_oidc_session_without_its_claims_is_signed_out(console: Any) -> None:
    browser, services = console
    await via_provider(browser)
    sessions = services.client[services.settings.database][SESSIONS]
    granted = {"scopes": ["admin", "all"], "authority": {}, "name": "Olive Ops"}
    await sessions.update_one({}, {"$set": {"identity": granted}})  # as older code kept them
    assert (await browser.get("/console/")).status_code == 303
