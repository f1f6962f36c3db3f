"""CORS for browser-based content: preflights without credentials, headers on every answer."""

from __future__ import annotations

import pytest

from lrs.settings import Settings, SettingsError
from tests.conftest import basic
from tests.lrs.custom_app import running_app

ORIGIN = "https://author.example.com"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "PUT",
    "Access-Control-Request-Headers": (
        "authorization, content-type, x-experience-api-version, if-match, if-none-match, "
        "x-request-id"
    ),
}


def exposed(response) -> set[str]:
    header = response.headers.get("Access-Control-Expose-Headers", "")
    return {h.strip().lower() for h in header.split(",") if h.strip()}


async def test_a_preflight_is_answered_without_credentials(mongo_server, settings):
    async with running_app(mongo_server, settings, cors_origins=(ORIGIN,)) as lrs:
        async with lrs.client() as anon:
            response = await anon.options("/xapi/statements", headers=PREFLIGHT)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    for header in PREFLIGHT["Access-Control-Request-Headers"].split(","):
        assert header.strip() in {a.lower() for a in allowed}
    assert "Origin" in response.headers["Vary"]


async def test_an_actual_request_exposes_the_xapi_headers(mongo_server, settings, make_statement):
    async with running_app(mongo_server, settings, cors_origins=(ORIGIN,)) as lrs:
        auth = await lrs.credential("all")
        async with lrs.client({**auth, "Origin": ORIGIN}) as browser:
            posted = await browser.post("/xapi/statements", json=make_statement())
            listed = await browser.get("/xapi/statements")
    for response in (posted, listed):
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert {
        "etag",
        "last-modified",
        "x-experience-api-version",
        "x-experience-api-consistent-through",
        "retry-after",
        "x-request-id",
    } <= exposed(listed)
    assert listed.headers["X-Experience-API-Consistent-Through"]


async def test_errors_from_authentication_carry_cors_headers(mongo_server, settings):
    async with running_app(mongo_server, settings, cors_origins=(ORIGIN,)) as lrs:
        reader = await lrs.credential("statements/read")
        async with lrs.client({"Origin": ORIGIN}) as browser:
            unauthenticated = await browser.get("/xapi/statements")
            forbidden = await browser.post("/xapi/statements", json={}, headers=reader)
    assert (unauthenticated.status_code, forbidden.status_code) == (401, 403)
    for response in (unauthenticated, forbidden):
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert response.json()["error"] in ("unauthenticated", "forbidden")


async def test_a_disallowed_origin_gets_no_permission(mongo_server, settings):
    other = {**PREFLIGHT, "Origin": "https://evil.example.net"}
    async with running_app(mongo_server, settings, cors_origins=(ORIGIN,)) as lrs:
        auth = await lrs.credential("all")
        async with lrs.client() as anon:
            preflight = await anon.options("/xapi/statements", headers=other)
            actual = await anon.get(
                "/xapi/statements", headers={**auth, "Origin": "https://evil.example.net"}
            )
    assert preflight.status_code == 400
    body = preflight.json()
    assert body["error"] == "cors_refused" and body["details"]["refused"] == ["origin"]
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert actual.status_code == 200  # the browser, not the server, withholds the answer
    assert "Access-Control-Allow-Origin" not in actual.headers


async def test_a_header_outside_the_list_is_refused_in_preflight(mongo_server, settings):
    asking = {**PREFLIGHT, "Access-Control-Request-Headers": "x-custom-thing"}
    async with running_app(mongo_server, settings, cors_origins=(ORIGIN,)) as lrs:
        async with lrs.client() as anon:
            response = await anon.options("/xapi/statements", headers=asking)
    assert response.status_code == 400
    assert response.json()["details"]["refused"] == ["headers"]


async def test_any_origin_is_mirrored_with_star(mongo_server, settings):
    async with running_app(mongo_server, settings, cors_origins=("*",)) as lrs:
        async with lrs.client() as anon:
            response = await anon.options(
                "/xapi/activities/state", headers={**PREFLIGHT, "Origin": "http://localhost:3000"}
            )
    assert response.status_code == 200
    # credentials are allowed, so the origin is mirrored: browsers refuse `*` with credentials
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


async def test_without_configured_origins_there_are_no_cors_headers(client):
    response = await client.get("/xapi/statements", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_origins_setting_parses_lists_and_star_and_refuses_junk():
    parsed = Settings.from_env({"LRS_CORS_ORIGINS": " https://a.example, http://b:8080/ "})
    assert parsed.cors_origins == ("https://a.example", "http://b:8080")
    assert Settings.from_env({"LRS_CORS_ORIGINS": "https://a.example,*"}).cors_origins == ("*",)
    assert Settings.from_env({}).cors_origins == ()
    with pytest.raises(SettingsError, match="LRS_CORS_ORIGINS"):
        Settings.from_env({"LRS_CORS_ORIGINS": "a.example/path"})


async def test_a_500_from_a_resource_carries_cors_version_and_request_id(mongo_server, settings):
    async with running_app(mongo_server, settings, cors_origins=(ORIGIN,)) as lrs:
        broken = "5a1c7f3e-0000-4000-8000-000000000500"
        db = lrs.services.client[settings.database]
        await db["statements"].insert_one({"_id": broken, "seq": 1})  # no "raw": a bug's shape
        auth = await lrs.credential("all")
        async with lrs.client({**auth, "Origin": ORIGIN}) as browser:
            response = await browser.get("/xapi/statements", params={"statementId": broken})
    assert response.status_code == 500
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["X-Experience-API-Version"] == "2.0.0"
    request_id = response.headers["X-Request-ID"]
    assert response.json() == {
        "error": "internal_error",
        "message": "internal error",
        "details": {"request_id": request_id},
    }


async def test_a_500_from_authentication_carries_cors_headers(mongo_server, settings):
    async with running_app(mongo_server, settings, cors_origins=(ORIGIN,)) as lrs:
        db = lrs.services.client[settings.database]
        await db["credentials"].insert_one({"_id": "broken", "scopes": ["all"]})  # no hash
        async with lrs.client({"Authorization": basic("broken", "x"), "Origin": ORIGIN}) as b:
            response = await b.get("/xapi/statements")
    assert response.status_code == 500
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["X-Experience-API-Version"] == "2.0.0"
    assert response.json()["details"]["request_id"] == response.headers["X-Request-ID"]
