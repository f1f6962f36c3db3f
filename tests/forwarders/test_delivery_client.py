"""The delivery client (`forwarders.delivery.send`): certificates verified, an answer read
only up to its excerpt, and failures named the same whatever the client library."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from forwarders.delivery.send import delivery_client, failure, post
from forwarders.queue import EXCERPT_BYTES


def self_signed(tmp_path) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 that nobody trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    return server


@contextlib.asynccontextmanager
async def serve(answer: bytes, tls: ssl.SSLContext | None = None) -> AsyncIterator[list[int]]:
    """A server answering every request with `answer`; yields [port, connections opened]."""
    seen = [0, 0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen[1] += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                writer.write(answer)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    seen[0] = server.sockets[0].getsockname()[1]
    try:
        yield seen
    finally:
        server.close()
        await server.wait_closed()


async def test_a_receiver_whose_certificate_is_not_trusted_is_not_sent_to(tmp_path):
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    client = delivery_client(allow_private=True)
    try:
        async with serve(answer, self_signed(tmp_path)) as (port, _):
            response = await post(client, f"https://127.0.0.1:{port}/hook", b"{}", {})
    finally:
        await client.aclose()
    assert response.status is None
    assert response.error is not None and response.error.startswith("ConnectError")
    assert "certificate" in response.error.lower()


async def test_a_large_answer_is_read_only_up_to_the_excerpt(tmp_path):
    body = b"x" * (1 << 20)
    answer = b"HTTP/1.1 500 Oops\r\ncontent-length: %d\r\n\r\n" % len(body) + body
    client = delivery_client(allow_private=True)
    try:
        async with serve(answer) as seen:
            first = await post(client, f"http://127.0.0.1:{seen[0]}/hook", b"{}", {})
            second = await post(client, f"http://127.0.0.1:{seen[0]}/hook", b"{}", {})
            opened = seen[1]
    finally:
        await client.aclose()
    assert (first.status, len(first.excerpt)) == (500, EXCERPT_BYTES)
    assert second.status == 500
    assert opened == 2  # the unread rest is dropped with its connection, never reused


async def test_a_kept_alive_connection_is_reused():
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    client = delivery_client(allow_private=True)
    try:
        async with serve(answer) as seen:
            for _ in range(3):
                ok = await post(client, f"http://127.0.0.1:{seen[0]}/hook", b"{}", {})
                assert (ok.status, ok.excerpt) == (200, "ok")
            opened = seen[1]
    finally:
        await client.aclose()
    assert opened == 1


@pytest.mark.parametrize(
    ("error", "named"),
    [
        (aiohttp.ConnectionTimeoutError("connect"), "ConnectTimeout: connect"),
        (aiohttp.SocketTimeoutError("read"), "ReadTimeout: read"),
        (TimeoutError(), "ReadTimeout: "),
        (aiohttp.ServerDisconnectedError(), "ReadError: Server disconnected"),
        (ConnectionResetError("reset"), "ReadError: reset"),
    ],
)
def test_failures_are_named_the_same_whatever_the_client_library(error, named):
    assert failure(error) == named
