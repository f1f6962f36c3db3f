"""Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme").

`webhook-signature` holds space-separated `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`
entries, one per active secret, so receivers keep verifying while secrets rotate. A secret is
`whsec_` + base64 of 24 to 64 random bytes; the key is the decoded bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as random_bytes
import time
from collections.abc import Mapping, Sequence

PREFIX = "whsec_"
MIN_BYTES, MAX_BYTES = 24, 64
DEFAULT_TOLERANCE = 300


class SignatureError(ValueError):
    """A webhook did not verify: missing headers, stale timestamp, or no matching signature."""


class InvalidSecret(ValueError):
    """Not a `whsec_` secret of 24-64 bytes."""


def secret_key(secret: str) -> bytes:
    if not secret.startswith(PREFIX):
        raise InvalidSecret(f"a signing secret starts with {PREFIX}")
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecret("a signing secret is base64 after its prefix") from None
    if not MIN_BYTES <= len(key) <= MAX_BYTES:
        raise InvalidSecret(f"a signing secret holds {MIN_BYTES} to {MAX_BYTES} bytes")
    return key


def generate_secret(size: int = 32) -> str:
    return PREFIX + base64.b64encode(random_bytes.token_bytes(size)).decode()


def _sign_one(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    content = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, content, hashlib.sha256).digest()


class WebhookSigner:
    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise InvalidSecret("at least one signing secret is needed")
        self._keys = [secret_key(s) for s in secrets]

    def sign(self, msg_id: str, timestamp: int, body: bytes) -> str:
        return " ".join(
            "v1," + base64.b64encode(_sign_one(key, msg_id, timestamp, body)).decode()
            for key in self._keys
        )

    def headers(self, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": self.sign(msg_id, timestamp, body),
        }

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        tolerance: float | None = DEFAULT_TOLERANCE,
        now: float | None = None,
    ) -> None:
        """Raise `SignatureError` unless one `v1` signature matches one of our keys.

        `tolerance` bounds the timestamp's distance from `now` (replay protection);
        `None` skips that check.
        """
        lowered = {k.lower(): v for k, v in headers.items()}
        msg_id = lowered.get("webhook-id")
        stamp = lowered.get("webhook-timestamp")
        signatures = lowered.get("webhook-signature")
        if not (msg_id and stamp and signatures):
            raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
        timestamp = _timestamp(stamp, tolerance, time.time() if now is None else now)
        expected = [_sign_one(key, msg_id, timestamp, body) for key in self._keys]
        for candidate in _v1_signatures(signatures):
            if any(hmac.compare_digest(candidate, e) for e in expected):
                return
        raise SignatureError("no matching signature")


def _timestamp(stamp: str, tolerance: float | None, now: float) -> int:
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not an integer") from None
    if tolerance is not None and abs(now - timestamp) > tolerance:
        raise SignatureError("webhook-timestamp is outside the tolerance")
    return timestamp


def _v1_signatures(header: str) -> list[bytes]:
    found = []
    for entry in header.split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found
