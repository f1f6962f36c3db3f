"""The delivery client's connections (`forwarders.delivery.network`): asyncio streams under
httpx, over plain TCP and TLS, that the pool stops reusing once the server closes them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from forwarders.delivery import network
from forwarders.delivery.ssrf import GuardedBackend
from tests.forwarders.receiver import Answer

ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


def self_signed(tmp_path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for 127.0.0.1."""
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
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


@contextlib.asynccontextmanager
async def serve(
    handler, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[asyncio.Server, int]]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield server, port
    finally:
        server.close()
        await server.wait_closed()


async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read one request's head, answer it, then close the connection."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(ANSWER)
    await writer.drain()
    writer.close()


async def test_a_request_over_tls_is_answered(tmp_path):
    server_tls, client_tls = self_signed(tmp_path)
    async with serve(answer_once, server_tls) as (_, port):
        stream = await network.connect("127.0.0.1", port, timeout=5)
        secure = await stream.start_tls(client_tls, server_hostname="127.0.0.1", timeout=5)
        assert secure.get_extra_info("ssl_object") is not None
        await secure.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", timeout=5)
        assert (await secure.read(1024, timeout=5)).startswith(b"HTTP/1.1 200")
        await secure.aclose()


async def test_a_certificate_the_client_does_not_trust_fails_the_connection(tmp_path):
    server_tls, _ = self_signed(tmp_path)
    async with serve(answer_once, server_tls) as (_, port):
        stream = await network.connect("127.0.0.1", port, timeout=5)
        with pytest.raises(httpcore.ConnectError):
            await stream.start_tls(ssl.create_default_context(), "127.0.0.1", timeout=5)


async def test_a_connection_the_server_closed_is_no_longer_reusable():
    async with serve(answer_once) as (_, port):
        stream = await network.connect("127.0.0.1", port, timeout=5)
        assert stream.get_extra_info("is_readable") is False  # open and idle
        await stream.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", timeout=5)
        assert await stream.read(1024, timeout=5) == ANSWER
        assert await stream.read(1024, timeout=5) == b""  # the server closed it
        assert stream.get_extra_info("is_readable") is True
        await stream.aclose()


async def test_a_silent_server_times_the_read_out():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    async with serve(silent) as (_, port):
        stream = await network.connect("127.0.0.1", port, timeout=5)
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(1024, timeout=0.05)
        await stream.aclose()


async def test_a_refused_connection_is_a_connect_error():
    async with serve(answer_once) as (server, port):
        server.close()
        await server.wait_closed()
    with pytest.raises(httpcore.ConnectError):
        await network.connect("127.0.0.1", port, timeout=5)


async def test_the_guarded_client_reuses_a_kept_alive_connection(receiver):
    opened: list[str] = []

    class Counting(GuardedBackend):
        async def connect_tcp(self, host, port, timeout=None, **options):
            opened.append(host)
            return await super().connect_tcp(host, port, timeout, **options)

    pool = httpcore.AsyncConnectionPool(network_backend=Counting(allow_private=True))
    receiver.default("keep", Answer(200))
    async with httpx.AsyncClient(transport=_Transport(pool)) as client:
        for _ in range(3):
            assert (await client.post(receiver.url("keep"), content=b"{}")).status_code == 200
    assert len(receiver.on("keep")) == 3
    assert len(opened) == 1


class _Transport(httpx.AsyncHTTPTransport):
    def __init__(self, pool: httpcore.AsyncConnectionPool) -> None:
        super().__init__()
        self._pool = pool
