"""xAPI 1.0.3 Data 2.6 "Signed Statements" and 2.0 4.2.6 "Statement Signing"."""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.api_jws import PyJWS

from statements.attachments import SIGNATURE_USAGE
from statements.errors import InvalidStatement
from statements.signatures import verify_statement_signature

STATEMENT: dict[str, Any] = {
    "id": "33cff416-e331-4c9d-969e-5373a1756120",
    "actor": {"mbox": "mailto:example@example.com", "name": "Example Learner"},
    "verb": {
        "id": "http://adlnet.gov/expapi/verbs/experienced",
        "display": {"en-US": "experienced"},
    },
    "object": {"id": "https://www.youtube.com/watch?v=xh4kIiH3Sm8", "objectType": "Activity"},
    "timestamp": "2013-04-01T12:00:00Z",
}


def self_signed(key: Any) -> str:
    """A self-signed certificate for `key`, as an x5c entry (base64 DER, not base64url)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Signer")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def certificate(key: rsa.RSAPrivateKey) -> str:
    return self_signed(key)


def sign(payload: Any, key: Any, algorithm: str = "RS256", **header: Any) -> bytes:
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return PyJWS().encode(raw, key, algorithm=algorithm, headers=header or None).encode()


def with_signature(statement: dict[str, Any], jws: bytes) -> dict[str, Any]:
    """The statement as sent: the signature attachment added after signing."""
    signed = copy.deepcopy(statement)
    signed.setdefault("attachments", []).append(
        {
            "usageType": SIGNATURE_USAGE,
            "display": {"en-US": "Signature"},
            "contentType": "application/octet-stream",
            "length": len(jws),
            "sha2": hashlib.sha256(jws).hexdigest(),
        }
    )
    return signed


def rejected(statement: dict[str, Any], jws: bytes, **kwargs: Any) -> str:
    with pytest.raises(InvalidStatement) as raised:
        verify_statement_signature(statement, jws, **kwargs)
    [violation] = raised.value.violations
    return violation.rule


def test_the_signed_statement_of_appendix_d_verifies():
    """1.0.3 Appendix D: RS256, an x5c chain, a CRLF-formatted payload with `version`."""
    jws = (Path(__file__).parent / "data" / "appendix-d-signature.jws").read_bytes().strip()
    statement = dict(STATEMENT, version="1.0.0")
    statement["actor"] = dict(STATEMENT["actor"], objectType="Agent")
    statement["object"] = dict(
        STATEMENT["object"],
        definition={
            "name": {"en-US": "Tax Tips & Information : How to File a Tax Return "},
            "description": {
                "en-US": "Filing a tax return will require filling out either a 1040, 1040A "
                "or 1040EZ form"
            },
        },
    )
    signed = with_signature(statement, jws)

    assert signed["attachments"][0]["sha2"].startswith("672fa5fa")
    verify_statement_signature(signed, jws)


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "RS512"])
def test_a_signature_with_an_x5c_certificate_verifies(key, certificate, algorithm):
    jws = sign(STATEMENT, key, algorithm, x5c=[certificate])

    verify_statement_signature(with_signature(STATEMENT, jws), jws)


def test_a_signature_without_x5c_is_accepted_when_the_payload_matches(key):
    """Validating against a certificate is required only "if the JWS header includes" one."""
    jws = sign(STATEMENT, key)

    verify_statement_signature(with_signature(STATEMENT, jws), jws)


def test_the_lrs_may_have_assigned_id_stored_and_authority_after_signing(key, certificate):
    original = {k: v for k, v in STATEMENT.items() if k != "id"}
    jws = sign(original, key, x5c=[certificate])
    received = with_signature(original, jws)
    received |= {
        "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0",
        "stored": "2024-01-01T00:00:00.000Z",
        "authority": {"mbox": "mailto:lrs@example.com", "objectType": "Agent"},
    }

    verify_statement_signature(received, jws)


def test_attachments_other_than_the_signature_are_part_of_the_signed_statement(key):
    other = {
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "contentType": "text/plain",
        "length": 27,
        "sha2": hashlib.sha256(b"here is a simple attachment").hexdigest(),
    }
    original = dict(STATEMENT, attachments=[other])
    jws = sign(original, key)

    verify_statement_signature(with_signature(original, jws), jws)
    assert rejected(with_signature(STATEMENT, jws), jws) == "signature.payload_mismatch"


def test_a_statement_that_differs_from_the_payload_is_rejected(key, certificate):
    jws = sign(STATEMENT, key, x5c=[certificate])
    tampered = with_signature(
        dict(STATEMENT, verb={"id": "http://adlnet.gov/expapi/verbs/passed"}), jws
    )

    assert rejected(tampered, jws) == "signature.payload_mismatch"


def test_a_statement_sent_under_another_id_than_the_signed_one_is_rejected(key):
    jws = sign(STATEMENT, key)
    received = with_signature(dict(STATEMENT, id="e05aa883-acaf-40ad-bf54-02c8ce485fb0"), jws)

    assert rejected(received, jws) == "signature.payload_mismatch"


def test_the_signed_id_is_compared_without_case(key):
    jws = sign(STATEMENT, key)

    verify_statement_signature(
        with_signature(dict(STATEMENT, id=STATEMENT["id"].upper()), jws), jws
    )


def test_a_payload_that_is_not_the_statement_is_rejected(key):
    jws = sign({"hello": "world"}, key)

    assert rejected(with_signature(STATEMENT, jws), jws) == "signature.payload_mismatch"


def test_a_tampered_payload_fails_the_x5c_signature(key, certificate):
    jws = sign(STATEMENT, key, x5c=[certificate])
    header, _, signature = jws.split(b".")
    forged = dict(STATEMENT, verb={"id": "http://adlnet.gov/expapi/verbs/passed"})
    payload = base64.urlsafe_b64encode(orjson.dumps(forged)).rstrip(b"=")
    forged_jws = b".".join([header, payload, signature])

    assert rejected(with_signature(forged, forged_jws), forged_jws) == "signature.bad_signature"


def test_a_signature_made_with_another_key_fails_the_x5c_certificate(key):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jws = sign(STATEMENT, other_key, x5c=[self_signed(key)])

    assert rejected(with_signature(STATEMENT, jws), jws) == "signature.bad_signature"


@pytest.mark.parametrize(
    ("algorithm", "key_for"),
    [("HS256", lambda key: b"s" * 64), ("none", lambda key: None), ("PS256", lambda key: key)],
)
def test_algorithms_other_than_rs256_rs384_rs512_are_rejected(key, algorithm, key_for):
    """Conformance XAPI-00117: "Rejects signed statement with another algorithm"."""
    jws = sign(STATEMENT, key_for(key), algorithm)

    assert rejected(with_signature(STATEMENT, jws), jws) == "signature.algorithm"


def test_a_header_without_alg_is_rejected():
    header = base64.urlsafe_b64encode(b'{"alg": ["RS256"]}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(orjson.dumps(STATEMENT)).rstrip(b"=")
    jws = header + b"." + payload + b".c2ln"

    assert rejected(with_signature(STATEMENT, jws), jws) == "signature.algorithm"


def test_a_payload_that_is_not_json_is_rejected(key):
    """Conformance XAPI-00116 breaks the JSON by replacing its first `"` with `'`."""
    jws = sign(orjson.dumps(STATEMENT).replace(b'"', b"'", 1), key)

    assert rejected(with_signature(STATEMENT, jws), jws) == "signature.payload_invalid"


def test_a_payload_that_is_not_a_json_object_is_rejected(key):
    jws = sign([STATEMENT], key)

    assert rejected(with_signature(STATEMENT, jws), jws) == "signature.payload_invalid"


@pytest.mark.parametrize(
    "jws",
    [
        b"not a jws",
        b"a.b",
        b"!!!.@@@.###",
        b'{"payload": "e30", "signatures": [{"protected": "e30", "signature": "c2ln"}]}',
        b"",
    ],
)
def test_a_signature_that_is_not_a_compact_jws_is_malformed(jws):
    """Conformance XAPI-00115: "rejects a signed statement with a malformed signature - bad JWS"."""
    assert rejected(with_signature(STATEMENT, jws), jws) == "signature.malformed"


@pytest.mark.parametrize(
    "x5c",
    ["MIIB", [], [42], ["not base64!"], [base64.b64encode(b"not a certificate").decode()]],
)
def test_an_unusable_x5c_is_malformed(key, x5c):
    jws = sign(STATEMENT, key, x5c=x5c)

    assert rejected(with_signature(STATEMENT, jws), jws) == "signature.malformed"


def test_an_x5c_certificate_without_an_rsa_key_is_malformed(key):
    jws = sign(STATEMENT, key, x5c=[self_signed(ec.generate_private_key(ec.SECP256R1()))])

    assert rejected(with_signature(STATEMENT, jws), jws) == "signature.malformed"


def test_violations_point_into_the_batch(key):
    jws = sign({"hello": "world"}, key)

    with pytest.raises(InvalidStatement) as raised:
        verify_statement_signature(with_signature(STATEMENT, jws), jws, path="/4")

    assert raised.value.violations[0].path == "/4/attachments"
    assert "signature.payload_mismatch" in raised.value.message
