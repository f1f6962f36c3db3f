"""The SSRF guard: at save time and at connect time."""

from __future__ import annotations

import ipaddress

import pytest

from forwarders.delivery.send import TIMEOUT, delivery_client, post
from forwarders.delivery.ssrf import address_allowed, check_url
from forwarders.errors import InvalidForwarder


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "gopher://example.com",
        "https://",
        "https://user:pw@example.com/hook",
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://10.0.0.8/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://example.com:99999/hook",
    ],
)
def test_refused_urls(url):
    with pytest.raises(InvalidForwarder):
        check_url(url, allow_private=False)


def test_accepted_urls():
    assert check_url("https://hooks.example.com/x", allow_private=False)
    assert check_url("http://8.8.8.8/x", allow_private=False)
    assert check_url("http://127.0.0.1:8080/hook", allow_private=True)


@pytest.mark.parametrize(
    ("address", "public", "private"),
    [
        ("8.8.8.8", True, True),
        ("127.0.0.1", False, True),
        ("10.1.2.3", False, True),
        ("169.254.169.254", False, True),
        ("::1", False, True),
        ("::ffff:10.0.0.1", False, True),
        ("224.0.0.1", False, False),
        ("0.0.0.0", False, False),  # noqa: S104 - an address under test, not a bind
        ("240.0.0.1", False, False),
    ],
)
def test_address_ranges(address, public, private):
    ip = ipaddress.ip_address(address)
    assert address_allowed(ip, allow_private=False) is public
    assert address_allowed(ip, allow_private=True) is private


async def test_the_client_refuses_loopback_at_connect_time_unless_allowed(receiver):
    guarded = delivery_client(allow_private=False)
    try:
        for url in (receiver.url("guard"), f"http://localhost:{receiver.port}/guard"):
            refused = await post(guarded, url, b"{}", {})
            assert refused.status is None
            assert refused.error is not None and refused.error.startswith("ConnectError")
            assert "blocked" in refused.error
    finally:
        await guarded.aclose()
    assert receiver.on("guard") == []
    allowed = delivery_client(allow_private=True)
    try:
        assert (await post(allowed, receiver.url("guard"), b"{}", {})).status == 200
    finally:
        await allowed.aclose()


async def test_the_client_ignores_proxy_settings_and_does_not_follow_redirects(
    receiver, monkeypatch
):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    from tests.forwarders.receiver import Answer

    receiver.plan("hop", Answer(307, {"Location": receiver.url("after")}))
    client = delivery_client(allow_private=True)
    try:
        assert (TIMEOUT.connect, TIMEOUT.sock_read, TIMEOUT.total) == (5, 20, 45)
        response = await post(client, receiver.url("hop"), b"{}", {})
    finally:
        await client.aclose()
    assert response.status == 307
    assert response.excerpt.startswith("Location: " + receiver.url("after"))
    assert receiver.on("after") == []
