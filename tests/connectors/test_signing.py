"""Provider signatures: each failure mode refused on its own (Zoom, Webex)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from connectors.providers.signing import (
    SignatureError,
    verify_webex,
    verify_zoom,
    webex_signature,
    zoom_encrypted_token,
    zoom_signature,
)

BODY = b'{"event":"meeting.ended"}'
NOW = 1_764_586_801


def test_zoom_signature_is_v0_hex_hmac_sha256_of_version_timestamp_and_body():
    expected = hmac.new(b"s3cret", b"v0:1764586801:" + BODY, hashlib.sha256).hexdigest()
    assert zoom_signature("s3cret", "1764586801", BODY) == "v0=" + expected


def test_a_fresh_zoom_signature_verifies():
    verify_zoom("s3cret", zoom_signature("s3cret", str(NOW), BODY), str(NOW), BODY, NOW + 10)


@pytest.mark.parametrize(
    ("signature", "timestamp", "body", "reason"),
    [
        (None, str(NOW), BODY, "required"),
        ("v0=00", None, BODY, "required"),
        (zoom_signature("other", str(NOW), BODY), str(NOW), BODY, "does not match"),
        (zoom_signature("s3cret", str(NOW), BODY), str(NOW), BODY + b" ", "does not match"),
        (zoom_signature("s3cret", str(NOW), BODY), str(NOW + 1), BODY, "does not match"),
        (zoom_signature("s3cret", "1.5e9", BODY), "1.5e9", BODY, "Unix time"),
    ],
    ids=["no-signature", "no-timestamp", "wrong-secret", "tampered-body", "other-time", "bad-ts"],
)
def test_zoom_refuses(signature, timestamp, body, reason):
    with pytest.raises(SignatureError, match=reason):
        verify_zoom("s3cret", signature, timestamp, body, NOW)


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_zoom_refuses_a_timestamp_more_than_5_minutes_from_now(age):
    stamp = str(NOW - age)
    with pytest.raises(SignatureError, match="5 minutes"):
        verify_zoom("s3cret", zoom_signature("s3cret", stamp, BODY), stamp, BODY, NOW)


def test_zoom_accepts_a_timestamp_exactly_5_minutes_old():
    stamp = str(NOW - 300)
    verify_zoom("s3cret", zoom_signature("s3cret", stamp, BODY), stamp, BODY, NOW)


def test_zoom_encrypted_token_is_hex_hmac_sha256_of_the_plain_token():
    expected = hmac.new(b"s3cret", b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert zoom_encrypted_token("s3cret", "qgg8vlvZRS6UYooatFL8Aw") == expected


def test_webex_signature_is_hex_hmac_sha1_of_the_body_and_verifies_in_any_case():
    expected = hmac.new(b"s3cret", BODY, hashlib.sha1).hexdigest()
    assert webex_signature("s3cret", BODY) == expected
    verify_webex("s3cret", expected.upper(), BODY)


@pytest.mark.parametrize(
    "signature", [None, "", webex_signature("other", BODY), webex_signature("s3cret", b"{}")]
)
def test_webex_refuses_a_missing_or_wrong_signature(signature):
    with pytest.raises(SignatureError):
        verify_webex("s3cret", signature, BODY)
