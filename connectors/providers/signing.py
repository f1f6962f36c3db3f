"""Provider signatures, checked before a delivery's body is parsed.

Zoom (developers.zoom.us, "Verify webhook events"): `x-zm-signature` is
`v0=` + hex HMAC-SHA256(secret token, `v0:{x-zm-request-timestamp}:{raw body}`), and the
URL validation challenge answers `encryptedToken` = hex HMAC-SHA256(secret, plainToken).
Webex (developer.webex.com, "Webhooks", securing): `X-Spark-Signature` is hex
HMAC-SHA1(secret, raw body).
"""

from __future__ import annotations

import hashlib
import hmac

ZOOM_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The delivery is not from the holder of the connector's secret (or is too old)."""


def zoom_signature(secret: str, timestamp: str, body: bytes) -> str:
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def zoom_encrypted_token(secret: str, plain_token: str) -> str:
    return hmac.new(secret.encode(), plain_token.encode(), hashlib.sha256).hexdigest()


def verify_zoom(
    secret: str, signature: str | None, timestamp: str | None, body: bytes, now: float
) -> None:
    """Raise SignatureError unless signed with `secret` within 5 minutes of `now` (seconds)."""
    if not signature or not timestamp:
        raise SignatureError("x-zm-signature and x-zm-request-timestamp are required")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError("x-zm-request-timestamp must be a Unix time in seconds")
    if abs(now - int(timestamp)) > ZOOM_TOLERANCE_SECONDS:
        raise SignatureError("x-zm-request-timestamp is more than 5 minutes from now")
    if not hmac.compare_digest(zoom_signature(secret, timestamp, body), signature):
        raise SignatureError("x-zm-signature does not match the body")


def webex_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def verify_webex(secret: str, signature: str | None, body: bytes) -> None:
    if not signature:
        raise SignatureError("X-Spark-Signature is required")
    if not hmac.compare_digest(webex_signature(secret, body), signature.lower()):
        raise SignatureError("X-Spark-Signature does not match the body")
