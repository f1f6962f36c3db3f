"""Standard Webhooks signing: the published test vector, the reference library, and one
test per verification failure (as svix's test_webhooks.py)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from forwarders.delivery.signing import (
    InvalidSecret,
    SignatureError,
    WebhookSigner,
    generate_secret,
    secret_key,
)

# https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def signed(signer: WebhookSigner, body: bytes = b'{"a":1}', msg_id: str = "evt_1") -> dict:
    return signer.headers(msg_id, int(time.time()), body)


def test_the_published_test_vector():
    signer = WebhookSigner([VECTOR_SECRET])
    assert signer.sign(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE
    headers = signer.headers(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    signer.verify(headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_the_reference_library_verifies_what_we_send():
    secret = generate_secret()
    body = b'{"type":"learning.completed"}'
    headers = signed(WebhookSigner([secret]), body)
    assert Webhook(secret).verify(body, headers) == {"type": "learning.completed"}


def test_we_verify_what_the_reference_library_signs():
    secret = generate_secret()
    body = '{"x": 1}'
    now = datetime.now(UTC).replace(microsecond=0)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign("msg_1", now, body),
    }
    WebhookSigner([secret]).verify(headers, body.encode())


def test_during_rotation_each_secret_signs_and_either_verifies():
    old, new = generate_secret(), generate_secret()
    body = b"{}"
    headers = signed(WebhookSigner([old, new]), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, headers)
        WebhookSigner([secret]).verify(headers, body)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_fails(missing):
    signer = WebhookSigner([generate_secret()])
    headers = signed(signer)
    del headers[missing]
    with pytest.raises(SignatureError, match="missing"):
        signer.verify(headers, b'{"a":1}')


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_timestamp_outside_the_tolerance_fails(offset):
    signer = WebhookSigner([generate_secret()])
    headers = signer.headers("evt_1", int(time.time()) + offset, b"{}")
    with pytest.raises(SignatureError, match="tolerance"):
        signer.verify(headers, b"{}")
    signer.verify(headers, b"{}", tolerance=None)


def test_a_non_integer_timestamp_fails():
    signer = WebhookSigner([generate_secret()])
    headers = {**signed(signer), "webhook-timestamp": "soon"}
    with pytest.raises(SignatureError, match="integer"):
        signer.verify(headers, b'{"a":1}')


def test_another_secret_fails():
    headers = signed(WebhookSigner([generate_secret()]))
    with pytest.raises(SignatureError, match="no matching"):
        WebhookSigner([generate_secret()]).verify(headers, b'{"a":1}')


def test_a_changed_body_fails():
    signer = WebhookSigner([generate_secret()])
    with pytest.raises(SignatureError):
        signer.verify(signed(signer), b'{"a":2}')


def test_a_changed_id_fails():
    signer = WebhookSigner([generate_secret()])
    headers = {**signed(signer), "webhook-id": "evt_2"}
    with pytest.raises(SignatureError):
        signer.verify(headers, b'{"a":1}')


def test_a_changed_timestamp_fails():
    signer = WebhookSigner([generate_secret()])
    headers = signed(signer)
    headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    with pytest.raises(SignatureError):
        signer.verify(headers, b'{"a":1}')


def test_other_versions_and_malformed_entries_are_skipped():
    signer = WebhookSigner([generate_secret()])
    headers = signed(signer)
    good = headers["webhook-signature"]
    headers["webhook-signature"] = "v2," + good[3:] + " v1,!!! v1a,xyz " + good
    signer.verify(headers, b'{"a":1}')
    headers["webhook-signature"] = "v2," + good[3:] + " v1,!!!"
    with pytest.raises(SignatureError):
        signer.verify(headers, b'{"a":1}')


def test_headers_are_matched_case_insensitively():
    signer = WebhookSigner([generate_secret()])
    headers = {k.upper(): v for k, v in signed(signer).items()}
    signer.verify(headers, b'{"a":1}')


@pytest.mark.parametrize(
    "secret",
    [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # no prefix
        "whsec_" + base64.b64encode(b"x" * 23).decode(),  # too short
        "whsec_" + base64.b64encode(b"x" * 65).decode(),  # too long
        "whsec_not base64!",
    ],
)
def test_invalid_secrets_are_refused(secret):
    with pytest.raises(InvalidSecret):
        secret_key(secret)


def test_generated_secrets_hold_32_random_bytes():
    first, second = generate_secret(), generate_secret()
    assert len(secret_key(first)) == 32 and first != second


def test_a_signer_needs_a_secret():
    with pytest.raises(InvalidSecret):
        WebhookSigner([])
