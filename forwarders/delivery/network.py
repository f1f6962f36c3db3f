"""The connections delivery opens: asyncio streams under httpcore, without the anyio layer.

httpcore's default backend goes through anyio, and two of its costs were most of what a
delivery cost the worker (py-spy, 5,000-statement ingest): before each request the pool asks
every idle connection whether it has expired (`get_extra_info("is_readable")`), and anyio
answers that by building a dict of every socket attribute, with a `getpeername` system call
each time; and every read and write enters an anyio cancel scope. Here a connection is an
`asyncio` stream pair: `is_readable` is a look at the stream's state, and a timeout is
`asyncio.timeout`. Only the socket level changes: HTTP/1.1 stays httpcore's (h11), the
client stays httpx's, and where to connect stays the SSRF guard's (`ssrf.GuardedBackend`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

CLOSE_SECONDS = 1.0
"""How long closing waits for the transport to finish (a TLS close-notify)."""


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout("timed out reading the answer") from None
        except OSError as error:
            raise httpcore.ReadError(str(error)) from error

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout("timed out sending the request") from None
        except OSError as error:
            raise httpcore.WriteError(str(error)) from error

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            async with asyncio.timeout(CLOSE_SECONDS):
                await self._writer.wait_closed()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            await self.aclose()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError) as error:
            await self.aclose()
            raise httpcore.ConnectError(str(error)) from error
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # an idle connection with something to read was closed by the server (or sent
            # what nobody asked for): either way the pool must not reuse it
            return self._reader.at_eof() or self._writer.is_closing()
        names = {"client_addr": "sockname", "server_addr": "peername"}
        return self._writer.get_extra_info(names.get(info, info))


async def connect(
    address: str,
    port: int,
    timeout: float | None,
    local_address: str | None = None,
    socket_options: Iterable[Any] | None = None,
) -> AsyncioStream:
    """A TCP connection to `address` (already vetted by the SSRF guard)."""
    local = (local_address, 0) if local_address is not None else None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(address, port, local_addr=local)
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"timed out connecting to {address}") from None
    except OSError as error:
        raise httpcore.ConnectError(str(error)) from error
    sock = writer.get_extra_info("socket")
    for option in socket_options or ():
        sock.setsockopt(*option)  # asyncio sets TCP_NODELAY itself
    return AsyncioStream(reader, writer)
