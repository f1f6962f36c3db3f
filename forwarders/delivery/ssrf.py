"""The SSRF guard: where a forwarder may send.

Two checks. `check_url` runs when a forwarder is saved: http(s) only, a host, no user
info, and no literal loopback/private/link-local address unless allowed. `GuardedBackend`
runs at connect time, for every connection the delivery client opens: it resolves the host
itself, refuses any address outside the allowed ranges, and connects to the vetted address
(TLS still verifies the host name). Checking at connect time closes the DNS-rebinding gap a
check-then-connect would leave.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from forwarders.delivery.network import connect
from forwarders.errors import InvalidForwarder

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_allowed(address: IPAddress, *, allow_private: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_multicast or address.is_unspecified:
        return False
    if address.is_loopback:  # before `is_reserved`, which covers ::1
        return allow_private
    if address.is_reserved:
        return False
    if address.is_private or address.is_link_local:
        return allow_private
    return address.is_global


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL, if a forwarder may be saved with it; raises `InvalidForwarder` otherwise."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as error:
        raise InvalidForwarder("url", f"not a valid URL ({error})") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidForwarder("url", "must be an http or https URL")
    if not parts.hostname:
        raise InvalidForwarder("url", "must name a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidForwarder("url", "must not carry credentials (use the signing secret)")
    if not allow_private and _is_private_literal(parts.hostname):
        raise InvalidForwarder("url", "loopback, private and link-local hosts are not allowed")
    return url


def _is_private_literal(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address_allowed(address, allow_private=False)


async def resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def vetted(addresses: Iterable[str], *, allow_private: bool) -> list[str]:
    return [
        a
        for a in addresses
        if address_allowed(ipaddress.ip_address(a), allow_private=allow_private)
    ]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend for httpcore, connecting only to addresses the guard allows (over
    asyncio streams: `forwarders.delivery.network`)."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        allowed = vetted(addresses, allow_private=self.allow_private)
        if not allowed:
            raise httpcore.ConnectError(f"{host} resolves only to blocked addresses")
        return await connect(allowed[0], port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the guarded backend and no proxy (environment ignored)."""

    def __init__(self, *, allow_private: bool, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        # httpx has no parameter for the network backend; its pool is rebuilt with ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allow_private=allow_private),
        )
