"""POST /oauth/token (RFC 6749 §4.4 client credentials) and the JWKS."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from lrs.auth.config import AuthSettings
from tests.conftest import basic
from tests.lrs.auth.conftest import ISSUER, SECRET

GRANT = {"grant_type": "client_credentials"}


async def test_basic_client_gets_a_short_lived_bearer_token_with_its_scopes(lrs):
    key, secret = await lrs.credential("statements/read", "state")
    response = await lrs.token(key, secret)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "state statements/read"
    assert response.headers["Cache-Control"] == "no-store"
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"], audience=ISSUER)
    assert claims["sub"] == key and claims["iss"] == ISSUER and claims["jti"]
    assert claims["exp"] - claims["iat"] == 300


async def test_form_fields_authenticate_the_client_too(lrs):
    key, secret = await lrs.credential("statements/read")
    form = {**GRANT, "client_id": key, "client_secret": secret}
    response = await lrs.http.post("/oauth/token", data=form)
    assert response.status_code == 200


async def test_configured_lifetime_is_used(start_lrs):
    lrs = await start_lrs(AuthSettings(token_secret=SECRET, token_lifetime_seconds=60))
    key, secret = await lrs.credential("all")
    assert (await lrs.token(key, secret)).json()["expires_in"] == 60


async def test_scope_narrows_the_token_to_some_of_the_credentials_scopes(lrs):
    key, secret = await lrs.credential("all")
    response = await lrs.token(key, secret, scope="statements/read state")
    assert response.json()["scope"] == "state statements/read"


async def test_scope_beyond_the_credential_is_invalid_scope(lrs):
    key, secret = await lrs.credential("statements/read")
    for scope in ("statements/write", "admin", "everything"):
        response = await lrs.token(key, secret, scope=scope)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_scope"
        assert response.json()["error_description"]


async def test_wrong_secret_is_invalid_client_401(lrs):
    key, _ = await lrs.credential("all")
    response = await lrs.token(key, "wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


async def test_no_client_authentication_is_invalid_client(lrs):
    response = await lrs.http.post("/oauth/token", data=GRANT)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_grant_type_other_than_client_credentials_is_unsupported(lrs):
    key, secret = await lrs.credential("all")
    headers = {"Authorization": basic(key, secret)}
    password = await lrs.http.post("/oauth/token", data={"grant_type": "password"}, headers=headers)
    assert password.status_code == 400
    assert password.json()["error"] == "unsupported_grant_type"
    missing = await lrs.http.post("/oauth/token", data={"scope": "all"}, headers=headers)
    assert missing.json()["error"] == "invalid_request"


async def test_two_client_authentication_methods_are_refused(lrs):
    key, secret = await lrs.credential("all")
    form = {**GRANT, "client_id": key, "client_secret": secret}
    response = await lrs.http.post(
        "/oauth/token", data=form, headers={"Authorization": basic(key, secret)}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_body_must_be_form_encoded_and_parameters_unique(lrs):
    key, secret = await lrs.credential("all")
    headers = {"Authorization": basic(key, secret)}
    as_json = await lrs.http.post("/oauth/token", json=GRANT, headers=headers)
    assert as_json.json()["error"] == "invalid_request"
    twice = await lrs.http.post(
        "/oauth/token",
        content="grant_type=client_credentials&grant_type=client_credentials",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert twice.status_code == 400
    assert "more than once" in twice.json()["error_description"]


async def test_token_endpoint_is_off_without_a_signing_key(start_lrs):
    lrs = await start_lrs(AuthSettings())
    key, secret = await lrs.credential("all")
    response = await lrs.token(key, secret)
    assert response.status_code == 404
    assert "LRS_TOKEN_SECRET" in response.json()["message"]
    assert (await lrs.http.get("/.well-known/jwks.json")).status_code == 404


async def test_no_jwks_is_published_for_a_shared_secret(lrs):
    assert (await lrs.http.get("/.well-known/jwks.json")).status_code == 404


def _pem(private_key, path):
    path.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.mark.parametrize(("make", "algorithm"), [("rsa", "RS256"), ("ec", "ES256")])
async def test_asymmetric_tokens_verify_with_the_published_jwks(
    start_lrs, rsa_keys, tmp_path, make, algorithm
):
    private = rsa_keys[0] if make == "rsa" else ec.generate_private_key(ec.SECP256R1())
    key_file = _pem(private, tmp_path / "signing.pem")
    lrs = await start_lrs(AuthSettings(token_private_key_file=key_file))
    key, secret = await lrs.credential("statements/read")
    token = (await lrs.token(key, secret)).json()["access_token"]

    jwks = (await lrs.http.get("/.well-known/jwks.json")).json()
    (published,) = jwks["keys"]
    assert published["alg"] == algorithm and "d" not in published
    assert jwt.get_unverified_header(token)["kid"] == published["kid"]
    claims = jwt.decode(token, jwt.PyJWK(published).key, algorithms=[algorithm], audience=ISSUER)
    assert claims["sub"] == key
    response = await lrs.http.get("/xapi/statements", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_token_issuance_is_audited_without_the_token_or_secret(lrs):
    key, secret = await lrs.credential("statements/read")
    token = (await lrs.token(key, secret)).json()["access_token"]
    (entry,) = await lrs.services.audit.list(action="token.issued")
    assert entry.actor == key and entry.source == "127.0.0.1"
    assert entry.details["jti"] == jwt.decode(token, options={"verify_signature": False})["jti"]
    raw = str(await lrs.services.audit.collection.find_one({"action": "token.issued"}))
    assert token not in raw and secret not in raw
