"""The SSRF guard: where a forwarder may send.

Two checks. `check_url` runs when a forwarder is saved: http(s) only, a host, no user
info, and no literal loopback/private/link-local address unless allowed. At connect time,
for every connection the delivery client opens, `GuardedResolver` resolves the host itself
and returns only the addresses inside the allowed ranges, which the client connects to
(TLS still verifies the host name), and `literal_allowed` checks a host that is an address
already. Checking at connect time closes the DNS-rebinding gap a check-then-connect would
leave.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

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


def literal_allowed(host: str, *, allow_private: bool) -> bool:
    """Whether a host may be connected to as far as its name alone tells: an address literal
    is never resolved (by any client), so it is checked here; a name is checked by
    `GuardedResolver` when the client resolves it."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return True
    return address_allowed(address, allow_private=allow_private)


class GuardedResolver(AbstractResolver):
    """The delivery client's resolver: a name resolves only to the addresses the guard
    allows, and the client connects to what it returns (no second lookup to rebind)."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = [
            result
            for result in found
            if address_allowed(
                ipaddress.ip_address(result["host"]), allow_private=self.allow_private
            )
        ]
        if not allowed:
            # errno and text both: the client quotes the text (`strerror`) in its error
            raise OSError(errno.EHOSTUNREACH, f"{host} resolves only to blocked addresses")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
