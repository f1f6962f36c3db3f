"""LRS-issued bearer tokens on the xAPI and admin APIs: verification, scopes, revocation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization

from lrs.auth.config import AuthSettings
from lrs.auth.jwt import TokenIssuer, load_signing_key
from tests.lrs.auth.conftest import ISSUER, SECRET


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _claims(key: str, **overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": ISSUER,
        "sub": key,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "j1",
        "scope": "all",
    }
    return {**claims, **overrides}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _assert_rejected(lrs, token: str) -> dict:
    response = await lrs.http.get("/xapi/statements", headers=_bearer(token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "invalid_token"
    return response.json()


async def test_a_valid_token_reads_statements(lrs):
    response = await lrs.http.get("/xapi/statements", headers=await lrs.bearer("all"))
    assert response.status_code == 200


async def test_expired_token_is_rejected(lrs):
    key, _ = await lrs.credential("all")
    an_hour_ago = time.time() - 3600
    past = TokenIssuer(
        load_signing_key(AuthSettings(token_secret=SECRET)),
        issuer=ISSUER,
        lifetime=300,
        leeway=30,
        clock=lambda: an_hour_ago,
    )
    body = await _assert_rejected(lrs, past.issue(key, ["all"]).token)
    assert "expired" in body["message"]


async def test_token_signed_with_another_secret_is_rejected(lrs):
    key, _ = await lrs.credential("all")
    forged = jwt.encode(_claims(key), "another-secret-of-at-least-32-bytes!!", algorithm="HS256")
    await _assert_rejected(lrs, forged)


async def test_wrong_issuer_or_audience_is_rejected(lrs):
    key, _ = await lrs.credential("all")
    other_issuer = jwt.encode(_claims(key, iss="http://evil.test"), SECRET, algorithm="HS256")
    await _assert_rejected(lrs, other_issuer)
    other_audience = jwt.encode(_claims(key, aud="http://other.test"), SECRET, algorithm="HS256")
    await _assert_rejected(lrs, other_audience)


async def test_token_missing_a_required_claim_is_rejected(lrs):
    key, _ = await lrs.credential("all")
    claims = _claims(key)
    del claims["jti"]
    await _assert_rejected(lrs, jwt.encode(claims, SECRET, algorithm="HS256"))


@pytest.mark.parametrize("claim", ["nbf", "scope", "exp", "iat", "iss", "aud", "sub", "jti"])
async def test_a_token_without_any_one_documented_claim_is_401(lrs, claim):
    key, _ = await lrs.credential("all")
    claims = _claims(key)
    del claims[claim]
    await _assert_rejected(lrs, jwt.encode(claims, SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    "override",
    [
        {"exp": str(int(time.time()) + 300)},
        {"nbf": str(int(time.time()))},
        {"iat": "now"},
        {"exp": True},
        {"scope": ["all"]},
        {"sub": 7},
        {"jti": 1},
    ],
)
async def test_a_token_with_an_ill_typed_claim_is_401(lrs, override):
    key, _ = await lrs.credential("all")
    await _assert_rejected(lrs, jwt.encode(_claims(key, **override), SECRET, algorithm="HS256"))


async def test_a_token_with_every_claim_well_typed_is_accepted(lrs):
    key, _ = await lrs.credential("all")
    token = jwt.encode(_claims(key), SECRET, algorithm="HS256")
    assert (await lrs.http.get("/xapi/statements", headers=_bearer(token))).status_code == 200


async def test_unsigned_alg_none_token_is_rejected(lrs):
    key, _ = await lrs.credential("all")
    header = _b64(orjson.dumps({"alg": "none", "typ": "JWT"}))
    unsigned = f"{header}.{_b64(orjson.dumps(_claims(key)))}."
    await _assert_rejected(lrs, unsigned)


async def test_hs256_signed_with_our_public_key_is_rejected(start_lrs, rsa_keys, tmp_path):
    pem = rsa_keys[0].private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "k.pem").write_bytes(pem)
    lrs = await start_lrs(AuthSettings(token_private_key_file=tmp_path / "k.pem"))
    key, _ = await lrs.credential("all")
    public = (
        rsa_keys[0]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = (
        _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"})) + "." + _b64(orjson.dumps(_claims(key)))
    )
    mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    await _assert_rejected(lrs, f"{signing_input}.{_b64(mac)}")


async def test_garbage_bearer_is_rejected(lrs):
    await _assert_rejected(lrs, "not-a-jwt")
    await _assert_rejected(lrs, "x" * 20_000)


async def test_statement_scopes_are_enforced_through_tokens(lrs, make_statement):
    reader = await lrs.bearer("all", scope="statements/read")
    writer = await lrs.bearer("statements/write")
    assert (await lrs.http.get("/xapi/statements", headers=reader)).status_code == 200
    refused = await lrs.http.post("/xapi/statements", json=make_statement(), headers=reader)
    assert refused.status_code == 403
    assert (await lrs.http.get("/xapi/statements", headers=writer)).status_code == 403
    stored = await lrs.http.post("/xapi/statements", json=make_statement(), headers=writer)
    assert stored.status_code == 200


async def test_document_scopes_are_enforced_through_tokens(lrs):
    state_only = await lrs.bearer("state")
    params = {"activityId": "http://example.com/a", "agent": '{"mbox":"mailto:a@example.com"}'}
    state = await lrs.http.get("/xapi/activities/state", params=params, headers=state_only)
    assert state.status_code == 200
    profile = await lrs.http.get(
        "/xapi/activities/profile",
        params={"activityId": "http://example.com/a"},
        headers=state_only,
    )
    assert profile.status_code == 403


async def test_admin_api_needs_admin_in_the_token_not_just_in_the_credential(lrs):
    xapi_only = await lrs.bearer("all", "admin", scope="all")
    admin = await lrs.bearer("all", "admin", scope="admin")
    assert (await lrs.http.get("/admin/forwarders", headers=xapi_only)).status_code == 403
    assert (await lrs.http.get("/admin/forwarders", headers=admin)).status_code == 200
    assert (await lrs.http.get("/admin/credentials", headers=admin)).status_code == 200


async def test_token_statements_carry_the_credentials_authority(lrs, make_statement):
    key, secret = await lrs.credential("statements/write", "statements/read/mine")
    token = (await lrs.token(key, secret)).json()["access_token"]
    (stored,) = (
        await lrs.http.post("/xapi/statements", json=make_statement(), headers=_bearer(token))
    ).json()
    listed = (await lrs.http.get("/xapi/statements", headers=_bearer(token))).json()
    (statement,) = listed["statements"]
    assert statement["id"] == stored
    assert statement["authority"]["account"] == {"homePage": ISSUER, "name": key}


async def test_revoking_a_credential_invalidates_its_tokens(lrs):
    admin = await lrs.bearer("admin")
    key, secret = await lrs.credential("all")
    token = (await lrs.token(key, secret)).json()["access_token"]
    assert (await lrs.http.get("/xapi/statements", headers=_bearer(token))).status_code == 200

    revoked = await lrs.http.delete(f"/admin/credentials/{key}", headers=admin)

    assert revoked.status_code == 204
    body = await _assert_rejected(lrs, token)
    assert "revoked" in body["message"]
    assert (await lrs.token(key, secret)).status_code == 401


async def test_failed_bearer_authentication_is_audited_without_the_token(lrs):
    key, _ = await lrs.credential("all")
    forged = jwt.encode(_claims(key), "another-secret-of-at-least-32-bytes!!", algorithm="HS256")
    await _assert_rejected(lrs, forged)
    (entry,) = await lrs.services.audit.list(action="auth.failed")
    assert entry.details["scheme"] == "bearer" and entry.outcome == "denied"
    assert entry.source == "127.0.0.1"
    assert forged not in str(await lrs.services.audit.collection.find_one({}))
