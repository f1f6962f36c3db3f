"""Verification of signed statements.

xAPI 1.0.3 Data 2.6 "Signed Statements" and xAPI 2.0 Base Standard 4.2.6 "Statement Signing".
A signed statement carries a JWS (RFC 7515) as an attachment with usageType
`http://adlnet.gov/expapi/attachments/signature`; the LRS MUST reject "malformed signatures"
with 400, and to find them MUST:

- decode the JWS and load the statement serialized in its payload ("the complete Statement
  before the signature was added": the received statement minus the signature attachment);
- check that this original statement is "logically equivalent" to the received one (1.0.3
  Data 2.3.1 "Statement Comparison Requirements", implemented by `statements.compare`);
- if the header includes an X.509 certificate (`x5c`), validate the signature against it;
- check the algorithm is RS256, RS384 or RS512.

Decisions:

- Beyond that comparison (which ignores `id` and `attachments`), a payload `id` must equal the
  received one, and the payload's `attachments` must be the received ones minus the signature:
  both are fixed by "the complete Statement before the signature was added".
- Only the compact serialization is accepted: 2.0 says it "shall be used", and 1.0.3 calls the
  JSON serialization "strongly discouraged ... will be forbidden".
- Without `x5c` the signature cannot be checked and the spec asks for nothing more: accepted
  (the conformance suite signs with a bare `{"alg": ...}` header).
- With `x5c` only the first certificate's public key is used. Its chain, validity dates and
  key size are not checked: the spec says this step is "a way to catch mistakes in the
  signature, not as a security measure" (its own Appendix D key is 1024-bit, from 2013).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm
from jwt.api_jws import PyJWS
from jwt.exceptions import PyJWTError

from statements.attachments import SIGNATURE_USAGE
from statements.compare import json_equal, statements_equivalent
from statements.errors import InvalidStatement, Violation
from statements.json_input import JSONInputError, decode_json
from statements.multipart import sha2_matches
from statements.types import Statement

ALGORITHMS = {
    "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
    "RS384": RSAAlgorithm(RSAAlgorithm.SHA384),
    "RS512": RSAAlgorithm(RSAAlgorithm.SHA512),
}


def _reject(rule: str, message: str, path: str) -> InvalidStatement:
    return InvalidStatement([Violation(f"{path}/attachments", rule, message)])


def verify_statement_signature(statement: Statement, jws: bytes, *, path: str = "") -> None:
    """Raise `InvalidStatement` unless `jws` is a well-formed signature of `statement`.

    `statement` is the statement as received (its signature attachment included); `jws` is the
    content of that attachment's part. `path` prefixes violation pointers (`/3` in a batch).
    """
    header, payload, signature = _decode(jws, path)
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        message = f"JWS algorithm must be RS256, RS384 or RS512, got {algorithm!r}"
        raise _reject("signature.algorithm", message, path)
    if "x5c" in header:
        signing_input = jws.strip().rsplit(b".", 1)[0]
        _verify_with_certificate(header["x5c"], algorithm, signing_input, signature, path)
    original = _original_statement(payload, path)
    if not _signs(original, statement, jws):
        message = "the JWS payload is not equivalent to the statement (without its signature)"
        raise _reject("signature.payload_mismatch", message, path)


def _decode(jws: bytes, path: str) -> tuple[dict[str, Any], bytes, bytes]:
    """Header, payload and signature of a compact JWS; the signature is not verified here."""
    try:
        decoded = PyJWS().decode_complete(jws.strip(), options={"verify_signature": False})
    except PyJWTError as error:
        raise _reject("signature.malformed", f"not a compact JWS: {error}", path) from None
    return decoded["header"], decoded["payload"], decoded["signature"]


def _verify_with_certificate(
    x5c: Any, algorithm: str, signing_input: bytes, signature: bytes, path: str
) -> None:
    key = _certificate_key(x5c, path)
    if not ALGORITHMS[algorithm].verify(signing_input, key, signature):
        message = f"the JWS signature does not verify with the x5c certificate ({algorithm})"
        raise _reject("signature.bad_signature", message, path)


def _certificate_key(x5c: Any, path: str) -> RSAPublicKey:
    """The RSA public key of the first (signing) certificate of an `x5c` chain (RFC 7515 4.1.6)."""
    if not isinstance(x5c, list) or not x5c or not isinstance(x5c[0], str):
        raise _reject("signature.malformed", "JWS x5c must be a list of certificates", path)
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(x5c[0], validate=True))
    except (binascii.Error, ValueError) as error:
        message = f"JWS x5c[0] is not a base64 DER certificate: {error}"
        raise _reject("signature.malformed", message, path) from None
    key = certificate.public_key()
    if not isinstance(key, RSAPublicKey):
        raise _reject("signature.malformed", "JWS x5c[0] does not hold an RSA key", path)
    return key


def _original_statement(payload: bytes, path: str) -> Statement:
    """The statement the signer serialized: the payload MUST be valid JSON of a statement."""
    try:
        original = decode_json(payload)
    except JSONInputError as error:
        message = f"the JWS payload: {error.message}"
        raise _reject("signature.payload_invalid", message, path) from None
    if not isinstance(original, dict):
        raise _reject("signature.payload_invalid", "the JWS payload is not a JSON object", path)
    return original


def _signs(original: Statement, statement: Statement, jws: bytes) -> bool:
    """Whether `original` (the payload) is the received statement before it was signed.

    `statements_equivalent` applies the spec's comparison, which ignores `id` and `attachments`
    (LRS-assigned; not part of the statement). Signing pins both down further: an `id` in the
    payload was the client's, which the LRS never replaces, and "before the signature was
    added" means the received attachments minus this signature are the payload's.
    """
    return (
        statements_equivalent(original, statement)
        and ("id" not in original or _same_uuid(original["id"], statement.get("id")))
        and json_equal(original.get("attachments", []), _unsigned_attachments(statement, jws))
    )


def _same_uuid(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()


def _unsigned_attachments(statement: Statement, jws: bytes) -> list[Any]:
    attachments = statement.get("attachments")
    if not isinstance(attachments, list):
        return []
    return [attachment for attachment in attachments if not _carries(attachment, jws)]


def _carries(attachment: Any, jws: bytes) -> bool:
    return (
        isinstance(attachment, dict)
        and attachment.get("usageType") == SIGNATURE_USAGE
        and isinstance(attachment.get("sha2"), str)
        and sha2_matches(attachment["sha2"], jws)
    )
