"""Tokens of an external OIDC provider: a real local IdP publishes a test key pair's JWKS."""

from __future__ import annotations

import time
from types import MappingProxyType

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from lrs.auth.config import AuthSettings, parse_scope_map
from lrs.auth.oidc import JWKSCache, check_fetch_url, map_scopes
from lrs.settings import SettingsError
from tests.lrs.auth.conftest import oidc_settings


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _status(lrs, token: str, path: str = "/xapi/statements") -> int:
    return (await lrs.http.get(path, headers=_bearer(token))).status_code


async def test_idp_token_is_accepted_with_its_scopes_and_authority(start_lrs, idp, make_statement):
    lrs = await start_lrs(oidc_settings(idp))
    token = idp.token()
    posted = await lrs.http.post("/xapi/statements", json=make_statement(), headers=_bearer(token))
    assert posted.status_code == 200
    (statement,) = (await lrs.http.get("/xapi/statements", headers=_bearer(token))).json()[
        "statements"
    ]
    assert statement["authority"] == {
        "objectType": "Agent",
        "name": "Grace",
        "account": {"homePage": idp.issuer, "name": "user-42"},
    }
    assert idp.hits["/.well-known/openid-configuration"] == 1 and idp.hits["/jwks"] == 1


async def test_keys_are_cached_between_requests(start_lrs, idp):
    lrs = await start_lrs(oidc_settings(idp))
    for _ in range(3):
        assert await _status(lrs, idp.token()) == 200
    assert idp.hits["/jwks"] == 1


async def test_scopes_come_through_the_configured_claim_and_map(start_lrs, idp, make_statement):
    mapping = parse_scope_map('{"lrs.read": "statements/read", "lrs.ops": ["admin"]}')
    lrs = await start_lrs(oidc_settings(idp, oidc_scope_claim="scp", oidc_scope_map=mapping))
    reader = idp.token(scp=["lrs.read", "statements/write"], scope=None)
    assert await _status(lrs, reader) == 200
    written = await lrs.http.post(
        "/xapi/statements", json=make_statement(), headers=_bearer(reader)
    )
    assert written.status_code == 403  # statements/write is not in the map
    assert await _status(lrs, reader, "/admin/forwarders") == 403
    assert await _status(lrs, idp.token(scp="lrs.ops", scope=None), "/admin/forwarders") == 200


async def test_without_a_map_xapi_scope_names_pass_but_admin_never(start_lrs, idp):
    lrs = await start_lrs(oidc_settings(idp))
    token = idp.token(scope="all admin")
    assert await _status(lrs, token) == 200
    assert await _status(lrs, token, "/admin/forwarders") == 403


async def test_authority_uses_the_configured_claims(start_lrs, idp, make_statement):
    lrs = await start_lrs(
        oidc_settings(
            idp, oidc_authority_claim="email", oidc_authority_home="https://people.example.com"
        )
    )
    token = idp.token(email="grace@example.com")
    await lrs.http.post("/xapi/statements", json=make_statement(), headers=_bearer(token))
    (statement,) = (await lrs.http.get("/xapi/statements", headers=_bearer(token))).json()[
        "statements"
    ]
    assert statement["authority"]["account"] == {
        "homePage": "https://people.example.com",
        "name": "grace@example.com",
    }
    assert await _status(lrs, idp.token(email=None)) == 401


async def test_wrong_audience_issuer_expiry_or_key_is_rejected(start_lrs, idp, rsa_keys):
    lrs = await start_lrs(oidc_settings(idp, jwt_leeway_seconds=30))
    now = int(time.time())
    assert await _status(lrs, idp.token(aud="another-api")) == 401
    assert await _status(lrs, idp.token(iss="https://evil.example.com")) == 401
    assert await _status(lrs, idp.token(exp=now - 120)) == 401
    assert await _status(lrs, idp.token(exp=now - 10)) == 200  # within the leeway
    assert await _status(lrs, idp.token(nbf=now + 120)) == 401
    assert await _status(lrs, idp.token(key=rsa_keys[1])) == 401  # right kid, wrong key
    assert await _status(lrs, idp.token(exp=None)) == 401


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
async def test_an_idp_token_with_a_date_claim_that_is_not_a_number_is_401(start_lrs, idp, claim):
    lrs = await start_lrs(oidc_settings(idp))
    now = int(time.time())
    values = {"exp": now + 300, "nbf": now, "iat": now}
    assert await _status(lrs, idp.token(**values)) == 200
    assert await _status(lrs, idp.token(**{**values, claim: str(values[claim])})) == 401


async def test_disallowed_algorithms_are_rejected(start_lrs, idp, rsa_keys):
    lrs = await start_lrs(oidc_settings(idp))
    assert await _status(lrs, idp.token(algorithm="PS256")) == 401  # not in the allow-list
    public = (
        rsa_keys[0]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    claims = jwt.decode(idp.token(), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "kid-0"})
    assert await _status(lrs, unsigned) == 401
    with pytest.raises(jwt.InvalidKeyError):  # PyJWT itself refuses; we never get that far
        jwt.encode(claims, public, algorithm="HS256")


async def test_a_rotated_key_is_fetched_on_an_unknown_kid(start_lrs, idp, rsa_keys):
    lrs = await start_lrs(oidc_settings(idp, oidc_jwks_min_refetch_seconds=0))
    assert await _status(lrs, idp.token()) == 200
    idp.published["kid-new"] = rsa_keys[2]
    assert await _status(lrs, idp.token(kid="kid-new")) == 200
    assert idp.hits["/jwks"] == 2


async def test_unknown_kids_do_not_refetch_more_often_than_the_floor(start_lrs, idp, rsa_keys):
    lrs = await start_lrs(oidc_settings(idp, oidc_jwks_min_refetch_seconds=600))
    assert await _status(lrs, idp.token()) == 200
    idp.published["kid-new"] = rsa_keys[2]
    for _ in range(5):
        assert await _status(lrs, idp.token(kid="kid-new")) == 401
    assert idp.hits["/jwks"] == 1


async def test_jwks_cache_refetches_after_its_lifetime_and_honours_the_floor(idp):
    now = [1000.0]
    async with httpx.AsyncClient() as http:
        cache = JWKSCache(
            http,
            issuer=idp.issuer,
            jwks_url=idp.issuer + "/jwks",
            ttl=100,
            min_refetch=10,
            clock=lambda: now[0],
        )
        await cache.key("kid-0")
        now[0] += 5
        with pytest.raises(jwt.InvalidTokenError):
            await cache.key("unknown")  # inside the floor: no fetch
        assert cache.fetches == 1
        now[0] += 10
        with pytest.raises(jwt.InvalidTokenError):
            await cache.key("unknown")  # past the floor: one fetch, still unknown
        assert cache.fetches == 2
        now[0] += 100
        await cache.key("kid-0")  # stale: refetched
        assert cache.fetches == 3


def test_scope_claim_values_map_to_xapi_scopes():
    mapping = MappingProxyType({"read": ("statements/read", "state")})
    assert map_scopes("read other", mapping) == {"statements/read", "state"}
    assert map_scopes(["read"], mapping) == {"statements/read", "state"}
    assert map_scopes(42, mapping) == frozenset()
    assert map_scopes("statements/read admin bogus", None) == {"statements/read"}


def test_oidc_settings_are_validated():
    env = {"LRS_OIDC_ISSUER": "https://idp.example.com", "LRS_OIDC_AUDIENCE": "lrs"}
    parsed = AuthSettings.from_env({**env, "LRS_OIDC_ALGORITHMS": "RS256,ES256"})
    assert parsed.oidc_algorithms == ("RS256", "ES256")
    for bad in ("HS256", "none"):
        with pytest.raises(SettingsError, match="never none or HS"):
            AuthSettings.from_env({**env, "LRS_OIDC_ALGORITHMS": bad})
    with pytest.raises(SettingsError, match="together"):
        AuthSettings.from_env({"LRS_OIDC_ISSUER": "https://idp.example.com"})
    with pytest.raises(SettingsError, match="unknown scope"):
        parse_scope_map('{"x": "superuser"}')
    with pytest.raises(SettingsError, match="https"):
        check_fetch_url("http://idp.example.com/jwks", "JWKS URL")
    assert check_fetch_url("http://127.0.0.1:9/jwks", "JWKS URL")
